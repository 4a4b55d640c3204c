import { Command, CommanderError, Option } from 'commander';
import { BatchConfigError, partitionBatchConfigs } from '../config/batch-config';
import { BATCHES } from '../config/batches';
import { LOCAL_BATCHES } from '../examples/demo-batches';
import { LocalStoreError } from '../local/shared-dynamodb';
import { backfillCommand } from './commands/backfill';
import { demoCommand } from './commands/demo';
import { historyCommand } from './commands/history';
import { listCommand } from './commands/list';
import { logsCommand } from './commands/logs';
import { rerunCommand } from './commands/rerun';
import { runCommand } from './commands/run';
import { scheduleCommand } from './commands/schedule';
import { showCommand } from './commands/show';
import { statusCommand } from './commands/status';
import { stopCommand } from './commands/stop';
import { unlockCommand } from './commands/unlock';
import { watchCommand } from './commands/watch';
import { type CliContext, type CliDeps, createContext, type GlobalOptions } from './context';
import { explainAwsError, UserError } from './errors';
import { EXIT, EXIT_CODE_HELP, type ExitCode } from './exit-codes';
import { processOutput } from './format';

const LOCAL_HELP =
  'use the local mode (embedded lock store, tasks as child processes; state in .batch-runner/) instead of AWS (default with BATCH_RUNNER_LOCAL=1)';
/** The package version (`batch-runner --version`). */
export const VERSION: string = require('../package.json').version;
const JSON_HELP = 'print JSON on stdout instead of text';
const examples = (lines: readonly string[]) => `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`;

