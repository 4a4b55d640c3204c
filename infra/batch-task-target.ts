import { Arn, ArnFormat, Token } from 'aws-cdk-lib';
import type { ImportedTask } from '../config/batch-config';
import { BatchConfigError } from '../config/batch-config';

/**
 * The ECS side of one batch, whether the app created the task definition or imported it by ARN:
 * what the state machine's substitutions and its IAM policy need. Strings may be tokens.
 */
export interface BatchTaskTarget {
  /** ARN of the cluster RunTask starts the task on. */
  readonly clusterArn: string;
  /** IAM resource pattern of the cluster's tasks, `arn:...:ecs:<region>:<account>:task/<cluster-name>/*`. */
  readonly taskArnPattern: string;
  /** Task definition ARN RunTask starts (with or without a revision). */
  readonly taskDefinitionArn: string;
  /**
   * IAM resource for `ecs:RunTask`: the task definition ARN itself when it names a revision,
   * `<arn>:*` when it does not (RunTask then starts the latest ACTIVE revision).
   */
  readonly runTaskResource: string;
  /** Task definition family (the running-task check lists RUNNING tasks of it). */
  readonly family: string;
  /** Task role and execution role: the only roles the state machine may pass to ECS. */
  readonly passRoleArns: readonly string[];
  /** Log group and awslogs stream prefix of the batch container, for log links (must be literal names). */
  readonly logGroupName: string;
  /** awslogs stream prefix of the batch container (must be a literal). */
  readonly logStreamPrefix: string;
}

/** Tasks of a cluster, as an IAM resource pattern, from the cluster's ARN (a literal). */
export function taskArnPatternOf(clusterArn: string): string {
  if (Token.isUnresolved(clusterArn)) {
    throw new BatchConfigError(
      `cannot derive the task ARN pattern of cluster ${clusterArn}: pass a literal cluster ARN or an ICluster.`,
    );
  }
  const arn = Arn.split(clusterArn, ArnFormat.SLASH_RESOURCE_NAME);
  return Arn.format({ ...arn, resource: 'task', resourceName: `${arn.resourceName}/*` });
}

/** The target of a batch whose cluster and task definition exist already (config `task.kind: 'imported'`). */
export function importedBatchTask(task: ImportedTask): BatchTaskTarget {
  const hasRevision = /:\d+$/.test(task.taskDefinitionArn);
  return {
    clusterArn: task.clusterArn,
    taskArnPattern: taskArnPatternOf(task.clusterArn),
    taskDefinitionArn: task.taskDefinitionArn,
    runTaskResource: hasRevision ? task.taskDefinitionArn : `${task.taskDefinitionArn}:*`,
    family: task.family,
    passRoleArns: [task.executionRoleArn, ...(task.taskRoleArn ? [task.taskRoleArn] : [])],
    logGroupName: task.logGroupName,
    logStreamPrefix: task.logStreamPrefix,
  };
}
