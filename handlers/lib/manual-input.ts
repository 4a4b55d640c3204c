/**
 * The manual input contract (console "Start execution", CLI `run`, hand-written JSON), validated
 * before the lock is touched. Shared by the validator Lambda, the CLI and the local mode.
 */

/** What a batch lets an operator change; comes from the batch config through the state machine. */
export interface OverridePolicy {
  readonly batchName: string;
  readonly containerName: string;
  readonly allowedEnvironment: readonly string[];
  readonly allowCommand: boolean;
}

/** Validated run request, in the shape the state machine carries as `$.run`. */
export interface RunRequest {
  readonly trigger: string;
  readonly reason: string;
  readonly requestedBy: string;
  /** ECS TaskOverride (PascalCase, as Step Functions' RunTask integration takes it). */
  readonly overrides: EcsTaskOverride;
  /**
   * The scheduled slot this run stands for (manual key `slot`), in the Scheduler's own form
   * (`2026-11-30T21:00:00Z`, ISO 8601 UTC, whole minute); absent when the run names no slot.
   */
  readonly scheduledTime?: string;
}

export interface EcsTaskOverride {
  readonly ContainerOverrides?: ReadonlyArray<{
    readonly Name: string;
    readonly Environment?: ReadonlyArray<{ readonly Name: string; readonly Value: string }>;
    readonly Command?: readonly string[];
  }>;
}

export interface ValidationResult {
  readonly validation: { readonly valid: boolean; readonly message: string; readonly problems: readonly string[] };
  readonly run: RunRequest;
}

export const MANUAL_TRIGGERS = ['console', 'cli', 'manual'] as const;
export const MANUAL_INPUT_KEYS = ['trigger', 'reason', 'requestedBy', 'overrides', 'slot'] as const;
export const MAX_REASON_LENGTH = 500;
export const MAX_REQUESTED_BY_LENGTH = 128;
export const MAX_ENV_VALUE_LENGTH = 4096;
export const MAX_COMMAND_ARGS = 64;
export const MAX_COMMAND_ARG_LENGTH = 1024;
/** ECS rejects overrides over 8 KiB; refuse earlier with a clear message. */
export const MAX_OVERRIDES_BYTES = 8192;
/**
 * Room kept for the run's context the state machine adds to the batch container's environment
 * (BATCH_RUNNER_SCHEDULED_TIME, _TRIGGER, _EXECUTION_ARN, _ATTEMPT, _HARD_TIMEOUT_SECONDS: about
 * 550 bytes with an 80-character state machine and execution name).
 */
export const RUN_CONTEXT_RESERVE_BYTES = 1024;

// Control characters (tab allowed): they hide text in consoles and mails.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f]/;
const REQUESTED_BY = /^[\p{L}\p{N} @._+:/()-]+$/u;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/**
 * Validates a manual input against a batch's override policy. Never throws for bad input: it
 * returns every problem found, each naming the field, the value and the fix.
 */
