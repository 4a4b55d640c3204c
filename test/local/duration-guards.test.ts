import type { BatchConfig } from '../../config/batch-config';
import { LOCAL_BATCHES } from '../../examples/demo-batches';
import type { LocalRuntime } from '../../local/local-runtime';
import { alertsOf, cleanUpStateDir, memoryRuntime, tempStateDir } from './support';

/** durationGuards in the local mode: the local watcher reports the run time, the real definition compares it. */

const QUICK: BatchConfig = {
  ...LOCAL_BATCHES[0],
  name: 'quick-noop',
  durationGuards: { minDurationSeconds: 30 },
  local: { command: ['node', '-e', 'process.exit(0)'], hardTimeoutSeconds: 60, stopGraceSeconds: 1 },
};

describe('local mode: duration guards', () => {
  const dir = tempStateDir('duration-guards');
  let runtime: LocalRuntime;

  beforeAll(async () => {
    ({ runtime } = await memoryRuntime(dir, [QUICK]));
  });
  afterAll(async () => {
    await runtime.close();
    await cleanUpStateDir(dir);
  });

  test('a run shorter than minDurationSeconds succeeds with one notice, and the output says why', async () => {
    const r = await runtime.start('quick-noop', { trigger: 'cli', reason: 'test', requestedBy: 'tester' });

    expect(r.status).toBe('SUCCEEDED');
    expect(r.output).toMatchObject({ outcome: 'succeeded', task: { durationNotice: { kind: 'tooShort' } } });
    expect(r.output.task.durationSeconds).toBeLessThan(30);
    expect(await runtime.lockItem('quick-noop')).toBeUndefined();
    const published = alertsOf(dir, r.executionArn);
    expect(published).toHaveLength(1);
    expect(published[0].message).toContain('less than durationGuards.minDurationSeconds (30 s)');
    expect(published[0].attributes).toMatchObject({ severity: 'notice', outcome: 'succeeded' });
  });
});
