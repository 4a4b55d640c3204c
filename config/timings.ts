import type { BatchConfig } from './batch-config';
import { BatchConfigError } from './batch-config';

/**
 * Every duration the state machine uses, derived from one batch's config so that they cannot
 * contradict each other (incident 3 of MISSION.md). The numbers become `${Placeholders}` of the ASL.
 */
export interface BatchTimings {
  /** The batch's hard timeout, in seconds. */
  readonly hardTimeoutSeconds: number;
  /** The batch's stop grace (ECS `stopTimeout`), in seconds. */
  readonly stopGraceSeconds: number;
  /** Length of one `WaitForTaskToStop` wait; each chunk end re-checks the task in case an ECS event was lost. */
  readonly waitChunkSeconds: number;
  /** Chunks until the hard timeout: `waitChunkCount * waitChunkSeconds >= hardTimeoutSeconds`. */
  readonly waitChunkCount: number;
  /** Seconds between two checks for STOPPED after StopTask. */
  readonly stopConfirmIntervalSeconds: number;
  /** Checks for STOPPED after StopTask: covers the stop grace plus 60 s for ECS to report. */
  readonly stopConfirmAttempts: number;
  /** Overlap policy `wait`: seconds between two attempts to take the lock. */
  readonly lockWaitIntervalSeconds: number;
  /** Overlap policy `wait`: attempts before the start skips (covers `maxLockWaitMinutes`). */
  readonly lockWaitAttempts: number;
  /** RunTask attempts on capacity failures (`failures[]`), the first included. */
  readonly startAttempts: number;
  /** Wait before the first capacity retry, in seconds; each next wait doubles. */
  readonly startBackoffSeconds: number;
  /** Top-level TimeoutSeconds of the execution: above everything a run can legitimately take. */
  readonly executionTimeoutSeconds: number;
  /** Upper bound between the deadline and the StopTask call (chunk rounding + per-chunk overhead). */
  readonly stopLatencyBoundSeconds: number;
  /** Upper bound between the task stopping and the runner noticing, if the ECS event is lost (the reconciler's interval). */
  readonly lostEventDetectionSeconds: number;
}

/** Target wait per chunk: >= 900 s keeps waiting at <= 12 state transitions per hour (3 per chunk). */
export const MIN_WAIT_CHUNK_SECONDS = 900;
/** At most this many chunks, so that rounding and per-chunk overhead stay well under 60 s. */
export const MAX_WAIT_CHUNKS = 25;
/** Generous per-chunk overhead (3 state transitions plus a Lambda call) for the stop-latency bound. */
export const CHUNK_OVERHEAD_SECONDS = 2;
export const API_CALL_TIMEOUT_SECONDS = 60;
/**
 * The reconciler Lambda's timeout: it may wait up to RECONCILER_STOP_CONFIRM_SECONDS for a task to
 * reach STOPPED (Fargate's stop grace is at most 120 s), plus its API calls.
 */
export const RECONCILER_STOP_CONFIRM_SECONDS = 180;
export const RECONCILER_TIMEOUT_SECONDS = 300;
/** The reconciler's scheduled pass runs this often (EventBridge rule in infra/batch-runner.ts). */
export const RECONCILER_INTERVAL_SECONDS = 60;
const SAFETY_MARGIN_SECONDS = 300;

/**
 * Derives the timings of a batch; throws a `BatchConfigError` when StopTask could not be called within 60 s of the deadline.
 * @param batch - a validated batch
 * @returns its timings
 */
export function deriveTimings(batch: BatchConfig): BatchTimings {
  const hard = batch.hardTimeoutSeconds;
  const grace = batch.stopGraceSeconds ?? 30;
  const targetChunk = Math.max(MIN_WAIT_CHUNK_SECONDS, Math.ceil(hard / MAX_WAIT_CHUNKS));
  const waitChunkCount = Math.ceil(hard / targetChunk);
  const waitChunkSeconds = Math.ceil(hard / waitChunkCount);
  const stopConfirmIntervalSeconds = Math.min(10, Math.max(1, Math.ceil(grace / 6)));
  const stopConfirmAttempts = Math.ceil((grace + 60) / stopConfirmIntervalSeconds);
  const lockWaitIntervalSeconds = 30;
  const lockWaitAttempts = Math.ceil(((batch.maxLockWaitMinutes ?? 10) * 60) / lockWaitIntervalSeconds);
  const startAttempts = 4;
  const startBackoffSeconds = 10;
  const startBudget = startBackoffSeconds * (2 ** startAttempts - 1) + startAttempts * API_CALL_TIMEOUT_SECONDS;
  const lockBudget = batch.overlapPolicy === 'wait' ? lockWaitAttempts * lockWaitIntervalSeconds : 0;
  // The stop, its confirmation, the release through the reconciler (twice: settling a stale lock at
  // the start, finishing at the end), and one chunk past the deadline when the watcher cannot answer.
  const stopBudget =
    stopConfirmAttempts * stopConfirmIntervalSeconds +
    2 * API_CALL_TIMEOUT_SECONDS +
    2 * RECONCILER_TIMEOUT_SECONDS +
    waitChunkSeconds;
  // Retries (issue 11) run inside the run's deadline; only the last one may begin after it (the
  // watcher then answers DeadlineReached at once): one backoff and one more RunTask.
  const retryBudget = batch.retry === undefined ? 0 : (batch.retry.backoffSeconds ?? 30) + API_CALL_TIMEOUT_SECONDS;
  const stopLatencyBoundSeconds = waitChunkCount * waitChunkSeconds - hard + waitChunkCount * CHUNK_OVERHEAD_SECONDS;
  if (stopLatencyBoundSeconds > 60) {
    throw new BatchConfigError(
      `batch "${batch.name}": hardTimeoutSeconds = ${hard} gives a stop latency bound of ${stopLatencyBoundSeconds} s (over 60 s); choose a timeout that is a multiple of ${waitChunkCount} s.`,
    );
  }
  return {
    hardTimeoutSeconds: hard,
    stopGraceSeconds: grace,
    waitChunkSeconds,
    waitChunkCount,
    stopConfirmIntervalSeconds,
    stopConfirmAttempts,
    lockWaitIntervalSeconds,
    lockWaitAttempts,
    startAttempts,
    startBackoffSeconds,
    executionTimeoutSeconds: hard + startBudget + lockBudget + stopBudget + retryBudget + SAFETY_MARGIN_SECONDS,
    stopLatencyBoundSeconds,
    lostEventDetectionSeconds: RECONCILER_INTERVAL_SECONDS + CHUNK_OVERHEAD_SECONDS,
  };
}
