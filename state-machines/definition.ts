import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BatchConfig } from '../config/batch-config';
import { BatchConfigError } from '../config/batch-config';
import { capacityPolicyOf, type CapacityPolicy, platformVersionOf } from '../config/capacity';
import { deriveTimings, RECONCILER_TIMEOUT_SECONDS } from '../config/timings';

/**
 * The RunTask states of the definition, one per shape of request ECS accepts (launch type FARGATE,
 * Fargate Spot, a capacity provider strategy, launch type EC2); `WhereToStartTask` picks one per
 * attempt. Whoever looks for "the task the run started" looks at all of them (a structure test proves
 * this list equals the definition's RunTask states).
 */
export const START_TASK_STATES: readonly string[] = [
  'StartBatchTask',
  'StartBatchTaskOnSpot',
  'StartBatchTaskOnCapacityProviders',
  'StartBatchTaskOnEc2',
];
export const isStartTaskState = (state: string | undefined): boolean =>
  state !== undefined && START_TASK_STATES.includes(state);

/** The ASL template every batch's state machine is made from (single source of truth). */
export const BATCH_RUNNER_ASL_PATH = join(__dirname, 'batch-runner.asl.json');

/**
 * Deployment-specific values of one batch: AWS resources the CDK app creates or imports, or local
 * stand-ins. Strings may be CDK tokens (resolved by CloudFormation's DefinitionSubstitutions).
 */
export interface DeploymentBindings {
  readonly region: string;
  readonly lockTableName: string;
  readonly alertTopicArn: string;
  readonly clusterArn: string;
  readonly taskDefinitionArn: string;
  readonly taskFamily: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
  /** @default 'DISABLED' */
  readonly assignPublicIp?: 'ENABLED' | 'DISABLED';
  readonly logGroupName: string;
  readonly logStreamPrefix: string;
  readonly manualInputValidatorFunctionArn: string;
  readonly taskWatcherFunctionArn: string;
  /** The reconciler (handlers/cleanup.ts): settles stale locks and every failure path's release. */
  readonly reconcilerFunctionArn: string;
  /**
   * The event bus the run's lifecycle events go to (state-machines/run-events.ts): its ARN, or
   * `default` (PutEvents' EventBusName takes a name or an ARN; the default bus of the state machine's
   * own account and region by name keeps every batch's substitutions short).
   * @default 'default'
   */
  readonly eventBus?: string;
}

/**
 * Every placeholder of the template with what it means. A test proves this list equals the set of
 * placeholders in the file, so a new placeholder cannot go undocumented or unsubstituted.
 */
export const PLACEHOLDER_DOCS: Readonly<Record<string, string>> = {
  BatchName: 'Batch name; lock key, SNS subject and message attribute, ECS task group.',
  Region: 'AWS region, for console and log links.',
  LockTableName: 'DynamoDB lock table (partition key "batch").',
  AlertTopicArn: 'SNS topic for alerts and skip notices.',
  EventBus: 'EventBridge bus of the run lifecycle events: "default", or the ARN of a bus the platform names.',
  ClusterArn: 'ECS cluster the batch runs on.',
  TaskDefinitionArn: 'Task definition RunTask starts.',
  TaskFamily: 'Task definition family: the running-task check lists RUNNING tasks of it.',
  ContainerName: 'Batch container: its exit code decides the outcome (sidecars do not count).',
  SubnetIdsJson: 'JSON array of subnet IDs for awsvpc networking (numeric-style placeholder, unquoted).',
  SecurityGroupIdsJson: 'JSON array of security group IDs (unquoted).',
  AssignPublicIp: 'ENABLED or DISABLED.',
  LogGroupName: 'Log group of the batch container (awslogs).',
  LogStreamPrefix: 'awslogs stream prefix of the batch container.',
  LogGroupUrlPath: 'LogGroupName encoded for a CloudWatch console URL fragment.',
  LogStreamUrlPrefix: '"<prefix>/<container>/" encoded for a console URL fragment.',
  ManualInputValidatorFunctionArn: 'Lambda that validates console/CLI input (handlers/validate-manual-input).',
  ReconcilerFunctionArn:
    "Lambda that applies the reconcile rule (handlers/cleanup.ts): settles a stale lock, and releases a failed run's lock only after its tasks are STOPPED.",
  ReconcilerTimeoutSeconds: 'TimeoutSeconds of the states that invoke the reconciler: its Lambda timeout (number).',
  TaskWatcherFunctionArn: 'Lambda that registers the task token for the ECS STOPPED event (handlers/task-watcher).',
  AllowedEnvironmentOverrides: 'Comma-separated environment names an operator may override.',
  AllowCommandOverride: '"true" if an operator may replace the container command.',
  OverlapPolicy: 'skip | wait | replace.',
  AttemptPolicy:
    "JSON object (unquoted) of the attempt options: context (the run's context in the task's environment, boolean); startTimeoutSeconds (absent without one); retry (absent without retries: attempts, infrastructureAttempts, backoffSeconds, exitCodes and stopCodes as comma-separated text); duration (absent without durationGuards: [minSeconds, nearSeconds]); capacity (absent for on-demand Fargate: spotFallbackAfter, providers or launchType, config/capacity.ts).",
  PlatformVersion: 'Fargate platform version the Fargate RunTask states send (LATEST unless the batch pins one).',
  SkipNotification: 'notice | alert | none: severity of the skip message.',
  HardTimeoutSeconds: 'Hard timeout of one run (number).',
  WaitChunkSeconds: 'TimeoutSeconds of one WaitForTaskToStop chunk (number).',
  WaitChunkCount: 'Chunks until the hard timeout (number).',
  StopConfirmIntervalSeconds: 'Seconds between checks for STOPPED after StopTask (number).',
  StopConfirmAttempts: 'Checks for STOPPED before giving up (number); also bounds replace re-checks.',
  LockWaitIntervalSeconds: 'Seconds between lock attempts under overlap policy wait (number).',
  LockWaitAttempts: 'Lock attempts under overlap policy wait before skipping (number).',
  StartAttempts: 'RunTask attempts on capacity failures (number).',
  StartBackoffSeconds: 'First backoff between start attempts, doubled each time (number).',
  ExecutionTimeoutSeconds: 'Top-level TimeoutSeconds of the execution (number).',
};

