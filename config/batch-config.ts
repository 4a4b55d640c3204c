/**
 * The one typed batch configuration, shared by the CDK app (infra/), the CLI (cli/) and the local
 * mode (local/). Validate with {@link validateBatchConfigs} before use; it throws a
 * {@link BatchConfigError} naming the batch, the field, the value and the fix.
 */

import { type BatchCapacity, validateCapacity } from './capacity';
import { BatchConfigError, failField } from './config-error';

/** What a start does when another live run of the same batch holds the lock. */
export type OverlapPolicy = 'skip' | 'wait' | 'replace';

/** How a skipped run is announced on the alert topic (SNS message attribute `severity`). */
export type SkipNotification = 'notice' | 'alert' | 'none';

/** EventBridge Scheduler cron schedule, evaluated in `timeZone` (DST handled by Scheduler). */
export interface BatchSchedule {
  /**
   * Six-field Scheduler cron: `minutes hours day-of-month month day-of-week year`, e.g. `0 6 * * ? *`.
   * @see https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#cron-based
   */
  readonly cron: string;
  /** IANA time zone, e.g. `Asia/Tokyo`. */
  readonly timeZone: string;
  /**
   * Hours between two expected successful runs, for the missed-run alarm.
   * @default 24
   */
  readonly expectedIntervalHours?: number;
}

/** Which operator overrides a manual start may carry. Everything else is refused. */
export interface OverrideAllowList {
  /**
   * Environment variable names an operator may set on the batch container.
   * @default - none
   */
  readonly environment?: readonly string[];
  /**
   * Whether an operator may replace the batch container's command. Off by default: with it on, anyone
   * allowed to start the state machine can run any command with the task role.
   * @default false
   */
  readonly command?: boolean;
}

/**
 * ECS stop codes (`TaskStopCode` in the ECS API) a run may retry: disruptions of the infrastructure,
 * not of the batch. `EssentialContainerExited` is how every exit is reported (retry by exit code
 * instead), `UserInitiated` is a person's or the runner's own StopTask (the hard timeout), and
 * `ServiceSchedulerInitiated` concerns services only.
 */
export const RETRYABLE_STOP_CODES = [
  'TaskFailedToStart',
  'SpotInterruption',
  'InfrastructureHealth',
  'TerminationNotice',
] as const;
/** One of {@link RETRYABLE_STOP_CODES}. */
export type RetryableStopCode = (typeof RETRYABLE_STOP_CODES)[number];

/**
 * Which failures of a run's task are retried, inside the same execution and under the same lock,
 * each new attempt only after the previous task is STOPPED, and all within the run's one deadline
 * (the first task's creation + hardTimeoutSeconds).
 * @see https://docs.aws.amazon.com/batch/latest/APIReference/API_EvaluateOnExit.html
 */
export interface RetryPolicy {
  /**
   * Attempts a run may make for failures of the batch itself (an exit code in `on.exitCodes`), the
   * first attempt included: 1-10 (1: retry infrastructure disruptions only).
   */
  readonly attempts: number;
  /**
   * Further attempts for infrastructure disruptions (a stop code in `on.stopCodes`); they do not use
   * up `attempts`. 0-10.
   * @default 3
   */
  readonly infrastructureAttempts?: number;
  /**
   * Wait between a failed attempt (its task STOPPED) and the next start: 0-3600 s, shorter than the
   * hard timeout.
   * @default 30
   */
  readonly backoffSeconds?: number;
  /** Which failures are retried: by the container's exit code, or by the task's stop code. */
  readonly on: {
    /** Exit codes of the batch container that are retried, 1-255, at most 10 (e.g. 75 EX_TEMPFAIL). */
    readonly exitCodes?: readonly number[];
    /** Stop codes of the task that are retried (see RETRYABLE_STOP_CODES), whatever the exit code. */
    readonly stopCodes?: readonly RetryableStopCode[];
  };
}

export const MAX_RETRY_ATTEMPTS = 10;
export const MAX_RETRY_EXIT_CODES = 10;
export const MAX_RETRY_BACKOFF_SECONDS = 3600;

/** An ECS task definition and cluster that exist already, imported by ARN. */
export interface ImportedTask {
  /** Discriminator: an existing task definition, imported by ARN. */
  readonly kind: 'imported';
  /** ARN of the ECS cluster the task runs on. */
  readonly clusterArn: string;
  /** ARN of the task definition, with or without a revision (without: the latest ACTIVE one). */
  readonly taskDefinitionArn: string;
  /** Task definition family (the running-task check lists tasks of this family). */
  readonly family: string;
  /**
   * Task role ARN of the task definition, for the runner's `iam:PassRole`.
   * @default - the task definition has no task role
   */
  readonly taskRoleArn?: string;
  /** Execution role ARN of the task definition (the runner may pass it to ECS). */
  readonly executionRoleArn: string;
  /** Log group the container logs to (awslogs driver), for links in alerts and `batch-runner logs`. */
  readonly logGroupName: string;
  /** awslogs stream prefix of the container. */
  readonly logStreamPrefix: string;
}

/** A task definition the CDK app creates on the shared cluster. */
export interface CreatedTask {
  /** Discriminator: the app creates the task definition. */
  readonly kind: 'created';
  /** Container image, e.g. `public.ecr.aws/docker/library/ruby:3.3`. */
  readonly image: string;
  /** Command of the batch container. */
  readonly command: readonly string[];
  /**
   * Fargate CPU units of the task (256 = 0.25 vCPU).
   * @default 256
   */
  readonly cpu?: number;
  /**
   * Fargate memory of the task, in MiB.
   * @default 512
   */
  readonly memoryMiB?: number;
}

/** Local-mode stand-in for the ECS task. */
export interface LocalRun {
  /**
   * Command run as a child process (exec form, no shell), from the repository root; for a batch file
   * given to the CLI (`--config`), from the directory of that file.
   */
  readonly command: readonly string[];
  /**
   * Hard timeout in local mode, so a demo does not wait for the production timeout.
   * @default - the batch's hardTimeoutSeconds
   */
  readonly hardTimeoutSeconds?: number;
  /**
   * Stop grace in local mode (SIGTERM to SIGKILL), in seconds.
   * @default - the batch's stopGraceSeconds
   */
  readonly stopGraceSeconds?: number;
}

