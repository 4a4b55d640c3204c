import { Command, CommanderError, Option } from 'commander';
import { dirname, join } from 'node:path';
import { type BatchConfig, BatchConfigError, partitionBatchConfigs } from '../config/batch-config';
import { BATCH_FILE_NAMES, BatchFileError, findBatchFile, readBatchFile } from '../config/batch-file';
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
import { selftestCommand } from './commands/selftest';
import { showCommand } from './commands/show';
import { statusCommand } from './commands/status';
import { stopCommand } from './commands/stop';
import { unlockCommand } from './commands/unlock';
import { watchCommand } from './commands/watch';
import { type CliContext, type CliDeps, createContext, type GlobalOptions } from './context';
import { explainAwsError, UserError } from './errors';
import { EXIT, EXIT_CODE_HELP, type ExitCode } from './exit-codes';
import { processOutput } from './format';
import { colorWanted, NOT_A_TERMINAL, type Palette, palette } from './terminal';

const LOCAL_HELP =
  'use the local mode (embedded lock store, tasks as child processes; state in .batch-runner/) instead of AWS (default with BATCH_RUNNER_LOCAL=1)';
/**
 * Whether this CLI runs from the TypeScript sources of a clone (tsx, ts-jest) rather than from the
 * compiled package (dist/). Only a clone has a default batch list (config/batches.ts and the demo).
 */
const FROM_SOURCES = __filename.endsWith('.ts');
/** The package version (`batch-runner --version`): package.json is `..` from cli/, `../..` from dist/cli/. */
export const VERSION: string = require(join(__dirname, FROM_SOURCES ? '..' : '../..', 'package.json')).version;
const JSON_HELP =
  'print one JSON value on stdout instead of text (times in ISO 8601, no colour; errors stay on stderr)';
const JSON_RESULT_HELP =
  'print the result as one JSON value on stdout when it ends (progress and errors go to stderr as text)';
const examples = (lines: readonly string[]) => `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`;

