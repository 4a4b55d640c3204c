import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../cli/exit-codes';
import { runCli } from '../../cli/program';
import { ExecutionRegistry } from '../../local/execution-registry';
import { alertsOf, cleanUpStateDir, localTasks, spawnCli, tempStateDir, waitFor } from './support';

/**
 * stop, watch, show and rerun against executions that another CLI process runs (real child processes,
 * the shared lock store): the second terminal of an operator.
 */
async function cliIn(dir: string, argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['--state-dir', dir, ...argv], {
    output: { out: (t) => out.push(t), err: (t) => err.push(t) },
    user: 'oncall@test',
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

const runningTask = (dir: string) => localTasks(dir).find((t) => t.state?.lastStatus === 'RUNNING');

describe('stop and rerun in the local mode', () => {
  const dir = tempStateDir('stop');
  const hold = join(dir, 'hold');
  const env = { BATCH_RUNNER_STATE_DIR: dir, EXAMPLE_STEP_MS: '10', EXAMPLE_HOLD_FILE: hold };
  afterAll(() => cleanUpStateDir(dir));

  test('stop --wait stops the execution run by another process and waits for its cleanup: execution ABORTED, task STOPPED, lock free, one alert naming the operator', async () => {
    const runner = spawnCli(['run', 'xml-articles', '--local', '--override', 'ARTICLE_LIMIT=3', '--json'], env);
    await waitFor('the task to run', () => runningTask(dir));
    const [running] = new ExecutionRegistry(dir).list('xml-articles');

    const stop = await cliIn(dir, [
      'stop',
      'xml-articles',
      '--local',
      '--reason',
      'feed is wrong, INC-7',
      '--wait',
      '--json',
    ]);

    expect(stop.code).toBe(EXIT.SUCCESS);
    const result = JSON.parse(stop.stdout);
    expect(result).toMatchObject({
      executionArn: running.executionArn,
      error: 'BatchRunner.StoppedByOperator',
      cause: 'Stopped by oncall@test with batch-runner stop: feed is wrong, INC-7',
      settled: true,
      status: 'ABORTED',
      lockReleased: true,
      task: { taskArn: running.taskArn, lastStatus: 'STOPPED', exitCode: 143 },
    });
    expect(stop.stderr).toMatch(/execution ABORTED[\s\S]*task STOPPED \(exit code 143\)[\s\S]*lock released/);
    // The runner ends with the run's code and says why, as one JSON value on stdout.
    const ran = await runner.done;
    expect(ran.code).toBe(EXIT.FAILED);
    expect(JSON.parse(ran.stdout)).toMatchObject({
      outcome: 'aborted',
      error: 'BatchRunner.StoppedByOperator',
    });
    // The task is stopped for good, and the stopped run sent exactly one alert.
    const task = localTasks(dir).find((t) => running.taskArn?.endsWith(t.id))?.state as Record<string, any>;
    expect(task.lastStatus).toBe('STOPPED');
    const alerts = alertsOf(dir, running.executionArn);
    expect(alerts).toHaveLength(1);
    expect(alerts[0].message).toContain('Stopped by oncall@test with batch-runner stop: feed is wrong, INC-7');
    const status = JSON.parse((await cliIn(dir, ['status', 'xml-articles', '--local', '--json'])).stdout);
    expect(status).toMatchObject({ lock: null, runningTasks: [], runningExecutions: [] });

    // Nothing runs any more: a second stop is refused and changes nothing.
    const again = await cliIn(dir, ['stop', 'xml-articles', '--local']);
    expect(again.code).toBe(EXIT.REFUSED);
    expect(again.stderr).toContain('error: nothing runs: no execution of xml-articles is RUNNING');
    const byName = await cliIn(dir, ['stop', running.name, '--local']);
    expect(byName.code).toBe(EXIT.REFUSED);
    expect(byName.stderr).toContain(`error: nothing to stop: execution ${running.name} is ABORTED`);
    expect(byName.stderr).toContain(`fix: see it with: batch-runner show ${running.name} --local`);
    expect(alertsOf(dir, running.executionArn)).toHaveLength(1);
  });

  test('rerun starts a new execution with the same overrides through the lock, and show tells the story of both', async () => {
    const [stopped] = new ExecutionRegistry(dir).list('xml-articles');
    writeFileSync(hold, '');

    const rerun = await cliIn(dir, ['rerun', stopped.name, '--local', '--json']);

    expect(rerun.code).toBe(EXIT.SUCCESS);
    const result = JSON.parse(rerun.stdout);
    expect(result).toMatchObject({ outcome: 'succeeded', exitCode: 0 });
    expect(result.executionArn).not.toBe(stopped.executionArn);
    const fresh = new ExecutionRegistry(dir).get(result.executionArn)!;
    expect(fresh.input).toEqual({
      trigger: 'cli',
      reason: `rerun of ${stopped.name}: ${(stopped.input as { reason: string }).reason}`,
      requestedBy: 'oncall@test',
      overrides: { environment: { ARTICLE_LIMIT: '3' } },
    });
    expect(fresh.statesEntered).toEqual(expect.arrayContaining(['AcquireLock', 'StartBatchTask', 'ReleaseLock']));
    const log = readFileSync(join(dir, 'tasks', String(fresh.taskArn).split('/').pop()!, 'output.log'), 'utf8');
    expect(log).toContain('exporting 3 articles (ARTICLE_LIMIT=3)');

    const shown = JSON.parse((await cliIn(dir, ['show', stopped.name, '--local', '--json'])).stdout);
    expect(shown).toMatchObject({
      name: stopped.name,
      status: 'ABORTED',
      outcome: { outcome: 'aborted', error: 'BatchRunner.StoppedByOperator' },
      task: { taskArn: stopped.taskArn, lastStatus: 'STOPPED', exitCode: 143 },
    });
    const names = shown.states.map((s: any) => s.name);
    expect(names.slice(-4)).toEqual(['StartBatchTask', 'IsTaskStarted', 'PublishStartedEvent', 'WaitForTaskToStop']);
    for (const s of shown.states) expect(Date.parse(s.enteredAt)).toBeGreaterThanOrEqual(Date.parse(shown.startDate));
    const text = await cliIn(dir, ['show', 'xml-articles', '--local']);
    expect(text.code).toBe(EXIT.SUCCESS);
    expect(text.stdout.split('\n')[0]).toBe(`${fresh.name}  SUCCEEDED  succeeded`);
    expect(text.stdout).toContain(`trigger    cli by oncall@test ("rerun of ${stopped.name}`);
    expect(text.stdout).toMatch(/\n {2}\+[\d.]+s +ReleaseLock +[\d.]+s +releasing the lock\n/);
  });
});

describe('watch in the local mode', () => {
  const dir = tempStateDir('watch');
  const hold = join(dir, 'hold');
  afterAll(() => cleanUpStateDir(dir));

  test('re-attaches to a run of another process: its states so far, the task output, its end; exits with its code', async () => {
    const runner = spawnCli(['run', 'sitemap-refresh', '--local'], {
      BATCH_RUNNER_STATE_DIR: dir,
      EXAMPLE_STEP_MS: '10',
      EXAMPLE_HOLD_FILE: hold,
    });
    await waitFor('the task to run', () => runningTask(dir));
    const watching = cliIn(dir, ['watch', 'sitemap-refresh', '--local']);
    await new Promise((resolve) => setTimeout(resolve, 500));
    writeFileSync(hold, '');
    const [watch, ran] = await Promise.all([watching, runner.done]);

    expect(ran.code).toBe(EXIT.SUCCESS);
    expect(watch.code).toBe(EXIT.SUCCESS);
    const order = [
      'AcquireLock: acquiring the lock',
      'WaitForTaskToStop: task running',
      '[sitemap-refresh] refreshing the sitemap',
      '[sitemap-refresh] wrote 12 URLs',
      'ReleaseLock: releasing the lock',
    ];
    const inOrder = (text: string) => {
      const positions = order.map((t) => text.indexOf(t));
      expect(positions.every((p) => p >= 0)).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    };
    inOrder(watch.stderr);
    expect(watch.stdout).toMatch(/^succeeded: The batch container exited with code 0\./);

    // Watching it once it has ended replays the whole story at once, still in order, with its code.
    const [ended] = new ExecutionRegistry(dir).list('sitemap-refresh');
    const replay = await cliIn(dir, ['watch', ended.name, '--local', '--json']);
    expect(replay.code).toBe(EXIT.SUCCESS);
    inOrder(replay.stderr);
    expect(JSON.parse(replay.stdout)).toMatchObject({ executionArn: ended.executionArn, outcome: 'succeeded' });
  });
});

describe('stop after the runner was killed (local mode)', () => {
  const dir = tempStateDir('stop-killed');
  afterAll(() => cleanUpStateDir(dir));

  test('nothing RUNNING, but a task and a lock left behind: stop hands them to the reconciler (task STOPPED, lock free, one alert)', async () => {
    const runner = spawnCli(['run', 'sitemap-refresh', '--local'], {
      BATCH_RUNNER_STATE_DIR: dir,
      EXAMPLE_STEP_MS: '10',
      EXAMPLE_HOLD_FILE: join(dir, 'never'),
    });
    await waitFor('the task to run', () => runningTask(dir));
    runner.child.kill('SIGKILL');
    expect((await runner.done).signal).toBe('SIGKILL');
    const [killed] = new ExecutionRegistry(dir).list('sitemap-refresh');
    expect(killed.status).toBe('ABORTED');

    const stop = await cliIn(dir, ['stop', 'sitemap-refresh', '--local', '--json']);

    expect(stop.code).toBe(EXIT.SUCCESS);
    expect(JSON.parse(stop.stdout)).toMatchObject({
      executionArn: killed.executionArn,
      leftover: true,
      settled: true,
      lock: 'released',
      alert: 'sent',
      tasks: [{ taskArn: killed.taskArn, action: 'stopped' }],
    });
    expect(stop.stderr).toContain('its runner process has gone');
    const task = localTasks(dir).find((t) => killed.taskArn?.endsWith(t.id))?.state;
    expect(task?.lastStatus).toBe('STOPPED');
    expect(alertsOf(dir, killed.executionArn)).toHaveLength(1);
    const status = JSON.parse((await cliIn(dir, ['status', 'sitemap-refresh', '--local', '--json'])).stdout);
    expect(status).toMatchObject({ lock: null, runningTasks: [] });

    // Settled: a second stop finds nothing left and changes nothing.
    const again = await cliIn(dir, ['stop', 'sitemap-refresh', '--local']);
    expect(again.code).toBe(EXIT.REFUSED);
    expect(alertsOf(dir, killed.executionArn)).toHaveLength(1);
  });
});
