import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { BatchConfig } from '../../config/batch-config';
import { manualExecutionName } from '../../config/naming';
import { formatSlot, parseSlot } from '../../handlers/lib/manual-input';
import type { LocalRuntime } from '../../local/local-runtime';
import type { CliContext } from '../context';
import { UserError } from '../errors';
import { failureSummaryOf } from '../execution-history';
import { EXIT, type ExitCode } from '../exit-codes';
import { duration, json } from '../format';
import { exitCodeFor, outcomeOf, type RunOutcome } from '../outcome';
import { slotsBetween } from '../schedule-time';
import { checkedInput, localSlotText } from './run';

export interface BackfillOptions {
  readonly from: string;
  readonly to: string;
  readonly dryRun?: boolean;
  readonly local?: boolean;
  readonly json?: boolean;
  readonly reason?: string;
}

/** At most this many slots per backfill: a wider range is most likely a typo in --from or --to. */
export const MAX_BACKFILL_SLOTS = 500;

/** What became of one slot of a backfill. */
export interface SlotResult {
  readonly scheduledTime: string;
  readonly local: string;
  /** `would-run`/`already-run` (dry run), `already-run`, `succeeded`, `stopped-here` (its run did not succeed), `not-run`. */
  result: 'would-run' | 'already-run' | 'succeeded' | 'stopped-here' | 'not-run';
  executionArn?: string;
  outcome?: RunOutcome;
  durationMs?: number;
}

/** How one slot is looked up and run: on AWS or in the local mode. */
interface SlotRunner {
  /** The execution that claimed the slot already, if any. */
  claimOf(scheduledTime: string): Promise<string | undefined>;
  /** Runs one checked input to its end. */
  run(input: Record<string, unknown>): Promise<{ executionArn: string; outcome: RunOutcome; raw: any }>;
  close(): Promise<void>;
}

function boundary(option: '--from' | '--to', text: string): Date {
  const parsed = parseSlot(text);
  if (typeof parsed !== 'string')
    throw new UserError(
      `${option} "${text}" ${parsed.problem.replace(/: write.*$/, '')}`,
      `write ${option} as an ISO 8601 time with its offset, to the minute, e.g. ${option} 2026-12-01T00:00+09:00. Nothing was started.`,
    );
  return new Date(parsed);
}

/**
 * `backfill <batch> --from T --to T [--dry-run]`: runs each slot of the batch's cron (in its time
 * zone) within the range, oldest first, one after another, each as `run --for <slot>` (the same
 * validation, slot claim, lock and checks), waiting for each to end. A slot already claimed (run by
 * the schedule, `run --for` or an earlier backfill) is skipped without starting anything. The first
 * slot whose run does not succeed ends the backfill: the rest are not run, and the summary says how
 * to go on. Exit 0 when every slot succeeded or had run already; otherwise the exit code of the run
 * that stopped it.
 */
