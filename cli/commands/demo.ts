import { isStartTaskState } from '../../state-machines/definition';
import { existsSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  type LocalRunResult,
  type LocalRuntime,
  type LocalRuntimeEvent,
  localExecutionArn,
} from '../../local/local-runtime';
import { readAlerts } from '../../local/local-sns';
import { REPO_ROOT } from '../../local/state-dir';
import type { CliContext } from '../context';
import { EXIT, type ExitCode } from '../exit-codes';
import { duration, json, shortArn, table, truncate } from '../format';
import { type Outcome, outcomeOf } from '../outcome';
import { storyOf } from '../state-story';

/** One run of the demo: what it shows and how it must end. */
interface Scenario {
  readonly label: string;
  readonly batch: string;
  readonly title: string;
  readonly reason: string;
  readonly expected: Outcome;
  /** Started as EventBridge Scheduler starts it (the slot of the current minute), not from the CLI. */
  readonly scheduled?: boolean;
}

const SCENARIOS: readonly Scenario[] = [
  {
    label: '#1',
    batch: 'sitemap-refresh',
    title: 'scheduled run (its slot time reaches the task)',
    reason: 'demo: nightly sitemap',
    expected: 'succeeded',
    scheduled: true,
  },
  {
    label: '#2',
    batch: 'sitemap-refresh',
    title: 'overlapping start while #1 runs',
    reason: 'demo: operator starts it again by hand',
    expected: 'skipped',
  },
  {
    label: '#3',
    batch: 'stubborn-export',
    title: 'runaway that ignores SIGTERM',
    reason: 'demo: a run that never ends',
    expected: 'timed_out',
  },
  {
    label: '#4',
    batch: 'missing-images',
    title: 'failing batch (2 images missing)',
    reason: 'demo: image check',
    expected: 'failed',
  },
  {
    label: '#5',
    batch: 'flaky-import',
    title: 'retried: Spot interruption (then on-demand), exit 75',
    reason: 'demo: partner feed',
    expected: 'succeeded',
    scheduled: true,
  },
];

interface Row {
  readonly scenario: Scenario;
  readonly result: LocalRunResult;
  readonly outcome: Outcome;
  readonly exitCode?: number;
  readonly alerts: string;
}

/**
 * `demo` (`npm start`): the real state machine definition on embedded stand-ins, five runs that show
 * the scheduled time reaching the task, the lock, the skip, the hard-timeout kill, the failure alert and
 * a retry by failure reason, with a timeline and a summary table.
 * Runs in `<state-dir>/demo` (wiped first) with an in-process, in-memory lock table; exits 0 only if
 * every run ended as expected and nothing was left locked or running. `--json`: the story goes to
 * stderr and stdout gets one JSON object with the runs and what was left over.
 */
