import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { BatchConfig, CreatedTask } from '../config/batch-config';
import { BatchConfigError } from '../config/batch-config';
import { DEFAULT_PREFIX, TASK_LOG_STREAM_PREFIX, taskLogGroupName } from '../config/naming';
import type { BatchTaskTarget } from './batch-task-target';

/** Properties of {@link CreatedBatchTask}. */
export interface CreatedBatchTaskProps {
  /** The batch; its `task` must be `{ kind: 'created', ... }`. */
  readonly batch: BatchConfig;
  /** Cluster the task runs on (Fargate). */
  readonly cluster: ecs.ICluster;
  /**
   * Prefix of the task definition family and the log group name.
   * @default 'batch-runner'
   */
  readonly namePrefix?: string;
  /**
   * Retention of the container log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the container log group when the stack is deleted. The log group has a fixed
   * name (the CLI finds it by name), so a retained one blocks a later re-deploy of the same batch.
   * @default RemovalPolicy.DESTROY
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * A Fargate task definition for a batch of `task.kind: 'created'`: one essential container named
 * after the batch's `containerName`, logging to `/<prefix>/tasks/<batch>` (awslogs, stream prefix
 * `batch`), with the batch's stop grace as `stopTimeout`. The task role starts empty: grant it what
 * the batch itself needs (`taskRole`).
 */
export class CreatedBatchTask extends Construct {
  /** The Fargate task definition (family `<prefix>-<batch>`). */
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  /** The task role, empty: grant it what the batch needs. */
  public readonly taskRole: iam.Role;
  /** The container log group, `/<prefix>/tasks/<batch>`. */
  public readonly logGroup: logs.LogGroup;
  /** What the batch's state machine needs to run this task definition. */
  public readonly target: BatchTaskTarget;

  constructor(scope: Construct, id: string, props: CreatedBatchTaskProps) {
    super(scope, id);
    const { batch } = props;
    if (batch.task.kind !== 'created') {
      throw new BatchConfigError(
        `batch "${batch.name}": task.kind = "${batch.task.kind}" cannot be created by CreatedBatchTask; use importedBatchTask() for imported tasks.`,
      );
    }
    const task: CreatedTask = batch.task;
    const prefix = props.namePrefix ?? DEFAULT_PREFIX;
    const logGroupName = taskLogGroupName(batch.name, prefix);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.taskRole = new iam.Role(this, 'TaskRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `Task role of batch ${batch.name}: grant it what the batch itself needs.`,
    });
    // The execution role with its one inline policy, immutable: CDK's default would add a separate
    // AWS::IAM::Policy resource per batch for the same two log actions.
    const executionRole = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `Execution role of batch ${batch.name}: write the container's logs.`,
      inlinePolicies: {
        Logs: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [this.logGroup.logGroupArn],
            }),
          ],
        }),
      },
    });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      family: `${prefix}-${batch.name}`,
      cpu: task.cpu ?? 256,
      memoryLimitMiB: task.memoryMiB ?? 512,
      taskRole: this.taskRole,
      executionRole: executionRole.withoutPolicyUpdates(),
    });
    this.taskDefinition.addContainer('Container', {
      containerName: batch.containerName,
      image: ecs.ContainerImage.fromRegistry(task.image),
      command: [...task.command],
      essential: true,
      stopTimeout: Duration.seconds(batch.stopGraceSeconds ?? 30),
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: TASK_LOG_STREAM_PREFIX }),
    });

    const stack = Stack.of(this);
    this.target = {
      clusterArn: props.cluster.clusterArn,
      taskArnPattern: stack.formatArn({
        service: 'ecs',
        resource: 'task',
        resourceName: `${props.cluster.clusterName}/*`,
      }),
      taskDefinitionArn: this.taskDefinition.taskDefinitionArn,
      runTaskResource: this.taskDefinition.taskDefinitionArn,
      family: this.taskDefinition.family,
      passRoleArns: [this.taskRole.roleArn, executionRole.roleArn],
      logGroupName,
      logStreamPrefix: TASK_LOG_STREAM_PREFIX,
    };
  }
}
