import { existsSync, readFileSync } from 'node:fs';
import type { BatchConfig } from '../../config/batch-config';
import type { LocalBackend } from '../backend';
import type { CliContext } from '../context';
import { EXIT, type ExitCode } from '../exit-codes';
import { duration, progressOfTask, shortArn } from '../format';
import { storyOf } from '../state-story';
import { pause } from '../watch';
import { followOnAws, report } from './run';
import { resolveTarget } from './target';

export interface WatchOptions {
  readonly local?: boolean;
  readonly json?: boolean;
}

/**
 * `watch <batch|execution>`: re-attaches to a running execution with the live progress of
 * `run --wait` (the states so far, then each state as it is entered, the task, its output locally,
 * its elapsed time against the hard timeout) and exits with the run's exit code. An execution that
 * has already ended is reported at once, with its code.
 */
export async function watchCommand(ctx: CliContext, ref: string, options: WatchOptions): Promise<ExitCode> {
  const local = options.local ?? false;
  const backend = await ctx.backend(local);
  try {
    const { batch, executionArn } = await resolveTarget(ctx, backend, ref, local, 'running');
    const detail = await backend.describeExecution(batch, executionArn);
    const startDate = new Date(detail?.startDate ?? ctx.now());
    if (!local) {
      const deployment = await ctx.resolver().resolve(batch);
      ctx.output.err(`watching ${shortArn(executionArn)} (${batch.name}, started ${ctx.ui.time(detail?.startDate)})`);
      return await followOnAws(ctx, deployment, executionArn, startDate, options);
    }
    return await followLocal(ctx, backend as LocalBackend, batch, executionArn, startDate, options);
  } finally {
    await backend.close();
  }
}

/**
 * Follows a local execution that another process runs: its states from the registry, its task's
 * output from the task's log file, its progress against the hard timeout while nothing else happens.
 */
async function followLocal(
  ctx: CliContext,
  backend: LocalBackend,
  batch: BatchConfig,
  executionArn: string,
  startDate: Date,
  options: WatchOptions,
): Promise<ExitCode> {
  const { runtime } = backend;
  const hardMs = runtime.localBatch(batch.name).hardTimeoutSeconds * 1000;
  const at = (ms: number) => `+${duration(ms - startDate.getTime())}`.padEnd(9);
  ctx.output.err(`watching ${shortArn(executionArn)} (${batch.name}, local, started ${ctx.ui.time(startDate)})`);
  let lastProgressAt = ctx.now().getTime();
  // Progress lines come while nothing else is printed, as in run --local.
  const say = (line: string) => {
    lastProgressAt = ctx.now().getTime();
    ctx.output.err(line);
  };
  let shownStates = 0;
  let taskShown: string | undefined;
  let offset = 0;
  const tail = (taskArn: string) => {
    const path = runtime.ecs.logPathOf(taskArn);
    if (!existsSync(path)) return;
    const fresh = readFileSync(path, 'utf8').slice(offset);
    const complete = fresh.slice(0, fresh.lastIndexOf('\n') + 1);
    offset += complete.length;
    for (const line of complete.split('\n').slice(0, -1)) say(`  [${batch.name}] ${line}`);
  };
  for (;;) {
    const record = runtime.registry.get(executionArn);
    if (!record) break;
    const announce = () => {
      if (!record.taskArn || taskShown === record.taskArn) return;
      taskShown = record.taskArn;
      offset = 0;
      say(`  task ${shortArn(record.taskArn).slice(0, 12)} (hard timeout ${duration(hardMs)})`);
    };
    const stoppedAt = record.taskArn ? runtime.ecs.describe(record.taskArn)?.StoppedAt : undefined;
    const states = record.states ?? [];
    for (const s of states.slice(shownStates)) {
      // The task's last lines come before the states entered after it stopped (ReleaseLock, ...).
      if (stoppedAt !== undefined && s.at >= stoppedAt) {
        announce();
        tail(taskShown!);
      }
      const story = storyOf(s.name);
      if (story) say(`  ${at(s.at)} ${s.name}: ${story}`);
    }
    shownStates = states.length;
    announce();
    if (taskShown) tail(taskShown);
    if (record.status !== 'RUNNING') break;
    const now = ctx.now().getTime();
    const task = taskShown ? runtime.ecs.describe(taskShown) : undefined;
    if (task?.StartedAt && now - lastProgressAt >= ctx.progressEveryMs) {
      lastProgressAt = now;
      say(progressOfTask(task.LastStatus, now - task.StartedAt, hardMs));
    }
    await pause(ctx, Math.min(ctx.pollMs, 250), executionArn);
  }
  const detail = await backend.describeExecution(batch, executionArn);
  if (!detail) return EXIT.FAILED;
  const end = detail.stopDate ? Date.parse(detail.stopDate) : ctx.now().getTime();
  return report(ctx, batch.name, executionArn, detail.outcome, end - startDate.getTime(), options);
}
