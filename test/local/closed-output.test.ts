import { EXIT } from '../../cli/exit-codes';
import { runCli } from '../../cli/program';
import { ExecutionRegistry } from '../../local/execution-registry';
import { alertsOf, cleanUpStateDir, isAlive, localTasks, spawnShell, tempStateDir } from './support';

/**
 * `batch-runner run x --local --wait | head -3`: the reader of the output goes away mid-run. The
 * runner (this CLI process, in the local mode) must not go with it: it stops writing, supervises the
 * run to its end - hard timeout, task stopped, lock released, one alert - and exits with the run's code.
 */
describe('the output of a local run is closed mid-run (a real pipe into head)', () => {
  const dir = tempStateDir('epipe');
  afterAll(() => cleanUpStateDir(dir));

  test('the run goes on to its hard timeout, releases the lock, leaves no process, and exits 3', async () => {
    // runaway-report hangs and prints a heartbeat every second (hard timeout 5 s, stop grace 2 s):
    // head exits after 3 lines, the next line the runner writes finds the pipe closed (EPIPE).
    const pipeline = spawnShell(
      '$BATCH_RUNNER run runaway-report --local --wait 2>&1 | head -3; exit ${PIPESTATUS[0]}',
      {
        BATCH_RUNNER_STATE_DIR: dir,
      },
    );
    const { code, stdout } = await pipeline.done;

    expect(stdout.trimEnd().split('\n')).toHaveLength(3);
    const [execution] = new ExecutionRegistry(dir).list('runaway-report');
    expect(execution).toMatchObject({ status: 'FAILED', error: 'BatchRunner.TimedOut' });
    expect(code).toBe(EXIT.TIMED_OUT);
    const alerts = alertsOf(dir, execution.executionArn);
    expect(alerts.map((a) => a.subject)).toEqual(['[batch-runner] runaway-report timed_out']);
    const tasks = localTasks(dir);
    expect(tasks).toHaveLength(1);
    expect(tasks[0].state).toMatchObject({ lastStatus: 'STOPPED', exitCode: 143 });
    expect(isAlive({ pid: tasks[0].state!.childPid! })).toBe(false);
    expect(isAlive({ pid: tasks[0].state!.agentPid })).toBe(false);
    const out: string[] = [];
    await runCli(['--state-dir', dir, 'status', 'runaway-report', '--local', '--json'], {
      output: { out: (t) => out.push(t), err: () => undefined },
    });
    expect(JSON.parse(out.join('\n'))).toMatchObject({ lock: null, runningTasks: [], runningExecutions: [] });
  }, 40000);
});
