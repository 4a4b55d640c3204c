import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { BATCH_TAG_KEY } from '../config/naming';

/** What one batch's state machine may touch. Strings may be tokens. */
export interface StateMachinePolicyProps {
  readonly batchName: string;
  readonly stateMachineName: string;
  readonly lockTableArn: string;
  readonly alertTopicArn: string;
  /** KMS key of the alert topic, if it is encrypted with a customer managed key. */
  readonly alertTopicKeyArn?: string;
  readonly clusterArn: string;
  /** `arn:...:task/<cluster-name>/*` */
  readonly taskArnPattern: string;
  /** IAM resource for RunTask (the task definition ARN, or `<family ARN>:*`). */
  readonly runTaskResource: string;
  readonly passRoleArns: readonly string[];
  readonly validatorFunctionArn: string;
  readonly watcherFunctionArn: string;
  readonly reconcilerFunctionArn: string;
  /** The bus of the run lifecycle events. */
  readonly eventBusArn: string;
}

/**
 * Sids of the statements that serve no ASL Task state but the state machine's own configuration:
 * the test that derives actions from the ASL accepts exactly these beyond the derived ones.
 */
export const JUSTIFIED_EXTRA_SIDS = {
  /** Step Functions writes execution logs through CloudWatch Logs vended log delivery (no resource-level permissions). */
  logDelivery: 'ExecutionLogDelivery',
  /** Tracing on: the state machine sends segments to X-Ray (no resource-level permissions). */
  tracing: 'XRayTracing',
  /** The alert topic is KMS encrypted: publishing needs the data key. */
  topicKey: 'AlertTopicKey',
} as const;

/**
 * The hand-written policy of one batch's state machine: every statement serves a Task state of
 * state-machines/batch-runner.asl.json (its Sid says which) or one of {@link JUSTIFIED_EXTRA_SIDS}.
 * CDK writes no IAM for a definition given as a string; this is the one place it is derived.
 */
export function stateMachinePolicyStatements(scope: Construct, p: StateMachinePolicyProps): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const onCluster = { ArnEquals: { 'ecs:cluster': p.clusterArn } };
  const statements = [
    new iam.PolicyStatement({
      sid: 'LockItem',
      // AcquireLock (putItem), ReadLockHolder and ConfirmLockAfterRedrive (getItem), ReleaseLock,
      // ReleaseLockAfterSkip (deleteItem).
      actions: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:DeleteItem'],
      resources: [p.lockTableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [p.batchName] } },
    }),
    new iam.PolicyStatement({
      sid: 'SlotItems',
      // ClaimScheduledSlot (putItem): keys `slot#<batch>#<scheduled time>`. The `#` after the batch name
      // keeps batch "a" from claiming slots of batch "a-b".
      actions: ['dynamodb:PutItem'],
      resources: [p.lockTableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`slot#${p.batchName}#*`] } },
    }),
    new iam.PolicyStatement({
      sid: 'AlertItems',
      // RecordOwedAlert (putItem), MarkAlertDelivered (updateItem): keys `alert#<execution ARN>` of
      // this batch's own executions only.
      actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resources: [p.lockTableArn],
      conditions: {
        'ForAllValues:StringLike': {
          'dynamodb:LeadingKeys': [
            `alert#${stack.formatArn({
              service: 'states',
              resource: 'execution',
              resourceName: `${p.stateMachineName}:*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            })}`,
          ],
        },
      },
    }),
    new iam.PolicyStatement({
      sid: 'ListTasks',
      // CheckRunningTasks. ListTasks is authorized on container instances (none on Fargate); the
      // ecs:cluster condition limits it to the batch's cluster.
      actions: ['ecs:ListTasks'],
      resources: ['*'],
      conditions: onCluster,
    }),
    new iam.PolicyStatement({
      sid: 'RunTask',
      // StartBatchTask (aws-sdk:ecs:runTask, request-response).
      actions: ['ecs:RunTask'],
      resources: [p.runTaskResource],
      conditions: onCluster,
    }),
    new iam.PolicyStatement({
      sid: 'TagAtRunTask',
      // StartBatchTask passes Tags (execution name, trigger): tag-on-create needs ecs:TagResource,
      // held to tags written by RunTask itself (ecs:CreateAction) on tasks of this cluster.
      actions: ['ecs:TagResource'],
      resources: [p.taskArnPattern],
      conditions: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
    }),
    new iam.PolicyStatement({
      sid: 'DescribeTasks',
      // ConfirmTaskStopped.
      actions: ['ecs:DescribeTasks'],
      resources: [p.taskArnPattern],
      conditions: onCluster,
    }),
    new iam.PolicyStatement({
      sid: 'StopOwnTasks',
      // StopBatchTask, StopRunningCopy (replace). Only tasks tagged with this batch's name (StartBatchTask
      // tags every task it starts), so a batch can never stop another batch's task on a shared cluster.
      actions: ['ecs:StopTask'],
      resources: [p.taskArnPattern],
      conditions: { ...onCluster, StringEquals: { [`aws:ResourceTag/${BATCH_TAG_KEY}`]: p.batchName } },
    }),
    new iam.PolicyStatement({
      sid: 'PassTaskRoles',
      // StartBatchTask: RunTask passes the task's task role and execution role.
      actions: ['iam:PassRole'],
      resources: [...p.passRoleArns],
      conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    }),
    new iam.PolicyStatement({
      sid: 'PutRunEvents',
      // PublishStartedEvent, PublishSucceededEvent, PublishSkippedEvent, PublishFailedEvent
      // (events:putEvents, optimized integration): the one bus only.
      actions: ['events:PutEvents'],
      resources: [p.eventBusArn],
    }),
    new iam.PolicyStatement({
      sid: 'HolderExecutions',
      // CheckLockHolderLiveness (describeExecution), StopLockHolder (stopExecution, overlap policy
      // replace). A lock holder is always an execution of this batch's own state machine.
      actions: ['states:DescribeExecution', 'states:StopExecution'],
      resources: [
        stack.formatArn({
          service: 'states',
          resource: 'execution',
          resourceName: `${p.stateMachineName}:*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    }),
    new iam.PolicyStatement({
      sid: 'AlertTopic',
      // PublishFailureAlert, NotifySkipped.
      actions: ['sns:Publish'],
      resources: [p.alertTopicArn],
    }),
    new iam.PolicyStatement({
      sid: 'RunnerFunctions',
      // ValidateManualInput (lambda:invoke), WaitForTaskToStop (lambda:invoke.waitForTaskToken),
      // SettleStaleLock and ReleaseLockAfterFailure (lambda:invoke of the reconciler).
      actions: ['lambda:InvokeFunction'],
      resources: [p.validatorFunctionArn, p.watcherFunctionArn, p.reconcilerFunctionArn],
    }),
    new iam.PolicyStatement({
      sid: JUSTIFIED_EXTRA_SIDS.logDelivery,
      actions: [
        'logs:CreateLogDelivery',
        'logs:GetLogDelivery',
        'logs:UpdateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:DescribeResourcePolicies',
        'logs:DescribeLogGroups',
      ],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: JUSTIFIED_EXTRA_SIDS.tracing,
      actions: [
        'xray:PutTraceSegments',
        'xray:PutTelemetryRecords',
        'xray:GetSamplingRules',
        'xray:GetSamplingTargets',
      ],
      resources: ['*'],
    }),
  ];
  if (p.alertTopicKeyArn !== undefined) {
    statements.push(
      new iam.PolicyStatement({
        sid: JUSTIFIED_EXTRA_SIDS.topicKey,
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [p.alertTopicKeyArn],
      }),
    );
  }
  return statements;
}
