import type { CliContext } from '../context';
import { UserError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { json, shortArn, table, zonedTime } from '../format';
import { nextRunTime } from '../schedule-time';
import { pausedByFailures } from '../../handlers/lib/pause-record';
import type { BackendRow } from './shared';
import { lockSummary } from './shared';

export interface ListOptions {
  readonly local?: boolean;
  readonly json?: boolean;
}

/** `list`: every batch with schedule, next run, schedule state, last outcome and lock holder. */
export async function listCommand(ctx: CliContext, options: ListOptions): Promise<ExitCode> {
  const local = options.local ?? false;
  const batches = local ? ctx.localBatches : ctx.batches;
  const backend = await ctx.backend(local);
  const rows: BackendRow[] = [];
  try {
    for (const batch of batches) {
      const after = batch.after?.[0];
      // A dependent batch has no schedule: its upstream's success starts it, for the upstream's slot.
      const next = after ? undefined : nextRunTime(batch.schedule.cron, batch.schedule.timeZone, ctx.now());
      const row: BackendRow = {
        batch: batch.name,
        description: batch.description,
        schedule: { cron: batch.schedule.cron, timeZone: batch.schedule.timeZone },
        ...(after ? { after } : {}),
        nextRun: next?.toISOString(),
        nextRunLocal: next ? zonedTime(next, batch.schedule.timeZone) : undefined,
        hardTimeoutSeconds: batch.hardTimeoutSeconds,
        overlapPolicy: batch.overlapPolicy ?? 'skip',
      };
      try {
        const [state, last, lock] = [
          after ? 'AFTER' : await backend.scheduleState(batch),
          (await backend.executions(batch, { limit: 1 }))[0],
          await backend.lock(batch),
        ];
        const pause =
          state === 'DISABLED' && batch.pauseAfterConsecutiveFailures !== undefined
            ? await backend.pauseRecord?.(batch)
            : undefined;
        rows.push({
          ...row,
          scheduleState: state,
          ...(pausedByFailures(pause) ? { pausedAfterFailures: pause?.failures } : {}),
          lastRun: last,
          lock: lock ?? null,
        });
      } catch (err) {
        // A batch that is not deployed (yet) is a row, not a failure of the whole list.
        if (err instanceof UserError && err.exitCode === EXIT.ENVIRONMENT && /was not found/.test(err.message)) {
          rows.push({ ...row, error: 'not deployed' });
        } else throw err;
      }
    }
  } finally {
    await backend.close();
  }
  if (options.json) {
    ctx.output.out(json(rows));
    return EXIT.SUCCESS;
  }
  ctx.output.out(
    table(
      ['BATCH', 'SCHEDULE', 'NEXT RUN', 'STATE', 'LAST RUN', 'LOCK'],
      rows.map((r) => [
        r.batch,
        r.after ? `after ${r.after} succeeds` : `${r.schedule.cron} (${r.schedule.timeZone})`,
        r.nextRun && ctx.ui.relativeTimes ? ctx.ui.time(r.nextRun) : (r.nextRunLocal ?? '-'),
        r.error ??
          (r.pausedAfterFailures !== undefined
            ? `paused after ${r.pausedAfterFailures} failures`
            : stateText(r.scheduleState)),
        r.lastRun
          ? `${r.lastRun.outcome.outcome} ${ctx.ui.time(r.lastRun.startDate)} (${shortArn(r.lastRun.executionArn)})`
          : r.error
            ? '-'
            : 'never',
        r.error ? '-' : lockSummary(r.lock ?? undefined),
      ]),
      {
        width: ctx.ui.width,
        cut: [5, 4, 1],
        paint: (text, column) => (column === 4 ? ctx.ui.out.outcome(text) : text),
      },
    ),
  );
  if (local) ctx.output.err(`local mode: state in ${ctx.stateDir}; schedules do not fire locally.`);
  return EXIT.SUCCESS;
}

function stateText(state: string | undefined): string {
  switch (state) {
    case 'ENABLED':
      return 'enabled';
    case 'DISABLED':
      return 'paused';
    case 'NOT_FOUND':
      return 'no schedule';
    case 'LOCAL':
      return 'local';
    case 'AFTER':
      return 'dependency';
    default:
      return '-';
  }
}
