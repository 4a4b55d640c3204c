import type { ExecutionInfo, LockInfo } from '../backend';
import { duration, shortArn, timestamp } from '../format';
import type { RunOutcome } from '../outcome';

/** One row of `list --json`. */
export interface BackendRow {
  readonly batch: string;
  readonly description?: string;
  readonly schedule: { readonly cron: string; readonly timeZone: string };
  /** The upstream batch whose success starts this one (`after`); it has no schedule of its own. */
  readonly after?: string;
  readonly nextRun?: string;
  readonly nextRunLocal?: string;
  readonly hardTimeoutSeconds: number;
  readonly overlapPolicy: string;
  readonly scheduleState?: string;
  /** The reconciler paused the schedule after this many failed runs in a row (pauseAfterConsecutiveFailures). */
  readonly pausedAfterFailures?: number;
  readonly lastRun?: ExecutionInfo;
  readonly lock?: LockInfo | null;
  readonly error?: string;
}

/** `free`, `held by <execution> (RUNNING)`, `stale: <execution> (FAILED)`. */
export function lockSummary(lock: LockInfo | undefined): string {
  if (!lock) return 'free';
  return lock.ownerRunning
    ? `held by ${shortArn(lock.owner)} (RUNNING)`
    : `stale: ${shortArn(lock.owner)} (${lock.ownerStatus})`;
}

/** Lines describing a lock for `status`. */
export function lockLines(
  lock: LockInfo | undefined,
  batch: string,
  local = false,
  time: (value: string | undefined) => string = timestamp,
): string[] {
  if (!lock) return ['Lock:        free'];
  const lines = [
    `Lock:        held by ${lock.owner}`,
    `             acquired ${time(lock.acquiredAt)}, trigger ${lock.trigger ?? '?'}, requested by ${lock.requestedBy ?? '?'}${lock.reason ? ` ("${lock.reason}")` : ''}`,
  ];
  if (lock.reclaimedFrom) lines.push(`             reclaimed from ${lock.reclaimedFrom}`);
  lines.push(
    lock.ownerRunning
      ? '             owner is RUNNING: the lock is live'
      : `             owner is ${lock.ownerStatus}: the lock is stale; the next start reclaims it, or: batch-runner unlock ${batch}${local ? ' --local' : ''}`,
  );
  return lines;
}

/** `succeeded`, `failed (BatchRunner.TaskFailed, exit 1)`, `skipped`. */
export function outcomeText(o: RunOutcome): string {
  const details = [o.error, o.exitCode !== undefined && o.exitCode !== null ? `exit ${o.exitCode}` : undefined].filter(
    Boolean,
  );
  return details.length > 0 && o.outcome !== 'succeeded' ? `${o.outcome} (${details.join(', ')})` : o.outcome;
}

export function executionLine(e: ExecutionInfo, time: (value: string | undefined) => string = timestamp): string {
  return `${e.name}  ${e.status}${e.currentState ? ` in ${e.currentState}` : ''}  started ${time(e.startDate)}, running for ${duration(e.durationMs)}, ${e.trigger}${e.requestedBy ? ` by ${e.requestedBy}` : ''}`;
}