/**
 * One batch: what runs, when, for how long at most, and what happens on overlap. The same shape in TypeScript, JSON and YAML.
 */
export interface BatchConfig {
  /** Lower-case name, `[a-z0-9-]`, at most 40 characters: used in ARNs, execution names and the lock key. */
  readonly name: string;
  /**
   * Shown in the CLI and the state machine's description.
   * @default - none
   */
  readonly description?: string;
  /**
   * When the batch runs. For a batch with `after`, the slots it stands for: give the upstream batch's
   * `cron` and `timeZone` (validation requires the same ones; they serve `list`, `run --for` and
   * `backfill`), and `expectedIntervalHours` for the missed-run alarm. No Scheduler schedule is
   * deployed for such a batch: only the upstream's success starts it.
   */
  readonly schedule: BatchSchedule;
  /**
   * Dependencies: the batch starts when a run of this upstream batch succeeds (an EventBridge rule
   * on the upstream's lifecycle event `Batch Run Succeeded`), standing for the same slot as the
   * upstream run (the upstream's scheduled time; for an upstream run without a slot, the scheduled
   * time its task was told: its execution's start time), through the same slot claim, lock and
   * checks as a scheduled run. One upstream batch, by name, from the same deployment; no cycles. When
   * the upstream fails or is skipped, nothing starts.
   * @default - no dependency: the batch's own schedule starts it
   */
  readonly after?: readonly string[];
  /**
   * Hard timeout of one run, in seconds (5 s to 24 h). At this deadline the runner stops the task
   * itself (ECS StopTask on the task's own ARN) and waits until ECS reports it STOPPED.
   */
  readonly hardTimeoutSeconds: number;
  /**
   * ECS `stopTimeout` of the batch container: SIGTERM to SIGKILL grace (at most 120 s on Fargate).
   * @default 30
   */
  readonly stopGraceSeconds?: number;
  /**
   * What a start does while another live run holds the lock: skip it, wait for the lock (`maxLockWaitMinutes`), or replace the running copy.
   * @default 'skip'
   */
  readonly overlapPolicy?: OverlapPolicy;
  /**
   * For `overlapPolicy: 'wait'`: how long to wait for the lock before skipping.
   * @default 10 minutes
   */
  readonly maxLockWaitMinutes?: number;
  /**
   * How a skipped run is announced on the alert topic.
   * @default 'notice'
   */
  readonly skipNotification?: SkipNotification;
  /**
   * Notices for successful runs whose task ran suspiciously short or close to the hard timeout
   * (task startedAt to stoppedAt). Each guard is optional.
   * @default - no duration notices
   */
  readonly durationGuards?: DurationGuards;
  /** Name of the batch container in the task definition (the one whose exit code decides the outcome). */
  readonly containerName: string;
  /**
   * What an operator may change at a manual start.
   * @default - nothing
   */
  readonly overrides?: OverrideAllowList;
  /** The ECS task: a task definition the app creates, or an existing one imported by ARN. */
  readonly task: ImportedTask | CreatedTask;
  /**
   * Whether the batch container is told the run's context in environment variables (names reserved,
   * no operator can set them): `BATCH_RUNNER_SCHEDULED_TIME` (the slot's scheduled time, ISO 8601 UTC,
   * the same for a retried or duplicated delivery; for a run without a slot, the execution's start
   * time), `BATCH_RUNNER_TRIGGER`, `BATCH_RUNNER_EXECUTION_ARN`, `BATCH_RUNNER_ATTEMPT` (1, 2, ...)
   * and `BATCH_RUNNER_HARD_TIMEOUT_SECONDS`. `false` starts the task with the operator's overrides only.
   * @default true
   */
  readonly runContextEnvironment?: boolean;
  /**
   * Retries by failure reason (exit codes, stop codes), inside the run's one deadline.
   * @default - a failed task ends the run
   */
  readonly retry?: RetryPolicy;
  /**
   * Longest time the task may stay PROVISIONING/PENDING (counted from its `createdAt`). Past it the
   * runner stops the task, confirms it STOPPED and ends the run `could_not_start` (error
   * `BatchRunner.StartTimedOut`, the reason names the status it was stuck in); with `TaskFailedToStart`
   * in `retry.on.stopCodes` it is retried as an infrastructure failure instead. Checked when each wait
   * chunk registers, so it is enforced at most one wait chunk late.
   * @default - no start timeout: only the hard timeout bounds a task that never starts
   */
  readonly startTimeoutSeconds?: number;
  /**
   * Where the task runs: Fargate Spot with a fallback to on-demand Fargate, a capacity provider
   * strategy or the EC2 launch type (imported clusters), and the Fargate platform version.
   * @default - on-demand Fargate (launch type FARGATE), platform version LATEST
   */
  readonly capacity?: BatchCapacity;
  /**
   * Disables the batch's schedule after this many failed runs in a row, and alerts once, saying how
   * to resume (`npx batch-runner resume <batch>`). A repeatedly failing nightly batch otherwise keeps
   * failing, and alerting, every night until someone looks (Temporal's `pauseOnFailure`). Counted by
   * the reconciler from Step Functions' own execution history, newest first: only runs started by the
   * schedule count (a batch with `after` may not set it); a run that FAILED or TIMED_OUT is a failure (except one refused
   * for invalid input), a succeeded run ends the streak, skipped, aborted and manual runs neither count
   * nor reset it. Runs started before the last pause or `resume` never count. A schedule already
   * DISABLED (paused by an operator) is left alone. N travels in the schedule's input, so a change
   * takes effect with the first scheduled run after the deploy. Whole number, 1 to
   * {@link MAX_PAUSE_AFTER_CONSECUTIVE_FAILURES}.
   * @default - never paused: the schedule keeps starting runs however often they fail
   */
  readonly pauseAfterConsecutiveFailures?: number;
  /**
   * How the local mode runs this batch (a child process in place of the ECS task).
   * @default - the batch cannot run in local mode
   */
  readonly local?: LocalRun;
}

/** See {@link BatchConfig.durationGuards}. */
export interface DurationGuards {
  /**
   * A successful run whose task ran fewer seconds than this gets a notice (it usually did nothing).
   * @default - no notice for a short run
   */
  readonly minDurationSeconds?: number;
  /**
   * A successful run whose task ran more than this share of `hardTimeoutSeconds` gets a notice;
   * the batch's near-hard-timeout alarm uses the same share.
   * @default - no notice for a long run (the alarm fires at 0.8)
   */
  readonly nearHardTimeoutShare?: number;
}

