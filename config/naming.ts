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
