import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../local/state-dir';

/** Thrown when the demo does not end with exit code 0 (a broken demo has no meaningful duration). */
export class DemoFailedError extends Error {
  constructor(
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly output: string,
  ) {
    super(
      `batch-runner demo ended with ${signal ? `signal ${signal}` : `exit code ${exitCode}`}; last output:\n${output.slice(-2000)}`,
    );
    this.name = 'DemoFailedError';
  }
}

export interface DemoBenchOptions {
  /** Give up (SIGKILL) after this long. @default 180000 */
  readonly timeoutMs?: number;
}

/**
 * Runs the demo exactly as a newcomer does (`node bin/batch-runner.js demo`, i.e. `npm start`) in a
 * child process, with a temporary `--state-dir` so that nothing of the repository's `.batch-runner/`
 * is touched, and returns its wall time in seconds (process start to exit, including Node and tsx
 * start-up). The demo's four runs include a hard timeout of 5 s plus a 2 s stop grace, so about 10 s
 * is the floor. The state directory is removed afterwards (the demo itself leaves no task running and
 * uses an in-process lock table).
 *
 * Rejects with {@link DemoFailedError} if the demo exits non-zero (one of its runs did not end as it
 * must) or runs past `timeoutMs`.
 */
export async function measureDemoSeconds(options: DemoBenchOptions = {}): Promise<number> {
  const stateDir = mkdtempSync(join(tmpdir(), 'batch-runner-demo-bench-'));
  const started = process.hrtime.bigint();
  try {
    const { code, signal, output } = await new Promise<{
      code: number | null;
      signal: NodeJS.Signals | null;
      output: string;
    }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [join(REPO_ROOT, 'bin', 'batch-runner.js'), '--state-dir', stateDir, 'demo'],
        {
          cwd: REPO_ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      const collect = (chunk: Buffer) => {
        output = (output + chunk.toString('utf8')).slice(-20000);
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180000);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, output });
      });
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (code !== 0) throw new DemoFailedError(code, signal, output);
    return Math.round(seconds * 100) / 100;
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}
