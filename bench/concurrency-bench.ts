import { isStartTaskState } from '../state-machines/definition';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchConfig } from '../config/batch-config';
import { executionNameFromTags, manualExecutionName } from '../config/naming';
import { LOCAL_BATCHES } from '../examples/demo-batches';
import type { DescribedLocalTask } from '../local/local-ecs';
import { type LocalRunResult, LocalRuntime } from '../local/local-runtime';
import { readAlerts } from '../local/local-sns';
import { stopSharedDynamoDb } from '../local/shared-dynamodb';
import { isAlive, type ProcessRef, readJson, sleep } from '../local/state-dir';

/** How one of the concurrent starts was triggered (what its input looks like). */
export type StartKind = 'schedule' | 'duplicate-delivery' | 'cli' | 'console' | 'manual';

/** One execution of the concurrent burst: how it was started and how it ended. */
export interface ConcurrentStart {
  readonly kind: StartKind;
  readonly input: unknown;
  readonly result: LocalRunResult;
}

export interface ConcurrentStartsOptions {
  /**
   * State directory to run in; must be new (tasks and alerts found there are counted). Given: it is kept (the caller inspects and removes it, e.g. with the
   * tests' `cleanUpStateDir`). Omitted: a temporary one, removed at the end with its shared server.
   */
  readonly stateDir?: string;
  /**
   * Release the running task's hold at the latest this long after the burst started, even if some
   * execution is still undecided (so a broken runner makes the measurement end instead of hang).
   * @default 120000
   */
  readonly holdLimitMs?: number;
}

/** What {@link measureConcurrentStarts} saw. `starts`, `runs` and `seconds` are the benchmark figures. */
export interface ConcurrentStartsMeasurement {
  /** Executions started at once. */
  readonly starts: number;
  /** ECS tasks that ran (tasks of the batch's family in the local ECS at the end). */
  readonly runs: number;
  /** Wall time from the first start until every execution ended (including the one run finishing). */
  readonly seconds: number;
  /** Wall time from the first start until every execution but the running ones had ended. */
  readonly secondsUntilDecided: number;
  /** The batch that was started. */
  readonly batch: string;
  /** Every execution, in start order. */
  readonly executions: readonly ConcurrentStart[];
  /** RunTask calls made by all executions together (StartBatchTask state). */
  readonly runTaskCalls: number;
  /** The batch's tasks in the local ECS at the end, described. */
  readonly tasks: readonly DescribedLocalTask[];
  /** The lock item at the end (undefined: released). */
  readonly lockAtEnd: Record<string, string> | undefined;
  /** Task processes (agents and containers) still alive at the end: pids. */
  readonly processesLeft: readonly number[];
  /** Alerts and notices published, by `outcome` message attribute. */
  readonly alertsByOutcome: Readonly<Record<string, number>>;
}

/**
 * The batch of the burst: `sitemap-refresh` as configured for the local mode, with a local hard
 * timeout of 300 s instead of 20 s, so that a slow machine deciding 200 executions cannot push the
 * one running task into its hard timeout (the measurement is about the lock, not the timeout).
 */
export const CONCURRENCY_BATCH: BatchConfig = (() => {
  const base = LOCAL_BATCHES.find((b) => b.name === 'sitemap-refresh');
  if (!base?.local) throw new Error('sitemap-refresh with a local command is missing from LOCAL_BATCHES');
  return { ...base, local: { ...base.local, hardTimeoutSeconds: 300 } };
})();

const KINDS: readonly StartKind[] = ['schedule', 'duplicate-delivery', 'cli', 'console', 'manual'];

/** The execution input of the i-th start: the scheduler's exact input (twice: duplicate delivery), CLI, console, manual. */
function inputFor(kind: StartKind, scheduledTime: string, i: number): unknown {
  switch (kind) {
    case 'schedule':
    case 'duplicate-delivery':
      // EventBridge Scheduler's templated input; a duplicate delivery is byte-for-byte the same input.
      return { trigger: 'schedule', scheduledTime };
    case 'cli':
      return { trigger: 'cli', reason: `concurrency proof #${i}`, requestedBy: 'ops@example.com' };
    case 'console':
      return {};
    case 'manual':
      return { trigger: 'manual', reason: 're-run by hand while the nightly run may be running' };
  }
}

/**
 * Starts `n` executions of one batch at the same moment in the local mode and lets them all finish.
 *
 * Real local services: the state directory's shared dynalite server (real conditional writes over
 * HTTP), the local ECS (tasks are child processes through local/task-agent.js), the execution registry
 * (DescribeExecution of the lock holder), alerts to `alerts.jsonl`. The executions run concurrently in
 * this one Node process (one {@link LocalRuntime}), which is what 200 CLI processes would do minus
 * 200 Node start-ups. Inputs cycle through a scheduled start, a duplicate delivery of the very same
 * scheduled input, a CLI start, a console start (`{}`) and a manual start.
 *
 * The task that starts holds (`EXAMPLE_HOLD_FILE`) until every other execution has ended, so that all
 * of them overlap it; then it finishes normally. It does not judge the outcome (the caller - test or
 * benchmark - does); it throws only if the local mode itself breaks (an execution's start rejects).
 */
