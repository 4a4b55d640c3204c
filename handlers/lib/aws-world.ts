import {
  DescribeTasksCommand,
  type ECSClient,
  ListTasksCommand,
  StopTaskCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { SchedulerClient } from '@aws-sdk/client-scheduler';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import {
  BATCH_TAG_KEY,
  executionNameFromTags,
  HARD_TIMEOUT_TAG_KEY,
  scheduleGroupName,
  scheduleName,
} from '../../config/naming';
import { toDescribedTask } from './ecs-task';
import type { EndedExecution, ExecutionStatus, ObservedTask, ReconcileWorld, ScheduleSwitch } from './reconcile';
import { readSchedule, setScheduleState, stateOf } from './schedule-state';
import { answerTaskToken } from './task-token';

/** The runner's `startedBy` on RunTask (state-machines/batch-runner.asl.json, StartBatchTask). */
export const RUNNER_STARTED_BY = 'batch-runner';
/** DescribeTasks takes at most 100 tasks per call; ListTasks pages hold at most 100. */
const PAGE = 100;

function observe(task: Task): ObservedTask | undefined {
  if (!task.taskArn || !task.clusterArn) return undefined;
  const tag = (key: string) => task.tags?.find((t) => t.key === key)?.value;
  const timeout = Number(tag(HARD_TIMEOUT_TAG_KEY));
  return {
    taskArn: task.taskArn,
    clusterArn: task.clusterArn,
    lastStatus: task.lastStatus ?? 'UNKNOWN',
    desiredStatus: task.desiredStatus ?? 'UNKNOWN',
    batch: tag(BATCH_TAG_KEY),
    executionName: executionNameFromTags(task.tags),
    createdAt: task.createdAt?.getTime(),
    hardTimeoutSeconds: Number.isFinite(timeout) && timeout > 0 ? timeout : undefined,
    described: toDescribedTask({ ...task, taskArn: task.taskArn }),
  };
}

/** At most this many pages of ListTasks per listing (ECS keeps stopped tasks about an hour). */
const MAX_LIST_PAGES = 20;

async function listArns(
  ecs: ECSClient,
  filter: { cluster: string; startedBy?: string; desiredStatus?: 'STOPPED' },
): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const page = await ecs.send(new ListTasksCommand({ ...filter, maxResults: PAGE, nextToken }));
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
    pages += 1;
  } while (nextToken && pages < MAX_LIST_PAGES);
  return arns;
}

/** The batches' schedules of one deployment (`<prefix>-<batch>` in group `<prefix>`), through the shared schedule-state module. */
export function awsSchedules(scheduler: SchedulerClient, namePrefix: string): ScheduleSwitch {
  const ref = (batch: string) => ({ Name: scheduleName(batch, namePrefix), GroupName: scheduleGroupName(namePrefix) });
  return {
    async state(batch) {
      try {
        return stateOf(await readSchedule(scheduler, ref(batch)));
      } catch (err) {
        if ((err as Error).name === 'ResourceNotFoundException') return 'NOT_FOUND';
        throw err;
      }
    },
    async disable(batch) {
      await setScheduleState(scheduler, ref(batch), 'DISABLED');
    },
    nameOf: (batch) => `${ref(batch).Name} (group ${ref(batch).GroupName})`,
  };
}

/**
 * The reconciler's view of AWS through the SDK clients (the Lambda's own region and credentials).
 * With a Scheduler client and the deployment prefix it can also pause schedules
 * (`pauseAfterConsecutiveFailures`).
 */
