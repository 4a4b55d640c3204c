import { readFileSync } from 'node:fs';
import type { LocalRunResult, LocalRuntime } from '../../local/local-runtime';
import { alertsOf, cleanUpStateDir, isAlive, memoryRuntime, tempStateDir } from './support';

/**
 * The hard timeout with real child processes: the runner stops its own task by ARN at the deadline,
 * SIGTERM first, SIGKILL after the stop grace for a process that ignores SIGTERM, confirms it stopped,
 * then releases the lock and sends one alert. (Incident 1 of MISSION.md: the 15-hour run.)
 */
describe('hard timeout in local mode (demo batches: hard timeout 5 s, stop grace 2 s)', () => {
  const dir = tempStateDir('timeout');
  let runtime: LocalRuntime;
  let results: Record<string, LocalRunResult>;

  beforeAll(async () => {
    ({ runtime } = await memoryRuntime(dir));
    const [runaway, stubborn] = await Promise.all([
      runtime.start('runaway-report', { trigger: 'cli', reason: 'test' }),
      runtime.start('stubborn-export', { trigger: 'cli', reason: 'test' }),
    ]);
    results = { runaway, stubborn };
  }, 40000);

  afterAll(async () => {
    await runtime.close();
    await cleanUpStateDir(dir);
  });

  test.each(['runaway', 'stubborn'])('%s: timed out, and StopTask named its own task and the timeout', (which) => {
    const r = results[which];
    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.TimedOut');
    expect(r.cause).toBe('The batch ran into its hard timeout of 5 s; the runner stopped the task.');
    const stops = r.calls.filter((c) => c.state === 'StopBatchTask');
    expect(stops).toHaveLength(1);
    expect(stops[0].params.Task).toBe(r.taskArn);
    expect(stops[0].params.Reason).toBe(`batch-runner: hard timeout of 5 s reached (execution ${r.name})`);
  });

  test('a process that stops on SIGTERM ends within the grace with 143', () => {
    const task = runtime.ecs.describe(results.runaway.taskArn!)!;
    expect(task.LastStatus).toBe('STOPPED');
    expect(task.StopCode).toBe('UserInitiated');
    expect(task.Containers[0].ExitCode).toBe(143);
    expect(task.StoppedReason).toContain('hard timeout of 5 s');
    expect(readFileSync(runtime.ecs.logPathOf(results.runaway.taskArn!), 'utf8')).toContain(
      'SIGTERM received: giving up on the report',
    );
  });

  test('a process that ignores SIGTERM is killed with SIGKILL after the stop grace: 137, and it is gone', () => {
    const task = runtime.ecs.describe(results.stubborn.taskArn!)!;
    expect(task.LastStatus).toBe('STOPPED');
    expect(task.Containers[0].ExitCode).toBe(137);
    expect(task.Containers[0].Reason).toBe('killed with SIGKILL: still running 2 s after SIGTERM (stop grace)');
    expect(readFileSync(runtime.ecs.logPathOf(results.stubborn.taskArn!), 'utf8')).toContain(
      'SIGTERM received - ignoring it',
    );
    expect(isAlive({ pid: Number(task.Containers[0].RuntimeId) })).toBe(false);
    // SIGKILL only after the grace: StopTask's request and the stop are at least the grace apart.
    expect(task.StoppedAt! - task.StoppingAt!).toBeGreaterThanOrEqual(2000);
  });

  test.each(['runaway', 'stubborn'])(
    '%s: the lock is released only after the task was confirmed STOPPED, and one alert is sent',
    async (which) => {
      const r = results[which];
      const states = r.statesEntered;
      expect(states.indexOf('RecordStoppedTask')).toBeGreaterThan(states.lastIndexOf('ConfirmTaskStopped'));
      expect(states.indexOf('ReleaseLockAfterFailure')).toBeGreaterThan(states.indexOf('RecordStoppedTask'));
      expect(states).not.toContain('NoteTaskMayStillRun');
      expect(await runtime.lockItem(r.batch)).toBeUndefined();
      const alerts = alertsOf(dir, r.executionArn);
      expect(alerts).toHaveLength(1);
      expect(alerts[0].subject).toBe(`[batch-runner] ${r.batch} timed_out`);
      expect(alerts[0].attributes).toMatchObject({
        batch: r.batch,
        outcome: 'timed_out',
        severity: 'alert',
        trigger: 'cli',
      });
      expect(alerts[0].message).toContain('Task may still run: false');
    },
  );
});