export async function measureConcurrentStarts(
  n = 200,
  options: ConcurrentStartsOptions = {},
): Promise<ConcurrentStartsMeasurement> {
  const ownDir = options.stateDir === undefined;
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'batch-runner-concurrency-'));
  const hold = join(stateDir, 'concurrency-hold');
  const batch = CONCURRENCY_BATCH;
  const withTask = new Set<string>(); // execution names whose task started
  const runtime = await LocalRuntime.open({
    stateDir,
    batches: [batch],
    store: 'shared',
    taskEnvironment: { EXAMPLE_STEP_MS: '5', EXAMPLE_HOLD_FILE: hold },
    onEvent: (event) => {
      if (event.type === 'task-started') {
        const name = executionNameFromTags(event.tags);
        if (name) withTask.add(name);
      }
    },
  });
  try {
    const now = new Date();
    const scheduledTime = new Date(Math.floor(now.getTime() / 60000) * 60000).toISOString().replace('.000Z', 'Z');
    const suffix = randomBytes(2).toString('hex');
    const planned = Array.from({ length: n }, (_, i) => {
      const kind = KINDS[i % KINDS.length];
      const trigger = kind === 'duplicate-delivery' ? 'schedule' : kind;
      const name = manualExecutionName(trigger, batch.name, now, `${String(i).padStart(4, '0')}-${suffix}`);
      return { kind, name, input: inputFor(kind, scheduledTime, i) };
    });

    const t0 = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - t0) / 1e9;
    const ended = new Set<string>();
    const runs = planned.map(({ name, input }) =>
      runtime.start(batch.name, input, { name }).finally(() => ended.add(name)),
    );

    // Hold the running task until every execution without a task has ended.
    const deadline = Date.now() + (options.holdLimitMs ?? 120000);
    while (planned.some((p) => !ended.has(p.name) && !withTask.has(p.name)) && Date.now() < deadline) {
      await sleep(20);
    }
    const secondsUntilDecided = seconds();
    writeFileSync(hold, '');
    const results = await Promise.all(runs);
    const total = seconds();

    const described = (await runtime.ecs.listTasks({ Family: batch.name, DesiredStatus: 'STOPPED' })).TaskArns.concat(
      (await runtime.ecs.listTasks({ Family: batch.name, DesiredStatus: 'RUNNING' })).TaskArns,
    )
      .map((arn) => runtime.ecs.describe(arn))
      .filter((t): t is DescribedLocalTask => t !== undefined);
    const processesLeft = await processesStillAlive(stateDir, described);
    const alertsByOutcome: Record<string, number> = {};
    for (const alert of readAlerts(runtime.alertsPath)) {
      const outcome = alert.attributes.outcome ?? 'unknown';
      alertsByOutcome[outcome] = (alertsByOutcome[outcome] ?? 0) + 1;
    }
    return {
      starts: n,
      runs: described.length,
      seconds: round(total),
      secondsUntilDecided: round(secondsUntilDecided),
      batch: batch.name,
      executions: planned.map((p, i) => ({ kind: p.kind, input: p.input, result: results[i] })),
      runTaskCalls: results.reduce((sum, r) => sum + r.calls.filter((c) => isStartTaskState(c.state)).length, 0),
      tasks: described,
      lockAtEnd: await runtime.lockItem(batch.name),
      processesLeft,
      alertsByOutcome,
    };
  } finally {
    writeFileSync(hold, '');
    await runtime.close();
    if (ownDir) {
      await stopSharedDynamoDb(stateDir);
      rmSync(stateDir, { recursive: true, force: true });
    }
  }
}

/** Pids of task agents and containers that still run, after giving stopped tasks' agents a moment to exit. */
async function processesStillAlive(stateDir: string, tasks: readonly DescribedLocalTask[]): Promise<number[]> {
  const refs = tasks.flatMap((task): ProcessRef[] => {
    const id = task.TaskArn.split('/').pop() ?? '';
    const state = readJson<{
      agentPid?: number;
      agentStartTicks?: string;
      childPid?: number;
      childStartTicks?: string;
    }>(join(stateDir, 'tasks', id, 'state.json'));
    return [
      ...(state?.agentPid !== undefined ? [{ pid: state.agentPid, startTicks: state.agentStartTicks }] : []),
      ...(state?.childPid !== undefined ? [{ pid: state.childPid, startTicks: state.childStartTicks }] : []),
    ];
  });
  // An agent writes STOPPED, then exits: allow it up to 2 s to be gone.
  for (let i = 0; i < 40 && refs.some((r) => isAlive(r)); i++) await sleep(50);
  return refs.filter((r) => isAlive(r)).map((r) => r.pid);
}

const round = (s: number) => Math.round(s * 100) / 100;
