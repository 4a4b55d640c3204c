import type { BatchConfig } from '../../config/batch-config';
import { MAX_REASON_LENGTH } from '../../handlers/lib/manual-input';
import type { ExecutionDetail } from '../backend';
import type { CliContext } from '../context';
import { UserError } from '../errors';
import type { ExitCode } from '../exit-codes';
import { checkedInput, startRun } from './run';
import { localFlag, resolveTarget } from './target';

export interface RerunOptions {
  readonly reason?: string;
  readonly wait?: boolean;
  readonly local?: boolean;
  readonly json?: boolean;
}

/**
 * The input of a rerun: the execution's input as it was - its overrides and any other field, so an
 * input the validator refused is refused again - started by this operator (`trigger: "cli"`,
 * `requestedBy`), with the reason `rerun of <execution>` unless --reason is given. A scheduler input
 * keeps nothing of its slot (`scheduledTime`, or `slot` of a run --for): its slot has run, and a rerun is a
 * manual start.
 */
export function rerunInput(
  ctx: CliContext,
  batch: BatchConfig,
  old: ExecutionDetail,
  reason: string | undefined,
): Record<string, unknown> {
  const input = (
    typeof old.input === 'object' && old.input !== null && !Array.isArray(old.input) ? old.input : {}
  ) as Record<string, unknown>;
  const { trigger, reason: oldReason, requestedBy: _by, ...rest } = input;
  if (trigger === 'schedule' || trigger === 'dependency') {
    // A dependency run's slot and upstream belong to the rule's delivery, not to a manual start.
    delete rest.scheduledTime;
    delete rest.upstream;
  }
  // A run for a slot (run --for, backfill) claimed it: a rerun is a manual start of its own.
  delete rest.slot;
  const because = `rerun of ${old.name}${typeof oldReason === 'string' ? `: ${oldReason}` : ''}`;
  return checkedInput(ctx, batch, {
    trigger: 'cli',
    reason: reason ?? (because.length > MAX_REASON_LENGTH ? `${because.slice(0, MAX_REASON_LENGTH - 1)}…` : because),
    requestedBy: ctx.user,
    ...rest,
  });
}

/**
 * `rerun <execution>`: starts a new execution of the same batch with the same input, through the same
 * validation, lock and running-task check as `run`; prints the new execution (`--wait`: follows it
 * and exits with its outcome, as `run --wait`).
 */
export async function rerunCommand(ctx: CliContext, ref: string, options: RerunOptions): Promise<ExitCode> {
  const local = options.local ?? false;
  const backend = await ctx.backend(local);
  let batch: BatchConfig;
  let input: Record<string, unknown>;
  let old: ExecutionDetail;
  try {
    const found = await resolveTarget(ctx, backend, ref, local, 'nothing');
    batch = found.batch;
    const detail = await backend.describeExecution(batch, found.executionArn);
    if (!detail)
      throw new UserError(
        `execution ${found.executionArn} does not exist`,
        `list executions with: batch-runner history ${batch.name}${localFlag(local)}`,
      );
    old = detail;
    input = rerunInput(ctx, batch, old, options.reason);
  } finally {
    await backend.close();
  }
  const overrides = input.overrides === undefined ? 'no overrides' : `overrides ${JSON.stringify(input.overrides)}`;
  ctx.output.err(`rerun of ${old.name} (${old.status}, ${old.outcome.outcome}): ${batch.name} with ${overrides}`);
  return startRun(ctx, batch, input, options);
}