export function validateManualInput(input: unknown, policy: OverridePolicy): ValidationResult {
  const problems: string[] = [];
  const obj = isPlainObject(input) ? input : undefined;
  if (!obj) {
    problems.push(`input must be a JSON object such as {} or {"reason": "re-run after fix"}, got ${show(input)}.`);
  }
  const o = obj ?? {};
  for (const key of Object.keys(o)) {
    if (!(MANUAL_INPUT_KEYS as readonly string[]).includes(key)) {
      const hint =
        key === 'scheduledTime'
          ? ' (scheduledTime is only for EventBridge Scheduler inputs; to name the slot a manual run stands for, use "slot")'
          : '';
      problems.push(`unknown key "${key}"${hint}: allowed keys are ${MANUAL_INPUT_KEYS.join(', ')}.`);
    }
  }
  let trigger = 'console';
  if (o.trigger !== undefined) {
    if (typeof o.trigger === 'string' && (MANUAL_TRIGGERS as readonly string[]).includes(o.trigger))
      trigger = o.trigger;
    else
      problems.push(
        `trigger = ${show(o.trigger)} is not allowed for a manual start: use one of ${MANUAL_TRIGGERS.join(', ')} (or leave it out).`,
      );
  }
  let reason = `manual start (${trigger})`;
  if (o.reason !== undefined) {
    if (typeof o.reason !== 'string' || o.reason.trim() === '')
      problems.push(`reason = ${show(o.reason)} must be a non-empty string.`);
    else if (o.reason.length > MAX_REASON_LENGTH)
      problems.push(`reason is ${o.reason.length} characters long: keep it under ${MAX_REASON_LENGTH}.`);
    else if (CONTROL_CHARS.test(o.reason))
      problems.push(`reason = ${show(o.reason)} contains control characters: use plain text.`);
    else reason = o.reason;
  }
  let requestedBy = trigger === 'console' ? 'console user (see CloudTrail StartExecution)' : 'unknown';
  if (o.requestedBy !== undefined) {
    if (
      typeof o.requestedBy !== 'string' ||
      !REQUESTED_BY.test(o.requestedBy) ||
      o.requestedBy.length > MAX_REQUESTED_BY_LENGTH
    ) {
      problems.push(
        `requestedBy = ${show(o.requestedBy)} must be a name or e-mail of at most ${MAX_REQUESTED_BY_LENGTH} letters, digits, spaces and @._+:/()-.`,
      );
    } else requestedBy = o.requestedBy;
  }
  const overrides = validateOverrides(o.overrides, policy, problems);
  let scheduledTime: string | undefined;
  if (o.slot !== undefined) {
    const parsed = parseSlot(o.slot);
    if (typeof parsed === 'string') scheduledTime = parsed;
    else problems.push(`slot = ${show(o.slot)} ${parsed.problem}`);
  }
  const valid = problems.length === 0;
  const message = valid
    ? 'ok'
    : `Invalid input for batch ${policy.batchName}: ${problems.join(' ')} Nothing was started and the lock was not touched.`;
  return {
    validation: { valid, message, problems },
    run: {
      trigger,
      reason,
      requestedBy,
      overrides: valid ? overrides : {},
      ...(valid && scheduledTime !== undefined ? { scheduledTime } : {}),
    },
  };
}

const SLOT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(?:Z|([+-])(\d{2}):([0-5]\d))$/;
const SLOT_FIX =
  'write the slot as an ISO 8601 time with its offset, to the minute, e.g. 2026-12-01T06:00+09:00 or 2026-11-30T21:00:00Z.';

/**
 * The slot a manual run stands for, normalised to the Scheduler's `<aws.scheduler.scheduled-time>`
 * form (ISO 8601 UTC, seconds, no fraction: `2026-11-30T21:00:00Z`), so that it claims the same
 * `slot#<batch>#<time>` key as the scheduled run of that slot. An offset is required (a time without
 * one would depend on the machine's zone); Scheduler fires on whole minutes, so seconds must be 0.
 */
export function parseSlot(value: unknown): string | { problem: string } {
  if (typeof value !== 'string') return { problem: `must be a string: ${SLOT_FIX}` };
  const m = SLOT.exec(value);
  if (!m) return { problem: `is not an ISO 8601 time with an offset: ${SLOT_FIX}` };
  const [, y, mo, d, h, mi, sec, fraction, sign, offsetHours, offsetMins] = m;
  if (/[1-9]/.test(`${sec ?? ''}${fraction ?? ''}`))
    return { problem: `is not a whole minute: schedules fire on whole minutes; ${SLOT_FIX}` };
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi));
  // Date.UTC rolls an impossible date over (February 30 becomes March 2): the fields read back differ.
  if (new Date(local).toISOString().slice(0, 16) !== `${y}-${mo}-${d}T${h}:${mi}`)
    return { problem: `is not a valid date and time: ${SLOT_FIX}` };
  const offsetMinutes =
    sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMins));
  if (Math.abs(offsetMinutes) > 14 * 60) return { problem: `has an offset beyond ±14:00: ${SLOT_FIX}` };
  const utc = new Date(local - offsetMinutes * 60_000);
  if (utc.getUTCFullYear() < 2000 || utc.getUTCFullYear() > 2199)
    return { problem: `is outside the years 2000-2199: ${SLOT_FIX}` };
  return formatSlot(utc);
}

