import type { BatchConfig } from '../../config/batch-config';
import { MAX_REASON_LENGTH } from '../../handlers/lib/manual-input';
import type { BatchReconcileReport } from '../../handlers/lib/reconcile';
import { localStateMachineArn } from '../../local/local-runtime';
import { isAlive } from '../../local/state-dir';
import type { BatchBackend, ExecutionDetail, FoundExecution, LocalBackend, LockInfo } from '../backend';
import type { CliContext } from '../context';
import { UserError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { duration, json } from '../format';
import { pause } from '../watch';
import { localFlag, resolveTarget } from './target';

export interface StopOptions {
  readonly reason?: string;
  readonly wait?: boolean;
  readonly local?: boolean;
  readonly json?: boolean;
}

/** The error of StopExecution by `batch-runner stop` (the execution ends ABORTED with it). */
export const STOPPED_BY_OPERATOR = 'BatchRunner.StoppedByOperator';
/** `stop --wait` gives up after this long (the reconciler waits for STOPPED, then releases the lock). */
export const STOP_WAIT_LIMIT_MS = 10 * 60 * 1000;

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/** The operator's --reason, checked like the manual input's reason (it goes into the alert). */
export function stopReason(ctx: CliContext, reason: string | undefined): string {
  if (reason === undefined) return `stopped by ${ctx.user}`;
  const problem =
    reason.trim() === ''
      ? 'is empty'
      : reason.length > MAX_REASON_LENGTH
        ? `is ${reason.length} characters long`
        : CONTROL_CHARS.test(reason)
          ? 'contains control characters'
          : undefined;
  if (!problem) return reason;
  throw new UserError(
    `--reason ${JSON.stringify(reason.length > 60 ? `${reason.slice(0, 57)}...` : reason)} ${problem}`,
    `give --reason a plain-text reason of 1 to ${MAX_REASON_LENGTH} characters (or leave it out for "stopped by ${ctx.user}"). Nothing was stopped.`,
  );
}

/**
 * `stop <batch|execution>`: StopExecution with an error and cause naming the operator, exactly what
 * the console's stop does. The runner's reconciler (on AWS the Execution Status Change rule; locally
 * the runner process) then stops the task, releases the lock once the task is STOPPED and sends the
 * one alert. `--wait` follows that until the execution has ended, its task stopped and its lock is free.
 */
export async function stopCommand(ctx: CliContext, ref: string, options: StopOptions): Promise<ExitCode> {
  const local = options.local ?? false;
  const reason = stopReason(ctx, options.reason);
  const backend = await ctx.backend(local);
  try {
    let target: FoundExecution;
    try {
      target = await resolveTarget(ctx, backend, ref, local, 'running');
    } catch (err) {
      // Locally a runner killed mid-run leaves its task and lock behind with no RUNNING execution.
      const leftover =
        local && err instanceof UserError && err.exitCode === EXIT.REFUSED
          ? leftoverOf(backend as LocalBackend, ctx.batch(ref, true))
          : undefined;
      if (!leftover) throw err;
      target = leftover;
    }
    const { batch, executionArn } = target;
    const before = await backend.describeExecution(batch, executionArn);
    const name = executionArn.split(':').pop()!;
    if (before && local && before.status !== 'RUNNING' && runnerGone(backend as LocalBackend, executionArn)) {
      const lock = await backend.lock(batch);
      const taskLives = before.task !== undefined && before.task.lastStatus !== 'STOPPED';
      if (taskLives || lock?.owner === executionArn)
        return settleLeftover(ctx, backend as LocalBackend, batch, before, options);
    }
    if (before && before.status !== 'RUNNING' && options.wait) {
      // Stopped already (by an earlier `stop`, the console, a newer run): wait for its cleanup if it is under way.
      const lock = await backend.lock(batch);
      if (pending(before, lock, executionArn).length > 0) {
        ctx.output.err(`${name} has already ended (${before.status}); waiting for its cleanup`);
        const result = {
          batch: batch.name,
          executionArn,
          name,
          error: before.outcome.error,
          cause: before.outcome.reason,
        };
        return await waitAndReport(ctx, backend, batch, executionArn, { ...result, stopRequested: false }, options);
      }
    }
    if (!before || before.status !== 'RUNNING') {
      throw new UserError(
        `nothing to stop: execution ${name} is ${before?.status ?? 'gone'}${before?.stopDate ? ` (ended ${ctx.ui.time(before.stopDate)})` : ''}`,
        `see it with: batch-runner show ${name}${localFlag(local)}; start it again with: batch-runner rerun ${name}${localFlag(local)}`,
        EXIT.REFUSED,
      );
    }
    const error = STOPPED_BY_OPERATOR;
    const cause = `Stopped by ${ctx.user} with batch-runner stop: ${reason}`;
    await backend.stopExecution(batch, executionArn, error, cause);
    const result = { batch: batch.name, executionArn, name, error, cause };
    if (!options.wait) {
      if (options.json) ctx.output.out(json({ ...result, stopRequested: true }));
      else
        ctx.output.out(
          [
            `stop requested: ${name} (${cause})`,
            `  the runner's cleanup now stops ${before.task ? `task ${before.task.taskArn}` : 'its task, if it started one'}, releases the lock once the task is STOPPED, and sends one alert.`,
            `  follow the cleanup: batch-runner stop ${name} --wait${localFlag(local)} (or: batch-runner status ${batch.name}${localFlag(local)})`,
          ].join('\n'),
        );
      return EXIT.SUCCESS;
    }
    ctx.output.err(`stop requested: ${name} (${cause}); waiting for the cleanup`);
    return await waitAndReport(ctx, backend, batch, executionArn, { ...result, stopRequested: true }, options);
  } finally {
    await backend.close();
  }
}

/** Waits until the stopped execution's cleanup is done (or the limit passes) and reports it. */
async function waitAndReport(
  ctx: CliContext,
  backend: BatchBackend,
  batch: BatchConfig,
  executionArn: string,
  result: { batch: string; executionArn: string; name: string; error?: string; cause?: string; stopRequested: boolean },
  options: StopOptions,
): Promise<ExitCode> {
  const settled = await waitUntilSettled(ctx, backend, batch, executionArn);
  const { detail, lock } = settled;
  const lockFree = lock?.owner !== executionArn;
  if (options.json) {
    ctx.output.out(
      json({
        ...result,
        settled: settled.done,
        status: detail?.status,
        outcome: detail?.outcome,
        task: detail?.task ?? null,
        lockReleased: lockFree,
      }),
    );
  } else if (settled.done) {
    ctx.output.out(
      [
        `stopped ${result.name}: execution ${detail?.status}${detail?.task ? `, task ${detail.task.taskArn} ${detail.task.lastStatus ?? 'gone'}${exitText(detail)}` : ', no task'}, lock released`,
        `  cause      ${detail?.outcome.reason ?? result.cause}`,
        `  took       ${duration(ctx.now().getTime() - settled.since)}`,
      ].join('\n'),
    );
  }
  if (!settled.done) {
    throw new UserError(
      `${result.name} did not settle within ${duration(STOP_WAIT_LIMIT_MS)}: ${pending(detail, lock, executionArn).join('; ')}`,
      `look with: batch-runner status ${batch.name}${localFlag(backend.mode === 'local')}. A task that never reports STOPPED keeps the lock held on purpose (the alert says so).`,
      EXIT.FAILED,
    );
  }
  return EXIT.SUCCESS;
}

const exitText = (d: ExecutionDetail | undefined) =>
  d?.task?.exitCode !== undefined && d.task.exitCode !== null ? ` (exit code ${d.task.exitCode})` : '';

function pending(detail: ExecutionDetail | undefined, lock: LockInfo | undefined, executionArn: string): string[] {
  const open: string[] = [];
  if (detail?.status === 'RUNNING') open.push('the execution still RUNNING');
  if (detail?.task && detail.task.lastStatus !== undefined && detail.task.lastStatus !== 'STOPPED')
    open.push(`task ${detail.task.lastStatus}`);
  if (lock?.owner === executionArn) open.push('the lock still held by it');
  return open;
}

/** Polls until the execution has ended, its task (if any) is STOPPED and the lock is no longer its own. */
async function waitUntilSettled(
  ctx: CliContext,
  backend: BatchBackend,
  batch: Parameters<BatchBackend['lock']>[0],
  executionArn: string,
): Promise<{ done: boolean; detail?: ExecutionDetail; lock?: LockInfo; since: number }> {
  const since = ctx.now().getTime();
  const seen = new Set<string>();
  const note = (key: string, text: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    ctx.output.err(`  +${duration(ctx.now().getTime() - since).padEnd(8)} ${text}`);
  };
  for (;;) {
    const detail = await backend.describeExecution(batch, executionArn);
    const lock = await backend.lock(batch);
    if (detail && detail.status !== 'RUNNING') note('ended', `execution ${detail.status}`);
    const task = detail?.task;
    if (task && task.lastStatus && task.lastStatus !== 'RUNNING') {
      note(
        `task-${task.lastStatus}`,
        `task ${task.lastStatus}${task.lastStatus === 'STOPPED' ? exitText(detail) : ''}`,
      );
    }
    if (lock?.owner !== executionArn)
      note('lock', lock ? `lock released (now held by ${lock.owner})` : 'lock released');
    if (pending(detail, lock, executionArn).length === 0) return { done: true, detail, lock, since };
    if (ctx.now().getTime() - since > STOP_WAIT_LIMIT_MS) return { done: false, detail, lock, since };
    // Locally everything is at hand and cheap to read; on AWS each poll is five API calls.
    await pause(ctx, backend.mode === 'local' ? Math.min(ctx.pollMs, 250) : ctx.pollMs, executionArn);
  }
}

/** Whether the local process that ran an execution is gone (killed, crashed). */
function runnerGone(backend: LocalBackend, executionArn: string): boolean {
  const record = backend.runtime.registry.get(executionArn);
  return record !== undefined && !isAlive(record.runner);
}

/**
 * The execution a killed local runner left behind for a batch with nothing RUNNING: the stale lock's
 * owner, else the newest ended execution whose task still runs.
 */
function leftoverOf(backend: LocalBackend, batch: BatchConfig): FoundExecution | undefined {
  const { registry, ecs } = backend.runtime;
  const records = registry.list(batch.name).filter((r) => r.status !== 'RUNNING' && !isAlive(r.runner));
  const running = new Set(ecs.runningTasksOf(batch.name).map((t) => t.TaskArn));
  const left = records.find((r) => r.taskArn !== undefined && running.has(r.taskArn));
  return left ? { batch, executionArn: left.executionArn } : undefined;
}

/**
 * A local execution whose runner was killed ended without its cleanup: its task may still run and its
 * lock is still held. The reconciler gets the status event that runner never sent (as on AWS, where
 * the Execution Status Change rule would deliver it): it stops the task, releases the lock once the
 * task is STOPPED, and sends the one alert owed.
 */
async function settleLeftover(
  ctx: CliContext,
  backend: LocalBackend,
  batch: BatchConfig,
  execution: ExecutionDetail,
  options: StopOptions,
): Promise<ExitCode> {
  ctx.output.err(
    `${execution.name} is ${execution.status}: its runner process has gone (${execution.outcome.reason ?? 'killed'}); handing what it left to the reconciler`,
  );
  const report = (await backend.runtime.reconcileEvent({
    source: 'aws.states',
    'detail-type': 'Step Functions Execution Status Change',
    detail: {
      executionArn: execution.executionArn,
      stateMachineArn: localStateMachineArn(batch.name),
      name: execution.name,
      status: execution.status as 'ABORTED',
      input: JSON.stringify(execution.input ?? null),
      error: execution.outcome.error ?? null,
      cause: execution.outcome.reason ?? null,
    },
  })) as BatchReconcileReport;
  const actions = [
    ...report.tasks.map((t) => `${t.action} task ${t.taskArn} (${t.why})`),
    `lock ${report.lock}`,
    report.alert === 'sent' ? 'sent one alert' : `alert ${report.alert}`,
  ];
  const settled = report.mayStillRun.length === 0;
  if (options.json)
    ctx.output.out(
      json({
        batch: batch.name,
        executionArn: execution.executionArn,
        name: execution.name,
        stopRequested: false,
        leftover: true,
        settled,
        status: execution.status,
        lock: report.lock,
        tasks: report.tasks,
        mayStillRun: report.mayStillRun,
        alert: report.alert,
      }),
    );
  else ctx.output.out(`cleaned up after ${execution.name}: ${actions.join('; ')}`);
  if (!settled)
    throw new UserError(
      `task(s) may still run: ${report.mayStillRun.join(', ')}`,
      `look with: batch-runner status ${batch.name} --local; the lock stays held until they are STOPPED.`,
      EXIT.FAILED,
    );
  return EXIT.SUCCESS;
}