export async function demoCommand(ctx: CliContext, options: { readonly json?: boolean } = {}): Promise<ExitCode> {
  const out = options.json ? ctx.output.err : ctx.output.out;
  const dir = join(ctx.stateDir, 'demo');
  rmSync(dir, { recursive: true, force: true });
  const t0 = Date.now();
  const labels = new Map<string, string>(); // executionArn -> "#n batch"
  const taskLabels = new Map<string, string>(); // family -> label of the run whose task it is
  const show = relative(process.cwd(), dir) || dir;
  const line = (label: string, text: string) =>
    out(`  ${`${((Date.now() - t0) / 1000).toFixed(1)}s`.padStart(6)}  ${label.padEnd(20)} ${text}`);
  let onTaskOutput: ((e: LocalRuntimeEvent & { type: 'task-output' }) => void) | undefined;
  const onEvent = (e: LocalRuntimeEvent) => {
    switch (e.type) {
      case 'state-entered': {
        const label = labels.get(e.executionArn) ?? e.batch;
        if (isStartTaskState(e.state)) taskLabels.set(e.batch, label);
        const story = storyOf(e.state);
        if (story) line(label, `${e.state}: ${story}`);
        return;
      }
      case 'task-started':
        line(taskLabels.get(e.family) ?? e.family, `task started: ${e.command.join(' ')}`);
        return;
      case 'task-output':
        onTaskOutput?.(e);
        out(`          ${`[${e.family}]`.padEnd(20)} ${e.line}`);
        return;
      case 'task-stop-requested':
        line(
          taskLabels.get(e.family) ?? e.family,
          `StopTask sent SIGTERM; SIGKILL follows after the ${e.stopGraceSeconds} s stop grace`,
        );
        return;
      case 'task-stopped': {
        const c = e.task.Containers[0];
        line(
          taskLabels.get(e.family) ?? e.family,
          `task stopped: exit code ${c?.ExitCode ?? 'none'} (${c?.Reason ?? e.task.StopCode})`,
        );
        return;
      }
      case 'execution-ended': {
        const o = outcomeOf({ status: e.status, output: e.output, error: e.error, cause: e.cause });
        const reason = (o.reason ?? '').replace(/arn:aws:states:[^\s]*:execution:[^:\s]+:([^\s)]+)/g, '$1');
        line(labels.get(e.executionArn) ?? e.batch, `=> ${o.outcome.toUpperCase()}: ${truncate(reason, 140)}`);
        return;
      }
      case 'alert':
        line(
          e.alert.attributes.batch ?? '',
          `${e.alert.attributes.severity === 'alert' ? 'ALERT' : 'notice'} -> ${relative(dir, join(dir, 'alerts.jsonl'))}: ${e.alert.subject}`,
        );
        return;
      default:
        return;
    }
  };
  out(
    'batch-runner demo: the real state machine (state-machines/batch-runner.asl.json) run by aws-local-stepfunctions,',
  );
  out('with local stand-ins: the lock in dynalite (DynamoDB API, real conditional writes), ECS tasks as child');
  out(`processes (examples/*.js), alerts appended to ${show}/alerts.jsonl.`);
  out('');
  out(`  ${'TIME'.padStart(6)}  ${'RUN'.padEnd(20)} EVENT`);
  const runtime = await ctx.openLocal({
    stateDir: dir,
    store: 'memory',
    onEvent,
    taskEnvironment: { EXAMPLE_STEP_MS: '120' },
  });
  const rows: Row[] = [];
  // Tasks are detached from the terminal (like ECS tasks): on Ctrl-C, stop them through the cleanup path.
  const interrupt = () => runtime.stopAll('BatchRunner.Interrupted', 'Demo interrupted (Ctrl-C).');
  ctx.signal?.addEventListener('abort', interrupt, { once: true });
  try {
    const stamp = Date.now().toString(36);
    const start = (s: Scenario) => {
      const name = `demo${s.label.slice(1)}-${s.batch}-${stamp}`;
      labels.set(localExecutionArn(s.batch, name), `${s.label} ${s.batch}`);
      const slot = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString().replace('.000Z', 'Z');
      const input = s.scheduled
        ? { trigger: 'schedule', scheduledTime: slot }
        : { trigger: 'cli', reason: s.reason, requestedBy: 'batch-runner demo' };
      return runtime.start(s.batch, input, { name });
    };
    // #1 and #2: the second start comes once #1's task is running (it has printed), and must be skipped.
    const [first, second] = SCENARIOS;
    let startSecond: () => void = () => undefined;
    const secondMayStart = new Promise<void>((resolve) => {
      startSecond = resolve;
    });
    onTaskOutput = (e) => {
      if (e.family === first.batch) startSecond();
    };
    const firstRun = start(first);
    await Promise.race([secondMayStart, firstRun]);
    const secondRun = start(second);
    const results = await Promise.all([firstRun, secondRun]);
    rows.push(row(runtime, first, results[0]), row(runtime, second, results[1]));
    for (const s of SCENARIOS.slice(2)) rows.push(row(runtime, s, await start(s)));
    const alerts = readAlerts(runtime.alertsPath);
    const finalRows = rows.map((r) => ({ ...r, alerts: alertsOf(alerts, r.result.executionArn) }));
    out('');
    out(
      table(
        ['RUN', 'BATCH', 'SCENARIO', 'EXPECTED', 'OUTCOME', 'EXIT', 'DURATION', 'PUBLISHED'],
        finalRows.map((r) => [
          r.scenario.label,
          r.scenario.batch,
          r.scenario.title,
          r.scenario.expected,
          r.outcome === r.scenario.expected ? r.outcome : `${r.outcome} (!)`,
          r.exitCode === undefined ? '-' : String(r.exitCode),
          duration(r.result.stoppedAt - r.result.startedAt),
          r.alerts,
        ]),
        {
          width: ctx.ui.width === undefined ? undefined : ctx.ui.width - 2,
          cut: [2, 7],
          paint: (text, column) => (column === 4 && !options.json ? ctx.ui.out.outcome(text) : text),
        },
      )
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
    const failing = finalRows.find((r) => r.scenario.expected === 'failed');
    const failAlert = failing
      ? alerts.find((a) => a.message.split('\n').includes(`Execution: ${failing.result.executionArn}`))
      : undefined;
    if (failAlert) {
      out('');
      out(`  The alert of ${failing!.scenario.label}, as a subscriber receives it:`);
      out(`    Subject: ${failAlert.subject}`);
      for (const l of failAlert.message.split('\n')) out(`    ${abbreviateDetails(l)}`.trimEnd());
    }
    const problems = await invariants(runtime, finalRows);
    out('');
    const sitemap = join(dir, 'out', 'sitemap.xml');
    out(
      `  After the demo: ${problems.length === 0 ? 'no lock held, no task running' : problems.join('; ')}; ${alerts.length} messages in ${show}/alerts.jsonl${existsSync(sitemap) ? `; sitemap in ${relative(REPO_ROOT, sitemap)}` : ''}.`,
    );
    out(
      `  Demo finished in ${duration(Date.now() - t0)}. Try it yourself: npx batch-runner run sitemap-refresh --local (two terminals: one is skipped).`,
    );
    if (options.json)
      ctx.output.out(
        json({
          runs: finalRows.map((r) => ({
            run: r.scenario.label,
            batch: r.scenario.batch,
            scenario: r.scenario.title,
            expected: r.scenario.expected,
            outcome: r.outcome,
            exitCode: r.exitCode ?? null,
            executionArn: r.result.executionArn,
            durationMs: r.result.stoppedAt - r.result.startedAt,
            published: r.alerts,
          })),
          problems,
          alertsFile: join(dir, 'alerts.jsonl'),
        }),
      );
    if (ctx.signal?.aborted) return EXIT.INTERRUPTED;
    return problems.length === 0 ? EXIT.SUCCESS : EXIT.FAILED;
  } finally {
    ctx.signal?.removeEventListener('abort', interrupt);
    await runtime.close();
  }
}

