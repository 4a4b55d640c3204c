process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchConfig } from '../../config/batch-config';
import { LOCAL_BATCHES } from '../../examples/demo-batches';
import { LocalRuntime, type LocalRuntimeEvent } from '../../local/local-runtime';
import { readAlerts } from '../../local/local-sns';
import { stopSharedDynamoDb } from '../../local/shared-dynamodb';
import { isAlive, REPO_ROOT, readJson, sleep } from '../../local/state-dir';

export function tempStateDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `batch-runner-${label}-`));
}

/** A runtime on an in-process, in-memory lock store (no shared server), with its events recorded. */
export async function memoryRuntime(stateDir: string, batches: readonly BatchConfig[] = LOCAL_BATCHES) {
  const events: LocalRuntimeEvent[] = [];
  const runtime = await LocalRuntime.open({
    stateDir,
    batches,
    store: 'memory',
    onEvent: (e) => events.push(e),
    taskEnvironment: { EXAMPLE_STEP_MS: '20' },
  });
  return { runtime, events };
}

export const alertsIn = (stateDir: string) => readAlerts(join(stateDir, 'alerts.jsonl'));
/** Alerts/notices a given execution published (each message names its execution on an "Execution:" line). */
export const alertsOf = (stateDir: string, executionArn: string) =>
  alertsIn(stateDir).filter((a) => a.message.split('\n').includes(`Execution: ${executionArn}`));

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface TaskState {
  lastStatus: string;
  agentPid: number;
  childPid?: number;
  exitCode?: number | null;
}

/** Local tasks of a state directory: id and agent state. */
export function localTasks(stateDir: string): Array<{ id: string; state?: TaskState }> {
  const dir = join(stateDir, 'tasks');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map((id) => ({ id, state: readJson<TaskState>(join(dir, id, 'state.json')) }));
}

/** SIGKILL to a process group (every process started detached leads one), else to the process. */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

/** Process groups this test file started (CLI processes, shell pipelines), by state directory. */
const startedGroups = new Map<number, string | undefined>();

/**
 * Kills whatever a test left running in a state directory: the CLI processes it started there, the
 * task agents and their containers (from spec.json and state.json, so also a task whose agent had not
 * written its state yet), and the shared server. Call it from afterAll/afterEach: it runs whatever
 * the outcome of the tests, also after a timeout.
 */
export async function cleanUpStateDir(stateDir: string): Promise<void> {
  for (const [pid, dir] of startedGroups) {
    if (dir !== undefined && dir !== stateDir) continue;
    killGroup(pid);
    startedGroups.delete(pid);
  }
  const tasksDir = join(stateDir, 'tasks');
  for (const { id, state } of localTasks(stateDir)) {
    const spec = readJson<{ agent?: { pid: number } }>(join(tasksDir, id, 'spec.json'));
    for (const pid of [state?.childPid, state?.agentPid, spec?.agent?.pid]) if (pid) killGroup(pid);
  }
  await stopSharedDynamoDb(stateDir);
  rmSync(stateDir, { recursive: true, force: true });
}

export interface CliProcess {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Runs `batch-runner` as a separate process, as a second terminal would. */
export function spawnCli(args: string[], env: Record<string, string>): CliProcess {
  return spawnTracked(process.execPath, [join(REPO_ROOT, 'bin', 'batch-runner.js'), ...args], env);
}

/**
 * Runs a bash command line from the repository root, in which `$BATCH_RUNNER` runs the CLI: a pipeline
 * such as `$BATCH_RUNNER run x --local 2>&1 | head -3`.
 */
export function spawnShell(commandLine: string, env: Record<string, string>): CliProcess {
  return spawnTracked('/bin/bash', ['-c', commandLine], {
    BATCH_RUNNER: `${process.execPath} ${join(REPO_ROOT, 'bin', 'batch-runner.js')}`,
    ...env,
  });
}

/**
 * Starts a process as the leader of its own process group, remembered for cleanUpStateDir (by the
 * BATCH_RUNNER_STATE_DIR it was given), so that a failed or timed-out test kills it and all it started
 * in its group.
 */
function spawnTracked(file: string, args: string[], env: Record<string, string>): CliProcess {
  const child = spawn(file, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, BATCH_RUNNER_DYNAMODB_IDLE_SECONDS: '30', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid !== undefined) startedGroups.set(child.pid, env.BATCH_RUNNER_STATE_DIR);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

export { isAlive };
