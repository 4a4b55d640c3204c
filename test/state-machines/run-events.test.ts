import Ajv2020 from 'ajv/dist/2020';
import {
  RUN_EVENT_DETAIL_SCHEMAS,
  RUN_EVENT_DETAIL_TYPES,
  RUN_EVENT_SOURCE,
  type RunEventDetailType,
} from '../../state-machines/run-events';
import { capacityFailure, FAMILY } from '../fixtures/ecs-payloads';
import {
  executionArn,
  holdLock,
  runScenario,
  type ScenarioResult,
  scheduledInput,
  ScriptedAws,
  useScenarioWorld,
} from '../support/asl-harness';

/**
 * The run lifecycle events the real ASL puts on EventBridge (events:putEvents, optimized integration),
 * checked against the JSON Schemas of state-machines/run-events.ts with Ajv, on every path: started,
 * succeeded, skipped, failed, timed out, could not start, invalid input; and a bus that refuses every
 * entry changes nothing else of the run.
 */

const BUS = 'default';
const ajv = new Ajv2020({ allErrors: true, strict: true });
const validators = Object.fromEntries(
  Object.entries(RUN_EVENT_DETAIL_SCHEMAS).map(([type, schema]) => [type, ajv.compile(schema)]),
);

/** The events of a run, each checked against its schema: [detail-type, detail]. */
function eventsOf(aws: ScriptedAws): Array<[RunEventDetailType, Record<string, any>]> {
  return aws.busEvents.map((entry) => {
    expect(entry).toMatchObject({ EventBusName: BUS, Source: RUN_EVENT_SOURCE });
    expect(Object.values(RUN_EVENT_DETAIL_TYPES)).toContain(entry.DetailType);
    const validate = validators[entry.DetailType];
    // The optimized integration takes Detail as a JSON object and serializes it.
    const detail: Record<string, any> = JSON.parse(JSON.stringify(entry.Detail));
    if (!validate(detail))
      throw new Error(`${entry.DetailType}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(detail)}`);
    return [entry.DetailType, detail];
  });
}

const world = useScenarioWorld();

const order = (r: ScenarioResult, state: string) => r.calls.findIndex((c) => c.state === state);

