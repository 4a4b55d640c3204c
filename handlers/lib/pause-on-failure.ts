import type { MessageAttributeValue } from '@aws-sdk/client-sns';
import { PAUSE_INPUT_KEY } from '../../config/naming';
import { alertSubject } from './alert';
import { deliverRecorded, type OwedNotice, recordNotice } from './owed-alerts';
import { countsFrom, readPauseRecord, recordPause } from './pause-record';
import type { ExecutionStatus, ReconcileContext } from './reconcile';

/**
 * `pauseAfterConsecutiveFailures: N`: the reconciler disables a batch's schedule once its last N
 * counted runs failed, and alerts once, saying how to resume (Temporal's `pauseOnFailure`).
 *
 * N travels in the schedule's own input (`{"trigger":"schedule","scheduledTime":…,"pauseAfter":N}`,
 * infra/scheduled-batch.ts), so the newest scheduled run says what was deployed when it started: no
 * per-batch list in the reconciler's environment (Lambda allows 4 KB of it; 200 batches do not fit),
 * no new state machine placeholder. A scheduled run without the key means the batch does not set it.
 *
 * Ground truth, not a counter: the streak is read from Step Functions' own execution history each
 * time (newest first, at most PAUSE_HISTORY_LIMIT executions), so a lost status event, a retried
 * Lambda or two reconcilers at once cannot miscount it. Checked when a run of the batch ends FAILED or
 * TIMED_OUT (the status event) and when the sweep finds one (the event may be lost).
 *
 * Order, so that a crash at any step neither loses the alert nor sends two: the alert is first
 * recorded as owed (conditional on its id, the streak's newest failure: one alert per streak), then
 * the schedule is disabled, then the pause is recorded, then the alert is published. A crash before
 * the schedule is disabled repeats the steps on the next check (the alert record exists: nothing is
 * recorded twice); after it, the owed alert is delivered by the reconciler's pass like any other.
 */

/** Executions read back at most (one ListExecutions page); `pauseAfterConsecutiveFailures` is at most this. */
export const PAUSE_HISTORY_LIMIT = 100;

/**
 * Triggers whose runs count: started by the batch's schedule. A dependent batch (`after`) has no
 * schedule and may not set the option, so its runs are never checked. A manual run (console, CLI) neither counts nor resets a streak: an operator trying a fix by hand
 * must not unpause a broken schedule, nor pause a healthy one.
 */
export const COUNTED_TRIGGERS: readonly string[] = ['schedule'];

const parse = (text: string | null | undefined): any => {
  try {
    return JSON.parse(text ?? 'null');
  } catch {
    return undefined;
  }
};

export { PAUSE_INPUT_KEY };