export async function backfillCommand(ctx: CliContext, batchName: string, options: BackfillOptions): Promise<ExitCode> {
  const local = options.local ?? false;
  const batch = ctx.batch(batchName, local);
  const from = boundary('--from', options.from);
  const to = boundary('--to', options.to);
  const now = ctx.now();
  if (from.getTime() > to.getTime())
    throw new UserError(
      `--from ${options.from} is after --to ${options.to}`,
      'give the earlier time as --from. Nothing was started.',
    );
  if (to.getTime() > now.getTime())
    throw new UserError(
      `--to ${options.to} is in the future (now is ${formatSlot(now)}): the schedule runs those slots itself`,
      `end the range at a slot that has passed, e.g. --to ${formatSlot(now).slice(0, 16)}Z. Nothing was started.`,
    );
  const { cron, timeZone } = batch.schedule;
  const { slots, truncated } = slotsBetween(cron, timeZone, from, to, MAX_BACKFILL_SLOTS);
  if (truncated)
    throw new UserError(
      `${options.from} to ${options.to} holds more than ${MAX_BACKFILL_SLOTS} slots of ${batch.name} (cron(${cron}) in ${timeZone})`,
      `backfill at most ${MAX_BACKFILL_SLOTS} slots at a time: narrow --from/--to. Nothing was started.`,
    );
  const results: SlotResult[] = slots.map((s) => ({
    scheduledTime: formatSlot(s),
    local: localSlotText(batch, s),
    result: 'not-run',
  }));
  const say = (line: string) => {
    if (!options.json) ctx.output.err(line);
  };
  const n = results.length;
  say(
    `${options.dryRun ? 'dry run: ' : ''}backfill of ${batch.name}: ${n} slot${n === 1 ? '' : 's'} of cron(${cron}) in ${timeZone} from ${localSlotText(batch, from)} to ${localSlotText(batch, to)}${local ? ' (local mode)' : ''}`,
  );
  const runner = local ? await localRunner(ctx, batch) : awsRunner(ctx, batch);
  let code: ExitCode = EXIT.SUCCESS;
  try {
    for (const [i, slot] of results.entries()) {
      if (ctx.signal?.aborted) break;
      const tag = `[${i + 1}/${n}] ${slot.local} (${slot.scheduledTime})`;
      const claimedBy = await runner.claimOf(slot.scheduledTime);
      if (claimedBy !== undefined) {
        slot.result = 'already-run';
        slot.executionArn = claimedBy;
        say(`${tag}: already run by ${claimedBy}: skipped`);
        continue;
      }
      if (options.dryRun) {
        slot.result = 'would-run';
        say(`${tag}: would run`);
        continue;
      }
      const input = checkedInput(ctx, batch, {
        trigger: 'cli',
        reason: options.reason ?? `backfill of ${formatSlot(from)} to ${formatSlot(to)} by ${ctx.user}`,
        requestedBy: ctx.user,
        slot: slot.scheduledTime,
      });
      say(`${tag}: running`);
      const t0 = Date.now();
      const { executionArn, outcome, raw } = await runner.run(input);
      slot.executionArn = executionArn;
      slot.outcome = outcome;
      slot.durationMs = Date.now() - t0;
      if (outcome.outcome === 'succeeded') {
        slot.result = 'succeeded';
        say(`${tag}: succeeded in ${duration(slot.durationMs)} (${executionArn})`);
      } else if (outcome.outcome === 'skipped' && raw?.duplicateSlot === slot.scheduledTime) {
        // Claimed between our look and the run's claim (the schedule, or another backfill).
        slot.result = 'already-run';
        say(`${tag}: already run (claimed meanwhile): skipped`);
      } else {
        slot.result = 'stopped-here';
        code = exitCodeFor(outcome.outcome);
        say(
          `${tag}: ${outcome.outcome}${outcome.error ? ` (${outcome.error})` : ''}: ${outcome.reason ?? ''}`.trimEnd(),
        );
        say(`  execution ${executionArn}`);
        break;
      }
    }
  } finally {
    await runner.close();
  }
  const count = (r: SlotResult['result']) => results.filter((s) => s.result === r).length;
  const stopped = results.find((s) => s.result === 'stopped-here');
  const rest = results.filter((s) => s.result === 'not-run');
  if (ctx.signal?.aborted && code === EXIT.SUCCESS && rest.length > 0) code = EXIT.INTERRUPTED;
  const summary = {
    slots: n,
    succeeded: count('succeeded'),
    alreadyRun: count('already-run'),
    wouldRun: count('would-run'),
    notRun: rest.length,
    stoppedAt: stopped?.scheduledTime,
  };
  if (options.json) {
    ctx.output.out(
      json({
        batch: batch.name,
        from: formatSlot(from),
        to: formatSlot(to),
        dryRun: options.dryRun ?? false,
        summary,
        slots: results,
        exitStatus: code,
      }),
    );
    return code;
  }
  const parts = options.dryRun
    ? [`${summary.wouldRun} would run`, `${summary.alreadyRun} already run`]
    : [
        `${summary.succeeded} succeeded`,
        `${summary.alreadyRun} already run`,
        ...(stopped ? [`1 ${stopped.outcome?.outcome ?? 'failed'}`] : []),
        `${summary.notRun} not run`,
      ];
  const lines = [`${options.dryRun ? 'dry run: ' : ''}backfill of ${batch.name}: ${n} slots: ${parts.join(', ')}`];
  if (stopped) {
    lines.push(
      `  stopped at ${stopped.local} (${stopped.scheduledTime}): its slot is claimed and will not run again by itself; once the cause is fixed, run it again as a manual start with: batch-runner rerun ${stopped.executionArn}${local ? ' --local' : ''}`,
    );
  }
  if (rest.length > 0)
    lines.push(
      `  go on with: batch-runner backfill ${batch.name} --from ${rest[0].scheduledTime.slice(0, 16)}Z --to ${formatSlot(to).slice(0, 16)}Z${local ? ' --local' : ''}`,
    );
  ctx.output.out(lines.join('\n'));
  return code;
}

