import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The local mode keeps its state in one directory (default `<repo>/.batch-runner/`, gitignored), so
 * that several CLI processes - two terminals - see the same lock, executions and tasks:
 *
 * ```
 * .batch-runner/
 *   dynamodb.json        shared dynalite server: pid and port (see shared-dynamodb.ts)
 *   dynamodb-data/       its LevelDB files (the lock table)
 *   executions/<name>.json   local Step Functions execution registry (execution-registry.ts)
 *   tasks/<task-id>/     one local ECS task: spec, state, stop request, output.log (local-ecs.ts)
 *   alerts.jsonl         every alert and notice the state machine published (local-sns.ts)
 *   out/                 what the example batches write (sitemap.xml, articles.xml, ...)
 * ```
 */
export const REPO_ROOT = resolve(__dirname, '..');
export const DEFAULT_STATE_DIR = join(REPO_ROOT, '.batch-runner');

/**
 * The state directory: explicit option, else `$BATCH_RUNNER_STATE_DIR`, else `fallback` (the CLI: the
 * `.batch-runner` folder beside the batch file it was given), else `<repo>/.batch-runner`.
 */
export function resolveStateDir(
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
  fallback: string = DEFAULT_STATE_DIR,
): string {
  return resolve(explicit ?? env.BATCH_RUNNER_STATE_DIR ?? fallback);
}

let tmpCounter = 0;

/** Writes JSON so that a concurrent reader sees the old or the new file, never half of one. */
export function writeJsonAtomic(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  tmpCounter += 1;
  const tmp = `${path}.${process.pid}.${tmpCounter}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

/** Reads a JSON file; undefined when it does not exist (or cannot be parsed). */
export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * A process, identified by pid plus its start time (Linux `/proc/<pid>/stat`), so that a pid reused by
 * an unrelated process after a reboot or a long time is not mistaken for the original one.
 */
export interface ProcessRef {
  readonly pid: number;
  readonly startTicks?: string;
}

function procStat(pid: number): { state: string; startTicks: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) in parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], startTicks: fields[19] };
  } catch {
    return undefined;
  }
}

export function processRef(pid: number): ProcessRef {
  const stat = procStat(pid);
  return stat ? { pid, startTicks: stat.startTicks } : { pid };
}

export function currentProcessRef(): ProcessRef {
  return processRef(process.pid);
}

/** Whether the process still runs (a zombie or a reused pid counts as gone). */
export function isAlive(ref: ProcessRef | undefined): boolean {
  if (!ref || !Number.isInteger(ref.pid) || ref.pid <= 0) return false;
  try {
    process.kill(ref.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procStat(ref.pid);
  if (!stat) return true; // no /proc (macOS): kill(0) is all we know
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return ref.startTicks === undefined || ref.startTicks === stat.startTicks;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
