import type { CliContext } from '../context';
import { UserError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { json, shortArn } from '../format';

export interface UnlockOptions {
  readonly force?: boolean;
  readonly yes?: boolean;
  readonly local?: boolean;
  readonly json?: boolean;
}

/**
 * `unlock <batch>`: releases a lock whose owner execution is no longer running (a stale lock; the next
 * start would reclaim it anyway). A live owner's lock is only broken with --force, confirmed on the
 * terminal or with --yes. The delete is conditional on the owner read, so a lock that changed hands in
 * the meantime is left alone.
 */
export async function unlockCommand(ctx: CliContext, batchName: string, options: UnlockOptions): Promise<ExitCode> {
  const local = options.local ?? false;
  const batch = ctx.batch(batchName, local);
  const backend = await ctx.backend(local);
  try {
    const lock = await backend.lock(batch);
    const say = (action: string, text: string, code: ExitCode = EXIT.SUCCESS): ExitCode => {
      if (options.json)
        ctx.output.out(
          json({ batch: batch.name, action, owner: lock?.owner ?? null, ownerStatus: lock?.ownerStatus ?? null }),
        );
      else ctx.output.out(text);
      return code;
    };
    if (!lock) return say('none', `${batch.name}: no lock is held; nothing to do.`);
    if (lock.ownerRunning) {
      if (!options.force) {
        throw new UserError(
          `the lock of ${batch.name} is held by ${lock.owner}, which is still RUNNING`,
          local
            ? `let it finish, or stop it: batch-runner stop ${shortArn(lock.owner)} --local (the runner's cleanup stops the task, releases the lock once it is STOPPED and alerts). Only if you must: batch-runner unlock ${batch.name} --local --force (two copies may then run at once).`
            : `let it finish, or stop it: batch-runner stop ${shortArn(lock.owner)} (the runner's cleanup stops the task, releases the lock once it is STOPPED and alerts). Only if you must: batch-runner unlock ${batch.name} --force (two copies may then run at once).`,
          EXIT.REFUSED,
        );
      }
      if (!options.yes) {
        if (!ctx.interactive) {
          throw new UserError(
            'refusing to break the lock of a running execution without confirmation',
            'add --yes to confirm non-interactively.',
            EXIT.REFUSED,
          );
        }
        const confirmed = await ctx.confirm(
          `Break the lock of ${batch.name} held by RUNNING execution ${lock.owner}? Another copy may then start while it runs. [y/N] `,
        );
        if (!confirmed) return say('refused', 'not confirmed; the lock is unchanged.', EXIT.REFUSED);
      }
    }
    const released = await backend.releaseLock(batch, lock.owner);
    if (!released) {
      return say(
        'changed',
        `${batch.name}: the lock changed while unlocking (no longer held by ${lock.owner}); nothing was deleted. Check with: batch-runner status ${batch.name}${local ? ' --local' : ''}`,
        EXIT.REFUSED,
      );
    }
    if (lock.ownerRunning) {
      return say(
        'forced',
        `${batch.name}: broke the lock of RUNNING execution ${lock.owner}.\n  It keeps running; when it ends its release reports "BatchRunner.LockLost" and alerts.`,
      );
    }
    return say('released', `${batch.name}: released the stale lock of ${lock.owner} (owner ${lock.ownerStatus}).`);
  } finally {
    await backend.close();
  }
}