/** Builds the `batch-runner` command tree; `act` runs an action with its context and records the exit code. */
export function buildProgram(
  act: (run: (ctx: CliContext) => Promise<ExitCode>, command: Command) => Promise<void>,
): Command {
  const program = new Command('batch-runner')
    .description(
      'Operate the Step Functions batch runner: start batches through their state machine (lock, running-task check, hard timeout, alert), watch them, and diagnose locks - on AWS, or locally with --local.',
    )
    .option(
      '--config <file>',
      `JSON or YAML batch file (default: BATCH_RUNNER_CONFIG, else ${BATCH_FILE_NAMES.join(' / ')} in the current directory${FROM_SOURCES ? ', else config/batches.ts' : ''}); local state and local commands live beside it`,
    )
    .option('--region <region>', 'AWS region (default: AWS_REGION / profile)')
    .option('--profile <name>', 'AWS profile (default: AWS_PROFILE)')
    .option(
      '--prefix <prefix>',
      'deployment prefix of the resource names (default: BATCH_RUNNER_PREFIX or "batch-runner")',
    )
    .option(
      '--state-dir <dir>',
      'local mode state directory (default: BATCH_RUNNER_STATE_DIR, else .batch-runner beside the batch file, else <repo>/.batch-runner)',
    )
    .option('--no-color', 'no colour (default: colour on a terminal only; also off with NO_COLOR, on with FORCE_COLOR)')
    .option(
      '--absolute-times',
      'print times as 2026-11-21 23:00:05Z, not "3 min ago" (piped output and --json always do)',
    )
    .version(VERSION, '-V, --version', 'print the version of batch-runner')
    .showHelpAfterError('fix: add --help to the command for its usage and examples')
    .addHelpText(
      'after',
      `\n${EXIT_CODE_HELP}\n\nExamples:\n  npm start                                  the demo (no AWS needed)\n  batch-runner run sitemap-refresh --local   run a batch locally; start it in two terminals to see the skip\n  batch-runner run xml-articles --override ARTICLE_LIMIT=100 --reason "re-export" --wait\n  batch-runner status missing-images         lock, running tasks, current execution\n  batch-runner unlock missing-images         release a stale lock (owner no longer running)`,
    );

  program
    .command('list')
    .description('every batch: schedule and time zone, next run, schedule state, last outcome, lock holder')
    .option('--local', LOCAL_HELP)
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      examples([
        'batch-runner list                          deployed batches (AWS)',
        'batch-runner list --local                  the local batches, with their last local run',
        "batch-runner list --json | jq -r '.[] | select(.lock) | .batch'",
      ]),
    )
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
    .option('--json', JSON_RESULT_HELP)
    .addHelpText(
      'after',
      examples([
        'batch-runner run xml-articles --override ARTICLE_LIMIT=100 --reason "re-export" --wait',
        'batch-runner run sitemap-refresh --local     run it here; a second terminal doing the same is skipped',
        'batch-runner run missing-images --wait --json | jq .outcome',
      ]),
    )
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
    .option('--json', `${JSON_RESULT_HELP}: every slot and the summary`)
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
    .addHelpText(
      'after',
      examples([
        'batch-runner status missing-images',
        'batch-runner status sitemap-refresh --local',
        'batch-runner status xml-articles --json | jq .lock',
      ]),
    )
    .action((batch: string, opts, cmd: Command) => act((ctx) => statusCommand(ctx, batch, opts), cmd));

  program
    .command('history')
    .description('recent executions with outcome, trigger, duration and exit code')
    .argument('<batch>', 'batch name')
    .option('-L, --limit <n>', 'how many executions (1-100)', '10')
    .option('--local', LOCAL_HELP)
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      examples([
        'batch-runner history xml-articles -L 20',
        'batch-runner history sitemap-refresh --local --absolute-times',
        'batch-runner history missing-images --json | jq -r \'.[] | select(.outcome.outcome == "failed") | .name\'',
      ]),
    )
    .action((batch: string, opts, cmd: Command) => act((ctx) => historyCommand(ctx, batch, opts), cmd));

  program
    .command('logs')
    .description(
      "the batch container's log stream of an execution's task (default: the newest execution that started one)",
    )
    .argument('<batch>', 'batch name')
    .option('--execution <id>', 'execution name or ARN (see: batch-runner history)')
    .option('-f, --follow', 'keep printing until the execution ends')
    .option('--local', LOCAL_HELP)
    .option(
      '--json',
      'JSON Lines, since logs stream: one JSON object per log event and line ({timestamp, message}; locally {message})',
    )
    .addHelpText(
      'after',
      examples([
        'batch-runner logs xml-articles -f            the newest run that started a task, until it ends',
        'batch-runner logs missing-images --execution cli-missing-images-20261121T233000Z-a1b2c3',
        'batch-runner logs sitemap-refresh --local --json | jq -r .message',
      ]),
    )
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
    .option('--json', JSON_RESULT_HELP)
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
    .option('--json', JSON_RESULT_HELP)
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
    .option('-y, --yes', 'do not ask for confirmation (with --force)')
    .option('--local', LOCAL_HELP)
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      examples([
        'batch-runner unlock missing-images           release a stale lock (its owner is no longer RUNNING)',
        "batch-runner unlock missing-images --force   break a live owner's lock, after a question",
        'batch-runner unlock sitemap-refresh --local --json',
      ]),
    )
    .action((batch: string, opts, cmd: Command) => act((ctx) => unlockCommand(ctx, batch, opts), cmd));

  program
    .command('pause')
    .description("disable the batch's schedule (EventBridge Scheduler); manual runs still work")
    .argument('<batch>', 'batch name')
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      examples([
        'batch-runner pause xml-articles             no scheduled runs until: batch-runner resume xml-articles',
      ]),
    )
    .action((batch: string, opts, cmd: Command) => act((ctx) => scheduleCommand(ctx, batch, 'DISABLED', opts), cmd));

  program
    .command('resume')
    .description("enable the batch's schedule again")
    .argument('<batch>', 'batch name')
    .option('--json', JSON_HELP)
    .addHelpText('after', examples(['batch-runner resume xml-articles            scheduled runs start again']))
    .action((batch: string, opts, cmd: Command) => act((ctx) => scheduleCommand(ctx, batch, 'ENABLED', opts), cmd));

  program
    .command('selftest')
    .description(
      'prove the guarantees on the account (or --local): success, non-zero exit, hard timeout with SIGTERM ignored, two starts at once, console {} input, one start through Scheduler; PASS/FAIL each, nothing left behind (needs the canary: cdk deploy -c batchRunner:selftest=true)',
    )
    .option('--local', `${LOCAL_HELP}; the scheduler start becomes a start with the scheduler's exact input`)
    .option('--json', JSON_RESULT_HELP)
    .addHelpText(
      'after',
      examples([
        'batch-runner selftest                     after: npx cdk deploy --all -c batchRunner:selftest=true',
        'batch-runner selftest --json | jq ".checks[] | {id, result}"',
        'batch-runner selftest --local',
      ]),
    )
    .action((opts, cmd: Command) => act((ctx) => selftestCommand(ctx, opts), cmd));

  program
    .command('demo')
    .description(
      'run the demo on embedded defaults: a normal run, a skipped overlapping start, a hard-timeout kill, a failure alert (npm start)',
    )
    .option('--json', 'tell the story on stderr and print the runs as one JSON value on stdout')
    .addHelpText(
      'after',
      examples([
        'npm start                                    the same as: batch-runner demo',
        'batch-runner demo --json 2>/dev/null | jq .runs',
      ]),
    )
    .action((opts, cmd: Command) => act((ctx) => demoCommand(ctx, opts), cmd));

  program.addOption(new Option('--debug', 'print stack traces of unexpected errors').hideHelp());
  return program;
}

