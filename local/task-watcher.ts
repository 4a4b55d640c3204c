import { pathToFileURL } from 'node:url';
import { evaluateStoppedTask, type StartResult, startedTaskArn, startFailureCause } from '../handlers/lib/task-outcome';
import { DEADLINE_REACHED, deadlineToleranceSeconds, START_TIMED_OUT, stuckStatus } from '../handlers/task-watcher';
import type { LocalEcs } from './local-ecs';
import { type LocalFunction, ServiceError } from './task-resources';

/**
 * The task watcher for the local mode: what `handlers/task-watcher` plus the ECS "Task State Change"
 * STOPPED event do on AWS, in one function for the `WaitForTaskToStop` state
 * (`lambda:invoke.waitForTaskToken`):
 *
 * - no task started (RunTask answered with failures[]) -> `BatchRunner.TaskNotStarted`, so the state
 *   machine retries the start;
 * - the task stops with exit code 0 -> resolves with the task summary (the token's success output);
 * - it stops otherwise -> `BatchRunner.TaskFailed` with the summary as Cause;
 * - while it runs, the promise stays pending: the state's TimeoutSeconds (one wait chunk) fires and the
 *   state machine counts chunks up to the hard timeout, exactly as on AWS. A task that stopped between
 *   two chunks is found at once by the next call (the "lost event" re-check).
 *
 * The log link is the task's local output file.
 */
export function localTaskWatcher(ecs: LocalEcs, now: () => number = Date.now): LocalFunction {
  // The run's deadline, fixed at the first call for the run's first task and kept for its retried
  // attempts (on AWS: stored with the lock, `deadlineAt = if_not_exists(...)`).
  const deadlines = new Map<string, number>();
  return async (payload) => {
    const start = (payload.start ?? {}) as StartResult;
    const taskArn = startedTaskArn(start);
    if (!taskArn) throw new ServiceError('BatchRunner.TaskNotStarted', startFailureCause(start));
    const hardTimeoutMs = Number(payload.batch?.hardTimeoutSeconds) * 1000;
    const run = typeof payload.executionArn === 'string' ? payload.executionArn : taskArn;
    if (!deadlines.has(run)) deadlines.set(run, now() + hardTimeoutMs);
    const deadline = deadlines.get(run)!;
    const toleranceMs = deadlineToleranceSeconds(Number(payload.batch?.waitChunkSeconds) || undefined) * 1000;
    const current = ecs.describe(taskArn);
    if (current?.LastStatus !== 'STOPPED' && now() >= deadline - toleranceMs) {
      throw new ServiceError(
        DEADLINE_REACHED,
        JSON.stringify({ message: `The run's deadline has come and task ${taskArn} still runs.`, taskArn }),
      );
    }
    const startTimeoutSeconds =
      typeof payload.policy?.startTimeoutSeconds === 'number' ? payload.policy.startTimeoutSeconds : undefined;
    const task =
      startTimeoutSeconds === undefined
        ? await ecs.whenStopped(taskArn)
        : await stoppedOrStuck(ecs, taskArn, startTimeoutSeconds, now);
    const logUrl = pathToFileURL(ecs.logPathOf(taskArn)).href;
    const verdict = evaluateStoppedTask(task, String(payload.batch?.containerName), logUrl);
    if (!verdict.ok) throw new ServiceError(verdict.error, JSON.stringify(verdict.summary));
    return verdict.summary;
  };
}

/**
 * The start timeout, locally: the same rule as handlers/lib/start-timeout.ts, checked now and again
 * when `createdAt + startTimeoutSeconds` comes (the local watcher is one call per chunk that waits).
 */
async function stoppedOrStuck(
  ecs: LocalEcs,
  taskArn: string,
  startTimeoutSeconds: number,
  now: () => number,
): Promise<Awaited<ReturnType<LocalEcs['whenStopped']>>> {
  const check = () => {
    const t = ecs.describe(taskArn);
    const nowSeconds = Math.floor(now() / 1000);
    const stuck = stuckStatus(
      t && { lastStatus: t.LastStatus, createdAt: new Date(t.CreatedAt), startedAt: t.StartedAt },
      nowSeconds,
      startTimeoutSeconds,
      nowSeconds,
    );
    if (stuck === undefined) return undefined;
    return new ServiceError(
      START_TIMED_OUT,
      `Task ${taskArn} stayed ${stuck.status} for ${nowSeconds - stuck.createdAtSeconds} s since it was created at ${new Date(stuck.createdAtSeconds * 1000).toISOString()}, longer than the start timeout of ${startTimeoutSeconds} s (last status ${stuck.status}).`,
    );
  };
  const early = check();
  if (early) throw early;
  const created = Number(ecs.describe(taskArn)?.CreatedAt ?? now());
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        const err = check();
        if (err) reject(err);
      },
      Math.max(0, created + startTimeoutSeconds * 1000 - now()) + 50,
    );
    timer.unref();
  });
  try {
    return await Promise.race([ecs.whenStopped(taskArn), stuck]);
  } finally {
    clearTimeout(timer);
  }
}
