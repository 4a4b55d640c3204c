import { ArnFormat, Duration, Fn, Lazy, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambdaDestinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BatchConfigError } from '../config/batch-config';
import {
  BATCH_TAG_KEY,
  alertTopicName,
  cleanupFunctionName,
  DEFAULT_PREFIX,
  lockTableName,
  pausableSchedulerRolePath,
  scheduleGroupName,
  validatorFunctionName,
  watcherFunctionName,
} from '../config/naming';
import {
  RECONCILER_INTERVAL_SECONDS,
  RECONCILER_STOP_CONFIRM_SECONDS,
  RECONCILER_TIMEOUT_SECONDS,
} from '../config/timings';
import { taskArnPatternOf } from './batch-task-target';
import { acknowledgeJustifiedWildcards, arnFinding, literal, TASKS_OF_A_CLUSTER } from './iam-wildcards';
import { RunnerFunction } from './runner-function';
import { ScheduleDeadLetters } from './schedule-dead-letters';

/** Where RunTask places a batch's task (awsvpc). */
export interface BatchNetworkConfig {
  /** Subnets RunTask places the tasks in (awsvpc; at most 16). */
  readonly subnetIds: readonly string[];
  /** Security groups of the tasks (at most 5). */
  readonly securityGroupIds: readonly string[];
  /**
   * Whether tasks get a public IP (only for public subnets without a NAT gateway).
   * @default 'DISABLED'
   */
  readonly assignPublicIp?: 'ENABLED' | 'DISABLED';
}

/** Properties of {@link BatchRunner}. */
export interface BatchRunnerProps {
  /**
   * Prefix of every resource name (config/naming.ts), shared with the CLI. Two deployments in one
   * account and region need prefixes where neither is a prefix of the other (`batch-runner-*` rules and
   * IAM patterns would otherwise overlap).
   * @default 'batch-runner'
   */
  readonly namePrefix?: string;
  /** Network for the batches' tasks (a batch may override it). */
  readonly network: BatchNetworkConfig;
  /**
   * Cluster for batches of `task.kind: 'created'`.
   * @default - none: every batch must be imported by ARN
   */
  readonly cluster?: ecs.ICluster;
  /**
   * Topic for alerts, skip notices and alarm notifications.
   * @default - a topic encrypted with a new customer managed KMS key
   */
  readonly alertTopic?: sns.ITopic;
  /**
   * KMS key of a supplied `alertTopic`, if it is encrypted with a customer managed key (publishers
   * need kms:GenerateDataKey and kms:Decrypt on it).
   * @default - the supplied topic is not encrypted with a customer managed key
   */
  readonly alertTopicKey?: kms.IKey;
  /**
   * E-mail addresses subscribed to the alert topic (each must confirm the subscription e-mail).
   * @default - no subscription
   */
  readonly alertEmails?: readonly string[];
  /**
   * The bus the state machines put their run lifecycle events on (`source: batch-runner`, schema in
   * state-machines/run-events.ts), e.g. a platform's own bus.
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;
  /** Retention of the runner's log groups (functions, executions, containers). @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the lock table and the fixed-name log groups when the stack is deleted. Locks are
   * disposable state; a retained table or log group with the same name blocks a re-deploy.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * What all batches of one deployment share: the lock table, the alert topic, the three Lambda
 * handlers (manual-input validator, task watcher, cleanup), the EventBridge rules that feed the
 * watcher and the cleanup, and the schedule group. Add batches with `ScheduledBatch`, in this stack
 * or another one of the same account and region.
 */
export class BatchRunner extends Construct {
  /** Prefix of every resource name (the CLI's `--prefix`). */
  public readonly namePrefix: string;
  /** Network of the batches' tasks, unless a batch overrides it. */
  public readonly network: BatchNetworkConfig;
  /** Cluster of batches of `task.kind: 'created'`, if one was given. */
  public readonly cluster?: ecs.ICluster;
  /** DynamoDB table of locks, owed alerts and scheduled-slot claims (`<prefix>-locks`). */
  public readonly lockTable: dynamodb.Table;
  /** SNS topic of alerts, skip notices and alarm notifications. */
  public readonly alertTopic: sns.ITopic;
  /** KMS key of the alert topic, if it has a customer managed one. */
  public readonly alertTopicKey?: kms.IKey;
  /** EventBridge Scheduler group of every batch's schedule (named like the prefix). */
  public readonly scheduleGroup: scheduler.ScheduleGroup;
  /** The bus of the run lifecycle events given in the props; undefined: the account's default bus. */
  public readonly eventBus?: events.IEventBus;
  /** The dead-letter queue every batch's schedule parks failed starts in, and its alarm. */
  public readonly scheduleDeadLetters: ScheduleDeadLetters;
  /** The manual-input validator Lambda (handlers/validate-manual-input.ts). */
  public readonly validator: RunnerFunction;
  /** The task-watcher Lambda (handlers/task-watcher.ts): answers the wait's task token when the task stops. */
  public readonly watcher: RunnerFunction;
  /**
   * The reconciler Lambda (handlers/cleanup.ts): every 60 s, on execution status changes and when a state machine asks.
   */
  public readonly cleanup: RunnerFunction;
  /** Failed deliveries to, and failed asynchronous invocations of, the watcher and the cleanup. */
  public readonly handlerFailures: sqs.Queue;
  /** Fires when `handlerFailures` holds a message. */
  public readonly handlerFailuresAlarm: cloudwatch.Alarm;
  /** Retention of the runner's log groups. */
  public readonly logRetention: logs.RetentionDays;
  /** Removal policy of the lock table and the fixed-name log groups. */
  public readonly removalPolicy: RemovalPolicy;
  /** Action of the runner's alarms: notify the alert topic. */
  public readonly alarmAction: cloudwatch.IAlarmAction;