/** Placeholders whose values are inserted unquoted (numbers, JSON arrays). */
const UNQUOTED = new Set(['SubnetIdsJson', 'SecurityGroupIdsJson', 'AttemptPolicy']);

/**
 * What the attempt states read from `$.attempts.policy`: one placeholder for all attempt options, so
 * that each batch adds one short substitution to its stack's template.
 */
export interface AttemptPolicy {
  readonly context: boolean;
  /** The batch's `startTimeoutSeconds`; absent without one (the task watcher reads it). */
  readonly startTimeoutSeconds?: number;
  /** Absent without retries (the states check IsPresent first). Code lists are comma-separated. */
  readonly retry?: {
    readonly attempts: number;
    readonly infrastructureAttempts: number;
    readonly backoffSeconds: number;
    readonly exitCodes: string;
    readonly stopCodes: string;
  };
  /**
   * `[minSeconds, nearSeconds]`, absent without `durationGuards` (the success path checks IsPresent
   * first). A pair, not an object: each batch's policy is inlined in its stack's template, which is at
   * its size budget (worst-case-limits.contract.test.ts). Both bounds are always set: a guard that is
   * not configured gets a bound no run reaches (0, or twice the hard timeout).
   */
  readonly duration?: readonly [minSeconds: number, nearSeconds: number];
  /** Where the task runs; absent for on-demand Fargate (WhereToStartTask checks IsPresent). */
  readonly capacity?: CapacityPolicy;
}

/** Seconds of task run time above which a successful run gets the near-hard-timeout notice. */
export function nearHardTimeoutSecondsOf(batch: BatchConfig): number | undefined {
  const share = batch.durationGuards?.nearHardTimeoutShare;
  return share === undefined ? undefined : Math.floor(batch.hardTimeoutSeconds * share);
}

export function attemptPolicyOf(batch: BatchConfig): AttemptPolicy {
  const context = batch.runContextEnvironment ?? true;
  const start = batch.startTimeoutSeconds === undefined ? {} : { startTimeoutSeconds: batch.startTimeoutSeconds };
  const guards = batch.durationGuards;
  const duration =
    guards === undefined || (guards.minDurationSeconds === undefined && guards.nearHardTimeoutShare === undefined)
      ? undefined
      : ([guards.minDurationSeconds ?? 0, nearHardTimeoutSecondsOf(batch) ?? 2 * batch.hardTimeoutSeconds] as const);
  const capacity = capacityPolicyOf(batch.capacity);
  const retry = retryPolicyOf(batch);
  return {
    context,
    ...start,
    ...(duration ? { duration } : {}),
    ...(retry ? { retry } : {}),
    ...(capacity ? { capacity } : {}),
  };
}

/**
 * The retry part of the attempt policy. A batch on Fargate Spot always retries `SpotInterruption` as an
 * infrastructure disruption (with the defaults of a retry policy when it has none).
 */
function retryPolicyOf(batch: BatchConfig): AttemptPolicy['retry'] {
  const onSpot = batch.capacity?.spot !== undefined;
  if (batch.retry === undefined && !onSpot) return undefined;
  const stopCodes: string[] = [...(batch.retry?.on.stopCodes ?? [])];
  if (onSpot && !stopCodes.includes('SpotInterruption')) stopCodes.push('SpotInterruption');
  return {
    attempts: batch.retry?.attempts ?? 1,
    infrastructureAttempts: batch.retry?.infrastructureAttempts ?? 3,
    backoffSeconds: batch.retry?.backoffSeconds ?? 30,
    exitCodes: (batch.retry?.on.exitCodes ?? []).join(','),
    stopCodes: stopCodes.join(','),
  };
}