/** The batches a command works with, and the batch file they came from (if any). */
interface BatchSource {
  readonly batches: readonly BatchConfig[];
  readonly localBatches: readonly BatchConfig[];
  readonly file?: string;
}

/**
 * Where a command's batches come from: the batch file named by --config or BATCH_RUNNER_CONFIG, else
 * the batches a test passes in, else batch-runner.yaml/.yml/.json in the working directory, else (in a
 * clone) config/batches.ts and the demo batches. The compiled package has no batches of its own.
 */
function batchSource(globals: GlobalOptions, env: NodeJS.ProcessEnv, deps: CliDeps): BatchSource {
  const named = globals.config !== undefined || Boolean(env.BATCH_RUNNER_CONFIG);
  const file = named || !(deps.batches || deps.localBatches) ? findBatchFile(globals.config, env, deps.cwd) : undefined;
  if (file !== undefined) {
    // The file's batches are the deployed ones and the local ones (no demo batches beside them).
    const batches = readBatchFile(file);
    return { batches, localBatches: batches, file };
  }
  if (deps.batches || deps.localBatches || FROM_SOURCES) {
    return { batches: deps.batches ?? BATCHES, localBatches: deps.localBatches ?? LOCAL_BATCHES };
  }
  throw new UserError(
    `no batch list: no --config, no BATCH_RUNNER_CONFIG, and no ${BATCH_FILE_NAMES.join(', ')} in ${deps.cwd ?? process.cwd()}`,
    'pass --config <file> (or set BATCH_RUNNER_CONFIG) naming your JSON or YAML batch file, or create batch-runner.yaml here (README: "Use it in your own CDK app").',
    EXIT.USAGE,
  );
}