/** The alert's one-line `Details: {json}`, reduced to what a person acts on (the rest is in the file). */
function abbreviateDetails(line: string): string {
  if (!line.startsWith('Details: ')) return line;
  try {
    const d = JSON.parse(line.slice('Details: '.length));
    const t = d.task ?? {};
    return `Details (abbreviated): task ${shortArn(t.taskArn)}, exit code ${t.exitCode ?? 'none'}, stop reason "${t.stoppedReason ?? '-'}", log ${t.logUrl ?? '-'}`;
  } catch {
    return truncate(line, 160);
  }
}

function row(runtime: LocalRuntime, scenario: Scenario, result: LocalRunResult): Row {
  const task = result.taskArn ? runtime.ecs.describe(result.taskArn) : undefined;
  return {
    scenario,
    result,
    outcome: outcomeOf({ status: result.status, output: result.output, error: result.error, cause: result.cause })
      .outcome,
    exitCode: task?.Containers[0]?.ExitCode,
    alerts: '',
  };
}

function alertsOf(alerts: ReturnType<typeof readAlerts>, executionArn: string): string {
  // Every message names its own execution on an "Execution:" line (a skip notice also names the holder).
  const mine = alerts.filter((a) => a.message.split('\n').includes(`Execution: ${executionArn}`));
  return mine.length === 0 ? '-' : mine.map((a) => (a.attributes.severity === 'alert' ? 'alert' : 'notice')).join(', ');
}

/** What must hold after every run, whatever happened: nothing locked, nothing running, runs as expected. */
async function invariants(runtime: LocalRuntime, rows: readonly Row[]): Promise<string[]> {
  const problems: string[] = [];
  for (const r of rows) {
    if (r.outcome !== r.scenario.expected)
      problems.push(`${r.scenario.label} ended ${r.outcome}, expected ${r.scenario.expected}`);
  }
  for (const batch of new Set(rows.map((r) => r.scenario.batch))) {
    const lock = await runtime.lockItem(batch);
    if (lock) problems.push(`${batch} still locked by ${shortArn(lock.owner)}`);
    if (runtime.ecs.runningTasksOf(batch).length > 0) problems.push(`${batch} has a task still running`);
  }
  return problems;
}
