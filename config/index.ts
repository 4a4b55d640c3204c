/**
 * `batch-runner/config`: the batch configuration without the CDK constructs (no `aws-cdk-lib` is
 * loaded): the types, the validation rules the constructs and the CLI apply, and the JSON/YAML batch
 * file loader. For tools that check or generate batch lists.
 *
 * @packageDocumentation
 * @module batch-runner/config
 */
export {
  type BatchConfig,
  BatchConfigError,
  type BatchSchedule,
  CONFIG_LIMITS,
  type CreatedTask,
  describeConfigError,
  type DurationGuards,
  FARGATE_MAX_STOP_GRACE_SECONDS,
  type ImportedTask,
  type LocalRun,
  MAX_HARD_TIMEOUT_SECONDS,
  MAX_PAUSE_AFTER_CONSECUTIVE_FAILURES,
  MIN_HARD_TIMEOUT_SECONDS,
  type OverlapPolicy,
  type OverrideAllowList,
  RETRYABLE_STOP_CODES,
  type RetryableStopCode,
  type RetryPolicy,
  type SkipNotification,
  validateBatchConfig,
  validateBatchConfigs,
  validateDependencies,
} from './batch-config';
export {
  type BatchCapacity,
  CAPACITY_LIMITS,
  type CapacityPolicy,
  type CapacityProviderStrategyItem,
  FARGATE_CAPACITY_PROVIDERS,
  type SpotCapacity,
} from './capacity';
export { BATCH_FILE_NAMES, BatchFileError, findBatchFile, loadBatchFile, readBatchFile } from './batch-file';
export { DEFAULT_PREFIX } from './naming';
export { type BatchTimings, deriveTimings } from './timings';
