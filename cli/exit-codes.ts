/**
 * Exit codes of `batch-runner`: each outcome an operator's script may want to branch on has its own.
 * Listed in `batch-runner --help`; README's CLI section mirrors this table.
 */
export const EXIT = {
  /** The command did what was asked; `run --wait`: the batch succeeded. */
  SUCCESS: 0,
  /** The run failed: non-zero exit of the batch container, an internal error, lock lost, aborted; `stop --wait`: the cleanup did not finish in time. */
  FAILED: 1,
  /** Usage error or invalid input: unknown batch, command or option, a rejected --override, InvalidInput. */
  USAGE: 2,
  /** The run hit its hard timeout (the runner stopped the task), or the execution timed out. */
  TIMED_OUT: 3,
  /** The run was skipped: another live run holds the lock, or the batch's task family is already running. */
  SKIPPED: 4,
  /** ECS could not start the task (capacity, retries exhausted). */
  COULD_NOT_START: 5,
  /** AWS or local environment problem: no credentials or region, state machine not deployed, access denied, local store down. */
  ENVIRONMENT: 6,
  /** Refused: `unlock` of a lock whose owner still runs, without --force (or not confirmed); `stop`/`watch` when nothing runs. */
  REFUSED: 7,
  /** The run was replaced: a newer run of the batch with overlap policy `replace` stopped it. */
  REPLACED: 8,
  /** An unexpected error in the CLI itself (a bug: please report it with BATCH_RUNNER_DEBUG=1 output). */
  INTERNAL: 70,
  /** Interrupted (Ctrl-C). */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODE_HELP = `Exit codes:
  0    success (run --wait: the batch succeeded)
  1    the run failed (non-zero exit, runner error, lock lost, aborted)
  2    usage error or invalid input (unknown batch/option, rejected --override or --reason)
  3    the run timed out (hard timeout reached, task stopped by the runner)
  4    the run was skipped (lock held by a live run, or the task family already running)
  5    could not start (ECS did not start the task)
  6    AWS or local environment problem (credentials, region, not deployed, access denied)
  7    refused (unlock of a live owner without --force, or not confirmed; stop or watch when nothing runs)
  8    the run was replaced (a newer run with overlap policy replace stopped it)
  70   unexpected CLI error (set BATCH_RUNNER_DEBUG=1 for the stack trace)
  130  interrupted (Ctrl-C)`;
