import { ArnFormat, Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type BatchConfig, BatchConfigError, validateBatchConfig } from '../config/batch-config';
import {
  executionLogGroupName,
  generatedNameProblems,
  PAUSE_INPUT_KEY,
  pausableSchedulerRolePath,
  scheduleName,
  stateMachineName,
} from '../config/naming';
import { type BatchTimings, deriveTimings } from '../config/timings';
import { BATCH_RUNNER_ASL_PATH, type DeploymentBindings, substitutionsFor } from '../state-machines/definition';
import {
  DEPENDENCY_INPUT_PATHS,
  DEPENDENCY_INPUT_TEMPLATE,
  RUN_EVENT_DETAIL_TYPES,
  RUN_EVENT_SOURCE,
} from '../state-machines/run-events';
import { BatchAlarms } from './batch-alarms';
import type { BatchNetworkConfig, BatchRunner } from './batch-runner';
import { type BatchTaskTarget, importedBatchTask } from './batch-task-target';
import { CreatedBatchTask } from './created-batch-task';
import { DependencyRole } from './dependency-rules';
import { acknowledgeJustifiedWildcards, arnFinding, literal, TASKS_OF_A_CLUSTER } from './iam-wildcards';
import { stateMachinePolicyStatements } from './state-machine-policy';

/** Properties of {@link ScheduledBatch}. */
export interface ScheduledBatchProps {
  /** The runner whose lock table, topic and handlers the batch uses (same account and region). */
  readonly runner: BatchRunner;
  /** The batch (config/batches.ts); validated here with the same rules as the CLI. */
  readonly batch: BatchConfig;
  /**
   * Where the batch runs.
   * @default - from `batch.task`: a new Fargate task definition on the runner's cluster
   * (`kind: 'created'`) or the task definition and cluster named by ARN (`kind: 'imported'`)
   */
  readonly task?: BatchTaskTarget;
  /**
   * Subnets and security groups of this batch's tasks.
   * @default - the runner's network
   */
  readonly network?: BatchNetworkConfig;
  /**
   * How often Scheduler retries a failed StartExecution before it parks the event in the DLQ.
   * @default 10
   */
  readonly scheduleRetryAttempts?: number;
  /**
   * How long Scheduler keeps retrying a start; a start later than this is dropped to the DLQ.
   * @default Duration.hours(1)
   */
  readonly scheduleMaxEventAge?: Duration;
  /**
   * Whether the schedule is enabled at deploy (`batch-runner pause`/`resume` change it later).
   * @default true
   */
  readonly scheduleEnabled?: boolean;
  /**
   * For a batch with `after`: how long after its slot the batch may legitimately start, i.e. the
   * execution timeouts of its upstream batches along the chain, added up. The missed-run alarm waits
   * this much longer. `addBatchRunnerStacks` computes it from the batch list.
   * @default 0
   */
  readonly upstreamDelaySeconds?: number;
  /**
   * Whether the `failed` alarm also notifies the alert topic (see `BatchAlarmsProps.notifyOnExecutionAlarms`).
   * @default false (see BatchAlarmsProps.notifyOnExecutionAlarms)
   */
  readonly notifyOnExecutionAlarms?: boolean;
  /**
   * Whether the missed-run and near-hard-timeout alarms notify the alert topic (the selftest canary's
   * do not: it never runs on a schedule, and selftest makes it time out on purpose).
   * @default true
   */
  readonly notifyOnAlarms?: boolean;
}

/** The input the schedule sends: the exact shape the ASL's RouteInput lets through without validation. */
export const SCHEDULE_INPUT = { trigger: 'schedule', scheduledTime: scheduler.ContextAttribute.scheduledTime } as const;

/**
 * The schedule's input for a batch: SCHEDULE_INPUT, plus `pauseAfter: N` when the batch sets
 * `pauseAfterConsecutiveFailures` (the reconciler reads N from the newest scheduled run; the state
 * machine's RouteInput ignores the key).
 */
export function scheduleInputOf(batch: BatchConfig): Record<string, unknown> {
  const n = batch.pauseAfterConsecutiveFailures;
  return n === undefined ? SCHEDULE_INPUT : { ...SCHEDULE_INPUT, [PAUSE_INPUT_KEY]: n };
}

/**
 * The log group every state machine of one stack logs its executions to (one per stack and name
 * prefix: a log group per batch would cost a CloudFormation resource per batch). Under
 * /aws/vendedlogs/ Step Functions needs no CloudWatch Logs resource policy entry per state machine
 * (that policy is limited to 5,120 characters per account and region). Each execution's events carry
 * its `execution_arn`.
 */
