import { pathToFileURL } from 'node:url';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type BatchConfig, isReservedEnvName, RESERVED_ENV_PREFIXES } from '../../config/batch-config';
import { manualExecutionName } from '../../config/naming';
import { MAX_REASON_LENGTH, parseSlot, validateManualInput } from '../../handlers/lib/manual-input';
import type { LocalRunResult, LocalRuntime, LocalRuntimeEvent } from '../../local/local-runtime';
import type { CliContext } from '../context';
import { type Deployment, executionConsoleUrl } from '../deployment';
import { UserError } from '../errors';
import { failureSummaryOf } from '../execution-history';
import { EXIT, type ExitCode } from '../exit-codes';
import { duration, json, progressOfTask, shortArn } from '../format';
import { exitCodeFor, outcomeOf, type RunOutcome } from '../outcome';
import { isSlotOf, nextRunTime, previousSlot } from '../schedule-time';
import { storyOf } from '../state-story';
import { watchExecution } from '../watch';

export interface RunOptions {
  readonly reason?: string;
  readonly override?: readonly string[];
  readonly wait?: boolean;
  readonly local?: boolean;
  readonly json?: boolean;
  /** `--for <time>`: the scheduled slot this run stands for (ISO 8601 with offset). */
  readonly for?: string;
}

const OVERRIDE = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;

/** `--override NAME=value` arguments as an environment map; a UserError for anything else. */
export function parseOverrides(args: readonly string[] = []): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const arg of args) {
    const m = OVERRIDE.exec(arg);
    if (!m)
      throw new UserError(
        `--override "${arg}" is not NAME=value`,
        'write it as --override ARTICLE_LIMIT=100 (one NAME=value per --override).',
      );
    if (m[1] in environment) throw new UserError(`--override ${m[1]} is given twice`, 'give each name once.');
    environment[m[1]] = m[2];
  }
  return environment;
}

/**
 * The execution input of a CLI start: the manual input contract (`trigger`, `reason`, `requestedBy`,
 * `overrides.environment`), checked here with the validator the state machine uses, so that a bad
 * override is refused before anything starts (the state machine checks again).
 */
export function cliInput(ctx: CliContext, batch: BatchConfig, options: RunOptions): Record<string, unknown> {
  const environment = parseOverrides(options.override);
  const allowed = batch.overrides?.environment?.length ? batch.overrides.environment.join(', ') : 'none';
  const reserved = Object.keys(environment).filter(isReservedEnvName);
  if (reserved.length > 0) {
    throw new UserError(
      `--override ${reserved.join(', ')}: names starting with ${RESERVED_ENV_PREFIXES.join(', ')} are reserved for the runtime and can never be overridden`,
      `leave ${reserved.length > 1 ? 'them' : 'it'} out; environment overrides this batch allows: ${allowed}. Nothing was started.`,
    );
  }
  const slot = options.for === undefined ? undefined : slotOf(batch, options.for);
  return checkedInput(ctx, batch, {
    trigger: 'cli',
    reason: options.reason ?? `manual run by ${ctx.user}`,
    requestedBy: ctx.user,
    ...(Object.keys(environment).length > 0 ? { overrides: { environment } } : {}),
    ...(slot !== undefined ? { slot } : {}),
  });
}