/**
 * Reads the template. `BATCH_RUNNER_ASL_TEMPLATE` points the definition tests at another file: the
 * mutation run (bench/mutate-asl.ts) uses it to run them against edited copies.
 */
export function readDefinitionTemplate(
  path: string = process.env.BATCH_RUNNER_ASL_TEMPLATE ?? BATCH_RUNNER_ASL_PATH,
): string {
  return readFileSync(path, 'utf8');
}

/** Names of the `${Placeholders}` in a template, sorted and unique. */
export function placeholdersIn(template: string): string[] {
  return [...new Set([...template.matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1]))].sort();
}

/** Percent-encodes a path the way the CloudWatch console fragment expects ("/" becomes "$252F"). */
export function consoleFragmentEncode(value: string): string {
  return encodeURIComponent(value).replace(/%/g, '$25');
}

/** The substitutions for one batch: the same map is used by CDK, the ASL tests and the local mode. */
export function substitutionsFor(batch: BatchConfig, bindings: DeploymentBindings): Record<string, string> {
  const t = deriveTimings(batch);
  return {
    BatchName: batch.name,
    Region: bindings.region,
    LockTableName: bindings.lockTableName,
    AlertTopicArn: bindings.alertTopicArn,
    EventBus: bindings.eventBus ?? 'default',
    ClusterArn: bindings.clusterArn,
    TaskDefinitionArn: bindings.taskDefinitionArn,
    TaskFamily: bindings.taskFamily,
    ContainerName: batch.containerName,
    SubnetIdsJson: JSON.stringify(bindings.subnetIds),
    SecurityGroupIdsJson: JSON.stringify(bindings.securityGroupIds),
    AssignPublicIp: bindings.assignPublicIp ?? 'DISABLED',
    LogGroupName: bindings.logGroupName,
    LogStreamPrefix: bindings.logStreamPrefix,
    LogGroupUrlPath: consoleFragmentEncode(bindings.logGroupName),
    LogStreamUrlPrefix: consoleFragmentEncode(`${bindings.logStreamPrefix}/${batch.containerName}/`),
    ManualInputValidatorFunctionArn: bindings.manualInputValidatorFunctionArn,
    TaskWatcherFunctionArn: bindings.taskWatcherFunctionArn,
    ReconcilerFunctionArn: bindings.reconcilerFunctionArn,
    ReconcilerTimeoutSeconds: String(RECONCILER_TIMEOUT_SECONDS),
    AllowedEnvironmentOverrides: (batch.overrides?.environment ?? []).join(','),
    AllowCommandOverride: String(batch.overrides?.command ?? false),
    OverlapPolicy: batch.overlapPolicy ?? 'skip',
    AttemptPolicy: JSON.stringify(attemptPolicyOf(batch)),
    PlatformVersion: platformVersionOf(batch.capacity),
    SkipNotification: batch.skipNotification ?? 'notice',
    HardTimeoutSeconds: String(t.hardTimeoutSeconds),
    WaitChunkSeconds: String(t.waitChunkSeconds),
    WaitChunkCount: String(t.waitChunkCount),
    StopConfirmIntervalSeconds: String(t.stopConfirmIntervalSeconds),
    StopConfirmAttempts: String(t.stopConfirmAttempts),
    LockWaitIntervalSeconds: String(t.lockWaitIntervalSeconds),
    LockWaitAttempts: String(t.lockWaitAttempts),
    StartAttempts: String(t.startAttempts),
    StartBackoffSeconds: String(t.startBackoffSeconds),
    ExecutionTimeoutSeconds: String(t.executionTimeoutSeconds),
  };
}

/**
 * Substitutes every placeholder the way CloudFormation's DefinitionSubstitutions does (plain text
 * replacement) and parses the result. Throws if a placeholder has no value or a value is unused.
 */
export function renderDefinition(
  substitutions: Record<string, string>,
  template: string = readDefinitionTemplate(),
): string {
  const wanted = placeholdersIn(template);
  const missing = wanted.filter((name) => substitutions[name] === undefined);
  const unused = Object.keys(substitutions).filter((name) => !wanted.includes(name));
  if (missing.length > 0 || unused.length > 0) {
    throw new BatchConfigError(
      `state machine template and substitutions disagree: missing ${JSON.stringify(missing)}, unused ${JSON.stringify(unused)}.`,
    );
  }
  const rendered = template.replace(/\$\{([A-Za-z0-9]+)\}/g, (_, name: string) => {
    const value = substitutions[name];
    // Quoted placeholders sit inside JSON strings: escape the value for that context.
    return UNQUOTED.has(name) ? value : JSON.stringify(value).slice(1, -1);
  });
  JSON.parse(rendered);
  return rendered;
}
