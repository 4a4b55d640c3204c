/**
 * Names of deployed resources, derived from the batch name and a deployment prefix. The CDK app
 * creates resources with these names and the CLI finds them with the same functions, so nobody
 * copies ARNs by hand.
 */
export const DEFAULT_PREFIX = 'batch-runner';

export const stateMachineName = (batch: string, prefix = DEFAULT_PREFIX) => `${prefix}-${batch}`;
export const lockTableName = (prefix = DEFAULT_PREFIX) => `${prefix}-locks`;
export const alertTopicName = (prefix = DEFAULT_PREFIX) => `${prefix}-alerts`;
export const scheduleName = (batch: string, prefix = DEFAULT_PREFIX) => `${prefix}-${batch}`;
export const scheduleGroupName = (prefix = DEFAULT_PREFIX) => prefix;
/**
 * IAM path of the scheduler role of a batch that sets `pauseAfterConsecutiveFailures`: the reconciler
 * may pass (iam:PassRole, to Scheduler only) the roles under it when it disables such a schedule.
 */
export const pausableSchedulerRolePath = (prefix = DEFAULT_PREFIX) => `/${prefix}/`;
/**
 * Key of `pauseAfterConsecutiveFailures` in a schedule's input (`{"trigger":"schedule",…,"pauseAfter":3}`):
 * the reconciler reads N from the newest scheduled run. Short: it is repeated in every batch's template.
 */
export const PAUSE_INPUT_KEY = 'pauseAfter';
/** CloudWatch alarm of one batch, e.g. `batch-runner-sitemap-refresh-missed-run`. */
export const batchAlarmName = (batch: string, suffix: string, prefix = DEFAULT_PREFIX) =>
  `${prefix}-${batch}-${suffix}`;
/** The one CloudWatch alarm on the schedules' shared dead-letter queue. */
export const scheduleDeadLetterAlarmName = (prefix = DEFAULT_PREFIX) => `${prefix}-schedule-dlq`;
/** Log group of the executions of every state machine in one CloudFormation stack. */
export const executionLogGroupName = (stackName: string, prefix = DEFAULT_PREFIX) =>
  `/aws/vendedlogs/states/${prefix}-${stackName}`;
export const taskLogGroupName = (batch: string, prefix = DEFAULT_PREFIX) => `/${prefix}/tasks/${batch}`;
export const TASK_LOG_STREAM_PREFIX = 'batch';
export const validatorFunctionName = (prefix = DEFAULT_PREFIX) => `${prefix}-validate-manual-input`;
export const watcherFunctionName = (prefix = DEFAULT_PREFIX) => `${prefix}-task-watcher`;
export const cleanupFunctionName = (prefix = DEFAULT_PREFIX) => `${prefix}-cleanup`;
/** ECS task group the runner sets on RunTask; the ECS STOPPED event rule matches on it. */
export const taskGroup = (batch: string) => `batch-runner:${batch}`;

export const stateMachineArn = (region: string, account: string, batch: string, prefix = DEFAULT_PREFIX) =>
  `arn:aws:states:${region}:${account}:stateMachine:${stateMachineName(batch, prefix)}`;

/**
 * Execution name for a manual start: `<trigger>-<batch>-<yyyymmddThhmmssZ>-<random>`, at most 80
 * characters (the Step Functions limit) for any valid batch name.
 */
export function manualExecutionName(trigger: string, batch: string, now: Date, random: string): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `${trigger}-${batch}-${stamp}-${random}`.slice(0, 80);
}

/** ECS tag on every task the runner starts: the batch name. StopTask is allowed only on tasks carrying it. */
export const BATCH_TAG_KEY = 'batch-runner:batch';
/**
 * ECS tag naming the execution that started a task. ECS tag values allow only letters, digits, spaces
 * and `_ . : / = + - @`, while execution names may contain `( ) ! '` and more, so the name is stored
 * base64-encoded (`States.Base64Encode` in StartBatchTask): every character of base64 is allowed.
 */
export const EXECUTION_TAG_KEY = 'batch-runner:execution-name-base64';
/**
 * ECS tag with the batch's hard timeout in seconds: with the task's creation time it gives the run's
 * deadline from ECS alone, so the reconciler can enforce it even without the lock item.
 */
export const HARD_TIMEOUT_TAG_KEY = 'batch-runner:hard-timeout-seconds';

/** The execution name a task was started by, from its tags (undefined when the tag is absent). */
export function executionNameFromTags(
  tags: ReadonlyArray<{ Key?: string; Value?: string; key?: string; value?: string }> | undefined,
): string | undefined {
  const tag = tags?.find((t) => (t.Key ?? t.key) === EXECUTION_TAG_KEY);
  const value = tag?.Value ?? tag?.value;
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

/**
 * Names generated from a batch name and the deployment prefix, with the limit of the API that takes
 * them. A prefix (up to 30 characters) plus a batch name (up to 40) can exceed them, so ScheduledBatch
 * checks every one before CDK or CloudFormation sees it.
 */
export const GENERATED_NAME_LIMITS: ReadonlyArray<{
  readonly what: string;
  readonly make: (batch: string, prefix: string) => string;
  readonly maxLength: number;
  readonly source: string;
}> = [
  {
    what: 'EventBridge Scheduler schedule name',
    make: (batch, prefix) => scheduleName(batch, prefix),
    maxLength: 64,
    source: 'Scheduler API CreateSchedule: Name, 1-64 characters',
  },
  {
    what: 'Step Functions state machine name',
    make: (batch, prefix) => stateMachineName(batch, prefix),
    maxLength: 80,
    source: 'Step Functions API CreateStateMachine: name, 1-80 characters',
  },
  {
    what: 'CloudWatch alarm name',
    // The longest suffix of infra/batch-alarms.ts.
    make: (batch, prefix) => batchAlarmName(batch, 'near-hard-timeout', prefix),
    maxLength: 255,
    source: 'CloudWatch API PutMetricAlarm: AlarmName, 1-255 characters',
  },
  {
    what: 'ECS task group',
    make: (batch) => taskGroup(batch),
    maxLength: 255,
    source: 'ECS API RunTask: group, up to 255 characters',
  },
];

/** Problems of the names generated for one batch under a prefix (empty when all fit). */
export function generatedNameProblems(batch: string, prefix = DEFAULT_PREFIX): string[] {
  return GENERATED_NAME_LIMITS.flatMap(({ what, make, maxLength, source }) => {
    const value = make(batch, prefix);
    if (value.length <= maxLength) return [];
    const room = maxLength - (value.length - batch.length);
    return [
      `the ${what} "${value}" has ${value.length} characters, more than ${maxLength} (${source}): use a batch name of at most ${room} characters with prefix "${prefix}", or a shorter namePrefix.`,
    ];
  });
}
