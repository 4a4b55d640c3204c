import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BatchConfig } from '../../config/batch-config';
import { LOCAL_BATCHES } from '../../examples/demo-batches';
import { LOCAL_CLUSTER_ARN, type LocalRuntime, type LocalRuntimeEvent, RETENTION_MS } from '../../local/local-runtime';
import { alertsOf, cleanUpStateDir, isAlive, localTasks, memoryRuntime, tempStateDir, waitFor } from './support';

const BROKEN: BatchConfig = {
  ...LOCAL_BATCHES[0],
  name: 'broken-image',
  local: { command: ['definitely-not-a-command-7f3a'], hardTimeoutSeconds: 5, stopGraceSeconds: 1 },
};

describe('local mode: the real definition on child processes', () => {
  const dir = tempStateDir('local');
  let runtime: LocalRuntime;
  let events: LocalRuntimeEvent[];

  beforeAll(async () => {
    ({ runtime, events } = await memoryRuntime(dir, [...LOCAL_BATCHES, BROKEN]));
  });
  afterAll(async () => {
    await runtime.close();
    await cleanUpStateDir(dir);
  });

  test('a normal run: task output streamed with the batch as prefix, exit 0, lock released, nothing published', async () => {
    const r = await runtime.start('sitemap-refresh', { trigger: 'cli', reason: 'test', requestedBy: 'tester' });

    expect(r.status).toBe('SUCCEEDED');
    expect(r.output).toMatchObject({
      outcome: 'succeeded',
      task: { taskArn: r.taskArn, exitCode: 0, stopCode: 'EssentialContainerExited' },
    });
    const lines = events
      .filter((e) => e.type === 'task-output' && e.taskArn === r.taskArn)
      .map((e) => (e as { line: string }).line);
    expect(lines[0]).toBe('refreshing the sitemap: 12 pages of https://news.example.com');
    // The run's context reached the child process's environment (a CLI run names no slot: its start time).
    expect(lines[1]).toMatch(
      /^run context: scheduled time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z, trigger cli, attempt 1$/,
    );
    expect(readFileSync(join(dir, 'out', 'sitemap.xml'), 'utf8')).toContain(
      '<loc>https://news.example.com/contact?lang=en&amp;ref=footer</loc>',
    );
    expect(await runtime.lockItem('sitemap-refresh')).toBeUndefined();
    expect(alertsOf(dir, r.executionArn)).toEqual([]);
    expect(runtime.registry.get(r.executionArn)).toMatchObject({ status: 'SUCCEEDED', taskArn: r.taskArn });
  });

  test('an allowed environment override reaches the process', async () => {
    const r = await runtime.start('xml-articles', {
      trigger: 'cli',
      reason: 'short feed',
      overrides: { environment: { ARTICLE_LIMIT: '2' } },
    });

    expect(r.status).toBe('SUCCEEDED');
    expect(readFileSync(runtime.ecs.logPathOf(r.taskArn!), 'utf8')).toContain('exporting 2 articles (ARTICLE_LIMIT=2)');
    expect(readFileSync(join(dir, 'out', 'articles.xml'), 'utf8').match(/<item>/g)).toHaveLength(2);
  });

  test('invalid input is rejected before any lock or task, with one alert', async () => {
    const before = localTasks(dir).length;
    const r = await runtime.start('xml-articles', {
      trigger: 'cli',
      overrides: { environment: { PATH: '/tmp/evil' } },
    });

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.InvalidInput');
    expect(r.cause).toContain('overrides.environment.PATH is not allowed for batch xml-articles');
    expect(r.calls.map((c) => c.state)).not.toContain('AcquireLock');
    expect(localTasks(dir)).toHaveLength(before);
    expect(alertsOf(dir, r.executionArn)).toHaveLength(1);
  });

  test('a non-zero exit fails the run with the exit code and an alert naming the task', async () => {
    const r = await runtime.start('missing-images', { trigger: 'cli', reason: 'test' });

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.TaskFailed');
    expect(runtime.ecs.describe(r.taskArn!)?.Containers[0].ExitCode).toBe(1);
    const [alert] = alertsOf(dir, r.executionArn);
    expect(alert.subject).toBe('[batch-runner] missing-images failed');
    expect(alert.message).toContain(`"taskArn":"${r.taskArn}"`);
    expect(alert.message).toContain('"exitCode":1');
    expect(alert.message).toContain('output.log');
  });

  test('a command that cannot start: the task stops without exit code, the run fails (not hangs)', async () => {
    const r = await runtime.start('broken-image', { trigger: 'cli', reason: 'test' });

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.TaskFailed');
    const task = runtime.ecs.describe(r.taskArn!)!;
    expect(task.StopCode).toBe('TaskFailedToStart');
    expect(task.StoppedReason).toMatch(/^CannotStartContainerError: spawn definitely-not-a-command-7f3a ENOENT/);
    expect(task.Containers[0].ExitCode).toBeUndefined();
  });

  test('RunTask with the same ClientToken answers with the same task (a retried call starts nothing new)', async () => {
    const params = {
      Cluster: LOCAL_CLUSTER_ARN,
      TaskDefinition: 'arn:aws:ecs:local:000000000000:task-definition/xml-articles:1',
      ClientToken: 'token-1',
      Tags: [],
    };
    const first = await runtime.ecs.runTask(params);
    const second = await runtime.ecs.runTask(params);

    expect(second.Tasks[0].TaskArn).toBe(first.Tasks[0].TaskArn);
    expect(localTasks(dir).filter((t) => first.Tasks[0].TaskArn.endsWith(t.id))).toHaveLength(1);
    await runtime.ecs.whenStopped(first.Tasks[0].TaskArn);
  });

  test('StopTask right after RunTask (before the process is up): the task ends STOPPED, nothing left running', async () => {
    const cluster = LOCAL_CLUSTER_ARN;
    const { Tasks } = await runtime.ecs.runTask({
      Cluster: cluster,
      TaskDefinition: 'arn:aws:ecs:local:000000000000:task-definition/stubborn-export:1',
    });
    await runtime.ecs.stopTask({ Cluster: cluster, Task: Tasks[0].TaskArn, Reason: 'changed my mind' });
    const task = await runtime.ecs.whenStopped(Tasks[0].TaskArn);

    expect(task.StopCode).toBe('UserInitiated');
    expect(task.StoppedReason).toBe('changed my mind');
    const pid = task.Containers[0].RuntimeId;
    if (pid) expect(isAlive({ pid: Number(pid) })).toBe(false);
    expect((await runtime.ecs.listTasks({ Cluster: cluster, Family: 'stubborn-export' })).TaskArns).toEqual([]);
  });

  test('overlap policy wait: the second start waits for the lock and then runs', async () => {
    const firstStarted = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (
          events.some(
            (e) => e.type === 'task-output' && e.family === 'xml-articles' && e.line.startsWith('exporting 5'),
          )
        ) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    const first = runtime.start('xml-articles', { trigger: 'cli', reason: 'first' });
    await firstStarted;
    const second = await runtime.start('xml-articles', { trigger: 'cli', reason: 'second' });

    expect((await first).status).toBe('SUCCEEDED');
    expect(second.status).toBe('SUCCEEDED');
    expect(second.statesEntered).toContain('WaitForLock');
    expect(second.statesEntered.filter((s) => s === 'AcquireLock').length).toBeGreaterThan(1);
  });

  test('an execution stopped by hand (StopExecution from another process): task stopped, lock released, one alert', async () => {
    const run = runtime.start('runaway-report', { trigger: 'cli', reason: 'will be stopped' });
    // Its first line comes after it installed its SIGTERM handler.
    const taskArn = await waitFor('the runaway task to print', () => {
      const line = events.find((e) => e.type === 'task-output' && e.family === 'runaway-report');
      return line && 'taskArn' in line ? line.taskArn : undefined;
    });
    const record = runtime.registry.list('runaway-report')[0];
    // What LocalSfn.stopExecution does for an execution run by another process.
    runtime.registry.requestStop(record.name, 'States.Aborted', 'stopped by an operator');
    const r = await run;

    expect(r.status).toBe('ABORTED');
    expect(r.cleanup).toEqual([
      `stopped task ${taskArn} (its execution ${r.name} is ABORTED)`,
      'lock released',
      'sent one alert',
    ]);
    expect(isAlive({ pid: Number(runtime.ecs.describe(taskArn)!.Containers[0].RuntimeId) })).toBe(false);
    expect(await runtime.lockItem('runaway-report')).toBeUndefined();
    const alerts = alertsOf(dir, r.executionArn);
    expect(alerts).toHaveLength(1);
    expect(alerts[0].subject).toBe('[batch-runner] runaway-report aborted');
    expect(runtime.registry.get(r.executionArn)).toMatchObject({
      status: 'ABORTED',
      error: 'States.Aborted',
      cause: 'stopped by an operator',
    });
  });

  test('finished executions and stopped tasks are pruned after the retention period, nothing younger', () => {
    const executions = runtime.registry.list().length;
    const tasks = localTasks(dir).length;
    expect(runtime.registry.prune(RETENTION_MS)).toBe(0);
    expect(runtime.ecs.prune(RETENTION_MS)).toBe(0);
    const weekLater = Date.now() + RETENTION_MS + 60_000;
    expect(runtime.registry.prune(RETENTION_MS, weekLater)).toBe(executions);
    expect(runtime.ecs.prune(RETENTION_MS, weekLater)).toBe(tasks);
    expect(localTasks(dir)).toEqual([]);
  });
});
