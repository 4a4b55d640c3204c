import { runScenario, type ScenarioResult, scheduledInput, useScenarioWorld } from '../support/asl-harness';

/**
 * The attempt region of state-machines/batch-runner.asl.json (issue 11): the run's context in the
 * task's environment, and retries by failure reason. The real ASL in aws-local-stepfunctions, the lock
 * in dynalite, ECS answered with realistic payloads.
 */

const world = useScenarioWorld();

const runTasks = (r: ScenarioResult) => r.calls.filter((c) => c.state === 'StartBatchTask');
const environmentOf = (r: ScenarioResult, attempt = 0): Record<string, string> =>
  Object.fromEntries(
    (
      runTasks(r)[attempt].params.Overrides.ContainerOverrides[0].Environment as Array<{ Name: string; Value: string }>
    ).map((e) => [e.Name, e.Value]),
  );

describe("the run's context reaches the task", () => {
  test('a scheduled run: the slot time (the same for every delivery), trigger, execution, attempt 1 and the hard timeout', async () => {
    const input = scheduledInput('2026-11-30T21:00:00Z');
    const r = await runScenario(world.db, world.aws, { input, name: 'SlotContext' });

    expect(r.status).toBe('SUCCEEDED');
    expect(runTasks(r)).toHaveLength(1);
    expect(runTasks(r)[0].params.Overrides.ContainerOverrides).toHaveLength(1);
    expect(runTasks(r)[0].params.Overrides.ContainerOverrides[0].Name).toBe('app');
    expect(environmentOf(r)).toEqual({
      BATCH_RUNNER_SCHEDULED_TIME: '2026-11-30T21:00:00Z',
      BATCH_RUNNER_TRIGGER: 'schedule',
      BATCH_RUNNER_EXECUTION_ARN: r.executionArn,
      BATCH_RUNNER_ATTEMPT: '1',
      BATCH_RUNNER_HARD_TIMEOUT_SECONDS: '3600',
    });
  });

  test('a manual run names no slot: the scheduled time is the execution`s start time; the operator`s variable is kept', async () => {
    const r = await runScenario(world.db, world.aws, {
      input: { trigger: 'console', overrides: { environment: { DRY_RUN: 'true' } } },
    });

    expect(r.status).toBe('SUCCEEDED');
    expect(environmentOf(r)).toEqual({
      BATCH_RUNNER_SCHEDULED_TIME: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      BATCH_RUNNER_TRIGGER: 'console',
      BATCH_RUNNER_EXECUTION_ARN: r.executionArn,
      BATCH_RUNNER_ATTEMPT: '1',
      BATCH_RUNNER_HARD_TIMEOUT_SECONDS: '3600',
      DRY_RUN: 'true',
    });
    // $$.Execution.StartTime: the engine's own start of the execution, within the run.
    const told = Date.parse(environmentOf(r).BATCH_RUNNER_SCHEDULED_TIME);
    expect(told).toBeGreaterThanOrEqual(r.startedAt);
    expect(told).toBeLessThanOrEqual(r.stoppedAt);
  });

  test('an allowed command override is kept beside the run`s context', async () => {
    const r = await runScenario(world.db, world.aws, {
      batch: { overrides: { environment: ['DRY_RUN'], command: true } },
      input: { trigger: 'cli', overrides: { command: ['node', 'backfill.js', '--day', '2026-11-30'] } },
    });

    expect(r.status).toBe('SUCCEEDED');
    const [override] = runTasks(r)[0].params.Overrides.ContainerOverrides;
    expect(override.Command).toEqual(['node', 'backfill.js', '--day', '2026-11-30']);
    expect(environmentOf(r).BATCH_RUNNER_TRIGGER).toBe('cli');
    expect(Object.keys(environmentOf(r))).toHaveLength(5);
  });

  test('runContextEnvironment: false starts the task with the operator`s overrides only', async () => {
    const scheduled = await runScenario(world.db, world.aws, { batch: { runContextEnvironment: false } });
    expect(scheduled.status).toBe('SUCCEEDED');
    expect(runTasks(scheduled)[0].params.Overrides).toEqual({});

    const manual = await runScenario(world.db, world.aws, {
      batch: { runContextEnvironment: false },
      input: { overrides: { environment: { DRY_RUN: 'true' } } },
    });
    expect(manual.status).toBe('SUCCEEDED');
    expect(runTasks(manual)[0].params.Overrides).toEqual({
      ContainerOverrides: [{ Name: 'app', Environment: [{ Name: 'DRY_RUN', Value: 'true' }] }],
    });
  });
});