export { BatchConfigError };

export const BATCH_NAME_PATTERN = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;
export const ENV_NAME_PATTERN = /^[A-Z_][A-Z0-9_]{0,127}$/;
export const CONTAINER_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$/;
/** Longest execution name the CLI and scheduler produce: `<prefix>-<batch>-<yyyymmddThhmmss>-<6 chars>`. */
export const MAX_EXECUTION_NAME_LENGTH = 80;
/** The longest `stopGraceSeconds` Fargate accepts (ECS `stopTimeout`). */
export const FARGATE_MAX_STOP_GRACE_SECONDS = 120;
/** The shortest `startTimeoutSeconds` accepted (pulling an image takes seconds at best). */
export const MIN_START_TIMEOUT_SECONDS = 5;
/**
 * The largest `pauseAfterConsecutiveFailures` accepted: the reconciler reads at most
 * PAUSE_HISTORY_LIMIT (100) executions of the batch to count a streak.
 */
export const MAX_PAUSE_AFTER_CONSECUTIVE_FAILURES = 100;
/** The shortest `hardTimeoutSeconds` accepted. */
export const MIN_HARD_TIMEOUT_SECONDS = 5;
/** The longest `hardTimeoutSeconds` accepted (24 h). */
export const MAX_HARD_TIMEOUT_SECONDS = 24 * 60 * 60;
/** Environment name prefixes no batch may allow an operator to override (the runtime's own variables). */
export const RESERVED_ENV_PREFIXES = ['AWS_', 'ECS_', 'BATCH_RUNNER_'] as const;
export const isReservedEnvName = (name: string): boolean => RESERVED_ENV_PREFIXES.some((p) => name.startsWith(p));

/**
 * The largest values validation accepts for what ends up in the CloudFormation templates, each from
 * the limit of the AWS API that takes it or, where AWS sets none, from the template budget of a
 * batch (a stack of MAX_BATCHES_PER_STACK batches must stay under 90 % of CloudFormation's 1 MB
 * template limit: test/contracts/worst-case-limits.contract.test.ts synthesizes every one at its
 * maximum).
 */
export const CONFIG_LIMITS = {
  /** EventBridge Scheduler ScheduleExpression: 1-256 characters, of which `cron(` and `)` take 6. */
  cronLength: 250,
  /** EventBridge Scheduler ScheduleExpressionTimezone: 1-50 characters. */
  timeZoneLength: 50,
  /** Environment names an operator may override, and their characters together (template budget). */
  environmentOverrides: 20,
  /** Characters of all overridable names together, commas included (the worst-case stack stays under 900 KB). */
  environmentOverrideCharacters: 384,
  /**
   * ECS cluster names and task definition families: ECS allows 255 characters; the template budget
   * 200 (each appears about ten times in a batch's resources).
   */
  ecsNameLength: 200,
  /** IAM role names: up to 64 characters; role paths: IAM allows 512, the template budget 64. */
  roleNameLength: 64,
  /** Characters of a role path (the template budget; IAM allows 512). */
  rolePathLength: 64,
  /**
   * CloudWatch Logs log group names: the API allows 512 characters, the template budget 256 (the
   * name appears twice per batch, once URL-encoded for the console link).
   */
  logGroupNameLength: 256,
  /** awslogs stream prefix: stream names have at most 512 characters; the template budget allows 64. */
  logStreamPrefixLength: 64,
  /** ECS container image: up to 255 characters. */
  imageLength: 255,
  /** Created task command: arguments, and characters of all arguments together (template budget). */
  commandArguments: 64,
  /** Characters of all arguments of a created task's command together. */
  commandCharacters: 512,
} as const;

