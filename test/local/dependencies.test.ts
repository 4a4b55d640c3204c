import { runCli } from '../../cli/program';
import { EXIT } from '../../cli/exit-codes';
import type { BatchConfig } from '../../config/batch-config';
import { LOCAL_BATCHES } from '../../examples/demo-batches';
import type { LocalRuntime } from '../../local/local-runtime';
import { alertsOf, cleanUpStateDir, memoryRuntime, tempStateDir } from './support';

/**
 * Dependencies in the local mode: a local upstream success starts its local dependents with the
 * input the EventBridge rule sends on AWS (built from the run's own event in events.jsonl), through
 * the same definition: slot claim, lock, checks.
 */
const noop = (code = 0) => ['node', '-e', `process.exit(${code})`];
const UPSTREAM: BatchConfig = {
  ...LOCAL_BATCHES[0],
  name: 'feed-export',
  local: { command: noop(), hardTimeoutSeconds: 30, stopGraceSeconds: 1 },
};
const DEPENDENT: BatchConfig = {
  ...UPSTREAM,
  name: 'feed-sitemap',
  after: ['feed-export'],
  local: { command: noop(), hardTimeoutSeconds: 30, stopGraceSeconds: 1 },
};
const FAILING: BatchConfig = { ...UPSTREAM, name: 'feed-broken', local: { ...UPSTREAM.local!, command: noop(3) } };
const AFTER_FAILING: BatchConfig = { ...DEPENDENT, name: 'feed-never', after: ['feed-broken'] };
const WITHOUT_LOCAL: BatchConfig = { ...DEPENDENT, name: 'feed-ping', after: ['feed-sitemap'], local: undefined };
const BATCHES = [UPSTREAM, DEPENDENT, FAILING, AFTER_FAILING, WITHOUT_LOCAL];

describe('local mode: dependencies', () => {
  const dir = tempStateDir('dependencies');
  let runtime: LocalRuntime;
  beforeAll(async () => {
    ({ runtime } = await memoryRuntime(dir, BATCHES));
  });
  afterAll(async () => {
    await runtime.close();
    await cleanUpStateDir(dir);
  });

  test('an upstream success starts its dependent for the upstream`s slot; the same success again is a skipped duplicate', async () => {
    const slot = '2026-12-01T21:00:00Z';
    const upstream = await runtime.start('feed-export', { trigger: 'cli', requestedBy: 'tester', slot });
    expect(upstream.status).toBe('SUCCEEDED');

    const started: string[] = [];
    const { runs, notStarted } = await runtime.startDependents(upstream, { onStart: (b) => started.push(b) });
    expect(started).toEqual(['feed-sitemap']);
    expect(runs.map((r) => [r.batch, r.status, r.output?.outcome])).toEqual([
      ['feed-sitemap', 'SUCCEEDED', 'succeeded'],
    ]);
    expect(runs[0].statesEntered.slice(0, 3)).toEqual(['RouteInput', 'PrepareDependencyRun', 'ClaimScheduledSlot']);
    expect(notStarted).toEqual([{ batch: 'feed-ping', after: 'feed-sitemap' }]); // it has no local command

    // A second delivery of the same success (EventBridge delivers at least once).
    const again = await runtime.startDependents(upstream);
    expect(again.runs[0].output).toMatchObject({ outcome: 'skipped', duplicateSlot: slot });
    expect(alertsOf(dir, again.runs[0].executionArn)[0].subject).toBe(
      '[batch-runner] feed-sitemap skipped (dependency)',
    );
  });

  test('an upstream failure starts nothing', async () => {
    const failed = await runtime.start('feed-broken', { trigger: 'cli', requestedBy: 'tester' });
    expect(failed.status).toBe('FAILED');
    expect(await runtime.startDependents(failed)).toEqual({ runs: [], notStarted: [] });
  });
});

describe('run --local with dependents', () => {
  const dir = tempStateDir('dependencies-cli');
  afterAll(async () => {
    await cleanUpStateDir(dir);
  });

  test('reports the upstream run, then each dependent it started; exit 0 when all succeeded', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['--state-dir', dir, 'run', 'feed-export', '--local'], {
      output: { out: (t) => out.push(t), err: (t) => err.push(t) },
      user: 'oncall@test',
      batches: BATCHES,
      localBatches: BATCHES,
    });
    expect(code).toBe(EXIT.SUCCESS);
    const stderr = err.join('\n');
    expect(stderr).toMatch(/then feed-sitemap, after feed-export succeeded \(slot \d{4}-\d{2}-\d{2}T[\d:.]+Z\):/);
    expect(stderr).toContain('PrepareDependencyRun: started by the upstream batch');
    expect(stderr).toContain('feed-ping runs after feed-sitemap but has no local command: not started locally');
    expect(out.join('\n').match(/^succeeded/gm)).toHaveLength(2);
  });
});