function executionLogGroupOf(stack: Stack, runner: BatchRunner): logs.LogGroup {
  const id = `ExecutionLogs-${runner.namePrefix}`;
  const existing = stack.node.tryFindChild(id);
  if (existing) return existing as logs.LogGroup;
  return new logs.LogGroup(stack, id, {
    logGroupName: executionLogGroupName(stack.stackName, runner.namePrefix),
    retention: runner.logRetention,
    removalPolicy: runner.removalPolicy,
  });
}

/**
 * One batch: its state machine (the shared ASL, served once from an S3 asset, with this batch's
 * substitutions, logging ALL, tracing on, a hand-written least-privilege role), the EventBridge
 * Scheduler schedule in the batch's time zone with retries and the runner's shared dead-letter
 * queue (for a batch with `after`: an EventBridge rule on its upstream's success instead, with the
 * same retries and queue), and its alarms.
 */
export class ScheduledBatch extends Construct {
  /** The batch configuration, validated. */
  public readonly batch: BatchConfig;
  /** Wait chunks, stop confirmation, retries and the execution timeout derived from the batch. */
  public readonly timings: BatchTimings;
  /** The ECS side: cluster, task definition, roles, log group. */
  public readonly target: BatchTaskTarget;
  /** The task definition this construct created, for `task.kind: 'created'`. */
  public readonly createdTask?: CreatedBatchTask;
  /** The batch's state machine, `<prefix>-<batch>`. */
  public readonly stateMachine: sfn.StateMachine;
  /** The state machine's hand-written least-privilege role. */
  public readonly stateMachineRole: iam.Role;
  /** Shared by the state machines of this stack. */
  public readonly executionLogGroup: logs.LogGroup;
  /**
   * The EventBridge Scheduler schedule, `<prefix>-<batch>`, in the batch's time zone; none for a
   * batch with `after` (its upstream's success starts it).
   */
  public readonly schedule?: scheduler.Schedule;
  /**
   * For a batch with `after`: the EventBridge rule `<prefix>-<batch>` on the lifecycle events' bus
   * that starts the state machine when the upstream batch's run succeeds.
   */
  public readonly dependencyRule?: events.CfnRule;
  /** The runner's dead-letter queue, shared by every batch's schedule. */
  public readonly scheduleDeadLetterQueue: sqs.IQueue;
  /** The batch's alarms: failed, missed run, near hard timeout. */
  public readonly alarms: BatchAlarms;
  /** The substitutions given to CloudFormation (values may be tokens). */
  public readonly definitionSubstitutions: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: ScheduledBatchProps) {
    super(scope, id);
    const { runner, batch } = props;
    validateBatchConfig(batch);
    this.batch = batch;
    this.timings = deriveTimings(batch);
    runner.registerBatch(batch.name, { pauseAfterConsecutiveFailures: batch.pauseAfterConsecutiveFailures });
    const stack = Stack.of(this);
    const prefix = runner.namePrefix;
    const nameProblems = generatedNameProblems(batch.name, prefix);
    if (nameProblems.length > 0) {
      throw new BatchConfigError(
        `batch "${batch.name}": name = "${batch.name}" is too long: ${nameProblems.join(' ')}`,
      );
    }
    const smName = stateMachineName(batch.name, prefix);

    if (props.task) {
      this.target = props.task;
    } else if (batch.task.kind === 'imported') {
      this.target = importedBatchTask(batch.task);
    } else {
      if (!runner.cluster) {
        throw new BatchConfigError(
          `batch "${batch.name}": task.kind = "created" needs a cluster: pass BatchRunnerProps.cluster, or import the task with task.kind "imported".`,
        );
      }
      this.createdTask = new CreatedBatchTask(this, 'Task', {
        batch,
        cluster: runner.cluster,
        namePrefix: prefix,
        logRetention: runner.logRetention,
        logRemovalPolicy: runner.removalPolicy,
      });
      this.target = this.createdTask.target;
    }
    runner.useCluster(this.target.clusterArn);
    const network = props.network ?? runner.network;

    const bindings: DeploymentBindings = {
      region: stack.region,
      lockTableName: runner.lockTable.tableName,
      alertTopicArn: runner.alertTopic.topicArn,
      clusterArn: this.target.clusterArn,
      taskDefinitionArn: this.target.taskDefinitionArn,
      taskFamily: this.target.family,
      subnetIds: network.subnetIds,
      securityGroupIds: network.securityGroupIds,
      assignPublicIp: network.assignPublicIp,
      logGroupName: this.target.logGroupName,
      logStreamPrefix: this.target.logStreamPrefix,
      manualInputValidatorFunctionArn: runner.validator.function.functionArn,
      taskWatcherFunctionArn: runner.watcher.function.functionArn,
      reconcilerFunctionArn: runner.cleanup.function.functionArn,
      eventBus: runner.eventBusRef().name,
    };
    // JSON.stringify of string tokens keeps them as "${Token[...]}" text, which CloudFormation
    // resolves inside the substitution (Fn::Join): SubnetIdsJson becomes ["subnet-..."] at deploy.
    this.definitionSubstitutions = substitutionsFor(batch, bindings);

    this.executionLogGroup = executionLogGroupOf(stack, runner);

    this.stateMachineRole = new iam.Role(this, 'StateMachineRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: `State machine ${smName}: this batch's resources only.`,
      inlinePolicies: {
        StateMachine: new iam.PolicyDocument({
          statements: stateMachinePolicyStatements(this, {
            batchName: batch.name,
            stateMachineName: smName,
            lockTableArn: runner.lockTable.tableArn,
            alertTopicArn: runner.alertTopic.topicArn,
            alertTopicKeyArn: runner.alertTopicKey?.keyArn,
            clusterArn: this.target.clusterArn,
            taskArnPattern: this.target.taskArnPattern,
            runTaskResource: this.target.runTaskResource,
            passRoleArns: this.target.passRoleArns,
            validatorFunctionArn: runner.validator.function.functionArn,
            watcherFunctionArn: runner.watcher.function.functionArn,
            reconcilerFunctionArn: runner.cleanup.function.functionArn,
            eventBusArn: runner.eventBusRef().arn,
          }),
        }),
      },
    });
    acknowledgeJustifiedWildcards(this.stateMachineRole, [
      {
        finding: /^Resource::\*$/,
        reason:
          "Actions without resource-level permissions: ecs:ListTasks (held to this batch's cluster by the ecs:cluster condition), CloudWatch Logs vended log delivery and X-Ray segments (required by logging level ALL and tracing).",
      },
      {
        finding: TASKS_OF_A_CLUSTER,
        reason:
          "StopTask/DescribeTasks: task IDs exist only after RunTask; the resource is the tasks of this batch's cluster, with the ecs:cluster condition on top.",
      },
      {
        finding: arnFinding('states', literal(`execution:${smName}:*`)),
        reason:
          "DescribeExecution/StopExecution of the lock holder: always an execution of this batch's own state machine, whose execution names are not known in advance.",
      },
    ]);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: smName,
      // The ASL file itself, uploaded once as an S3 asset (the same object for every batch and stack:
      // assets are content-addressed) and referenced as DefinitionS3Location. CloudFormation reads it,
      // replaces every ${Placeholder} with DefinitionSubstitutions as plain text, and only then parses
      // it (so unquoted numeric and array placeholders are fine). Embedding it instead costs ~32 KB
      // of template per batch. CDK writes no IAM for a file definition: the role above is the whole.
      definitionBody: sfn.DefinitionBody.fromFile(BATCH_RUNNER_ASL_PATH),
      definitionSubstitutions: this.definitionSubstitutions,
      // Immutable: CDK must not add statements; the policy above is the whole of it.
      role: this.stateMachineRole.withoutPolicyUpdates(),
      logs: { destination: this.executionLogGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });

    this.scheduleDeadLetterQueue = runner.scheduleDeadLetters.queue;

    const name = scheduleName(batch.name, prefix);
    if (batch.after?.length) {
      this.dependencyRule = this.addDependencyRule(props, name);
    } else {
      this.schedule = this.addSchedule(props, name, smName);
    }

    this.alarms = new BatchAlarms(this, 'Alarms', {
      batchName: batch.name,
      namePrefix: prefix,
      stateMachine: this.stateMachine,
      hardTimeoutSeconds: this.timings.hardTimeoutSeconds,
      executionTimeoutSeconds: this.timings.executionTimeoutSeconds,
      expectedIntervalHours: batch.schedule.expectedIntervalHours ?? 24,
      upstream: batch.after?.[0],
      upstreamDelaySeconds: props.upstreamDelaySeconds,
      alarmAction: runner.alarmAction,
      // The same share as the success notice of durationGuards (that one measures the task, this one the execution).
      nearHardTimeoutRatio: batch.durationGuards?.nearHardTimeoutShare,
      notifyOnExecutionAlarms: props.notifyOnExecutionAlarms,
      notifyOnAlarms: props.notifyOnAlarms,
    });
  }

  /**
   * The rule of a batch with `after`: the upstream's `Batch Run Succeeded` events of this deployment
   * (the state machine ARN in `resources`, so a same-named batch of another deployment on the bus does
   * not count), sent to this state machine as the dependency input, with the schedules' retries and
   * dead-letter queue. One role per stack serves every rule in it.
   */
  private addDependencyRule(props: ScheduledBatchProps, name: string): events.CfnRule {
    const { runner, batch } = props;
    const upstream = batch.after?.[0] as string;
    const role = DependencyRole.of(Stack.of(this), runner);
    role.allowStart(this.stateMachine.stateMachineArn);
    return new events.CfnRule(this, 'DependencyRule', {
      name,
      description: `${batch.name}: after ${upstream} succeeds`,
      eventBusName: runner.eventBus?.eventBusArn,
      state: 'ENABLED',
      eventPattern: {
        source: [RUN_EVENT_SOURCE],
        'detail-type': [RUN_EVENT_DETAIL_TYPES.succeeded],
        resources: [
          Stack.of(this).formatArn({
            service: 'states',
            resource: 'stateMachine',
            resourceName: stateMachineName(upstream, runner.namePrefix),
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
        detail: { batch: [upstream] },
      },
      targets: [
        {
          id: 'StateMachine',
          arn: this.stateMachine.stateMachineArn,
          roleArn: role.role.roleArn,
          inputTransformer: { inputPathsMap: { ...DEPENDENCY_INPUT_PATHS }, inputTemplate: DEPENDENCY_INPUT_TEMPLATE },
          retryPolicy: {
            maximumRetryAttempts: props.scheduleRetryAttempts ?? 10,
            maximumEventAgeInSeconds: (props.scheduleMaxEventAge ?? Duration.hours(1)).toSeconds(),
          },
          deadLetterConfig: { arn: this.scheduleDeadLetterQueue.queueArn },
        },
      ],
    });
  }

  /** The batch's Scheduler schedule, its role, retries and the shared dead-letter queue. */
  private addSchedule(props: ScheduledBatchProps, name: string, smName: string): scheduler.Schedule {
    const { runner, batch } = props;
    const stack = Stack.of(this);
    const pauseAfter = batch.pauseAfterConsecutiveFailures;
    const prefix = runner.namePrefix;
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      // The reconciler passes this role back to Scheduler when it pauses the schedule; it may pass only
      // the roles under this path (infra/batch-runner.ts, PassTheSchedulesRoleBack).
      path: pauseAfter === undefined ? undefined : pausableSchedulerRolePath(prefix),
      // Scheduler presents its *schedule group* ARN as aws:SourceArn, never the schedule's own ARN
      // (Scheduler user guide, "Confused deputy prevention"; since 2023-09-07). A schedule ARN here
      // makes every AssumeRole fail and every start land in the DLQ.
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({
              service: 'scheduler',
              resource: 'schedule-group',
              resourceName: runner.scheduleGroup.scheduleGroupName,
            }),
          },
        },
      }),
      description: `Schedule ${name}: start ${smName}, park failed starts in the schedules' DLQ.`,
      inlinePolicies: {
        Schedule: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'StartThisStateMachine',
              actions: ['states:StartExecution'],
              resources: [this.stateMachine.stateMachineArn],
            }),
            new iam.PolicyStatement({
              sid: 'ParkFailedStarts',
              actions: ['sqs:SendMessage'],
              resources: [this.scheduleDeadLetterQueue.queueArn],
            }),
          ],
        }),
      },
    });
    return new scheduler.Schedule(this, 'Schedule', {
      scheduleName: name,
      scheduleGroup: runner.scheduleGroup,
      description: `${batch.name}: cron(${batch.schedule.cron}) ${batch.schedule.timeZone}`,
      schedule: scheduler.ScheduleExpression.expression(
        `cron(${batch.schedule.cron})`,
        TimeZone.of(batch.schedule.timeZone),
      ),
      timeWindow: scheduler.TimeWindow.off(),
      enabled: props.scheduleEnabled ?? true,
      target: new schedulerTargets.StepFunctionsStartExecution(this.stateMachine, {
        role: schedulerRole.withoutPolicyUpdates(),
        input: scheduler.ScheduleTargetInput.fromObject(scheduleInputOf(batch)),
        retryAttempts: props.scheduleRetryAttempts ?? 10,
        maxEventAge: props.scheduleMaxEventAge ?? Duration.hours(1),
        deadLetterQueue: this.scheduleDeadLetterQueue,
      }),
    });
  }
}