/** The demo runs the repository's own example batches (examples/*.js), whatever batch file is around. */
function demoSource(deps: CliDeps): BatchSource {
  if (!FROM_SOURCES && !deps.localBatches) {
    throw new UserError(
      'the demo runs the example batches of a clone of the repository; the installed package has none',
      'in a clone: npm ci && npm start. With the package, run one of your own batches locally: batch-runner run <batch> --local',
      EXIT.USAGE,
    );
  }
  return { batches: deps.batches ?? BATCHES, localBatches: deps.localBatches ?? LOCAL_BATCHES };
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
  /** The batch file in use, for the fix of a configuration error. */
  let batchFile: string | undefined;
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
    const source = command.name() === 'demo' ? demoSource(deps) : batchSource(globals, env, deps);
    batchFile = source.file;
    // One bad entry must not stop the CLI for every batch: the valid ones work, the bad one is
    // reported, and a command about it fails with its validation message.
    const deployed = partitionBatchConfigs(source.batches);
    const local = partitionBatchConfigs(source.localBatches);
    const invalid = new Map(
      [...deployed.invalid, ...local.invalid].map((i) => [
        i.name,
        source.file ? new BatchFileError(source.file, i.error.message) : i.error,
      ]),
    );
    const warning = palette(
      colorWanted((deps.terminal ?? NOT_A_TERMINAL).stderr.isTTY, env, globals.color),
    ).warningLabel();
    for (const [name, error] of invalid) {
      const where = source.file ? ` (${source.file})` : '';
      output.err(
        `${warning} batch "${name}"${where} is left out: ${error.message.replace(/^(?:.*?: )?batch "[^"]*": /, '')}`,
      );
    }
    const ctx = createContext(
      { ...deps, batches: deployed.valid, localBatches: local.valid },
      globals,
      { batches: BATCHES, localBatches: LOCAL_BATCHES, output, projectDir: source.file && dirname(source.file) },
      invalid,
    );
    exitCode = await run(ctx);
  });
  const stripNewline = (text: string) => text.replace(/\n$/, '');
  const env = deps.env ?? process.env;
  const colors = palette(
    colorWanted((deps.terminal ?? NOT_A_TERMINAL).stderr.isTTY, env, !argv.includes('--no-color')),
  );
  for (const cmd of [program, ...program.commands]) {
    cmd.exitOverride();
    cmd.configureOutput({
      writeOut: (s) => output.out(stripNewline(s)),
      writeErr: (s) => output.err(stripNewline(s.startsWith('fix:') ? colors.fixLabel() + s.slice(4) : s)),
      // Commander's usage errors: "error: ..." and (through writeErr) the "fix: ..." hint, coloured as ours.
      outputError: (s, write) => write(s.replace(/^error:/, colors.errorLabel())),
    });
  }
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return EXIT.USAGE;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    return reportError(err, output, env, argv.includes('--debug'), colors, batchFile);
  }
}

/** A batch file's problem as `error:` (file, batch, field, value) and `fix:` lines. */
function batchFileUserError(err: BatchFileError): UserError {
  const m = /^(.*?) is invalid: (.*)$/s.exec(err.message);
  return new UserError(
    m ? `${m[1]} is invalid` : err.message,
    m ? m[2] : `fix the batch file ${err.file}.`,
    EXIT.USAGE,
  );
}

function reportError(
  err: unknown,
  output: { err(text: string): void },
  env: NodeJS.ProcessEnv,
  debug: boolean,
  colors: Palette,
  batchFile?: string,
): number {
  if (err instanceof CommanderError) {
    // Commander has printed its message (and the hint) already.
    return err.exitCode === 0 ? EXIT.SUCCESS : EXIT.USAGE;
  }
  const user =
    err instanceof UserError
      ? err
      : err instanceof BatchFileError
        ? batchFileUserError(err)
        : err instanceof BatchConfigError
          ? new UserError(
              err.message.replace(/^unknown batch/, 'unknown batch'),
              /unknown batch/.test(err.message)
                ? 'see: batch-runner list (add --local for the demo batches)'
                : batchFile
                  ? `fix the batch in ${batchFile}.`
                  : 'fix the batch configuration in config/batches.ts.',
              EXIT.USAGE,
            )
          : err instanceof LocalStoreError
            ? new UserError(
                err.message,
                err.fix ?? 'retry; if it keeps failing, reset the local state as cli/README.md says (local mode).',
                EXIT.ENVIRONMENT,
              )
            : explainAwsError(err);
  if (user) {
    output.err(`${colors.errorLabel()} ${user.message}`);
    if (user.fix) output.err(`${colors.fixLabel()} ${user.fix}`);
    return user.exitCode;
  }
  const e = err as Error;
  output.err(`${colors.red('unexpected error:')} ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`);
  if (debug || env.BATCH_RUNNER_DEBUG) output.err(e?.stack ?? '');
  else
    output.err(
      `${colors.fixLabel()} this is a bug in batch-runner: run it again with BATCH_RUNNER_DEBUG=1 for the stack trace, and report both.`,
    );
  return EXIT.INTERNAL;
}
