/** The start timeout rule (`startTimeoutSeconds`), shared by the task watcher and the reconciler. */

/** Error name the state machine's WaitForTaskToStop routes to RecordStartTimeout (the task never started). */
export const START_TIMED_OUT = 'BatchRunner.StartTimedOut';
/** ECS statuses of a task that has not started its containers yet. */
export const NOT_STARTED_STATUSES: readonly string[] = ['PROVISIONING', 'PENDING', 'ACTIVATING'];

/**
 * Whether a task that has not started has been waiting longer than the start timeout: it is still in
 * PROVISIONING/PENDING/ACTIVATING (no `startedAt`) and `createdAt + startTimeoutSeconds` has passed.
 * Returns the status it is stuck in, else undefined.
 */
export function stuckStatus(
  task: { lastStatus?: string; createdAt?: Date | number | string; startedAt?: unknown } | undefined,
  createdAtFallbackSeconds: number,
  startTimeoutSeconds: number | undefined,
  nowSeconds: number,
): { status: string; createdAtSeconds: number } | undefined {
  if (startTimeoutSeconds === undefined || task?.lastStatus === undefined) return undefined;
  if (!NOT_STARTED_STATUSES.includes(task.lastStatus) || task.startedAt !== undefined) return undefined;
  const raw = task.createdAt;
  const ms = raw instanceof Date ? raw.getTime() : typeof raw === 'number' ? raw * 1000 : Date.parse(String(raw));
  const createdAtSeconds = Number.isFinite(ms) ? Math.floor(ms / 1000) : createdAtFallbackSeconds;
  return nowSeconds >= createdAtSeconds + startTimeoutSeconds
    ? { status: task.lastStatus, createdAtSeconds }
    : undefined;
}
