import { LOCAL_BATCHES } from '../../examples/demo-batches';
import type { BatchConfig } from '../../config/batch-config';
import { LocalRuntime, type LocalRunResult } from '../../local/local-runtime';
import { alertsOf, cleanUpStateDir, isAlive, tempStateDir } from './support';

/**
 * The start timeout with real child processes: the local task agent keeps the task PENDING
 * (BATCH_RUNNER_LOCAL_SIMULATED_PENDING_SECONDS, as an image pull that hangs); the local watcher applies
 * the same rule as on AWS, the runner stops the task, sees it STOPPED, releases the lock, one alert.
 */
describe('start timeout in local mode (startTimeoutSeconds 5, task kept PENDING 60 s)', () => {
  const dir = tempStateDir('start-timeout');
  let runtime: LocalRuntime;
  let result: LocalRunResult;
  let startedAt: number;
  const base = LOCAL_BATCHES.find((b) => b.name === 'runaway-report')!;
  const batch: BatchConfig = {
    ...base,
    startTimeoutSeconds: 5,
    local: { ...base.local!, hardTimeoutSeconds: 40 },
  };

  beforeAll(async () => {
    runtime = await LocalRuntime.open({
      stateDir: dir,
      batches: [batch],
      store: 'memory',
      taskEnvironment: { BATCH_RUNNER_LOCAL_SIMULATED_PENDING_SECONDS: '60' },
    });
    startedAt = Date.now();
    result = await runtime.start('runaway-report', { trigger: 'cli', reason: 'test' });
  }, 60000);

  afterAll(async () => {
    await runtime.close();
    await cleanUpStateDir(dir);
  });

  test('could_not_start after about the start timeout, naming PENDING; StopTask named the start timeout', () => {
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('BatchRunner.StartTimedOut');
    expect(result.cause).toMatch(/stayed PENDING for \d+ s .* longer than the start timeout of 5 s/);
    expect(Date.now() - startedAt).toBeLessThan(30000);
    const stops = result.calls.filter((c) => c.state === 'StopBatchTask');
    expect(stops.map((s) => s.params.Reason)).toEqual([
      `batch-runner: start timeout of 5 s reached (execution ${result.name})`,
    ]);
  });

  test('the task is STOPPED and its container never ran; lock released; one alert', async () => {
    expect(await runtime.lockItem('runaway-report')).toBeUndefined();
    const task = runtime.ecs.describe(result.taskArn!)!;
    expect(task.LastStatus).toBe('STOPPED');
    expect(task.StartedAt).toBeUndefined();
    expect(task.Containers[0].ExitCode).toBeUndefined();
    expect(isAlive({ pid: Number(task.Containers[0].RuntimeId) })).toBe(false);
    const alerts = alertsOf(dir, result.executionArn);
    expect(alerts).toHaveLength(1);
    expect(alerts[0].attributes).toMatchObject({ outcome: 'could_not_start', severity: 'alert' });
    expect(alerts[0].subject).toBe('[batch-runner] runaway-report could_not_start');
  });
});
