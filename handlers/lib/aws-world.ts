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
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { BATCH_TAG_KEY, executionNameFromTags, HARD_TIMEOUT_TAG_KEY } from '../../config/naming';
import { toDescribedTask } from './ecs-task';
import type { EndedExecution, ObservedTask, ReconcileWorld } from './reconcile';
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

/** The reconciler's view of AWS through the SDK clients (the Lambda's own region and credentials). */
export function awsWorld(
  clients: { ecs: ECSClient; sfn: SFNClient; sns: SNSClient },
  alertTopicArn: string,
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
      // startedBy must be the only filter (ECS ListTasks); desired status defaults to RUNNING, which
      // includes PROVISIONING and PENDING tasks. Tasks already asked to stop are followed by ARN.
      const arns: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = await clients.ecs.send(
          new ListTasksCommand({ cluster: clusterArn, startedBy: RUNNER_STARTED_BY, maxResults: PAGE, nextToken }),
        );
        arns.push(...(page.taskArns ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      return arns.length === 0 ? [] : describe(clusterArn, arns);
    },
    describeTasks: describe,
    async stopTask(clusterArn, taskArn, reason) {
      await clients.ecs.send(new StopTaskCommand({ cluster: clusterArn, task: taskArn, reason: reason.slice(0, 255) }));
    },
    async describeExecution(executionArn) {
      try {
        const res = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
        return { status: res.status ?? 'MISSING', stoppedAt: res.stopDate?.getTime() };
      } catch (err) {
        if ((err as Error).name === 'ExecutionDoesNotExist') return { status: 'MISSING' };
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