/** Builds the `batch-runner` command tree; `act` runs an action with its context and records the exit code. */
export function buildProgram(
  act: (run: (ctx: CliContext) => Promise<ExitCode>, command: Command) => Promise<void>,
): Command {
  const program = new Command('batch-runner')
    .description(
      'Operate the Step Functions batch runner: start batches through their state machine (lock, running-task check, hard timeout, alert), watch them, and diagnose locks - on AWS, or locally with --local.',
    )
    .option('--region <region>', 'AWS region (default: AWS_REGION / profile)')
    .option('--profile <name>', 'AWS profile (default: AWS_PROFILE)')
    .option(
      '--prefix <prefix>',
      'deployment prefix of the resource names (default: BATCH_RUNNER_PREFIX or "batch-runner")',
    )
    .option('--state-dir <dir>', 'local mode state directory (default: BATCH_RUNNER_STATE_DIR or <repo>/.batch-runner)')
    .version(VERSION, '-V, --version', 'print the version of batch-runner')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `\n${EXIT_CODE_HELP}\n\nExamples:\n  npm start                                  the demo (no AWS needed)\n  batch-runner run sitemap-refresh --local   run a batch locally; start it in two terminals to see the skip\n  batch-runner run xml-articles --override ARTICLE_LIMIT=100 --reason "re-export" --wait\n  batch-runner status missing-images         lock, running tasks, current execution\n  batch-runner unlock missing-images         release a stale lock (owner no longer running)`,
    );

  program
    .command('list')
    .description('every batch: schedule and time zone, next run, schedule state, last outcome, lock holder')
    .option('--local', LOCAL_HELP)
    .option('--json', JSON_HELP)
    .action((opts, cmd: Command) => act((ctx) => listCommand(ctx, opts), cmd));

  program
    .command('run')
    .description('start a batch with a manual input, through the same lock and checks as the schedule')
    .argument('<batch>', 'batch name (see: batch-runner list)')
    .option('--reason <text>', 'why you start it (recorded in the lock, the execution input and any alert)')
    .option(
      '--override <NAME=value...>',
      "set an environment variable of the batch container (only names in the batch's overrides.environment)",
    )
    .option(
      '--for <time>',
      'the scheduled slot this run stands for (ISO 8601 with offset, e.g. 2026-12-01T06:00+09:00): a slot runs at most once, so a slot that already ran is skipped',
    )
    .option('--wait', 'follow the run with live progress and exit with its outcome (see exit codes)')
    .option('--local', `${LOCAL_HELP}; always waits: this process is the runner`)
    .option('--json', 'print the result as JSON on stdout (progress goes to stderr)')
    .action((batch: string, opts, cmd: Command) => act((ctx) => runCommand(ctx, batch, opts), cmd));

  program
    .command('backfill')
    .description(
      "run each slot of a batch's schedule (its cron, in its time zone) within a range, oldest first, one after another, each as run --for <slot>; slots already run are skipped, the first run that does not succeed stops the backfill",
    )
    .argument('<batch>', 'batch name')
    .requiredOption('--from <time>', 'first time of the range, ISO 8601 with offset (e.g. 2026-11-01T00:00+09:00)')
    .requiredOption('--to <time>', 'last time of the range (included), not in the future')
    .option('--dry-run', 'list the slots and which of them have run already; start nothing')
    .option('--reason <text>', 'recorded with each run (default: backfill of <from> to <to> by <you>)')
    .option('--local', LOCAL_HELP)
    .option('--json', 'print one JSON object with every slot and the summary on stdout (progress goes to stderr)')
    .addHelpText(
      'after',
      examples([
        'batch-runner backfill xml-articles --from 2026-11-25T00:00+09:00 --to 2026-11-30T23:59+09:00 --dry-run',
        'batch-runner backfill xml-articles --from 2026-11-25T00:00+09:00 --to 2026-11-30T23:59+09:00',
      ]),
    )
    .action((batch: string, opts, cmd: Command) => act((ctx) => backfillCommand(ctx, batch, opts), cmd));

  program
    .command('status')
    .description(
      'the lock (owner, since when, is the owner still running), RUNNING tasks of the family, current executions',
    )
    .argument('<batch>', 'batch name')
    .option('--local', LOCAL_HELP)
    .option('--json', JSON_HELP)
    .action((batch: string, opts, cmd: Command) => act((ctx) => statusCommand(ctx, batch, opts), cmd));

  program
    .command('history')
    .description('recent executions with outcome, trigger, duration and exit code')
    .argument('<batch>', 'batch name')
    .option('--limit <n>', 'how many executions (1-100)', '10')
    .option('--local', LOCAL_HELP)
    .option('--json', JSON_HELP)
    .action((batch: string, opts, cmd: Command) => act((ctx) => historyCommand(ctx, batch, opts), cmd));

  program
    .command('logs')
    .description(
      "the batch container's log stream of an execution's task (default: the newest execution that started one)",
    )
    .argument('<batch>', 'batch name')
    .option('--execution <id>', 'execution name or ARN (see: batch-runner history)')
    .option('--follow', 'keep printing until the execution ends')
    .option('--local', LOCAL_HELP)
    .option('--json', 'JSON Lines: one JSON object per log event and line ({timestamp, message}; locally {message})')
    .action((batch: string, opts, cmd: Command) => act((ctx) => logsCommand(ctx, batch, opts), cmd));

  program
    .command('stop')
    .description(
      "stop the running execution of a batch (or the named execution): StopExecution as the console's stop; the runner's cleanup then stops the task, releases the lock once it is STOPPED and sends one alert",
    )
    .argument('<batch|execution>', 'batch name (its one RUNNING execution), or an execution name or ARN')
    .option('--reason <text>', 'why you stop it (in the cause of the execution and its alert)')
    .option('--wait', 'wait until the execution has ended, its task is STOPPED and the lock is free, with progress')
    .option('--local', LOCAL_HELP)
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      examples([
        'batch-runner stop missing-images --reason "hung since 02:00, see INC-42" --wait',
        'batch-runner stop cli-xml-articles-20261121T233000Z-a1b2c3',
        'batch-runner stop sitemap-refresh --local',
      ]),
    )
    .action((ref: string, opts, cmd: Command) => act((ctx) => stopCommand(ctx, ref, opts), cmd));

  program
    .command('watch')
    .description(
      'follow a running execution with the live progress of run --wait (re-attach), and exit with its outcome',
    )
    .argument('<batch|execution>', 'batch name (its one RUNNING execution), or an execution name or ARN')
    .option('--local', LOCAL_HELP)
    .option('--json', 'print the result as JSON on stdout (progress goes to stderr)')
    .addHelpText(
      'after',
      examples([
        'batch-runner watch missing-images          re-attach to the running execution',
        'batch-runner watch cli-xml-articles-20261121T233000Z-a1b2c3 && echo done',
      ]),
    )
    .action((ref: string, opts, cmd: Command) => act((ctx) => watchCommand(ctx, ref, opts), cmd));

  program
    .command('show')
    .description(
      'one execution: outcome, trigger, timings, task, exit code, stop reason, log and console links, and its states as a timeline',
    )
    .argument('<execution>', 'execution name or ARN (see: batch-runner history); a batch name shows its newest')
    .option('--local', LOCAL_HELP)
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      examples([
        'batch-runner show cli-xml-articles-20261121T233000Z-a1b2c3',
        'batch-runner show missing-images --json | jq .task.exitCode',
      ]),
    )
    .action((ref: string, opts, cmd: Command) => act((ctx) => showCommand(ctx, ref, opts), cmd));

  program
    .command('rerun')
    .description(
      'start a new execution with the same input (its overrides), through the same validation, lock and checks as run',
    )
    .argument('<execution>', 'execution name or ARN (see: batch-runner history)')
    .option('--reason <text>', 'why you rerun it (default: "rerun of <execution>: <its reason>")')
    .option('--wait', 'follow the new run with live progress and exit with its outcome (see exit codes)')
    .option('--local', `${LOCAL_HELP}; always waits: this process is the runner`)
    .option('--json', 'print the result as JSON on stdout (progress goes to stderr)')
    .addHelpText(
      'after',
      examples([
        'batch-runner rerun cli-xml-articles-20261121T233000Z-a1b2c3 --reason "after the fix" --wait',
        'batch-runner rerun cli-sitemap-refresh-20261121T233000Z-a1b2c3 --local',
      ]),
    )
    .action((ref: string, opts, cmd: Command) => act((ctx) => rerunCommand(ctx, ref, opts), cmd));

  program
    .command('unlock')
    .description('release a lock whose owner execution is no longer running; --force for a live owner (asks first)')
    .argument('<batch>', 'batch name')
    .option('--force', 'also break the lock of an execution that is still RUNNING (two copies may then run at once)')
    .option('--yes', 'do not ask for confirmation (with --force)')
    .option('--local', LOCAL_HELP)
    .option('--json', JSON_HELP)
    .action((batch: string, opts, cmd: Command) => act((ctx) => unlockCommand(ctx, batch, opts), cmd));

  program
    .command('pause')
    .description("disable the batch's schedule (EventBridge Scheduler); manual runs still work")
    .argument('<batch>', 'batch name')
    .option('--json', JSON_HELP)
    .action((batch: string, opts, cmd: Command) => act((ctx) => scheduleCommand(ctx, batch, 'DISABLED', opts), cmd));

  program
    .command('resume')
    .description("enable the batch's schedule again")
    .argument('<batch>', 'batch name')
    .option('--json', JSON_HELP)
    .action((batch: string, opts, cmd: Command) => act((ctx) => scheduleCommand(ctx, batch, 'ENABLED', opts), cmd));

  program
    .command('demo')
    .description(
      'run the demo on embedded defaults: a normal run, a skipped overlapping start, a hard-timeout kill, a failure alert (npm start)',
    )
    .action((_opts, cmd: Command) => act((ctx) => demoCommand(ctx), cmd));

  program.addOption(new Option('--debug', 'print stack traces of unexpected errors').hideHelp());
  return program;
}