/** A slot time in the Scheduler's form: `2026-11-30T21:00:00Z`. */
export function formatSlot(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}

function validateOverrides(raw: unknown, policy: OverridePolicy, problems: string[]): EcsTaskOverride {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) {
    problems.push(`overrides = ${show(raw)} must be an object like {"environment": {"NAME": "value"}}.`);
    return {};
  }
  for (const key of Object.keys(raw)) {
    if (key !== 'environment' && key !== 'command')
      problems.push(`overrides.${key} is not supported: use overrides.environment or overrides.command.`);
  }
  const environment: Array<{ Name: string; Value: string }> = [];
  if (raw.environment !== undefined) {
    if (!isPlainObject(raw.environment)) {
      problems.push(`overrides.environment = ${show(raw.environment)} must be an object of NAME: "value" strings.`);
    } else {
      for (const [name, value] of Object.entries(raw.environment)) {
        if (!policy.allowedEnvironment.includes(name)) {
          const allowed = policy.allowedEnvironment.length > 0 ? policy.allowedEnvironment.join(', ') : 'none';
          problems.push(
            `overrides.environment.${name} is not allowed for batch ${policy.batchName} (allowed: ${allowed}); add it to overrides.environment in the batch config to allow it.`,
          );
        } else if (typeof value !== 'string') {
          problems.push(`overrides.environment.${name} = ${show(value)} must be a string.`);
        } else if (value.length > MAX_ENV_VALUE_LENGTH || CONTROL_CHARS.test(value) || value.includes('\n')) {
          problems.push(
            `overrides.environment.${name} must be a single line of at most ${MAX_ENV_VALUE_LENGTH} characters without control characters.`,
          );
        } else environment.push({ Name: name, Value: value });
      }
    }
  }
  let command: string[] | undefined;
  if (raw.command !== undefined) {
    if (!policy.allowCommand) {
      problems.push(
        `overrides.command is not allowed for batch ${policy.batchName}: it would let anyone who can start the state machine run any command with the task role. Set overrides.command: true in the batch config only if that is intended.`,
      );
    } else if (
      !Array.isArray(raw.command) ||
      raw.command.length === 0 ||
      raw.command.length > MAX_COMMAND_ARGS ||
      raw.command.some((a) => typeof a !== 'string' || a.length > MAX_COMMAND_ARG_LENGTH || CONTROL_CHARS.test(a))
    ) {
      problems.push(
        `overrides.command must be a list of 1-${MAX_COMMAND_ARGS} strings (exec form, no shell), each at most ${MAX_COMMAND_ARG_LENGTH} characters without control characters.`,
      );
    } else command = raw.command as string[];
  }
  if (environment.length === 0 && command === undefined) return {};
  const override: EcsTaskOverride = {
    ContainerOverrides: [
      {
        Name: policy.containerName,
        ...(environment.length > 0 ? { Environment: environment } : {}),
        ...(command ? { Command: command } : {}),
      },
    ],
  };
  const bytes = Buffer.byteLength(JSON.stringify(override));
  if (bytes > MAX_OVERRIDES_BYTES - RUN_CONTEXT_RESERVE_BYTES)
    problems.push(
      `overrides are ${bytes} bytes: ECS accepts at most ${MAX_OVERRIDES_BYTES}, of which the runner keeps ${RUN_CONTEXT_RESERVE_BYTES} for the run's context (BATCH_RUNNER_* variables); shorten the values.`,
    );
  return override;
}

/** The batch part of the validator Lambda's payload, as the state machine sends it. */
export interface ValidatorBatchPayload {
  readonly name: string;
  readonly containerName: string;
  /** Comma-separated names (ASL placeholder AllowedEnvironmentOverrides). */
  readonly allowedEnvironmentOverrides: string;
  /** "true" or "false" (ASL placeholder AllowCommandOverride). */
  readonly allowCommandOverride: string;
}

export function policyFromPayload(batch: ValidatorBatchPayload): OverridePolicy {
  return {
    batchName: batch.name,
    containerName: batch.containerName,
    allowedEnvironment: batch.allowedEnvironmentOverrides.split(',').filter((n) => n !== ''),
    allowCommand: batch.allowCommandOverride === 'true',
  };
}