describe('lifecycle events on EventBridge', () => {
  test('a scheduled run that succeeds: Started after RunTask, Succeeded after the lock is released', async () => {
    const input = scheduledInput();
    const r = await runScenario(world.db, world.aws, { input, name: 'EventsHappy' });

    expect(r.output.outcome).toBe('succeeded');
    const events = eventsOf(world.aws);
    expect(events.map(([type]) => type)).toEqual(['Batch Run Started', 'Batch Run Succeeded']);
    const [[, started], [, succeeded]] = events;
    expect(started).toEqual({
      schemaVersion: '1',
      batch: FAMILY,
      executionArn: executionArn('EventsHappy'),
      outcome: 'started',
      run: {
        trigger: 'schedule',
        scheduledTime: input.scheduledTime,
        reason: 'scheduled run',
        requestedBy: 'EventBridge Scheduler',
        overrides: {},
      },
      task: { taskArn: world.aws.startedTasks[0] },
      startAttempt: 0,
    });
    expect(succeeded).toMatchObject({
      outcome: 'succeeded',
      task: { taskArn: world.aws.startedTasks[0], exitCode: 0 },
    });
    expect(order(r, 'PublishStartedEvent')).toBeGreaterThan(order(r, 'StartBatchTask'));
    expect(order(r, 'PublishStartedEvent')).toBeLessThan(order(r, 'WaitForTaskToStop'));
    expect(order(r, 'PublishSucceededEvent')).toBeGreaterThan(order(r, 'ReleaseLock'));
    // The output is the outcome, as before the event states existed.
    expect(Object.keys(r.output).sort()).toEqual(['attempts', 'error', 'lockRelease', 'outcome', 'reason', 'task']);
  });

  test('a success with a durationGuards notice: the Succeeded event carries the run time and the notice (schema-valid)', async () => {
    world.aws.watch = { exitCode: 0, runSeconds: 2 };
    const r = await runScenario(world.db, world.aws, { batch: { durationGuards: { minDurationSeconds: 30 } } });

    expect(r.output.outcome).toBe('succeeded');
    const succeeded = eventsOf(world.aws).find(([type]) => type === 'Batch Run Succeeded')![1];
    expect(succeeded.task).toMatchObject({ durationSeconds: 2, durationNotice: { kind: 'tooShort' } });
    expect(order(r, 'PublishSucceededEvent')).toBeGreaterThan(order(r, 'NotifyDuration'));
  });

  test('a skip says why and who holds the lock; with skipNotification none too', async () => {
    const holder = executionArn('LiveHolder');
    await holdLock(world.db, holder);
    world.aws.executions.set(holder, 'RUNNING');
    const r = await runScenario(world.db, world.aws, { input: { trigger: 'cli', requestedBy: 'alice' } });
    expect(r.output.outcome).toBe('skipped');
    const [[type, skipped]] = eventsOf(world.aws);
    expect(type).toBe('Batch Run Skipped');
    expect(skipped).toMatchObject({
      outcome: 'skipped',
      details: { lockHolder: holder },
      run: { trigger: 'cli', requestedBy: 'alice' },
    });
    expect(skipped.reason).toContain(holder);

    world.aws.busEvents.length = 0;
    const quiet = await runScenario(world.db, world.aws, { input: {}, batch: { skipNotification: 'none' } });
    expect(quiet.statesEntered).not.toContain('NotifySkipped');
    expect(eventsOf(world.aws).map(([t]) => t)).toEqual(['Batch Run Skipped']);
  });

  test('a non-zero exit: Started, then Failed after the alert, with the error and the task', async () => {
    world.aws.watch = { exitCode: 2 };
    const r = await runScenario(world.db, world.aws);
    expect(r.status).toBe('FAILED');
    const events = eventsOf(world.aws);
    expect(events.map(([t]) => t)).toEqual(['Batch Run Started', 'Batch Run Failed']);
    expect(events[1][1]).toMatchObject({
      outcome: 'failed',
      error: 'BatchRunner.TaskFailed',
      taskMayStillRun: false,
      lockRelease: 'released',
    });
    expect(order(r, 'PublishFailedEvent')).toBeGreaterThan(order(r, 'PublishFailureAlert'));
  });

  test('the hard timeout: Failed with outcome timed_out', async () => {
    world.aws.watch = 'hang';
    const r = await runScenario(world.db, world.aws, {
      substitutions: { WaitChunkSeconds: '1', WaitChunkCount: '1', HardTimeoutSeconds: '1' },
    });
    expect(r.error).toBe('BatchRunner.TimedOut');
    expect(eventsOf(world.aws).map(([t, d]) => `${t}/${d.outcome}`)).toEqual([
      'Batch Run Started/started',
      'Batch Run Failed/timed_out',
    ]);
  });

  test('could not start (capacity): no Started event, Failed with outcome could_not_start', async () => {
    world.aws.runTaskAnswers = [
      capacityFailure(),
      capacityFailure(),
      capacityFailure(),
      capacityFailure('RESOURCE:CPU'),
    ];
    const r = await runScenario(world.db, world.aws, { substitutions: { WaitChunkSeconds: '1' } });
    expect(r.error).toBe('BatchRunner.CouldNotStart');
    expect(r.statesEntered.filter((s) => s === 'IsTaskStarted')).toHaveLength(4);
    expect(eventsOf(world.aws).map(([t, d]) => `${t}/${d.outcome}`)).toEqual(['Batch Run Failed/could_not_start']);
  });

  test('invalid input: Failed with outcome invalid_input, nothing started', async () => {
    const r = await runScenario(world.db, world.aws, { input: { reason: '' } });
    expect(r.error).toBe('BatchRunner.InvalidInput');
    expect(eventsOf(world.aws).map(([t, d]) => `${t}/${d.outcome}`)).toEqual(['Batch Run Failed/invalid_input']);
  });

  test('a bus that answers FailedEntryCount > 0 once: the event is put again (Retry on EventBridge.FailedEntry)', async () => {
    world.aws.putEventsAnswers = ['failed-entry'];
    const r = await runScenario(world.db, world.aws);
    expect(r.calls.filter((c) => c.state === 'PublishStartedEvent').map((c) => c.error?.name)).toEqual([
      'EventBridge.FailedEntry',
      undefined,
    ]);
    expect(eventsOf(world.aws).map(([t]) => t)).toEqual(['Batch Run Started', 'Batch Run Succeeded']);
  });

  test.each([
    ['success', () => undefined, 'SUCCEEDED', 'succeeded'],
    ['failure', () => (world.aws.watch = { exitCode: 2 }), 'FAILED', undefined],
    [
      'skip',
      () => (world.aws.listTasksAnswers = [['arn:aws:ecs:ap-northeast-1:123456789012:task/batch-runner/0b1c']]),
      'SUCCEEDED',
      'skipped',
    ],
  ])(
    'a bus that refuses every entry never changes the run (%s): same outcome, lock, alerts',
    async (_label, setup, status, outcome) => {
      setup();
      world.aws.putEventsAnswers = Array(20).fill('failed-entry');
      const r = await runScenario(world.db, world.aws);
      expect(r.status).toBe(status);
      if (outcome) expect(r.output.outcome).toBe(outcome);
      expect(world.aws.busEvents).toEqual([]);
      expect(r.lockItem).toBeUndefined();
      // Each event state tried 3 times (2 retries), then went on.
      const publishStates = [
        ...new Set(r.calls.filter((c) => c.resource.endsWith('events:putEvents')).map((c) => c.state)),
      ];
      for (const state of publishStates)
        expect(r.calls.filter((c) => c.state === state).map((c) => c.error?.name)).toEqual(
          Array(3).fill('EventBridge.FailedEntry'),
        );
      expect(publishStates.length).toBeGreaterThan(0);
      expect(world.aws.published.filter((p) => p.MessageAttributes.severity.StringValue === 'alert')).toHaveLength(
        status === 'FAILED' ? 1 : 0,
      );
    },
  );
});