/** Whether BATCH_RUNNER_LOCAL asks for the local mode: 1, true or yes (0, false, no or empty: AWS). */
export function localByEnvironment(env: NodeJS.ProcessEnv): boolean {
  const value = (env.BATCH_RUNNER_LOCAL ?? '').trim().toLowerCase();
  if (['', '0', 'false', 'no'].includes(value)) return false;
  if (['1', 'true', 'yes'].includes(value)) return true;
  throw new UserError(
    `BATCH_RUNNER_LOCAL=${env.BATCH_RUNNER_LOCAL} is not understood`,
    'set BATCH_RUNNER_LOCAL=1 for the local mode, or unset it (or 0) for AWS.',
  );
}

/**
 * Runs the CLI with `argv` (the arguments after the program name) and returns the exit code; never
 * throws and never calls process.exit (bin/batch-runner.js -> cli/main.ts does).
 */
export async function runCli(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  const output = deps.output ?? processOutput;
  let exitCode: number = EXIT.SUCCESS;
  const program = buildProgram(async (run, command) => {
    const env = deps.env ?? process.env;
    // BATCH_RUNNER_LOCAL=1: --local on every command that has it, without repeating it.
    if (
      command.options.some((o) => o.long === '--local') &&
      command.getOptionValue('local') === undefined &&
      localByEnvironment(env)
    ) {
      command.setOptionValueWithSource('local', true, 'env');
    }
    const globals = command.optsWithGlobals() as GlobalOptions;
    // One bad entry must not stop the CLI for every batch: the valid ones work, the bad one is
    // reported, and a command about it fails with its validation message.
    const deployed = partitionBatchConfigs(deps.batches ?? BATCHES);
    const local = partitionBatchConfigs(deps.localBatches ?? LOCAL_BATCHES);
    const invalid = new Map([...deployed.invalid, ...local.invalid].map((i) => [i.name, i.error]));
    for (const [name, error] of invalid) {
      output.err(`warning: batch "${name}" is left out: ${error.message.replace(/^batch "[^"]*": /, '')}`);
    }
    const ctx = createContext(
      { ...deps, batches: deployed.valid, localBatches: local.valid },
      globals,
      { batches: BATCHES, localBatches: LOCAL_BATCHES, output },
      invalid,
    );
    exitCode = await run(ctx);
  });
  const stripNewline = (text: string) => text.replace(/\n$/, '');
  for (const cmd of [program, ...program.commands]) {
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: (s) => output.out(stripNewline(s)), writeErr: (s) => output.err(stripNewline(s)) });
  }
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return EXIT.USAGE;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    return reportError(err, output, deps.env ?? process.env, argv.includes('--debug'));
  }
}