function awsRunner(ctx: CliContext, batch: BatchConfig): SlotRunner {
  const clients = ctx.aws();
  const deploymentP = ctx.resolver().resolve(batch);
  return {
    async claimOf(scheduledTime) {
      const d = await deploymentP;
      const { Item } = await clients.dynamodb.send(
        new GetItemCommand({
          TableName: d.lockTableName,
          Key: { batch: { S: `slot#${batch.name}#${scheduledTime}` } },
          ConsistentRead: true,
        }),
      );
      return Item ? (Item.execution?.S ?? 'an unknown execution') : undefined;
    },
    async run(input) {
      const d = await deploymentP;
      const name = manualExecutionName('cli', batch.name, ctx.now(), ctx.random());
      const started = await clients.sfn.send(
        new StartExecutionCommand({ stateMachineArn: d.stateMachineArn, name, input: JSON.stringify(input) }),
      );
      const executionArn = started.executionArn!;
      for (;;) {
        const described = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
        if (described.status !== 'RUNNING' && described.status !== 'PENDING_REDRIVE') {
          let failureSummary: unknown;
          if (described.status === 'FAILED') {
            const history = await clients.sfn.send(
              new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 100 }),
            );
            failureSummary = failureSummaryOf(history.events ?? []);
          }
          const outcome = outcomeOf({
            status: described.status ?? 'UNKNOWN',
            output: described.output,
            error: described.error,
            cause: described.cause,
            failureSummary,
          });
          return { executionArn, outcome, raw: parseJson(described.output) };
        }
        if (ctx.signal?.aborted)
          return {
            executionArn,
            outcome: { outcome: 'running', reason: 'still running: the backfill stopped waiting (Ctrl-C)' },
            raw: undefined,
          };
        await ctx.sleep(ctx.pollMs);
      }
    },
    async close() {},
  };
}

async function localRunner(ctx: CliContext, batch: BatchConfig): Promise<SlotRunner> {
  const runtime: LocalRuntime = await ctx.openLocal({});
  runtime.localBatch(batch.name);
  return {
    async claimOf(scheduledTime) {
      const item = await runtime.lockItem(`slot#${batch.name}#${scheduledTime}`);
      return item ? (item.execution ?? 'an unknown execution') : undefined;
    },
    async run(input) {
      const result = await runtime.start(batch.name, input, { abortSignal: ctx.signal });
      const outcome = outcomeOf({
        status: result.status,
        output: result.output,
        error: result.error,
        cause: result.cause,
      });
      return { executionArn: result.executionArn, outcome, raw: result.output };
    },
    close: () => runtime.close(),
  };
}

function parseJson(text: string | undefined): any {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