const alerts = () => world.aws.published.filter((p) => p.MessageAttributes.severity.StringValue === 'alert');
const retryOn = (on: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
  retry: { attempts: 2, backoffSeconds: 5, on, ...more },
});
const spot = { exitCode: 143, stopCode: 'SpotInterruption', stoppedReason: 'Your Spot Task was interrupted.' };
const earlier = (n: number, taskArn: string, exit: number | null, stop: string, why: string) =>
  `attempt ${n}: task ${taskArn} on FARGATE, exit code ${exit}, stop code ${stop}: retried (${why}); `;

describe('retries by failure reason', () => {
  test('a batch without a retry policy that exits non-zero: one attempt, and the alert`s details carry attempts as every failure`s do', async () => {
    world.aws.watch = { exitCode: 3 };
    const r = await runScenario(world.db, world.aws);

    expect([r.status, r.error]).toEqual(['FAILED', 'BatchRunner.TaskFailed']);
    expect(world.aws.startedTasks).toHaveLength(1);
    expect(alerts()).toHaveLength(1);
    const details = JSON.parse(alerts()[0].Message.split('Details: ')[1]);
    expect(details).toMatchObject({
      error: 'BatchRunner.TaskFailed',
      task: { taskArn: world.aws.startedTasks[0], exitCode: 3 },
      attempts: { number: 1, earlier: '' },
    });
  });

  test('exit code 75 is retried once the task is STOPPED: a new task with its own ClientToken, attempt 2, the same slot; success', async () => {
    world.aws.watchPerTask = [{ exitCode: 75 }, { exitCode: 0 }];
    const input = scheduledInput('2026-11-30T22:00:00Z');
    const r = await runScenario(world.db, world.aws, { input, batch: retryOn({ exitCodes: [75] }) });

    expect(r.status).toBe('SUCCEEDED');
    expect(world.aws.startedTasks).toHaveLength(2);
    const [first, second] = runTasks(r);
    expect(first.params.ClientToken).not.toBe(second.params.ClientToken);
    expect(second.params.ClientToken.length).toBeLessThanOrEqual(64);
    expect(environmentOf(r, 0)).toMatchObject({
      BATCH_RUNNER_ATTEMPT: '1',
      BATCH_RUNNER_SCHEDULED_TIME: '2026-11-30T22:00:00Z',
    });
    expect(environmentOf(r, 1)).toMatchObject({
      BATCH_RUNNER_ATTEMPT: '2',
      BATCH_RUNNER_SCHEDULED_TIME: '2026-11-30T22:00:00Z',
    });
    // The second start comes after the watcher reported the first task STOPPED, and after the backoff.
    const order = r.statesEntered.filter((s) =>
      ['StartBatchTask', 'WaitForTaskToStop', 'CountBatchRetry', 'BackOffBeforeRetryingTask'].includes(s),
    );
    expect(order).toEqual([
      'StartBatchTask',
      'WaitForTaskToStop',
      'CountBatchRetry',
      'BackOffBeforeRetryingTask',
      'StartBatchTask',
      'WaitForTaskToStop',
    ]);
    expect(r.output).toMatchObject({
      outcome: 'succeeded',
      task: { taskArn: world.aws.startedTasks[1], exitCode: 0 },
      attempts: {
        number: 2,
        earlier: earlier(
          1,
          world.aws.startedTasks[0],
          75,
          'EssentialContainerExited',
          'exit code 75 is in retry.on.exitCodes',
        ),
      },
      lockRelease: { status: 'released' },
    });
    expect(world.aws.published).toEqual([]);
    expect(r.lockItem).toBeUndefined();
  });

  test('the batch`s own failures use up retry.attempts: a second exit 75 ends the run failed, one alert listing both attempts', async () => {
    world.aws.watchPerTask = [{ exitCode: 75 }, { exitCode: 75 }];
    const r = await runScenario(world.db, world.aws, { batch: retryOn({ exitCodes: [75] }) });

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.TaskFailed');
    expect(world.aws.startedTasks).toHaveLength(2);
    expect(alerts()).toHaveLength(1);
    const details = JSON.parse(alerts()[0].Message.split('\nDetails: ')[1]);
    expect(details.task).toMatchObject({ taskArn: world.aws.startedTasks[1], exitCode: 75 });
    expect(details.attempts).toEqual({
      number: 2,
      earlier: earlier(
        1,
        world.aws.startedTasks[0],
        75,
        'EssentialContainerExited',
        'exit code 75 is in retry.on.exitCodes',
      ),
    });
    expect(r.lockItem).toBeUndefined();
  });

  test('infrastructure disruptions do not use up the batch`s attempts: Spot, Spot, exit 75, then success in 4 attempts', async () => {
    world.aws.watchPerTask = [spot, spot, { exitCode: 75 }, { exitCode: 0 }];
    const r = await runScenario(world.db, world.aws, {
      batch: retryOn({ exitCodes: [75, 143], stopCodes: ['SpotInterruption'] }),
    });

    expect(r.status).toBe('SUCCEEDED');
    expect(world.aws.startedTasks).toHaveLength(4);
    expect(r.statesEntered.filter((s) => s === 'CountInfrastructureRetry')).toHaveLength(2);
    expect(r.statesEntered.filter((s) => s === 'CountBatchRetry')).toHaveLength(1);
    // Every retry, an infrastructure one too, waits retry.backoffSeconds before its task is started.
    expect(r.statesEntered.filter((s) => s === 'BackOffBeforeRetryingTask')).toHaveLength(3);
    expect(new Set(runTasks(r).map((c) => c.params.ClientToken)).size).toBe(4);
    expect(environmentOf(r, 3).BATCH_RUNNER_ATTEMPT).toBe('4');
    const infra = 'stop code SpotInterruption is in retry.on.stopCodes, not counted in retry.attempts';
    expect(r.output.attempts.earlier).toBe(
      earlier(1, world.aws.startedTasks[0], 143, 'SpotInterruption', infra) +
        earlier(2, world.aws.startedTasks[1], 143, 'SpotInterruption', infra) +
        earlier(3, world.aws.startedTasks[2], 75, 'EssentialContainerExited', 'exit code 75 is in retry.on.exitCodes'),
    );
  });

  test('a disruption past infrastructureAttempts is not retried as an exit code either (143 is listed): failed, one alert', async () => {
    world.aws.watchPerTask = [spot, spot];
    const r = await runScenario(world.db, world.aws, {
      batch: retryOn({ exitCodes: [143], stopCodes: ['SpotInterruption'] }, { infrastructureAttempts: 1 }),
    });

    expect(r.status).toBe('FAILED');
    expect(world.aws.startedTasks).toHaveLength(2);
    expect(r.statesEntered).not.toContain('CountBatchRetry');
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].Message).toContain('SpotInterruption');
  });

  test('a task that failed to start (no exit code) is retried by its stop code', async () => {
    world.aws.watchPerTask = [
      { exitCode: null, stopCode: 'TaskFailedToStart', stoppedReason: 'CannotPullContainerError: pull rate limit' },
      { exitCode: 0 },
    ];
    const r = await runScenario(world.db, world.aws, {
      batch: retryOn({ stopCodes: ['TaskFailedToStart'] }, { attempts: 1 }),
    });

    expect(r.status).toBe('SUCCEEDED');
    expect(r.output.attempts.earlier).toContain(
      `attempt 1: task ${world.aws.startedTasks[0]} on FARGATE, exit code null, stop code TaskFailedToStart`,
    );
  });

  test('an exit code not listed is not retried: failed after one attempt', async () => {
    world.aws.watchPerTask = [{ exitCode: 1 }];
    const r = await runScenario(world.db, world.aws, { batch: retryOn({ exitCodes: [75] }) });

    expect(r.status).toBe('FAILED');
    expect(world.aws.startedTasks).toHaveLength(1);
    expect(r.statesEntered).toContain('NoteEarlierAttempts');
    expect(JSON.parse(alerts()[0].Message.split('\nDetails: ')[1]).attempts).toEqual({ number: 1, earlier: '' });
  });

  test('a retry that runs into the run`s deadline is stopped and confirmed STOPPED: timed_out, one alert, lock released', async () => {
    world.aws.watchPerTask = [{ exitCode: 75 }, 'deadline'];
    const r = await runScenario(world.db, world.aws, { batch: retryOn({ exitCodes: [75] }) });

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.TimedOut');
    expect(world.aws.stopRequests.map((s) => s.task)).toEqual([world.aws.startedTasks[1]]);
    // The one alert lists the earlier attempt beside the timed-out one.
    expect(JSON.parse(alerts()[0].Message.split('\nDetails: ')[1]).attempts).toEqual({
      number: 2,
      earlier: earlier(
        1,
        world.aws.startedTasks[0],
        75,
        'EssentialContainerExited',
        'exit code 75 is in retry.on.exitCodes',
      ),
    });
    expect(r.statesEntered).toContain('RecordStoppedTask');
    expect(alerts()).toHaveLength(1);
    expect(r.lockItem).toBeUndefined();
  });
});