function reportError(
  err: unknown,
  output: { err(text: string): void },
  env: NodeJS.ProcessEnv,
  debug: boolean,
): number {
  if (err instanceof CommanderError) {
    // Commander has printed its message (and the hint) already.
    return err.exitCode === 0 ? EXIT.SUCCESS : EXIT.USAGE;
  }
  const user =
    err instanceof UserError
      ? err
      : err instanceof BatchConfigError
        ? new UserError(
            err.message.replace(/^unknown batch/, 'unknown batch'),
            /unknown batch/.test(err.message)
              ? 'see: batch-runner list (add --local for the demo batches)'
              : 'fix the batch configuration in config/batches.ts.',
            EXIT.USAGE,
          )
        : err instanceof LocalStoreError
          ? new UserError(err.message, undefined, EXIT.ENVIRONMENT)
          : explainAwsError(err);
  if (user) {
    output.err(`error: ${user.message}`);
    if (user.fix) output.err(`fix: ${user.fix}`);
    return user.exitCode;
  }
  const e = err as Error;
  output.err(`unexpected error: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`);
  if (debug || env.BATCH_RUNNER_DEBUG) output.err(e?.stack ?? '');
  else output.err('(set BATCH_RUNNER_DEBUG=1 for the stack trace)');
  return EXIT.INTERNAL;
}