/** Partition and region of an ARN, bounded (the longest today are `aws-us-gov` and `ap-southeast-5`). */
const ARN_HEAD = 'arn:aws[a-z-]{0,17}:%s:[a-z0-9-]{1,20}:\\d{12}:';
const arnPattern = (service: string, resource: string) => new RegExp(`^${ARN_HEAD.replace('%s', service)}${resource}$`);
const CLUSTER_ARN = arnPattern('ecs', `cluster/[A-Za-z0-9_-]{1,${CONFIG_LIMITS.ecsNameLength}}`);
const TASK_DEFINITION_ARN = arnPattern(
  'ecs',
  `task-definition/[A-Za-z0-9_-]{1,${CONFIG_LIMITS.ecsNameLength}}(:\\d{1,10})?`,
);
const ROLE_ARN = /^arn:aws[a-z-]{0,17}:iam::\d{12}:role(\/[\w+=,.@/-]*)?\/([\w+=,.@-]+)$/;
const LOG_GROUP_NAME = /^[.\-_/#A-Za-z0-9]+$/;
/** Printable ASCII without `:` or `*` (CloudWatch Logs stream names), quotes or backslashes. */
const LOG_STREAM_PREFIX = /^[ !#-)+-9;-[\]-~]+$/;

/** Problems of an IAM role ARN (undefined when it is one). */
function roleArnProblem(arn: unknown): string | undefined {
  const m = typeof arn === 'string' ? ROLE_ARN.exec(arn) : null;
  if (!m) return 'give the full IAM role ARN, arn:aws:iam::<account>:role/[<path>/]<name>.';
  const path = `${m[1] ?? ''}/`;
  if (m[2].length > CONFIG_LIMITS.roleNameLength || path.length > CONFIG_LIMITS.rolePathLength) {
    return `IAM role names have at most ${CONFIG_LIMITS.roleNameLength} characters and paths at most ${CONFIG_LIMITS.rolePathLength}; this one has ${m[2].length} and ${path.length}.`;
  }
  return undefined;
}

const fail = failField;

const CRON_FIELD_RANGES: ReadonlyArray<[string, number, number]> = [
  ['minutes', 0, 59],
  ['hours', 0, 23],
  ['day-of-month', 1, 31],
  ['month', 1, 12],
  ['day-of-week', 1, 7],
  ['year', 1970, 2199],
];
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
/** `6L` (the last Friday of the month) and `6#3` (the third Friday), by number or by name. */
const DAY_OF_WEEK_SPECIAL = new RegExp(`^([1-7]|${DAYS.join('|')})(L|#[1-5])$`);

/** Checks a six-field Scheduler cron expression; returns a problem description or undefined. */
export function cronProblem(cron: string): string | undefined {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 6) {
    return `expected 6 fields "minutes hours day-of-month month day-of-week year" (e.g. "0 6 * * ? *"), got ${fields.length}`;
  }
  for (let i = 0; i < 6; i++) {
    const [label, min, max] = CRON_FIELD_RANGES[i];
    const names = i === 3 ? MONTHS : i === 4 ? DAYS : [];
    for (const part of fields[i].split(',')) {
      if (part === '*' || (part === '?' && (i === 2 || i === 4))) continue;
      if (i === 2 && /^(L|LW|\d{1,2}W)$/.test(part)) continue;
      // L as the whole field is the last day of the week; 6L the last Friday of the month; 6#3 the third Friday.
      if (i === 4 && (fields[i] === 'L' || DAY_OF_WEEK_SPECIAL.test(part))) continue;
      const m = /^(\*|[0-9A-Z]+)(?:-([0-9A-Z]+))?(?:\/(\d+))?$/.exec(part.toUpperCase());
      const toNumber = (token: string): number =>
        names.includes(token)
          ? names.indexOf(token) + 1 // JAN = 1, SUN = 1 in Scheduler cron
          : /^\d+$/.test(token)
            ? Number(token)
            : Number.NaN;
      if (!m) return `${label} field "${part}" is not a number, range, list or step`;
      for (const token of [m[1], m[2]].filter((t): t is string => t !== undefined && t !== '*')) {
        const n = toNumber(token);
        if (!(n >= min && n <= max)) return `${label} field "${part}": ${token} is outside ${min}-${max}`;
      }
    }
  }
  if (fields[2] !== '?' && fields[4] !== '?') {
    return 'one of day-of-month and day-of-week must be "?" (Scheduler cron rule)';
  }
  return undefined;
}

export function isKnownTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Validates one batch; throws {@link BatchConfigError} on the first problem. */
export function validateBatchConfig(batch: BatchConfig): void {
  const name = String(batch.name);
  if (!BATCH_NAME_PATTERN.test(name)) {
    fail(
      name,
      'name',
      batch.name,
      'use 2-40 characters of a-z, 0-9 and "-", starting with a letter (it becomes part of ARNs, execution names and the lock key).',
    );
  }
  checkKnownFields(name, batch);
  if (typeof batch.schedule?.cron !== 'string')
    fail(name, 'schedule.cron', batch.schedule?.cron, 'give a six-field Scheduler cron such as "0 6 * * ? *".');
  if (batch.schedule.cron.length > CONFIG_LIMITS.cronLength) {
    fail(
      name,
      'schedule.cron',
      batch.schedule.cron,
      `use at most ${CONFIG_LIMITS.cronLength} characters (Scheduler's schedule expression "cron(...)" has at most 256); use ranges and steps such as "0/5" instead of long lists.`,
    );
  }
  const cron = cronProblem(batch.schedule.cron);
  if (cron) fail(name, 'schedule.cron', batch.schedule.cron, `${cron}.`);
  if (
    typeof batch.schedule.timeZone !== 'string' ||
    batch.schedule.timeZone.length > CONFIG_LIMITS.timeZoneLength ||
    !isKnownTimeZone(batch.schedule.timeZone)
  ) {
    fail(
      name,
      'schedule.timeZone',
      batch.schedule.timeZone,
      'use an IANA time zone name such as "Asia/Tokyo" or "UTC".',
    );
  }
  if (batch.after !== undefined) validateAfter(name, batch.after);
  const interval = batch.schedule.expectedIntervalHours ?? 24;
  if (!Number.isInteger(interval) || interval < 1 || interval > 7 * 24) {
    fail(
      name,
      'schedule.expectedIntervalHours',
      interval,
      'use a whole number of hours between 1 and 168: the missed-run alarm is a CloudWatch alarm, which looks back at most 7 days.',
    );
  }
  const timeout = batch.hardTimeoutSeconds;
  if (!Number.isInteger(timeout) || timeout < MIN_HARD_TIMEOUT_SECONDS || timeout > MAX_HARD_TIMEOUT_SECONDS) {
    fail(
      name,
      'hardTimeoutSeconds',
      timeout,
      `use a whole number of seconds between ${MIN_HARD_TIMEOUT_SECONDS} and ${MAX_HARD_TIMEOUT_SECONDS} (24 h).`,
    );
  }
  const grace = batch.stopGraceSeconds ?? 30;
  if (!Number.isInteger(grace) || grace < 1 || grace > FARGATE_MAX_STOP_GRACE_SECONDS) {
    fail(
      name,
      'stopGraceSeconds',
      grace,
      `use a whole number of seconds between 1 and ${FARGATE_MAX_STOP_GRACE_SECONDS} (the Fargate maximum).`,
    );
  }
  if (grace >= timeout) {
    fail(name, 'stopGraceSeconds', grace, `the stop grace must be shorter than the hard timeout (${timeout} s).`);
  }
  if (timeout > interval * 3600) {
    fail(
      name,
      'hardTimeoutSeconds',
      timeout,
      `a run may not outlast its expected interval of ${interval} h, or runs would queue up behind each other; lower the timeout or raise schedule.expectedIntervalHours.`,
    );
  }
  const policy = batch.overlapPolicy ?? 'skip';
  if (!['skip', 'wait', 'replace'].includes(policy))
    fail(name, 'overlapPolicy', policy, 'use "skip", "wait" or "replace".');
  const notify = batch.skipNotification ?? 'notice';
  if (!['notice', 'alert', 'none'].includes(notify))
    fail(name, 'skipNotification', notify, 'use "notice", "alert" or "none".');
  if (batch.durationGuards !== undefined) validateDurationGuards(name, batch.durationGuards, timeout);
  const maxWait = batch.maxLockWaitMinutes ?? 10;
  if (!Number.isInteger(maxWait) || maxWait < 1 || maxWait > 24 * 60) {
    fail(name, 'maxLockWaitMinutes', maxWait, 'use a whole number of minutes between 1 and 1440.');
  }
  if (typeof batch.containerName !== 'string' || !CONTAINER_NAME_PATTERN.test(batch.containerName)) {
    fail(
      name,
      'containerName',
      batch.containerName,
      'use the container name from the task definition (letters, digits, "-" and "_").',
    );
  }
  const environment = batch.overrides?.environment ?? [];
  if (environment.length > CONFIG_LIMITS.environmentOverrides) {
    fail(
      name,
      'overrides.environment',
      environment,
      `allow at most ${CONFIG_LIMITS.environmentOverrides} environment names (each batch's share of its stack's 1 MB template); group values into one variable if you need more.`,
    );
  }
  if (environment.join(',').length > CONFIG_LIMITS.environmentOverrideCharacters) {
    fail(
      name,
      'overrides.environment',
      environment,
      `the allowed names take ${environment.join(',').length} characters with their commas, more than ${CONFIG_LIMITS.environmentOverrideCharacters} (each batch's share of its stack's 1 MB template); use shorter names or fewer.`,
    );
  }
  for (const env of environment) {
    if (!ENV_NAME_PATTERN.test(env))
      fail(name, 'overrides.environment', env, 'environment names must match [A-Z_][A-Z0-9_]*.');
    if (isReservedEnvName(env)) {
      fail(
        name,
        'overrides.environment',
        env,
        'names starting with AWS_, ECS_ or BATCH_RUNNER_ are reserved; an operator must not be able to change them.',
      );
    }
  }
  if (batch.runContextEnvironment !== undefined && typeof batch.runContextEnvironment !== 'boolean') {
    fail(
      name,
      'runContextEnvironment',
      batch.runContextEnvironment,
      'use true (the container gets BATCH_RUNNER_SCHEDULED_TIME, _TRIGGER, _EXECUTION_ARN, _ATTEMPT, _HARD_TIMEOUT_SECONDS) or false (it does not).',
    );
  }
  if (batch.retry !== undefined) validateRetry(name, batch.retry, batch.hardTimeoutSeconds);
  if (batch.capacity !== undefined)
    validateCapacity(name, batch.capacity, batch.task?.kind === 'created' ? 'created' : 'imported');
  const startTimeout = batch.startTimeoutSeconds;
  if (
    startTimeout !== undefined &&
    (!Number.isInteger(startTimeout) || startTimeout < MIN_START_TIMEOUT_SECONDS || startTimeout >= timeout)
  ) {
    fail(
      name,
      'startTimeoutSeconds',
      startTimeout,
      `use a whole number of seconds from ${MIN_START_TIMEOUT_SECONDS} up to less than the hard timeout (${timeout} s), or leave it out.`,
    );
  }
  const pauseAfter = batch.pauseAfterConsecutiveFailures;
  if (
    pauseAfter !== undefined &&
    (!Number.isInteger(pauseAfter) || pauseAfter < 1 || pauseAfter > MAX_PAUSE_AFTER_CONSECUTIVE_FAILURES)
  ) {
    fail(
      name,
      'pauseAfterConsecutiveFailures',
      pauseAfter,
      `use a whole number of failed runs from 1 to ${MAX_PAUSE_AFTER_CONSECUTIVE_FAILURES} (the reconciler reads at most ${MAX_PAUSE_AFTER_CONSECUTIVE_FAILURES} executions back), or leave it out to never pause the schedule.`,
    );
  }
  // validateAfter has made sure a given `after` names one batch.
  if (pauseAfter !== undefined && batch.after !== undefined) {
    fail(
      name,
      'pauseAfterConsecutiveFailures',
      pauseAfter,
      `a batch with after (${JSON.stringify(batch.after)}) has no schedule to pause: it starts when its upstream succeeds. Remove it here, and set it on the upstream batch instead (a paused upstream starts no dependents).`,
    );
  }
  if (batch.task?.kind === 'imported') {
    const t = batch.task;
    if (typeof t.taskDefinitionArn !== 'string' || !TASK_DEFINITION_ARN.test(t.taskDefinitionArn)) {
      fail(
        name,
        'task.taskDefinitionArn',
        t.taskDefinitionArn,
        `give the full task definition ARN, arn:aws:ecs:<region>:<account>:task-definition/<family>[:<revision>] (families have at most ${CONFIG_LIMITS.ecsNameLength} characters).`,
      );
    }
    if (!t.taskDefinitionArn.includes(`:task-definition/${t.family}`)) {
      fail(name, 'task.family', t.family, `the family must match the task definition ARN ${t.taskDefinitionArn}.`);
    }
    if (typeof t.clusterArn !== 'string' || !CLUSTER_ARN.test(t.clusterArn)) {
      fail(
        name,
        'task.clusterArn',
        t.clusterArn,
        `give the full cluster ARN, arn:aws:ecs:<region>:<account>:cluster/<name> (names have at most ${CONFIG_LIMITS.ecsNameLength} characters).`,
      );
    }
    const executionRole = roleArnProblem(t.executionRoleArn);
    if (executionRole) fail(name, 'task.executionRoleArn', t.executionRoleArn, executionRole);
    if (t.taskRoleArn !== undefined) {
      const taskRole = roleArnProblem(t.taskRoleArn);
      if (taskRole) fail(name, 'task.taskRoleArn', t.taskRoleArn, taskRole);
    }
    if (
      typeof t.logGroupName !== 'string' ||
      t.logGroupName.length > CONFIG_LIMITS.logGroupNameLength ||
      !LOG_GROUP_NAME.test(t.logGroupName)
    ) {
      fail(
        name,
        'task.logGroupName',
        t.logGroupName,
        `give the container's CloudWatch Logs log group: 1-${CONFIG_LIMITS.logGroupNameLength} characters of a-z, A-Z, 0-9, ".", "-", "_", "/", "#".`,
      );
    }
    // Stream names are "<prefix>/<container>/<task ID>", at most 512 characters: 64 + 1 + 255 (the
    // longest container name) + 1 + 32 stays under it, so the template budget is the only bound.
    const streamPrefixRoom = CONFIG_LIMITS.logStreamPrefixLength;
    if (
      typeof t.logStreamPrefix !== 'string' ||
      t.logStreamPrefix.length > streamPrefixRoom ||
      !LOG_STREAM_PREFIX.test(t.logStreamPrefix)
    ) {
      fail(
        name,
        'task.logStreamPrefix',
        t.logStreamPrefix,
        `give the awslogs-stream-prefix of the container: 1-${streamPrefixRoom} printable ASCII characters other than ":", "*", quotes and backslashes.`,
      );
    }
  } else if (batch.task?.kind === 'created') {
    const command = batch.task.command;
    if (
      !Array.isArray(command) ||
      command.length === 0 ||
      command.some((a) => typeof a !== 'string' || [...a].some((c) => c.charCodeAt(0) < 0x20))
    ) {
      fail(
        name,
        'task.command',
        command,
        'give the container command as a non-empty list of strings without control characters.',
      );
    }
    if (command.length > CONFIG_LIMITS.commandArguments || command.join('').length > CONFIG_LIMITS.commandCharacters) {
      fail(
        name,
        'task.command',
        command,
        `use at most ${CONFIG_LIMITS.commandArguments} arguments and ${CONFIG_LIMITS.commandCharacters} characters in all (each batch's share of its stack's 1 MB template); put a longer command in a script in the image.`,
      );
    }
    const image = batch.task.image;
    if (typeof image !== 'string' || !/^[A-Za-z0-9._:/#@-]+$/.test(image) || image.length > CONFIG_LIMITS.imageLength) {
      fail(
        name,
        'task.image',
        image,
        `give the container image, e.g. "public.ecr.aws/docker/library/ruby:3.3": at most ${CONFIG_LIMITS.imageLength} letters, digits and "-_.:/#@" (the ECS limit).`,
      );
    }
  } else {
    fail(
      name,
      'task',
      batch.task,
      'use { kind: "created", image, command } or { kind: "imported", clusterArn, taskDefinitionArn, ... }.',
    );
  }
  if (batch.local !== undefined) {
    if (
      !Array.isArray(batch.local.command) ||
      batch.local.command.length === 0 ||
      batch.local.command.some((a) => typeof a !== 'string')
    ) {
      fail(
        name,
        'local.command',
        batch.local.command,
        'give the local command as a non-empty list of strings, e.g. ["node", "examples/sitemap-refresh.js"].',
      );
    }
    validateLocalTimings(name, batch, batch.local);
  }
}

/**
 * The local timings: each given value on its own, and the pair as the local mode uses it, where a
 * value not given is inherited from the top level - so a message names the field to set.
 */
function validateLocalTimings(name: string, batch: BatchConfig, local: LocalRun): void {
  if (local.hardTimeoutSeconds !== undefined) {
    const t = local.hardTimeoutSeconds;
    if (!Number.isInteger(t) || t < MIN_HARD_TIMEOUT_SECONDS || t > MAX_HARD_TIMEOUT_SECONDS) {
      fail(
        name,
        'local.hardTimeoutSeconds',
        t,
        `use a whole number of seconds between ${MIN_HARD_TIMEOUT_SECONDS} and ${MAX_HARD_TIMEOUT_SECONDS} (24 h).`,
      );
    }
  }
  if (local.stopGraceSeconds !== undefined) {
    const g = local.stopGraceSeconds;
    if (!Number.isInteger(g) || g < 1 || g > FARGATE_MAX_STOP_GRACE_SECONDS) {
      fail(
        name,
        'local.stopGraceSeconds',
        g,
        `use a whole number of seconds between 1 and ${FARGATE_MAX_STOP_GRACE_SECONDS}.`,
      );
    }
  }
  const timeout = local.hardTimeoutSeconds ?? batch.hardTimeoutSeconds;
  const grace = local.stopGraceSeconds ?? batch.stopGraceSeconds ?? 30;
  if (grace >= timeout) {
    const timeoutFrom = local.hardTimeoutSeconds !== undefined ? 'local.hardTimeoutSeconds' : 'hardTimeoutSeconds';
    const graceFrom =
      local.stopGraceSeconds !== undefined
        ? 'local.stopGraceSeconds'
        : batch.stopGraceSeconds !== undefined
          ? 'stopGraceSeconds, inherited because local.stopGraceSeconds is not set'
          : 'the default of 30, as neither local.stopGraceSeconds nor stopGraceSeconds is set';
    fail(
      name,
      'local.stopGraceSeconds',
      local.stopGraceSeconds ?? grace,
      `in the local mode the stop grace (${grace} s, from ${graceFrom}) must be shorter than the hard timeout (${timeout} s, from ${timeoutFrom}); set local.stopGraceSeconds below ${timeout}, e.g. local: { ..., stopGraceSeconds: 2 }.`,
    );
  }
}

function validateRetry(name: string, retry: RetryPolicy, hardTimeoutSeconds: number): void {
  if (retry === null || typeof retry !== 'object')
    fail(name, 'retry', retry, 'use { attempts, on: { exitCodes?, stopCodes? } }, or leave retry out.');
  const isWhole = (v: unknown, min: number, max: number) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
  if (!isWhole(retry.attempts, 1, MAX_RETRY_ATTEMPTS)) {
    fail(
      name,
      'retry.attempts',
      retry.attempts,
      `use a whole number of attempts between 1 and ${MAX_RETRY_ATTEMPTS}, the first one included (1: retry only infrastructure disruptions, on.stopCodes).`,
    );
  }
  const infra = retry.infrastructureAttempts ?? 3;
  if (!isWhole(infra, 0, MAX_RETRY_ATTEMPTS)) {
    fail(
      name,
      'retry.infrastructureAttempts',
      infra,
      `use a whole number between 0 and ${MAX_RETRY_ATTEMPTS}: the attempts added for stop codes in retry.on.stopCodes, which do not use up retry.attempts.`,
    );
  }
  const backoff = retry.backoffSeconds ?? 30;
  if (!isWhole(backoff, 0, MAX_RETRY_BACKOFF_SECONDS) || backoff >= hardTimeoutSeconds) {
    fail(
      name,
      'retry.backoffSeconds',
      backoff,
      `use a whole number of seconds between 0 and ${MAX_RETRY_BACKOFF_SECONDS}, shorter than the hard timeout (${hardTimeoutSeconds} s): every attempt runs inside the run's one deadline.`,
    );
  }
  const on = retry.on;
  if (on === null || typeof on !== 'object' || Array.isArray(on))
    fail(
      name,
      'retry.on',
      on,
      'say which failures are retried: on: { exitCodes: [75], stopCodes: ["SpotInterruption"] }.',
    );
  const exitCodes = on.exitCodes ?? [];
  const stopCodes = on.stopCodes ?? [];
  if (!Array.isArray(exitCodes) || !Array.isArray(stopCodes) || exitCodes.length + stopCodes.length === 0) {
    fail(
      name,
      'retry.on',
      on,
      'list at least one exit code (on.exitCodes: [75]) or stop code (on.stopCodes: ["SpotInterruption"]); without either nothing is retried, so leave retry out.',
    );
  }
  if (
    exitCodes.length > MAX_RETRY_EXIT_CODES ||
    exitCodes.some((c) => !isWhole(c, 1, 255)) ||
    new Set(exitCodes).size !== exitCodes.length
  ) {
    fail(
      name,
      'retry.on.exitCodes',
      exitCodes,
      `list at most ${MAX_RETRY_EXIT_CODES} distinct exit codes between 1 and 255 (0 is success; 137 is SIGKILL, 143 SIGTERM).`,
    );
  }
  if (exitCodes.length > 0 && retry.attempts < 2) {
    fail(
      name,
      'retry.attempts',
      retry.attempts,
      'retry.on.exitCodes needs at least 2 attempts (the first one included); raise attempts or remove the exit codes.',
    );
  }
  for (const code of stopCodes) {
    if (!(RETRYABLE_STOP_CODES as readonly string[]).includes(code)) {
      fail(
        name,
        'retry.on.stopCodes',
        code,
        `use ECS stop codes of infrastructure disruptions: ${RETRYABLE_STOP_CODES.join(', ')}. EssentialContainerExited is every exit (use on.exitCodes), UserInitiated a deliberate StopTask (a person's or the hard timeout's), ServiceSchedulerInitiated concerns services.`,
      );
    }
  }
  if (new Set(stopCodes).size !== stopCodes.length)
    fail(name, 'retry.on.stopCodes', stopCodes, 'list each stop code once.');
  if (stopCodes.length > 0 && infra === 0) {
    fail(
      name,
      'retry.infrastructureAttempts',
      infra,
      'retry.on.stopCodes needs at least 1 infrastructure attempt; raise infrastructureAttempts or remove the stop codes.',
    );
  }
}

/** The fields each part of a batch entry may have; anything else is a typo or a feature that does not exist. */
const KNOWN_FIELDS: Record<string, readonly string[]> = {
  '': [
    'name',
    'description',
    'schedule',
    'after',
    'hardTimeoutSeconds',
    'stopGraceSeconds',
    'overlapPolicy',
    'maxLockWaitMinutes',
    'skipNotification',
    'durationGuards',
    'containerName',
    'overrides',
    'task',
    'runContextEnvironment',
    'startTimeoutSeconds',
    'retry',
    'capacity',
    'pauseAfterConsecutiveFailures',
    'local',
  ],
  schedule: ['cron', 'timeZone', 'expectedIntervalHours'],
  durationGuards: ['minDurationSeconds', 'nearHardTimeoutShare'],
  overrides: ['environment', 'command'],
  'task(imported)': [
    'kind',
    'clusterArn',
    'taskDefinitionArn',
    'family',
    'taskRoleArn',
    'executionRoleArn',
    'logGroupName',
    'logStreamPrefix',
  ],
  'task(created)': ['kind', 'image', 'command', 'cpu', 'memoryMiB'],
  local: ['command', 'hardTimeoutSeconds', 'stopGraceSeconds'],
  retry: ['attempts', 'infrastructureAttempts', 'backoffSeconds', 'on'],
  'retry.on': ['exitCodes', 'stopCodes'],
};

function validateDurationGuards(name: string, guards: DurationGuards, hardTimeoutSeconds: number): void {
  if (guards === null || typeof guards !== 'object' || Array.isArray(guards))
    fail(
      name,
      'durationGuards',
      guards,
      'give an object such as { minDurationSeconds: 30, nearHardTimeoutShare: 0.8 }.',
    );
  const min = guards.minDurationSeconds;
  if (min !== undefined && (!Number.isInteger(min) || min < 1 || min >= hardTimeoutSeconds)) {
    fail(
      name,
      'durationGuards.minDurationSeconds',
      min,
      `use a whole number of seconds from 1 to below hardTimeoutSeconds (${hardTimeoutSeconds}), or remove it.`,
    );
  }
  const share = guards.nearHardTimeoutShare;
  if (share !== undefined && (typeof share !== 'number' || !(share >= 0.1 && share <= 0.99))) {
    fail(
      name,
      'durationGuards.nearHardTimeoutShare',
      share,
      'use a share of the hard timeout between 0.1 and 0.99 (0.8 means 80 %), or remove it.',
    );
  }
  if (min !== undefined && share !== undefined && min >= Math.floor(hardTimeoutSeconds * share)) {
    fail(
      name,
      'durationGuards.minDurationSeconds',
      min,
      `it must be below nearHardTimeoutShare × hardTimeoutSeconds (${Math.floor(hardTimeoutSeconds * share)} s), or every successful run gets a notice; lower it.`,
    );
  }
}

/** Refuses fields the configuration does not have (`retries: 3` would otherwise be silently ignored). */
function checkKnownFields(name: string, batch: BatchConfig): void {
  const parts: Array<[string, string, unknown]> = [
    ['', '', batch],
    ['schedule', 'schedule.', batch.schedule],
    ['overrides', 'overrides.', batch.overrides],
    [`task(${(batch.task as { kind?: string } | undefined)?.kind})`, 'task.', batch.task],
    ['local', 'local.', batch.local],
    ['retry', 'retry.', batch.retry],
    ['durationGuards', 'durationGuards.', batch.durationGuards],
    ['retry.on', 'retry.on.', batch.retry?.on],
  ];
  for (const [part, prefix, value] of parts) {
    const known = KNOWN_FIELDS[part];
    if (!known || value === null || typeof value !== 'object' || Array.isArray(value)) continue;
    for (const [key, v] of Object.entries(value)) {
      if (!known.includes(key)) {
        fail(
          name,
          `${prefix}${key}`,
          v,
          `there is no such field; remove it. Known fields${prefix ? ` of ${prefix.slice(0, -1)}` : ''}: ${known.join(', ')} (config/batch-config.ts).`,
        );
      }
    }
  }
}

/** The shape of `after` on its own: one upstream batch name, not the batch itself. */
function validateAfter(name: string, after: readonly string[]): void {
  if (!Array.isArray(after) || after.length === 0 || after.some((a) => typeof a !== 'string')) {
    fail(
      name,
      'after',
      after,
      'name the upstream batch in a list, e.g. after: ["xml-articles"], or leave after out for a batch its own schedule starts.',
    );
  }
  if (after.length > 1) {
    fail(
      name,
      'after',
      after,
      `name one upstream batch: a dependency run starts on the first upstream success for a slot, so with several upstreams it would not wait for all of them; chain them instead (e.g. "${after[1]}" after "${after[0]}", and this batch after "${after[1]}").`,
    );
  }
  if (after[0] === name) {
    fail(
      name,
      'after',
      after,
      'a batch cannot run after itself (its own success would start it again); name another batch, or leave after out and let the schedule start it.',
    );
  }
}

/**
 * Checks the dependencies between batches (`after`): every upstream is a batch of the list, no batch
 * depends on itself, directly or through others, and a dependent batch has the same `schedule.cron`
 * and `schedule.timeZone` as its upstream (it stands for the upstream's slots).
 */
export function validateDependencies(batches: readonly BatchConfig[]): void {
  const byName = new Map(batches.map((b) => [b.name, b] as const));
  for (const batch of batches) {
    for (const upstream of batch.after ?? []) {
      const u = byName.get(upstream);
      if (!u) {
        return fail(
          batch.name,
          'after',
          batch.after,
          `there is no batch "${upstream}" in this deployment; name one of ${[...byName.keys()].filter((n) => n !== batch.name).join(', ') || '(no other batch)'}, or add "${upstream}" to the list.`,
        );
      }
      if (u.schedule.cron !== batch.schedule.cron || u.schedule.timeZone !== batch.schedule.timeZone) {
        fail(
          batch.name,
          'schedule',
          { cron: batch.schedule.cron, timeZone: batch.schedule.timeZone },
          `a batch that runs after "${upstream}" stands for its slots; give the upstream's cron and time zone: schedule: { cron: ${JSON.stringify(u.schedule.cron)}, timeZone: ${JSON.stringify(u.schedule.timeZone)} } (no Scheduler schedule is deployed for it).`,
        );
      }
    }
  }
  // Cycles: a depth-first walk along `after`, naming the path it found.
  const done = new Set<string>();
  const visit = (name: string, path: string[]): void => {
    if (done.has(name)) return;
    const at = path.indexOf(name);
    if (at >= 0) {
      const cycle = [...path.slice(at), name];
      fail(
        cycle[0],
        'after',
        byName.get(cycle[0])?.after,
        `the dependencies form a cycle, ${cycle.join(' -> ')}, so none of these batches would ever start; remove "after" from one of them (that one then runs on its own schedule).`,
      );
    }
    for (const upstream of byName.get(name)?.after ?? []) visit(upstream, [...path, name]);
    done.add(name);
  };
  for (const batch of batches) visit(batch.name, []);
}

/** The batches that run after `name` (their `after` names it). */
export function dependentsOf(batches: readonly BatchConfig[], name: string): BatchConfig[] {
  return batches.filter((b) => b.after?.includes(name));
}

/** Validates a list of batches: each batch, unique names, and the dependencies between them. */
export function validateBatchConfigs(batches: readonly BatchConfig[]): void {
  if (!Array.isArray(batches) || batches.length === 0) {
    throw new BatchConfigError('no batches configured: declare at least one batch in config/batches.ts.');
  }
  const seen = new Set<string>();
  for (const batch of batches) {
    validateBatchConfig(batch);
    if (seen.has(batch.name))
      fail(batch.name, 'name', batch.name, 'batch names must be unique; rename one of the two.');
    seen.add(batch.name);
  }
  validateDependencies(batches);
}

/**
 * Splits a list into the batches that validate and the problems of those that do not (a duplicate
 * name makes the later entry invalid), so that one bad entry does not stop the CLI for every batch.
 */
export function partitionBatchConfigs(batches: readonly BatchConfig[]): {
  valid: BatchConfig[];
  invalid: Array<{ name: string; error: BatchConfigError }>;
} {
  const valid: BatchConfig[] = [];
  const invalid: Array<{ name: string; error: BatchConfigError }> = [];
  for (const batch of batches) {
    const name = String(batch.name);
    try {
      validateBatchConfig(batch);
      if (valid.some((b) => b.name === batch.name))
        fail(batch.name, 'name', batch.name, 'batch names must be unique; rename one of the two.');
      valid.push(batch);
    } catch (err) {
      if (!(err instanceof BatchConfigError)) throw err;
      invalid.push({ name, error: err });
    }
  }
  return { valid, invalid };
}

/**
 * A configuration error as `error:` + `fix:` lines, for the places that stop on one (`cdk synth`):
 * the message says what is wrong; the part after "is invalid: " is the fix.
 */
export function describeConfigError(err: BatchConfigError): string {
  const m = /^(.*?) is invalid: (.*)$/s.exec(err.message);
  const what = m ? `${m[1]} is invalid` : err.message;
  const fix = m ? m[2] : 'edit config/batches.ts (README: "Add a batch").';
  return `error: ${what}\nfix: ${fix}`;
}

/** Finds a batch by name, with a message listing the known ones. */
export function findBatch(batches: readonly BatchConfig[], name: string): BatchConfig {
  const batch = batches.find((b) => b.name === name);
  if (!batch) {
    throw new BatchConfigError(`unknown batch "${name}": known batches are ${batches.map((b) => b.name).join(', ')}.`);
  }
  return batch;
}

/** The batch as the local mode runs it: local timeouts in place of the production ones. */
export function forLocalMode(batch: BatchConfig): BatchConfig {
  if (!batch.local?.hardTimeoutSeconds && !batch.local?.stopGraceSeconds) return batch;
  return {
    ...batch,
    hardTimeoutSeconds: batch.local.hardTimeoutSeconds ?? batch.hardTimeoutSeconds,
    stopGraceSeconds: batch.local.stopGraceSeconds ?? batch.stopGraceSeconds,
  };
}