describe('start timeout (startTimeoutSeconds)', () => {
  const startTimeout = { startTimeoutSeconds: 300 };

  test('a task stuck PENDING past its start timeout is stopped, confirmed STOPPED: could_not_start naming PENDING, lock released, one alert', async () => {
    world.aws.watch = 'stuck-pending';
    const r = await runScenario(world.db, world.aws, { batch: startTimeout });

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.StartTimedOut');
    expect(world.aws.stopRequests).toEqual([
      {
        task: world.aws.startedTasks[0],
        reason: expect.stringMatching(/^batch-runner: start timeout of 300 s reached/),
      },
    ]);
    expect(r.statesEntered).toEqual(
      expect.arrayContaining(['RecordStartTimeout', 'ConfirmTaskStopped', 'RecordStoppedTask', 'WasStartTimedOut']),
    );
    // The lock is released only after ECS reported the task STOPPED.
    expect(r.statesEntered.indexOf('RecordStoppedTask')).toBeLessThan(
      r.statesEntered.indexOf('ReleaseLockAfterFailure'),
    );
    expect(r.lockItem).toBeUndefined();
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].Subject).toBe('[batch-runner] missing-images could_not_start');
    expect(alerts()[0].Message).toContain('stayed PENDING');
    expect(alerts()[0].Message).toContain('Task may still run: false');
  });

  test('with TaskFailedToStart in retry.on.stopCodes, a start timeout is an infrastructure retry: a new task, success', async () => {
    world.aws.watchPerTask = ['stuck-pending', { exitCode: 0 }];
    const r = await runScenario(world.db, world.aws, {
      batch: { ...startTimeout, ...retryOn({ stopCodes: ['TaskFailedToStart'] }, { attempts: 1 }) },
    });

    expect(r.status).toBe('SUCCEEDED');
    expect(world.aws.startedTasks).toHaveLength(2);
    expect(world.aws.stopRequests.map((s) => s.task)).toEqual([world.aws.startedTasks[0]]);
    expect(r.output.attempts.earlier).toContain(
      `attempt 1: task ${world.aws.startedTasks[0]} on unknown, exit code null, stop code TaskFailedToStart: retried`,
    );
    expect(alerts()).toEqual([]);
  });

  test('a retry policy without TaskFailedToStart does not retry a start timeout: could_not_start after one attempt', async () => {
    world.aws.watch = 'stuck-pending';
    const r = await runScenario(world.db, world.aws, { batch: { ...startTimeout, ...retryOn({ exitCodes: [75] }) } });

    expect(r.error).toBe('BatchRunner.StartTimedOut');
    expect(world.aws.startedTasks).toHaveLength(1);
    expect(r.statesEntered).toContain('NoteEarlierAttempts');
    expect(alerts()).toHaveLength(1);
  });
});
