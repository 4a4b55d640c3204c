import type { CliContext } from '../context';
import { EXIT, type ExitCode } from '../exit-codes';
import { json } from '../format';
import { pausedByFailures } from '../../handlers/lib/pause-record';
import { executionLine, lockLines } from './shared';

export interface StatusOptions {
  readonly local?: boolean;
  readonly json?: boolean;
}

/** `status <batch>`: the lock (owner, since, owner still running?), RUNNING tasks of the family, current executions. */
export async function statusCommand(ctx: CliContext, batchName: string, options: StatusOptions): Promise<ExitCode> {
  const local = options.local ?? false;
  const batch = ctx.batch(batchName, local);
  const backend = await ctx.backend(local);
  let result: {
    batch: string;
    mode: string;
    lock: unknown;
    runningTasks: any[];
    runningExecutions: any[];
    pausedAfterFailures?: unknown;
  };
  try {
    const lock = await backend.lock(batch);
    const runningTasks = await backend.runningTasks(batch);
    const runningExecutions = await backend.executions(batch, { limit: 10, runningOnly: true });
    const pause = batch.pauseAfterConsecutiveFailures === undefined ? undefined : await backend.pauseRecord?.(batch);
    result = { batch: batch.name, mode: backend.mode, lock: lock ?? null, runningTasks, runningExecutions };
    if (pausedByFailures(pause)) result.pausedAfterFailures = pause;
    if (options.json) {
      ctx.output.out(json(result));
      return EXIT.SUCCESS;
    }
    const lines = [
      `${batch.name} (${backend.mode === 'local' ? `local, ${ctx.stateDir}` : 'aws'})`,
      ...lockLines(lock, batch.name, backend.mode === 'local', ctx.ui.time),
    ];
    if (pause && pausedByFailures(pause))
      lines.push(
        `Schedule:    paused after ${pause.failures} failures in a row (${ctx.ui.time(new Date(pause.pausedAtMs ?? 0).toISOString())}); resume: batch-runner resume ${batch.name}`,
      );
    if (runningTasks.length === 0) lines.push('Tasks:       none running');
    else {
      lines.push(`Tasks:       ${runningTasks.length} with desired status RUNNING`);
      for (const t of runningTasks) {
        lines.push(
          `             ${t.taskArn}  ${t.lastStatus}  started ${ctx.ui.time(t.startedAt)}${t.group ? `  group ${t.group}` : ''}${t.startedBy ? `  started by ${t.startedBy}` : ''}`,
        );
      }
      if (!lock?.ownerRunning)
        lines.push(
          '             (no live run holds the lock: started outside the runner, or left by a killed runner; the next start skips while they run)',
        );
    }
    if (runningExecutions.length === 0) lines.push('Executions:  none running');
    else {
      lines.push(`Executions:  ${runningExecutions.length} running`);
      for (const e of runningExecutions) lines.push(`             ${executionLine(e, ctx.ui.time)}`);
    }
    ctx.output.out(lines.join('\n'));
    return EXIT.SUCCESS;
  } finally {
    await backend.close();
  }
}