export function awsWorld(
  clients: { ecs: ECSClient; sfn: SFNClient; sns: SNSClient; scheduler?: SchedulerClient },
  alertTopicArn: string,
  namePrefix?: string,
): ReconcileWorld {
  const describe = async (clusterArn: string, taskArns: readonly string[]): Promise<ObservedTask[]> => {
    const out: ObservedTask[] = [];
    for (let i = 0; i < taskArns.length; i += PAGE) {
      const res = await clients.ecs.send(
        new DescribeTasksCommand({ cluster: clusterArn, tasks: taskArns.slice(i, i + PAGE), include: ['TAGS'] }),
      );
      for (const t of res.tasks ?? []) {
        const o = observe(t);
        if (o) out.push(o);
      }
    }
    return out;
  };
  return {
    async listRunnerTasks(clusterArn) {
      // The runner's tasks whose desired status is RUNNING (startedBy must be ListTasks' only filter,
      // and the desired status defaults to RUNNING, which includes PROVISIONING and PENDING), and every
      // task asked to stop whose last status is not STOPPED yet: StopTask takes effect in two steps,
      // and a task still inside its stop grace leaves the RUNNING list at once.
      const running = await listArns(clients.ecs, { cluster: clusterArn, startedBy: RUNNER_STARTED_BY });
      const stopping = await listArns(clients.ecs, { cluster: clusterArn, desiredStatus: 'STOPPED' });
      const arns = [...new Set([...running, ...stopping])];
      return (await describe(clusterArn, arns)).filter(
        (t) => t.batch !== undefined && (t.desiredStatus !== 'STOPPED' || t.lastStatus !== 'STOPPED'),
      );
    },
    describeTasks: describe,
    async stopTask(clusterArn, taskArn, reason) {
      await clients.ecs.send(new StopTaskCommand({ cluster: clusterArn, task: taskArn, reason: reason.slice(0, 255) }));
    },
    async describeExecution(executionArn) {
      try {
        const res = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
        return {
          status: res.status ?? 'MISSING',
          stoppedAt: res.stopDate?.getTime(),
          input: res.input,
          output: res.output,
          error: res.error,
        };
      } catch (err) {
        // A lock item naming no execution of ours (gone from the history, or written by hand with a
        // malformed ARN) has no live owner: the batch must not be blocked by it forever.
        if (['ExecutionDoesNotExist', 'InvalidArn'].includes((err as Error).name)) return { status: 'MISSING' };
        throw err;
      }
    },
    answerToken: (taskToken, answer) => answerTaskToken(clients.sfn, taskToken, answer),
    async listStateMachines(namePrefix) {
      const out: Array<{ name: string; arn: string }> = [];
      let nextToken: string | undefined;
      do {
        const page = await clients.sfn.send(new ListStateMachinesCommand({ maxResults: 1000, nextToken }));
        for (const m of page.stateMachines ?? [])
          if (m.name?.startsWith(`${namePrefix}-`) && m.stateMachineArn)
            out.push({ name: m.name, arn: m.stateMachineArn });
        nextToken = page.nextToken;
      } while (nextToken);
      return out;
    },
    async listEndedExecutions(stateMachineArn, sinceMs) {
      const out: EndedExecution[] = [];
      for (const statusFilter of ['FAILED', 'TIMED_OUT', 'ABORTED'] as const) {
        let nextToken: string | undefined;
        // Newest first: stop at the first page that reaches back past `sinceMs`.
        do {
          const page = await clients.sfn.send(
            new ListExecutionsCommand({ stateMachineArn, statusFilter, maxResults: 100, nextToken }),
          );
          let older = false;
          for (const e of page.executions ?? []) {
            const stopped = e.stopDate?.getTime() ?? 0;
            if (stopped < sinceMs) {
              older = true;
              continue;
            }
            out.push({
              executionArn: e.executionArn ?? '',
              status: statusFilter,
              startDate: e.startDate?.getTime() ?? null,
              stopDate: stopped,
            });
          }
          nextToken = older ? undefined : page.nextToken;
        } while (nextToken);
      }
      return out;
    },
    async listRecentExecutions(stateMachineArn, limit) {
      // One page, newest first (ListExecutions sorts by start time, most recent first).
      const page = await clients.sfn.send(
        new ListExecutionsCommand({ stateMachineArn, maxResults: Math.min(limit, 1000) }),
      );
      return (page.executions ?? []).map((e) => ({
        executionArn: e.executionArn ?? '',
        status: (e.status ?? 'RUNNING') as ExecutionStatus,
        startDate: e.startDate?.getTime() ?? 0,
      }));
    },
    schedules: clients.scheduler && namePrefix ? awsSchedules(clients.scheduler, namePrefix) : undefined,
    async publish(alert) {
      await clients.sns.send(
        new PublishCommand({
          TopicArn: alertTopicArn,
          Subject: alert.subject,
          Message: alert.message,
          MessageAttributes: alert.attributes,
        }),
      );
    },
  };
}
