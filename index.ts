/**
 * `batch-runner`: the CDK constructs of the Step Functions batch runner, the batch configuration and
 * its validation. Declare a `BatchRunner` (lock table, alert topic, handlers) once and a
 * `ScheduledBatch` per batch, or the whole deployable layout with `addBatchRunnerStacks`; the batch
 * list comes from your app (TypeScript, or a JSON/YAML file read with `loadBatchFile`, which the
 * `batch-runner` CLI reads too). README: "Use it in your own CDK app".
 *
 * @packageDocumentation
 * @module batch-runner
 */
export * from './config/index';
export { BatchAlarms, type BatchAlarmsProps, MAX_MISSED_RUN_WINDOW_HOURS } from './infra/batch-alarms';
export { BatchDashboard, type BatchDashboardProps } from './infra/batch-dashboard';
export { BatchNetwork, type BatchNetworkProps, type ImportedNetwork } from './infra/batch-network';
export {
  addBatchRunnerStacks,
  APP_LIMITS,
  type BatchRunnerAppProps,
  type BatchRunnerAppStacks,
  MAX_BATCHES_PER_STACK,
  validateAppProps,
} from './infra/batch-runner-app';
export { BatchRunner, type BatchNetworkConfig, type BatchRunnerProps } from './infra/batch-runner';
export { type BatchTaskTarget, importedBatchTask } from './infra/batch-task-target';
export { CONTEXT_KEYS, contextSettings } from './infra/context-settings';
export { CreatedBatchTask, type CreatedBatchTaskProps } from './infra/created-batch-task';
export { type JustifiedWildcard } from './infra/iam-wildcards';
export { RunnerFunction, type RunnerFunctionProps } from './infra/runner-function';
export { ScheduleDeadLetters, type ScheduleDeadLettersProps } from './infra/schedule-dead-letters';
export { ScheduledBatch, type ScheduledBatchProps } from './infra/scheduled-batch';
