import { BATCH_TAG_KEY, executionNameFromTags, HARD_TIMEOUT_TAG_KEY } from '../config/naming';
import type { ExecutionView, ObservedTask, ReconcileWorld } from '../handlers/lib/reconcile';
import type { DescribedTask } from '../handlers/lib/task-outcome';
import type { ExecutionRegistry } from './execution-registry';
import type { LocalEcs } from './local-ecs';
import type { LocalSns } from './local-sns';
import type { EcsService, SnsService } from './task-resources';

/** The runner's `startedBy` (StartBatchTask). */
const RUNNER_STARTED_BY = 'batch-runner';

function observe(task: Record<string, any>): ObservedTask & { startedBy?: string } {
  const tags = (task.Tags ?? []) as Array<{ Key: string; Value: string }>;
  const tag = (key: string) => tags.find((t) => t.Key === key)?.Value;
  const timeout = Number(tag(HARD_TIMEOUT_TAG_KEY));
  return {
    taskArn: task.TaskArn,
    clusterArn: task.ClusterArn,
    lastStatus: task.LastStatus,
    desiredStatus: task.DesiredStatus,
    batch: tag(BATCH_TAG_KEY),
    executionName: executionNameFromTags(tags),
    createdAt: typeof task.CreatedAt === 'number' ? task.CreatedAt : undefined,
    hardTimeoutSeconds: Number.isFinite(timeout) && timeout > 0 ? timeout : undefined,
    startedBy: task.StartedBy,
    described: task as DescribedTask,
  };
}

/**
 * The reconciler's view of services that answer in Step Functions' shapes (the local stand-ins, or
 * scripted AWS answers in the definition tests): ECS tasks, execution status, alerts. The reconcile
 * rule itself is the same code as on AWS. Local executions wait for their task through a promise,
 * not a task token, so no token is answered.
 */
/** What the reconciler asks of Step Functions, answered from a local or scripted registry. */
export type ExecutionsPort = Pick<ReconcileWorld, 'describeExecution' | 'listStateMachines' | 'listEndedExecutions'>;

/** Executions known only by status (scripted tests): nothing to sweep. */
export function statusOnlyExecutions(statusOf: (arn: string) => ExecutionView['status']): ExecutionsPort {
  return {
    describeExecution: async (arn) => ({ status: statusOf(arn) }),
    listStateMachines: async () => [],
    listEndedExecutions: async () => [],
  };
}

export function servicesReconcileWorld(
  ecs: EcsService,
  executions: ExecutionsPort,
  sns: SnsService,
  topicArn: string,
): ReconcileWorld {
  const describe = async (clusterArn: string, taskArns: readonly string[]) =>
    taskArns.length === 0
      ? []
      : (await ecs.describeTasks({ Cluster: clusterArn, Tasks: [...taskArns], Include: ['TAGS'] })).Tasks.map(observe);
  return {
    async listRunnerTasks(clusterArn) {
      // Desired RUNNING, and asked to stop but not yet STOPPED (StopTask takes effect in two steps).
      const running = (await ecs.listTasks({ Cluster: clusterArn, DesiredStatus: 'RUNNING' })).TaskArns;
      const stopping = (await ecs.listTasks({ Cluster: clusterArn, DesiredStatus: 'STOPPED' })).TaskArns;
      return (await describe(clusterArn, [...new Set([...running, ...stopping])])).filter(
        (t) => t.startedBy === RUNNER_STARTED_BY && (t.desiredStatus !== 'STOPPED' || t.lastStatus !== 'STOPPED'),
      );
    },
    describeTasks: describe,
    async stopTask(clusterArn, taskArn, reason) {
      await ecs.stopTask({ Cluster: clusterArn, Task: taskArn, Reason: reason });
    },
    ...executions,
    async answerToken() {
      return 'token no longer valid';
    },
    async publish(alert) {
      await sns.publish({
        TopicArn: topicArn,
        Subject: alert.subject,
        Message: alert.message,
        MessageAttributes: alert.attributes,
      });
    },
  };
}

/** The local mode's world: local ECS, the execution registry (a dead runner's execution is ABORTED), the local alert log. */
export function localReconcileWorld(ecs: LocalEcs, registry: ExecutionRegistry, sns: LocalSns, topicArn: string) {
  const executions: ExecutionsPort = {
    async describeExecution(arn) {
      const record = registry.get(arn);
      return record
        ? { status: record.status, stoppedAt: record.stopDate ? Date.parse(record.stopDate) : undefined }
        : { status: 'MISSING' };
    },
    async listStateMachines(namePrefix) {
      const arns = new Set(registry.list().map((r) => r.stateMachineArn));
      return [...arns]
        .map((arn) => ({ arn, name: arn.split(':').pop() ?? '' }))
        .filter((m) => m.name.startsWith(`${namePrefix}-`));
    },
    async listEndedExecutions(stateMachineArn, sinceMs) {
      return registry
        .list()
        .filter((r) => r.stateMachineArn === stateMachineArn && ['FAILED', 'TIMED_OUT', 'ABORTED'].includes(r.status))
        .filter((r) => r.stopDate !== undefined && Date.parse(r.stopDate) >= sinceMs)
        .map((r) => ({
          executionArn: r.executionArn,
          status: r.status,
          error: r.error ?? null,
          cause: r.cause ?? null,
          input: JSON.stringify(r.input ?? null),
          startDate: Date.parse(r.startDate),
          stopDate: Date.parse(r.stopDate as string),
        }));
    },
  };
  return servicesReconcileWorld(ecs, executions, sns, topicArn);
}