/** A slot time in the batch's own time zone, for people: `2026-12-01 06:00 Asia/Tokyo`. */
export function localSlotText(batch: BatchConfig, at: Date): string {
  const parts = new Intl.DateTimeFormat('sv-SE', {
    timeZone: batch.schedule.timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).format(at);
  return `${parts} ${batch.schedule.timeZone}`;
}

/**
 * `--for <time>`: the slot in the Scheduler's form (`2026-11-30T21:00:00Z`), refused unless it is a
 * time the batch's schedule fires (a slot that no scheduled run claims would guard nothing).
 */
export function slotOf(batch: BatchConfig, text: string): string {
  const parsed = parseSlot(text);
  if (typeof parsed !== 'string')
    throw new UserError(
      `--for "${text}" ${parsed.problem.replace(/: write.*$/, '')}`,
      `${parsed.problem.replace(/^.*: (write)/, '$1')} Nothing was started.`,
    );
  const at = new Date(parsed);
  const { cron, timeZone } = batch.schedule;
  if (!isSlotOf(cron, timeZone, at)) {
    const before = previousSlot(cron, timeZone, at);
    const after = nextRunTime(cron, timeZone, at);
    const near = [before, after]
      .filter((d): d is Date => d !== undefined)
      .map((d) => `${localSlotText(batch, d)} (--for ${d.toISOString().slice(0, 16)}Z)`);
    throw new UserError(
      `--for "${text}" (${localSlotText(batch, at)}) is not a slot of ${batch.name}: its schedule is cron(${cron}) in ${timeZone}`,
      `name a time the schedule fires${near.length > 0 ? `; the nearest are ${near.join(' and ')}` : ''}. Nothing was started.`,
    );
  }
  return parsed;
}

/**
 * A manual input checked with the validator the state machine uses, so that a bad one is refused
 * before anything starts (the state machine checks again); a UserError with one fix per kind of problem.
 */
export function checkedInput(
  ctx: CliContext,
  batch: BatchConfig,
  input: Record<string, unknown>,
): Record<string, unknown> {
  const allowed = batch.overrides?.environment?.length ? batch.overrides.environment.join(', ') : 'none';
  const { validation } = validateManualInput(input, {
    batchName: batch.name,
    containerName: batch.containerName,
    allowedEnvironment: batch.overrides?.environment ?? [],
    allowCommand: batch.overrides?.command ?? false,
  });
  if (!validation.valid) {
    // One fix per kind of problem: the operator's --reason, or the --override names.
    const fixes: string[] = [];
    if (validation.problems.some((p) => p.startsWith('reason')))
      fixes.push(
        `give --reason a plain-text reason of 1 to ${MAX_REASON_LENGTH} characters (or leave --reason out for "manual run by ${ctx.user}").`,
      );
    if (validation.problems.some((p) => p.startsWith('overrides')))
      fixes.push(`environment overrides this batch allows: ${allowed} (config/batches.ts, overrides.environment).`);
    if (fixes.length === 0) fixes.push('see: batch-runner run --help.');
    throw new UserError(
      `invalid run request for ${batch.name}:\n  ${validation.problems.join('\n  ')}`,
      `${fixes.join('\n     ')} Nothing was started.`,
    );
  }
  return input;
}

/** `run <batch>`: starts the batch through its state machine (AWS), or runs it in this process (--local). */
export async function runCommand(ctx: CliContext, batchName: string, options: RunOptions): Promise<ExitCode> {
  const local = options.local ?? false;
  const batch = ctx.batch(batchName, local);
  const input = cliInput(ctx, batch, options);
  if (typeof input.slot === 'string' && !options.json)
    ctx.output.err(`standing for the slot ${input.slot} (${localSlotText(batch, new Date(input.slot))})`);
  return startRun(ctx, batch, input, options);
}

/** Starts a checked input (AWS), or runs it in this process (--local), and reports as `run` does. */
export async function startRun(
  ctx: CliContext,
  batch: BatchConfig,
  input: Record<string, unknown>,
  options: Omit<RunOptions, 'override' | 'reason'>,
): Promise<ExitCode> {
  const local = options.local ?? false;
  return (await ctx.supervise(() =>
    local ? runLocal(ctx, batch, input, options) : runOnAws(ctx, batch, input, options),
  )) as ExitCode;
}

async function runOnAws(
  ctx: CliContext,
  batch: BatchConfig,
  input: Record<string, unknown>,
  options: RunOptions,
): Promise<ExitCode> {
  const deployment = await ctx.resolver().resolve(batch);
  const name = manualExecutionName('cli', batch.name, ctx.now(), ctx.random());
  const started = await ctx
    .aws()
    .sfn.send(
      new StartExecutionCommand({ stateMachineArn: deployment.stateMachineArn, name, input: JSON.stringify(input) }),
    );
  const executionArn = started.executionArn!;
  const consoleUrl = executionConsoleUrl(deployment.region, executionArn);
  const startDate = started.startDate ?? ctx.now();
  if (!options.wait) {
    if (options.json)
      ctx.output.out(json({ batch: batch.name, executionArn, name, consoleUrl, startDate: startDate.toISOString() }));
    else
      ctx.output.out(
        `started ${name}\n  execution  ${executionArn}\n  console    ${consoleUrl}\n  follow it: batch-runner status ${batch.name}`,
      );
    return EXIT.SUCCESS;
  }
  ctx.output.err(
    `started ${name} (hard timeout ${duration(deployment.hardTimeoutSeconds * 1000)})\n  console: ${consoleUrl}`,
  );
  return followOnAws(ctx, deployment, executionArn, startDate, options);
}

/** Follows an execution on AWS with live progress to its end, then reports its outcome (run --wait, watch). */
export async function followOnAws(
  ctx: CliContext,
  deployment: Deployment,
  executionArn: string,
  startDate: Date,
  options: { readonly json?: boolean },
): Promise<ExitCode> {
  const consoleUrl = executionConsoleUrl(deployment.region, executionArn);
  const { described, events } = await watchExecution(ctx, deployment, executionArn, startDate);
  const outcome = outcomeOf({
    status: described.status ?? 'UNKNOWN',
    output: described.output,
    error: described.error,
    cause: described.cause,
    failureSummary: failureSummaryOf(events),
  });
  const elapsedMs = (described.stopDate ?? ctx.now()).getTime() - startDate.getTime();
  return report(ctx, deployment.batch.name, executionArn, outcome, elapsedMs, options, consoleUrl);
}

async function runLocal(
  ctx: CliContext,
  batch: BatchConfig,
  input: Record<string, unknown>,
  options: RunOptions,
): Promise<ExitCode> {
  const t0 = Date.now();
  const at = () => `+${duration(Date.now() - t0)}`.padEnd(9);
  // A quiet task (no output for progressEveryMs) gets a progress line, as `run --wait` on AWS prints.
  let lastLineAt = ctx.now().getTime();
  let runningTask: string | undefined;
  // This process runs one execution: every event of the runtime is about it (tasks: of its family).
  const runtime = await ctx.openLocal({
    onEvent: (e) => {
      if (e.type === 'task-started') runningTask = e.taskArn;
      if (e.type === 'task-stopped') runningTask = undefined;
      const line = progressLine(e, at);
      if (line !== undefined) {
        lastLineAt = ctx.now().getTime();
        ctx.output.err(line);
      }
    },
  });
  const hardMs = runtime.localBatch(batch.name).hardTimeoutSeconds * 1000;
  const progress = setInterval(
    () => {
      const task = runningTask ? runtime.ecs.describe(runningTask) : undefined;
      const now = ctx.now().getTime();
      if (!task?.StartedAt || task.LastStatus === 'STOPPED' || now - lastLineAt < ctx.progressEveryMs) return;
      lastLineAt = now;
      ctx.output.err(progressOfTask(task.LastStatus, now - task.StartedAt, hardMs));
    },
    Math.max(50, Math.min(ctx.progressEveryMs, 1000)),
  );
  progress.unref();
  const interrupt = () =>
    runtime.stopAll('BatchRunner.Interrupted', `Interrupted (Ctrl-C) in the terminal of ${ctx.user}.`);
  ctx.signal?.addEventListener('abort', interrupt, { once: true });
  try {
    const local = runtime.localBatch(batch.name);
    ctx.output.err(
      `running ${batch.name} locally (hard timeout ${local.hardTimeoutSeconds} s, stop grace ${local.stopGraceSeconds ?? 30} s; state in ${ctx.stateDir})`,
    );
    const result = await runtime.start(batch.name, input);
    const outcome = localOutcome(runtime, result);
    let code = report(ctx, batch.name, result.executionArn, outcome, result.stoppedAt - result.startedAt, options);
    // What the dependency rules do on AWS: a success starts the batches that run after it.
    if (!ctx.signal?.aborted) {
      const dependents = await runtime.startDependents(result, {
        onStart: (name, dependencyInput) =>
          ctx.output.err(
            `then ${name}, after ${result.batch} succeeded (slot ${(dependencyInput as { scheduledTime: string }).scheduledTime}):`,
          ),
      });
      for (const run of dependents.runs) {
        const depOutcome = localOutcome(runtime, run);
        // --json: stdout stays one object (the run asked for); the dependents' results go to stderr.
        let depCode: ExitCode;
        if (options.json) {
          ctx.output.err(`  ${run.batch}: ${depOutcome.outcome} (${run.executionArn})`);
          depCode = exitCodeFor(depOutcome.outcome);
        } else {
          depCode = report(ctx, run.batch, run.executionArn, depOutcome, run.stoppedAt - run.startedAt, options);
        }
        if (code === EXIT.SUCCESS) code = depCode;
      }
      for (const skipped of dependents.notStarted)
        ctx.output.err(
          `${skipped.batch} runs after ${skipped.after} but has no local command: not started locally (add local: { command: [...] } to its config).`,
        );
    }
    return ctx.signal?.aborted ? EXIT.INTERRUPTED : code;
  } finally {
    clearInterval(progress);
    ctx.signal?.removeEventListener('abort', interrupt);
    await runtime.close();
  }
}

/** The outcome of a local run, with its task's exit code and log file. */
function localOutcome(runtime: LocalRuntime, result: LocalRunResult): RunOutcome {
  const outcome = outcomeOf({ status: result.status, output: result.output, error: result.error, cause: result.cause });
  if (!result.taskArn) return outcome;
  const task = runtime.ecs.describe(result.taskArn);
  return {
    ...outcome,
    taskArn: result.taskArn,
    exitCode: task?.Containers[0]?.ExitCode ?? outcome.exitCode,
    logUrl: pathToFileURL(runtime.ecs.logPathOf(result.taskArn)).href,
  };
}

/** One progress line for a local-mode event (undefined: not shown). */
export function progressLine(e: LocalRuntimeEvent, at: () => string): string | undefined {
  switch (e.type) {
    case 'state-entered': {
      const story = storyOf(e.state);
      return story ? `  ${at()} ${e.state}: ${story}` : undefined;
    }
    case 'task-started':
      return `  ${at()} task ${shortArn(e.taskArn).slice(0, 12)} started: ${e.command.join(' ')}`;
    case 'task-output':
      return `  [${e.family}] ${e.line}`;
    case 'task-stop-requested':
      return `  ${at()} StopTask: SIGTERM sent, SIGKILL in ${e.stopGraceSeconds} s if still running (${e.reason})`;
    case 'task-stopped': {
      const c = e.task.Containers[0];
      return `  ${at()} task stopped: exit code ${c?.ExitCode ?? 'none'}, ${e.task.StopCode}${c?.Reason ? ` (${c.Reason})` : ''}`;
    }
    case 'alert':
      return `  ${at()} ${e.alert.attributes.severity === 'alert' ? 'ALERT' : 'notice'} published: ${e.alert.subject}`;
    case 'cleanup':
      return `  ${at()} cleanup after the execution ended: ${e.actions.join('; ')}`;
    default:
      return undefined;
  }
}

/** The result of a run: its outcome, execution, task, logs and duration; returns the outcome's exit code. */
export function report(
  ctx: CliContext,
  batch: string,
  executionArn: string,
  outcome: RunOutcome,
  elapsedMs: number,
  options: { readonly json?: boolean },
  consoleUrl?: string,
): ExitCode {
  const code = exitCodeFor(outcome.outcome);
  if (options.json) {
    ctx.output.out(json({ batch, executionArn, ...outcome, durationMs: elapsedMs, exitStatus: code }));
    return code;
  }
  const lines = [
    ctx.ui.out.outcome(
      `${outcome.outcome}${outcome.error && outcome.outcome !== 'succeeded' ? ` (${outcome.error})` : ''}: ${outcome.reason ?? ''}`.trimEnd(),
    ),
  ];
  lines.push(`  execution  ${executionArn}`);
  if (consoleUrl) lines.push(`  console    ${consoleUrl}`);
  if (outcome.taskArn)
    lines.push(
      `  task       ${outcome.taskArn}${outcome.exitCode !== undefined && outcome.exitCode !== null ? ` (exit code ${outcome.exitCode})` : ''}`,
    );
  if (outcome.stoppedReason && outcome.outcome !== 'succeeded') lines.push(`  stopped    ${outcome.stoppedReason}`);
  if (outcome.logUrl) lines.push(`  logs       ${outcome.logUrl}`);
  if (outcome.notice) lines.push(`  notice     ${outcome.notice}`);
  lines.push(`  duration   ${duration(elapsedMs)}`);
  ctx.output.out(lines.join('\n'));
  return code;
}
