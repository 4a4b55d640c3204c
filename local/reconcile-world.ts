import { BATCH_TAG_KEY, executionNameFromTags, HARD_TIMEOUT_TAG_KEY } from '../config/naming';
import type { ObservedTask, ReconcileWorld } from '../handlers/lib/reconcile';
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
export function servicesReconcileWorld(
  ecs: EcsService,
  describeExecution: ReconcileWorld['describeExecution'],
  sns: SnsService,
  topicArn: string,
): ReconcileWorld {
  const describe = async (clusterArn: string, taskArns: readonly string[]) =>
    taskArns.length === 0
      ? []
      : (await ecs.describeTasks({ Cluster: clusterArn, Tasks: [...taskArns], Include: ['TAGS'] })).Tasks.map(observe);
  return {
    async listRunnerTasks(clusterArn) {
      const { TaskArns } = await ecs.listTasks({ Cluster: clusterArn, DesiredStatus: 'RUNNING' });
      return (await describe(clusterArn, TaskArns)).filter((t) => t.startedBy === RUNNER_STARTED_BY);
    },
    describeTasks: describe,
    async stopTask(clusterArn, taskArn, reason) {
      await ecs.stopTask({ Cluster: clusterArn, Task: taskArn, Reason: reason });
    },
    describeExecution,
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
  return servicesReconcileWorld(
    ecs,
    async (arn) => {
      const record = registry.get(arn);
      return record
        ? { status: record.status, stoppedAt: record.stopDate ? Date.parse(record.stopDate) : undefined }
        : { status: 'MISSING' };
    },
    sns,
    topicArn,
  );
}
