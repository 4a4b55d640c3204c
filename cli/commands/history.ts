import type { CliContext } from '../context';
import { UserError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { duration, json, oneLine, table } from '../format';

export interface HistoryOptions {
  readonly limit?: string;
  readonly local?: boolean;
  readonly json?: boolean;
}

export const MAX_HISTORY = 100;

/** `history <batch> [--limit N]`: recent executions with outcome, trigger, duration, exit code. */
export async function historyCommand(ctx: CliContext, batchName: string, options: HistoryOptions): Promise<ExitCode> {
  const limit = Number(options.limit ?? 10);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY) {
    throw new UserError(
      `--limit ${options.limit} is not a whole number between 1 and ${MAX_HISTORY}`,
      'e.g. --limit 20',
    );
  }
  const local = options.local ?? false;
  const batch = ctx.batch(batchName, local);
  const backend = await ctx.backend(local);
  try {
    const executions = await backend.executions(batch, { limit });
    if (options.json) {
      ctx.output.out(json(executions));
      return EXIT.SUCCESS;
    }
    if (executions.length === 0) {
      ctx.output.out(`no executions of ${batch.name} yet${local ? ` in ${ctx.stateDir}` : ''}`);
      return EXIT.SUCCESS;
    }
    ctx.output.out(
      table(
        ['STARTED', 'TRIGGER', 'OUTCOME', 'DURATION', 'EXIT', 'EXECUTION', 'REASON'],
        executions.map((e) => [
          ctx.ui.time(e.startDate),
          e.trigger,
          e.outcome.outcome === 'running' ? `running (${e.currentState ?? '?'})` : e.outcome.outcome,
          duration(e.durationMs),
          e.outcome.exitCode === undefined || e.outcome.exitCode === null ? '-' : String(e.outcome.exitCode),
          e.name,
          // Whole when piped (scripts); a terminal's table cuts it to fit.
          oneLine(e.outcome.reason ?? e.inputReason ?? ''),
        ]),
        {
          width: ctx.ui.width,
          cut: [6, 5],
          paint: (text, column) => (column === 2 ? ctx.ui.out.outcome(text) : text),
        },
      ),
    );
    return EXIT.SUCCESS;
  } finally {
    await backend.close();
  }
}
