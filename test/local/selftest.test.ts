import { EXIT } from '../../cli/exit-codes';
import { runCli } from '../../cli/program';
import { SELFTEST_BATCH } from '../../config/selftest-batch';
import { cleanUpStateDir, isAlive, localTasks, spawnCli, tempStateDir, waitFor } from './support';

/**
 * `batch-runner selftest --local`: the same checks as on AWS, through the real state machine in the
 * local mode, the canary as real child processes (examples/selftest-canary.js; its local hard timeout
 * is 5 s and stop grace 1 s). Every test stops what it started in afterAll, also on failure.
 */

/** Every task of a state directory has ended: STOPPED, and neither its agent nor its process alive. */
function everyTaskGone(dir: string): string[] {
  return localTasks(dir)
    .filter(
      (t) =>
        t.state?.lastStatus !== 'STOPPED' ||
        isAlive({ pid: t.state.agentPid }) ||
        (t.state.childPid !== undefined && isAlive({ pid: t.state.childPid })),
    )
    .map((t) => `${t.id}: ${t.state?.lastStatus ?? 'no state'}`);
}

describe('selftest in the local mode (real child processes)', () => {
  const dir = tempStateDir('selftest');
  afterAll(() => cleanUpStateDir(dir));

  test('every guarantee PASSes, exit 0, nothing left running; the scheduler step is said to be a local stand-in', async () => {
    const t0 = Date.now();
    const run = spawnCli(['selftest', '--local', '--json'], { BATCH_RUNNER_STATE_DIR: dir });
    const { code, stdout, stderr } = await run.done;
    const seconds = (Date.now() - t0) / 1000;

    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: EXIT.SUCCESS, stderr: '' });
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ mode: 'local', batch: SELFTEST_BATCH.name, passed: true, leftovers: [] });
    expect(report.checks.map((c: any) => `${c.id}:${c.result}`)).toEqual([
      'success:PASS',
      'non-zero-exit:PASS',
      'hard-timeout:PASS',
      'two-at-once:PASS',
      'console-input:PASS',
      'scheduler:PASS',
      'leaves-nothing-behind:PASS',
    ]);
    const byId = Object.fromEntries(report.checks.map((c: any) => [c.id, c]));
    expect(byId['hard-timeout'].detail).toMatch(
      /timed_out \(BatchRunner\.TimedOut\), exit code 137, stopped \d+ s after RunTask/,
    );
    expect(byId.scheduler.detail).toMatch(
      /local mode: no Scheduler; started with the scheduler's exact input \{"trigger":"schedule"/,
    );
    expect(byId['two-at-once'].executions.map((e: any) => e.outcome).sort()).toEqual(['skipped', 'succeeded']);
    // Progress on stderr: the header and each check as it starts.
    expect(stderr).toMatch(/batch-runner selftest in the local mode .*hard timeout 5 s, stop grace 1 s/);
    expect(everyTaskGone(dir)).toEqual([]);
    // Kept fast: 7 canary runs, one of them killed at its 5 s hard timeout.
    expect(seconds).toBeLessThan(60);
  });
});

describe('selftest in the local mode: a canary that breaks the guarantees FAILs them', () => {
  const dir = tempStateDir('selftest-broken');
  afterAll(() => cleanUpStateDir(dir));

  test('a canary that always exits 0 at once: non-zero exit and hard timeout FAIL, exit 1, nothing left running', async () => {
    // The canary's local command replaced by one that ignores every instruction of the input.
    const broken = {
      ...SELFTEST_BATCH,
      local: { ...SELFTEST_BATCH.local!, command: ['node', '-e', 'setTimeout(() => process.exit(0), 300)'] },
    };
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(['--state-dir', dir, 'selftest', '--local'], {
      localBatches: [broken],
      output: { out: (t) => out.push(t), err: (t) => err.push(t) },
      user: 'oncall@test',
    });
    const stdout = out.join('\n');

    expect(code).toBe(EXIT.FAILED);
    expect(stdout).toMatch(/^PASS {2}success /m);
    expect(stdout).toMatch(
      /^FAIL {2}non-zero-exit +expected failed \(BatchRunner\.TaskFailed\), exit code 3, got succeeded, exit code 0; expected exactly one alert .* found 0$/m,
    );
    expect(stdout).toMatch(
      /^FAIL {2}hard-timeout +expected timed_out \(BatchRunner\.TimedOut\), got succeeded, exit code 0/m,
    );
    expect(stdout).toMatch(/^PASS {2}leaves-nothing-behind /m);
    expect(stdout).toMatch(/5 of 7 guarantees passed in .*: FAIL$/m);
    expect(everyTaskGone(dir)).toEqual([]);
  });
});

describe('selftest in the local mode: Ctrl-C', () => {
  const dir = tempStateDir('selftest-interrupt');
  afterAll(() => cleanUpStateDir(dir));

  test('interrupted during the hard-timeout check: its run is stopped, its task killed, the lock freed, exit 130', async () => {
    const run = spawnCli(['selftest', '--local'], { BATCH_RUNNER_STATE_DIR: dir });
    let stderr = '';
    run.child.stderr!.on('data', (d) => {
      stderr += d;
    });
    await waitFor('the hard-timeout check to start', () => stderr.includes('- hard-timeout:'), 30000);
    // Its canary task (it ignores SIGTERM) runs.
    await waitFor(
      'the canary task of the hard-timeout check',
      () => localTasks(dir).filter((t) => t.state?.lastStatus === 'RUNNING').length === 1,
      10000,
    );
    run.child.kill('SIGINT');
    const { code, stdout } = await run.done;

    expect(code).toBe(EXIT.INTERRUPTED);
    expect(stdout).toMatch(/^FAIL {2}hard-timeout +not finished: interrupted \(Ctrl-C\)$/m);
    expect(stdout).toMatch(/^FAIL {2}scheduler +not run: interrupted \(Ctrl-C\)$/m);
    expect(stdout).toMatch(
      /^PASS {2}leaves-nothing-behind +no lock, no task, no schedule left \(cleanup: stopped execution \S+-timeout\)$/m,
    );
    expect(everyTaskGone(dir)).toEqual([]);
  });
});
