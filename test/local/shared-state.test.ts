import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EXIT } from '../../cli/exit-codes';
import { runCli } from '../../cli/program';
import { LOCAL_BATCHES } from '../../examples/demo-batches';
import { ExecutionRegistry } from '../../local/execution-registry';
import { LocalRuntime } from '../../local/local-runtime';
import { readJson } from '../../local/state-dir';
import { alertsOf, cleanUpStateDir, localTasks, spawnCli, tempStateDir, waitFor } from './support';

/**
 * Two terminals, one lock: CLI processes share the state directory through one dynalite server and
 * the files of the execution registry and the local ECS.
 */
async function cliIn(dir: string, argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['--state-dir', dir, ...argv], {
    output: { out: (t) => out.push(t), err: (t) => err.push(t) },
    user: 'tester@test',
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('two CLI processes start the same batch at once', () => {
  const dir = tempStateDir('concurrent');
  const hold = join(dir, 'hold');
  afterAll(() => cleanUpStateDir(dir));

  test('exactly one runs; the other is skipped, naming the holder', async () => {
    const env = { BATCH_RUNNER_STATE_DIR: dir, EXAMPLE_STEP_MS: '10', EXAMPLE_HOLD_FILE: hold };
    const a = spawnCli(['run', 'sitemap-refresh', '--local', '--json'], env);
    const b = spawnCli(['run', 'sitemap-refresh', '--local', '--json'], env);
    // The run that got the lock holds (its workload waits for the hold file); the other must end skipped meanwhile.
    const loser = await Promise.race([a.done, b.done]);
    writeFileSync(hold, '');
    const [ra, rb] = await Promise.all([a.done, b.done]);

    expect([ra.code, rb.code].sort()).toEqual([EXIT.SUCCESS, EXIT.SKIPPED]);
    expect(loser.code).toBe(EXIT.SKIPPED);
    const skipped = JSON.parse(loser.stdout);
    const winner = JSON.parse((loser === ra ? rb : ra).stdout);
    expect(skipped.outcome).toBe('skipped');
    expect(skipped.reason).toContain(`Another run holds the lock: execution ${winner.executionArn}`);
    expect(winner.outcome).toBe('succeeded');
    expect(localTasks(dir)).toHaveLength(1);
    const status = await cliIn(dir, ['status', 'sitemap-refresh', '--local', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ lock: null, runningTasks: [], runningExecutions: [] });
  });
});

describe('a runner killed mid-run', () => {
  const dir = tempStateDir('killed');
  const hold = join(dir, 'hold');
  afterAll(() => cleanUpStateDir(dir));

  test('leaves a lock and an orphan; the next start stops the orphan, confirms it STOPPED, alerts for the killed run, then runs', async () => {
    const runner = spawnCli(['run', 'sitemap-refresh', '--local'], {
      BATCH_RUNNER_STATE_DIR: dir,
      EXAMPLE_STEP_MS: '10',
      EXAMPLE_HOLD_FILE: hold,
    });
    await waitFor('the task to run', () => localTasks(dir).find((t) => t.state?.lastStatus === 'RUNNING'));
    runner.child.kill('SIGKILL');
    expect((await runner.done).signal).toBe('SIGKILL');
    const [killed] = new ExecutionRegistry(dir).list('sitemap-refresh');

    // status: the lock is held by an execution that is no longer running, the task lives on.
    const status = JSON.parse((await cliIn(dir, ['status', 'sitemap-refresh', '--local', '--json'])).stdout);
    expect(status.lock).toMatchObject({ owner: killed.executionArn, ownerStatus: 'ABORTED', ownerRunning: false });
    expect(status.runningTasks).toHaveLength(1);
    expect(status.runningTasks[0].taskArn).toBe(killed.taskArn);

    // The next start asks the reconciler to settle the stale lock: it stops the orphan, waits until it
    // is STOPPED, sends the killed run's alert, releases the lock; then the batch runs.
    const next = await cliIn(dir, ['run', 'sitemap-refresh', '--local', '--json']);
    expect(next.code).toBe(EXIT.SUCCESS);
    const [nextRun] = new ExecutionRegistry(dir).list('sitemap-refresh');
    expect(nextRun.statesEntered).toEqual(
      expect.arrayContaining(['CheckLockHolderLiveness', 'SettleStaleLock', 'StartBatchTask', 'ReleaseLock']),
    );
    const orphanId = String(killed.taskArn).split('/').pop();
    const orphan = localTasks(dir).find((t) => t.id === orphanId)?.state as Record<string, any> | undefined;
    expect(orphan?.lastStatus).toBe('STOPPED');
    expect(orphan?.stopRequestedReason).toBe(`batch-runner reconciler: its execution ${killed.name} is ABORTED`);
    // Never two at once: the orphan had stopped before the new task was created.
    const newId = localTasks(dir).find((t) => t.id !== orphanId)?.id as string;
    const newSpec = readJson<{ createdAt: number }>(join(dir, 'tasks', newId, 'spec.json'));
    expect(orphan?.stoppedAt).toBeLessThanOrEqual(newSpec!.createdAt);
    const killedAlerts = alertsOf(dir, killed.executionArn);
    expect(killedAlerts).toHaveLength(1);
    expect(killedAlerts[0].subject).toBe('[batch-runner] sitemap-refresh aborted');
    expect(JSON.parse((await cliIn(dir, ['status', 'sitemap-refresh', '--local', '--json'])).stdout).lock).toBeNull();

    // history shows what happened, newest first.
    const history = JSON.parse((await cliIn(dir, ['history', 'sitemap-refresh', '--local', '--json'])).stdout);
    expect(history.map((h: any) => h.outcome.outcome)).toEqual(['succeeded', 'aborted']);
    const logs = await cliIn(dir, ['logs', 'sitemap-refresh', '--local']);
    expect(logs.code).toBe(EXIT.SUCCESS);
    expect(logs.stdout.split('\n')[0]).toBe('refreshing the sitemap: 12 pages of https://news.example.com');
  });

  test('unlock --local releases a lock whose owner does not exist, and refuses a live one without --force', async () => {
    const runtime = await LocalRuntime.open({ stateDir: dir, batches: LOCAL_BATCHES });
    const put = (owner: string) =>
      runtime.dynamodb.client.send(
        new PutItemCommand({
          TableName: 'batch-runner-locks',
          Item: { batch: { S: 'xml-articles' }, owner: { S: owner }, acquiredAt: { S: new Date().toISOString() } },
        }),
      );
    try {
      await put('arn:aws:states:local:000000000000:execution:batch-runner-xml-articles:gone-1');
      const released = await cliIn(dir, ['unlock', 'xml-articles', '--local']);
      expect(released.code).toBe(EXIT.SUCCESS);
      expect(released.stdout).toContain(
        'released the stale lock of arn:aws:states:local:000000000000:execution:batch-runner-xml-articles:gone-1 (owner DOES_NOT_EXIST)',
      );
      expect(await runtime.lockItem('xml-articles')).toBeUndefined();

      // A live owner: an execution of this (running) process.
      const live = runtime.registry.create({
        executionArn: 'arn:aws:states:local:000000000000:execution:batch-runner-xml-articles:live-1',
        stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:batch-runner-xml-articles',
        name: 'live-1',
        batch: 'xml-articles',
        input: {},
        startDate: new Date().toISOString(),
      });
      await put(live.executionArn);
      const refused = await cliIn(dir, ['unlock', 'xml-articles', '--local']);
      expect(refused.code).toBe(EXIT.REFUSED);
      expect(await runtime.lockItem('xml-articles')).toMatchObject({ owner: live.executionArn });
      const forced = await cliIn(dir, ['unlock', 'xml-articles', '--local', '--force', '--yes']);
      expect(forced.code).toBe(EXIT.SUCCESS);
      expect(await runtime.lockItem('xml-articles')).toBeUndefined();
    } finally {
      await runtime.close();
    }
  });

  test('the shared lock store is one server per state directory, found again by later processes', () => {
    const server = readJson<{ pid: number; endpoint: string }>(join(dir, 'dynamodb.json'));
    expect(server?.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(() => process.kill(server!.pid, 0)).not.toThrow();
  });
});