/** N from a run's input, if it carries a valid one. */
export function thresholdOf(input: string | null | undefined): number | undefined {
  const n = parse(input)?.[PAUSE_INPUT_KEY];
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** The error of a run refused for its input (RejectInvalidInput): the input's fault, not the batch's. */
export const INVALID_INPUT_ERROR = 'BatchRunner.InvalidInput';

/** How one ended run weighs on a streak. */
export type RunWeight = 'failure' | 'success' | 'neutral';

/**
 * A counted run that FAILED or TIMED_OUT (or waits for a redrive) is a failure, except one refused for
 * invalid input; one whose output outcome is `succeeded` (RunSucceeded) ends the streak; a `skipped`
 * run (the Skipped state also ends SUCCEEDED), an ABORTED run (stopped by an operator), a running one
 * and any manual run weigh nothing.
 */
export function weighRun(run: {
  readonly status: ExecutionStatus | 'MISSING';
  readonly input?: string | null;
  readonly output?: string | null;
  readonly error?: string | null;
}): RunWeight {
  const trigger = parse(run.input)?.trigger;
  if (typeof trigger !== 'string' || !COUNTED_TRIGGERS.includes(trigger)) return 'neutral';
  if (run.status === 'FAILED' || run.status === 'TIMED_OUT' || run.status === 'PENDING_REDRIVE')
    return run.error === INVALID_INPUT_ERROR ? 'neutral' : 'failure';
  if (run.status === 'SUCCEEDED') return parse(run.output)?.outcome === 'succeeded' ? 'success' : 'neutral';
  return 'neutral';
}

/** A failed run of the streak. */
export interface StreakRun {
  readonly executionArn: string;
  readonly status: ExecutionStatus | 'MISSING';
  readonly startDate: number;
}

/** The current streak and the N it is measured against. */
export interface FailureStreak {
  /**
   * N, from the newest scheduled run's input; undefined: the batch does not set it (as of that run),
   * or no scheduled run started since `sinceMs` (see `decided`).
   */
  readonly threshold: number | undefined;
  /** Whether a scheduled run since `sinceMs` said what N is. */
  readonly decided: boolean;
  /** Failed runs of the streak, newest first, at most N. */
  readonly failures: readonly StreakRun[];
}

/**
 * Reads the history back from the newest execution until a counted success, an execution started
 * at or before `sinceMs`, or N failures. N is taken from the newest scheduled run.
 */
export async function currentFailureStreak(
  ctx: ReconcileContext,
  stateMachineArn: string,
  sinceMs: number,
): Promise<FailureStreak> {
  const list = ctx.world.listRecentExecutions;
  if (!list) return { threshold: undefined, decided: false, failures: [] };
  let threshold: number | undefined;
  let decided = false;
  const failures: StreakRun[] = [];
  for (const e of await list.call(ctx.world, stateMachineArn, PAUSE_HISTORY_LIMIT)) {
    if (e.startDate <= sinceMs) break;
    // Without DescribeExecution: a running run has no verdict yet, an aborted one never weighs.
    if (e.status === 'RUNNING' || e.status === 'ABORTED') continue;
    const view = await ctx.world.describeExecution(e.executionArn);
    if (!decided && parse(view.input)?.trigger === 'schedule') {
      decided = true;
      threshold = thresholdOf(view.input);
      if (threshold === undefined) return { threshold, decided, failures: [] };
    }
    const weight = weighRun(view);
    if (weight === 'success') break;
    if (weight === 'failure') {
      failures.push({ executionArn: e.executionArn, status: view.status, startDate: e.startDate });
      if (threshold !== undefined && failures.length >= threshold) break;
    }
  }
  return { threshold, decided, failures: threshold === undefined ? [] : failures };
}

/** What one check did. */
export type PauseCheck =
  | { readonly result: 'no scheduler' }
  | { readonly result: 'not configured' }
  | { readonly result: 'below threshold'; readonly failures: number; readonly threshold?: number }
  | { readonly result: 'schedule not enabled'; readonly schedule: 'DISABLED' | 'NOT_FOUND'; readonly failures: number }
  | {
      readonly result: 'paused';
      readonly failures: readonly string[];
      readonly alert: 'sent' | 'owed: publish failed' | 'already recorded';
    };

/** Id of the pause alert's record: one per streak, named by its newest failure. */
export const pauseAlertId = (batch: string, newestFailure: string) => `pause#${batch}#${newestFailure}`;

/** The pause alert: the batch, N, the failed runs, and how to resume. */
export function pauseNotice(
  batch: string,
  threshold: number,
  scheduleName: string,
  runs: readonly StreakRun[],
): OwedNotice {
  const outcome = 'paused';
  return {
    id: pauseAlertId(batch, runs[0]?.executionArn ?? '-'),
    batch,
    outcome,
    trigger: 'schedule',
    source: 'reconciler',
    subject: alertSubject({ batch, outcome }),
    message: [
      `Batch ${batch}: schedule paused after ${threshold} failed runs in a row`,
      '',
      `The last ${threshold} runs started by the schedule failed, so the reconciler disabled the schedule ${scheduleName} (pauseAfterConsecutiveFailures: ${threshold}). No scheduled run starts until it is resumed; manual runs still work.`,
      '',
      'Failed runs, newest first:',
      ...runs.map((r) => `  ${r.executionArn} (${r.status}, started ${new Date(r.startDate).toISOString()})`),
      '',
      `To resume once the cause is fixed: npx batch-runner resume ${batch}`,
      'Runs before the resume no longer count. A cdk deploy that changes the schedule also re-enables it.',
    ].join('\n'),
  };
}

const attributesOf = (n: OwedNotice): Record<string, MessageAttributeValue> => {
  const s = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
  return {
    batch: s(n.batch),
    outcome: s(n.outcome),
    severity: s('alert'),
    trigger: s(n.trigger),
    source: s(n.source),
  };
};

/**
 * Checks one batch: when its current streak has reached `threshold` and its schedule is ENABLED, the
 * schedule is disabled and one alert is owed and sent. A schedule already DISABLED (an operator's
 * pause, or this pause done already) is left alone and nothing is sent.
 */
export async function pauseOnRepeatedFailure(
  ctx: ReconcileContext,
  target: { readonly name: string; readonly stateMachineArn: string },
): Promise<PauseCheck> {
  const { world } = ctx;
  if (!world.schedules || !world.listRecentExecutions) return { result: 'no scheduler' };
  const record = await readPauseRecord(ctx.dynamodb, ctx.lockTableName, target.name);
  const {
    threshold,
    decided,
    failures: runs,
  } = await currentFailureStreak(ctx, target.stateMachineArn, countsFrom(record));
  // No scheduled run since the last pause or resume: nothing counts yet.
  if (!decided) return { result: 'below threshold', failures: 0 };
  if (threshold === undefined) return { result: 'not configured' };
  if (runs.length < threshold) return { result: 'below threshold', failures: runs.length, threshold };
  const state = await world.schedules.state(target.name);
  if (state !== 'ENABLED') return { result: 'schedule not enabled', schedule: state, failures: runs.length };

  const nowMs = (ctx.now ?? Date.now)();
  const nowSeconds = Math.floor(nowMs / 1000);
  const notice = pauseNotice(target.name, threshold, world.schedules.nameOf(target.name), runs);
  // Disable first, then owe the alert: an alert owed before a disable that keeps failing (PassRole
  // refused, say) would be delivered by the owed-alert pass and say the schedule is paused while it
  // still runs. The cost is a narrow window: a crash right after the disable sends no alert.
  await world.schedules.disable(target.name);
  const recorded = await recordNotice(ctx.dynamodb, ctx.lockTableName, notice, nowSeconds);
  await recordPause(ctx.dynamodb, ctx.lockTableName, target.name, {
    pausedAtMs: nowMs,
    failures: threshold,
    executions: runs.map((r) => r.executionArn),
  });
  const alert = recorded
    ? await deliverRecorded(ctx.dynamodb, ctx.lockTableName, world.publish, notice, attributesOf(notice), nowSeconds)
    : 'already recorded';
  return { result: 'paused', failures: runs.map((r) => r.executionArn), alert };
}
