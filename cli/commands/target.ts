import { BatchConfigError } from '../../config/batch-config';
import type { BatchBackend, FoundExecution } from '../backend';
import type { CliContext } from '../context';
import { UserError } from '../errors';
import { EXIT } from '../exit-codes';

/** `--local` on the commands a hint suggests, when the local mode is in use. */
export const localFlag = (local: boolean) => (local ? ' --local' : '');

/**
 * The execution a command is about, from `<batch|execution>`: a batch name stands for its one RUNNING
 * execution (`running`: stop, watch) or its newest (`newest`: show); anything else is an execution
 * name or ARN (see: batch-runner history). A UserError names what was looked for and how to find it.
 */
export async function resolveTarget(
  ctx: CliContext,
  backend: BatchBackend,
  ref: string,
  local: boolean,
  batchMeans: 'running' | 'newest' | 'nothing',
): Promise<FoundExecution> {
  const flag = localFlag(local);
  const batches = local ? ctx.localBatches : ctx.batches;
  const named = batches.find((b) => b.name === ref);
  if (named && batchMeans !== 'nothing') {
    const batch = ctx.batch(ref, local);
    if (batchMeans === 'newest') {
      const [newest] = await backend.executions(batch, { limit: 1 });
      if (!newest)
        throw new UserError(`${batch.name} has no executions yet`, `start one: batch-runner run ${batch.name}${flag}`);
      return { batch, executionArn: newest.executionArn };
    }
    const running = await backend.executions(batch, { limit: 10, runningOnly: true });
    if (running.length === 0) {
      throw new UserError(
        `nothing runs: no execution of ${batch.name} is RUNNING${local ? ` in ${ctx.stateDir}` : ''}`,
        `see its last runs: batch-runner history ${batch.name}${flag}`,
        EXIT.REFUSED,
      );
    }
    if (running.length > 1) {
      throw new UserError(
        `${running.length} executions of ${batch.name} are RUNNING (one holds the lock, the others wait for it or are skipping): ${running.map((e) => e.name).join(', ')}`,
        `name one of them instead of the batch, e.g. ${running[0].name}`,
      );
    }
    return { batch, executionArn: running[0].executionArn };
  }
  if (named) {
    throw new UserError(
      `"${ref}" is a batch; this command needs one of its executions`,
      `find it with: batch-runner history ${ref}${flag} (the EXECUTION column), then pass its name or ARN.`,
    );
  }
  // A configured batch that does not validate is left out of the lists: say why, not "no execution".
  try {
    ctx.batch(ref, local);
  } catch (err) {
    if (!(err instanceof BatchConfigError && err.message.startsWith('unknown batch'))) throw err;
  }
  if (ref.startsWith('arn:') && ref.split(':')[3] === 'local' && !local) {
    throw new UserError(`${ref} is an execution of the local mode`, 'add --local (or set BATCH_RUNNER_LOCAL=1).');
  }
  const found = await backend.findExecution(ref, batches);
  if (!found) {
    throw new UserError(
      `no execution "${ref}" ${local ? `in ${ctx.stateDir}` : `of a batch's state machine (prefix "${ctx.prefix}")`}`,
      `give an execution name or ARN as batch-runner history <batch>${flag} lists them${local ? '' : ', or check --region, --profile and --prefix; for the local mode add --local'}.`,
    );
  }
  return found;
}