  private readonly clusters = new Map<string, string>();
  private readonly batchNames = new Set<string>();

  /**
   * The lifecycle events' bus as the definition names it (`default`, or the given bus's ARN) and its
   * ARN for IAM (the default bus: the account and region of the stack that uses it, as one short
   * Fn::Sub of pseudo parameters: every batch repeats it, and a stack holds 40 batches).
   */
  public eventBusRef(): {
    /** `default`, or the bus's ARN: the definition's `${EventBus}`. */
    name: string;
    /** The bus's ARN, for the state machine role's `events:PutEvents`. */
    arn: string;
  } {
    if (this.eventBus) return { name: this.eventBus.eventBusArn, arn: this.eventBus.eventBusArn };
    return {
      name: 'default',
      arn: Fn.sub('arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default'),
    };
  }

  constructor(scope: Construct, id: string, props: BatchRunnerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.namePrefix = props.namePrefix ?? DEFAULT_PREFIX;
    this.network = props.network;
    this.cluster = props.cluster;
    this.logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    this.removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    if (!/^[a-z][a-z0-9-]{0,29}$/.test(this.namePrefix)) {
      throw new BatchConfigError(
        `namePrefix = ${JSON.stringify(this.namePrefix)} is invalid: use 1-30 characters of a-z, 0-9 and "-", starting with a letter.`,
      );
    }
    if (props.network.subnetIds.length === 0) {
      throw new BatchConfigError(
        "network.subnetIds is empty: give at least one subnet for the batches' tasks (awsvpc).",
      );
    }

    this.eventBus = props.eventBus;

    this.lockTable = new dynamodb.Table(this, 'LockTable', {
      tableName: lockTableName(this.namePrefix),
      partitionKey: { name: 'batch', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // Tidying only: every lock decision compares owners and checks liveness itself.
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: this.removalPolicy,
    });

    if (props.alertTopic) {
      this.alertTopic = props.alertTopic;
      this.alertTopicKey = props.alertTopicKey;
    } else {
      const key = new kms.Key(this, 'AlertTopicKey', {
        description: `Encrypts the ${alertTopicName(this.namePrefix)} SNS topic.`,
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.DESTROY,
        pendingWindow: Duration.days(7),
      });
      // CloudWatch alarms publish to the encrypted topic through the key (the statement AWS documents
      // for alarm actions on encrypted topics; the key encrypts nothing but this topic).
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'CloudWatchAlarmsPublishToTheAlertTopic',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
        }),
      );
      const topic = new sns.Topic(this, 'AlertTopic', {
        topicName: alertTopicName(this.namePrefix),
        displayName: 'batch-runner alerts',
        masterKey: key,
        enforceSSL: true,
      });
      topic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'CloudWatchAlarmsPublish',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      );
      this.alertTopic = topic;
      this.alertTopicKey = key;
    }
    for (const email of props.alertEmails ?? []) {
      this.alertTopic.addSubscription(new subscriptions.EmailSubscription(email));
    }
    this.alarmAction = new cwActions.SnsAction(this.alertTopic);

    this.scheduleGroup = new scheduler.ScheduleGroup(this, 'ScheduleGroup', {
      scheduleGroupName: scheduleGroupName(this.namePrefix),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.scheduleDeadLetters = new ScheduleDeadLetters(this, 'ScheduleDeadLetters', {
      namePrefix: this.namePrefix,
      alarmAction: this.alarmAction,
    });

    this.handlerFailures = new sqs.Queue(this, 'HandlerFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.handlerFailures).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the watcher and cleanup rules and functions; an alarm fires when it is not empty.',
    });
    this.handlerFailuresAlarm = new cloudwatch.Alarm(this, 'HandlerFailuresAlarm', {
      alarmName: `${this.namePrefix}-handler-failures`,
      alarmDescription:
        "An ECS STOPPED event or an execution status event could not be handled (see the queue messages and the functions' logs): a run may be left unwatched, a lock unreleased or an alert unsent.",
      metric: this.handlerFailures.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.handlerFailuresAlarm.addAlarmAction(this.alarmAction);

    const clusterArns = Lazy.list({ produce: () => [...this.clusters.keys()] });
    const taskPatterns = Lazy.list({ produce: () => [...this.clusters.values()] });
    const onRunnerClusters = { ArnEquals: { 'ecs:cluster': clusterArns } };
    const stateMachines = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: `${this.namePrefix}-*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const executions = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${this.namePrefix}-*:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const failureDestination = new lambdaDestinations.SqsDestination(this.handlerFailures);
    const sendFailures = new iam.PolicyStatement({
      sid: 'ReportFailedAsyncInvocations',
      actions: ['sqs:SendMessage'],
      resources: [this.handlerFailures.queueArn],
    });

    this.validator = new RunnerFunction(this, 'ValidateManualInput', {
      functionName: validatorFunctionName(this.namePrefix),
      entry: 'handlers/validate-manual-input.ts',
      description: 'Validates console/CLI input of a batch-runner execution before the lock is touched.',
      statements: [],
      timeout: Duration.seconds(10),
      logRetention: this.logRetention,
      logRemovalPolicy: this.removalPolicy,
    });

    this.watcher = new RunnerFunction(this, 'TaskWatcher', {
      functionName: watcherFunctionName(this.namePrefix),
      entry: 'handlers/task-watcher.ts',
      description: 'Answers the WaitForTaskToStop task token when the batch task stops (ECS event or chunk re-check).',
      environment: { LOCK_TABLE_NAME: this.lockTable.tableName },
      timeout: Duration.seconds(30),
      logRetention: this.logRetention,
      logRemovalPolicy: this.removalPolicy,
      onFailure: failureDestination,
      justifiedWildcards: [
        {
          finding: arnFinding('states', literal(`stateMachine:${this.namePrefix}-*`)),
          reason:
            "Task tokens of any of this runner's state machines: batches are added over time and in other stacks, and a list of 200 ARNs would exceed the role policy size limit. The prefix is this deployment's.",
        },
        {
          finding: TASKS_OF_A_CLUSTER,
          reason:
            "DescribeTasks of tasks the runner started: task IDs exist only after RunTask; limited to the runner's clusters (resource and ecs:cluster condition).",
        },
      ],
      statements: [
        new iam.PolicyStatement({
          sid: 'LockItems',
          // Register the task token (UpdateItem, conditional on the owner) and find it again (GetItem).
          actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          resources: [this.lockTable.tableArn],
        }),
        new iam.PolicyStatement({
          sid: 'AnswerTaskTokens',
          actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
          resources: [stateMachines],
        }),
        new iam.PolicyStatement({
          sid: 'DescribeBatchTasks',
          actions: ['ecs:DescribeTasks'],
          resources: taskPatterns,
          conditions: onRunnerClusters,
        }),
        sendFailures,
      ],
    });

    this.cleanup = new RunnerFunction(this, 'Cleanup', {
      functionName: cleanupFunctionName(this.namePrefix),
      entry: 'handlers/cleanup.ts',
      description:
        'The reconciler: stops tasks without a live owner or past their deadline, releases locks only after their tasks are STOPPED, delivers owed alerts.',
      environment: {
        LOCK_TABLE_NAME: this.lockTable.tableName,
        ALERT_TOPIC_ARN: this.alertTopic.topicArn,
        NAME_PREFIX: this.namePrefix,
        STOP_CONFIRM_SECONDS: String(RECONCILER_STOP_CONFIRM_SECONDS),
        // Filled as batches register their clusters (useCluster).
        CLUSTER_ARNS: Lazy.string({ produce: () => [...this.clusters.keys()].join(',') }),
      },
      // Stop grace (<= 120 s on Fargate) + 60 s for ECS to report STOPPED + API calls.
      timeout: Duration.seconds(RECONCILER_TIMEOUT_SECONDS),
      logRetention: this.logRetention,
      logRemovalPolicy: this.removalPolicy,
      onFailure: failureDestination,
      justifiedWildcards: [
        {
          finding: arnFinding('states', literal(`execution:${this.namePrefix}-*:*`)),
          reason:
            "Status of any of this runner's executions (lock owners, task owners): execution names are not known in advance, state machines are added over time. The prefix is this deployment's.",
        },
        {
          finding: arnFinding('states', literal(`stateMachine:${this.namePrefix}-*`)),
          reason:
            "Task tokens of any of this runner's state machines (a watched task that stopped while its event was lost, or passed its deadline). The prefix is this deployment's.",
        },
        {
          finding: TASKS_OF_A_CLUSTER,
          reason:
            "StopTask/DescribeTasks of the runner's tasks: task IDs exist only after RunTask; limited to the runner's clusters (resource and ecs:cluster condition).",
        },
        {
          finding: /^Resource::\*$/,
          reason:
            "ecs:ListTasks is authorized on container instances (none on Fargate; the ecs:cluster condition limits it to the runner's clusters); states:ListStateMachines supports no resource-level permissions.",
        },
      ],
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadLocksAndAlertRecords',
          // Reads every lock and owed alert (Scan: the table holds one item per batch and a week of alerts).
          actions: ['dynamodb:GetItem', 'dynamodb:Scan'],
          resources: [this.lockTable.tableArn],
        }),
        new iam.PolicyStatement({
          sid: 'ReleaseLocksAndNotePendingStops',
          actions: ['dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
          resources: [this.lockTable.tableArn],
        }),
        new iam.PolicyStatement({
          sid: 'AlertRecordsOnly',
          actions: ['dynamodb:PutItem'],
          resources: [this.lockTable.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['alert#*'] } },
        }),
        new iam.PolicyStatement({
          sid: 'OwnerStatus',
          actions: ['states:DescribeExecution'],
          resources: [executions],
        }),
        new iam.PolicyStatement({
          sid: 'SweepEndedExecutions',
          // Executions that ended while they held no lock and whose status event was lost.
          actions: ['states:ListExecutions'],
          resources: [stateMachines],
        }),
        new iam.PolicyStatement({
          sid: 'FindTheRunnersStateMachines',
          // ListStateMachines has no resource-level permissions (service authorization reference).
          actions: ['states:ListStateMachines'],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'AnswerTaskTokens',
          actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
          resources: [stateMachines],
        }),
        new iam.PolicyStatement({
          sid: 'ListRunnerTasks',
          actions: ['ecs:ListTasks'],
          resources: ['*'],
          conditions: onRunnerClusters,
        }),
        new iam.PolicyStatement({
          sid: 'DescribeBatchTasks',
          actions: ['ecs:DescribeTasks'],
          resources: taskPatterns,
          conditions: onRunnerClusters,
        }),
        new iam.PolicyStatement({
          sid: 'StopBatchTasks',
          // Only tasks the runner started (StartBatchTask tags each with its batch), never other tasks
          // that share the cluster.
          actions: ['ecs:StopTask'],
          resources: taskPatterns,
          conditions: { ...onRunnerClusters, Null: { [`aws:ResourceTag/${BATCH_TAG_KEY}`]: 'false' } },
        }),
        new iam.PolicyStatement({
          sid: 'PublishAlerts',
          actions: ['sns:Publish'],
          resources: [this.alertTopic.topicArn],
        }),
        ...(this.alertTopicKey
          ? [
              new iam.PolicyStatement({
                sid: 'AlertTopicKey',
                actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
                resources: [this.alertTopicKey.keyArn],
              }),
            ]
          : []),
        sendFailures,
      ],
    });

    const ruleTarget = (fn: RunnerFunction) =>
      new targets.LambdaFunction(fn.function, {
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
        deadLetterQueue: this.handlerFailures,
      });

    new events.Rule(this, 'TaskStoppedRule', {
      ruleName: `${this.namePrefix}-task-stopped`,
      description: 'ECS tasks of the runner stopped: answer the waiting execution (handlers/task-watcher).',
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: { lastStatus: ['STOPPED'], group: [{ prefix: 'batch-runner:' }], clusterArn: clusterArns },
      },
      targets: [ruleTarget(this.watcher)],
    });

    new events.Rule(this, 'ExecutionEndedRule', {
      ruleName: `${this.namePrefix}-execution-ended`,
      description:
        'Executions of the runner ended FAILED, TIMED_OUT or ABORTED: stop the task, release the lock, alert (handlers/cleanup).',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
          stateMachineArn: [{ prefix: stateMachines.replace(/\*$/, '') }],
        },
      },
      targets: [ruleTarget(this.cleanup)],
    });

    new events.Rule(this, 'ReconcileSchedule', {
      ruleName: `${this.namePrefix}-reconcile`,
      description:
        'The reconciler pass: every batch back to a safe state from what the services report now, whatever events were lost (handlers/cleanup).',
      schedule: events.Schedule.rate(Duration.seconds(RECONCILER_INTERVAL_SECONDS)),
      targets: [ruleTarget(this.cleanup)],
    });

    new cloudwatch.Alarm(this, 'UndeliveredAlertsAlarm', {
      alarmName: `${this.namePrefix}-undelivered-alerts`,
      alarmDescription:
        'An alert has been owed for more than 5 minutes: SNS publishing fails. The reconciler keeps retrying; check the topic and its key.',
      metric: new cloudwatch.Metric({
        namespace: 'BatchRunner',
        metricName: 'OldestUndeliveredAlertSeconds',
        statistic: 'Maximum',
        period: Duration.minutes(5),
      }),
      threshold: 300,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.node.addValidation({
      validate: () =>
        this.batchNames.size === 0 ? ['BatchRunner has no batches: add at least one ScheduledBatch.'] : [],
    });
  }

  /**
   * Lets the runner's handlers see and stop tasks on a cluster, and routes that cluster's STOPPED
   * events to the watcher. Called by `ScheduledBatch`. The ARN must be a literal or this runner's
   * own cluster (a token from another stack would make the stacks depend on each other).
   */
  public useCluster(clusterArn: string): void {
    if (this.clusters.has(clusterArn)) return;
    if (this.cluster && clusterArn === this.cluster.clusterArn) {
      const pattern = Stack.of(this).formatArn({
        service: 'ecs',
        resource: 'task',
        resourceName: `${this.cluster.clusterName}/*`,
      });
      this.clusters.set(clusterArn, pattern);
    } else if (Token.isUnresolved(clusterArn)) {
      throw new BatchConfigError(
        `cluster ${clusterArn} is neither a literal ARN nor the runner's own cluster: pass it as BatchRunnerProps.cluster, or import it by ARN.`,
      );
    } else {
      this.clusters.set(clusterArn, taskArnPatternOf(clusterArn));
    }
  }

  /**
   * Records a batch name; names must be unique in one runner (they are lock keys and resource names).
   * Called by `ScheduledBatch`. A batch that sets `pauseAfterConsecutiveFailures` gives the reconciler
   * what pausing a schedule needs: scheduler:GetSchedule and scheduler:UpdateSchedule on this runner's
   * schedules, and iam:PassRole, to Scheduler only, of the scheduler roles under `/<prefix>/`.
   */
  public registerBatch(name: string, options: { readonly pauseAfterConsecutiveFailures?: number } = {}): void {
    if (this.batchNames.has(name)) {
      throw new BatchConfigError(
        `batch "${name}": name = "${name}" is invalid: batch names must be unique in one runner; rename one of the two.`,
      );
    }
    this.batchNames.add(name);
    if (options.pauseAfterConsecutiveFailures !== undefined) this.allowSchedulePauses();
  }

  private schedulePausesAllowed = false;

  /**
   * Lets the reconciler disable the runner's schedules (`pauseAfterConsecutiveFailures`): GetSchedule
   * and UpdateSchedule on this deployment's schedules only, and iam:PassRole, to Scheduler only, of the
   * scheduler roles of such batches (they live under `/<prefix>/`): Scheduler checks PassRole on the
   * target's role at every UpdateSchedule. Added once, and only when some batch sets the option.
   */
  private allowSchedulePauses(): void {
    if (this.schedulePausesAllowed) return;
    this.schedulePausesAllowed = true;
    const stack = Stack.of(this);
    const group = scheduleGroupName(this.namePrefix);
    const rolePath = pausableSchedulerRolePath(this.namePrefix);
    this.cleanup.policy.addStatements(
      new iam.PolicyStatement({
        sid: 'PauseSchedulesAfterRepeatedFailures',
        actions: ['scheduler:GetSchedule', 'scheduler:UpdateSchedule'],
        resources: [
          stack.formatArn({
            service: 'scheduler',
            resource: 'schedule',
            resourceName: `${group}/${this.namePrefix}-*`,
          }),
        ],
      }),
      new iam.PolicyStatement({
        sid: 'PassTheSchedulesRoleBack',
        actions: ['iam:PassRole'],
        resources: [
          stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: `${rolePath.slice(1)}*` }),
        ],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
    acknowledgeJustifiedWildcards(this.cleanup.role, [
      {
        finding: arnFinding('scheduler', literal(`schedule/${group}/${this.namePrefix}-*`)),
        reason:
          "Pausing a batch's schedule after repeated failures: any of this runner's schedules (batches are added over time and in other stacks). The prefix is this deployment's.",
      },
      {
        finding: new RegExp(
          `^Resource::arn:(?:<[^>]*>|[^:<>*]+):iam::(?:<[^>]*>|[^:<>*]+):role${literal(rolePath)}\\*$`,
        ),
        reason:
          "UpdateSchedule passes the schedule's own role back to Scheduler (iam:PassedToService condition): the scheduler roles of batches that may be paused, which live under this path; their names are generated.",
      },
    ]);
  }
}
