import type { BatchConfig } from '../../config/batch-config';
import { EXIT } from '../../cli/exit-codes';
import { runCli } from '../../cli/program';
import { LOCAL_BATCHES } from '../../examples/demo-batches';
import { cleanUpStateDir, tempStateDir } from './support';

/** A batch that prints nothing for 2.5 s, then exits 0. */
const QUIET: BatchConfig = {
  ...LOCAL_BATCHES[0],
  name: 'quiet-batch',
  local: { command: ['node', '-e', 'setTimeout(() => {}, 2500)'], hardTimeoutSeconds: 30, stopGraceSeconds: 1 },
};

describe('run --local of a quiet batch', () => {
  const dir = tempStateDir('quiet');
  afterAll(() => cleanUpStateDir(dir));

  test('prints the task status against the hard timeout while nothing else happens, as run --wait on AWS does', async () => {
    const err: string[] = [];
    const out: string[] = [];
    const code = await runCli(['--state-dir', dir, 'run', 'quiet-batch', '--local'], {
      output: { out: (t) => out.push(t), err: (t) => err.push(t) },
      localBatches: [...LOCAL_BATCHES, QUIET],
      user: 'tester@test',
      progressEveryMs: 500,
    });

    expect(code).toBe(EXIT.SUCCESS);
    expect(out.join('\n')).toMatch(/^succeeded/);
    const started = err.findIndex((l) => / task \w+ started: node -e/.test(l));
    const stopped = err.findIndex((l) => / task stopped: exit code 0/.test(l));
    expect(started).toBeGreaterThan(-1);
    expect(stopped).toBeGreaterThan(started);
    const progress = err.map((line, i) => ({ line, i })).filter(({ line }) => /^ {12}task RUNNING: /.test(line));
    // 2.5 s of silence at one line per 0.5 s of it: at least 2 even on a slow machine.
    expect(progress.length).toBeGreaterThanOrEqual(2);
    for (const { line, i } of progress) {
      expect(line).toMatch(/^ {12}task RUNNING: \d+\.\ds of 30\.0s hard timeout$/);
      expect(i).toBeGreaterThan(started);
      expect(i).toBeLessThan(stopped);
    }
  });
});
