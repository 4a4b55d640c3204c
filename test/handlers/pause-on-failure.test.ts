import 'aws-sdk-client-mock-jest';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import {
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import {
  DescribeExecutionCommand,
  type ExecutionStatus,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { handleReconcilerEvent, mayCompleteStreak, type ReconcilerDeps } from '../../handlers/cleanup';
import { awsWorld } from '../../handlers/lib/aws-world';
import { listOwedAlerts } from '../../handlers/lib/owed-alerts';
import { PAUSE_INPUT_KEY, thresholdOf, weighRun } from '../../handlers/lib/pause-on-failure';
import { readPauseRecord, recordResume } from '../../handlers/lib/pause-record';
import { type EmbeddedDynamoDb, ensureLockTable, startEmbeddedDynamoDb } from '../../local/lock-store';
import { expectDocumentedLogLines } from '../support/documented-logs';
import { recordingClientFor, SdkCallRecorder } from '../support/sdk-calls';
import {
  ACCOUNT,
  BATCH,
  CLUSTER_ARN,
  executionArn,
  executionStatusChange,
  REGION,
  STATE_MACHINE_ARN,
} from './fixtures/events';

/**
 * `pauseAfterConsecutiveFailures` (handlers/lib/pause-on-failure.ts) through the reconciler's entry
 * points: Step Functions, Scheduler and SNS mocked in their wire shapes (aws-sdk-client-mock), the lock
 * table real in dynalite. The batch's history is a list of executions, newest first, as ListExecutions
 * returns it; DescribeExecution answers each one's input, output and error.
 */

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const ecs = new ECSClient({ region: REGION, credentials });
const sfn = new SFNClient({ region: REGION, credentials });
const sns = new SNSClient({ region: REGION, credentials });
const scheduler = new SchedulerClient({ region: REGION, credentials });
const ecsMock = mockClient(ecs);
const sfnMock = mockClient(sfn);
const snsMock = mockClient(sns);
const schedulerMock = mockClient(scheduler);
const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:batch-runner-alerts`;
const NOW = Date.parse('2026-12-01T21:00:00.000Z');
const HOUR = 3_600_000;

/**
 * GetSchedule's answer for the batch's schedule, every field the Scheduler API reference lists for
 * GetSchedule's response, with the values ScheduledBatch deploys.
 */
const SCHEDULE: GetScheduleCommandOutput = {
  $metadata: {},
  ActionAfterCompletion: 'NONE',
  Arn: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/batch-runner/batch-runner-${BATCH}`,
  CreationDate: new Date('2026-11-01T00:00:00Z'),
  Description: `${BATCH}: cron(0 8 * * ? *) Asia/Tokyo`,
  EndDate: new Date('2027-12-31T00:00:00Z'),
  FlexibleTimeWindow: { Mode: 'OFF' },
  GroupName: 'batch-runner',
  KmsKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/0f1e2d3c-4b5a-6978-8899-aabbccddeeff`,
  LastModificationDate: new Date('2026-11-20T00:00:00Z'),
  Name: `batch-runner-${BATCH}`,
  ScheduleExpression: 'cron(0 8 * * ? *)',
  ScheduleExpressionTimezone: 'Asia/Tokyo',
  StartDate: new Date('2026-11-01T00:00:00Z'),
  State: 'ENABLED',
  Target: {
    Arn: STATE_MACHINE_ARN,
    RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch-runner-scheduler/Batches-MissingImagesSchedulerRole-1AB2C3D4E5F6`,
    Input: '{"trigger":"schedule","scheduledTime":"<aws.scheduler.scheduled-time>"}',
    RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 10 },
    DeadLetterConfig: { Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:batch-runner-schedule-dlq` },
  },
};

interface Run {
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly trigger?: string;
  /** The Succeed state's output outcome (`succeeded`, `skipped`). */
  readonly outcome?: string;
  readonly error?: string;
  /** Hours before NOW. */
  readonly hoursAgo: number;
  /** N in the schedule's input (what the batch's deployed schedule sends); absent: not set. */
  readonly pauseAfter?: number;
}

let db: EmbeddedDynamoDb;
let handlerDb: DynamoDBClient;
const calls = new SdkCallRecorder('cleanup');
let table: string;
let n = 0;
let clock: number;
/** The batch's executions, newest first. */
let runs: Run[];
let scheduleState: 'ENABLED' | 'DISABLED';

const scheduled = (name: string, hoursAgo: number, status: ExecutionStatus = 'FAILED', extra: Partial<Run> = {}) => ({
  name,
  status,
  trigger: 'schedule',
  error: status === 'FAILED' ? 'BatchRunner.TaskFailed' : undefined,
  outcome: status === 'SUCCEEDED' ? 'succeeded' : undefined,
  hoursAgo,
  pauseAfter: 3,
  ...extra,
});

function deps(withScheduler = true): ReconcilerDeps {
  return {
    world: awsWorld({ ecs, sfn, sns, scheduler: withScheduler ? scheduler : undefined }, TOPIC_ARN, 'batch-runner'),
    dynamodb: handlerDb,
    config: {
      lockTableName: table,
      namePrefix: 'batch-runner',
      clusterArns: [CLUSTER_ARN],
      stopConfirmSeconds: 0,
      pollIntervalMs: 5000,
      inFlightGraceMs: 0,
    },
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
    },
  };
}

/** The input a run was started with (the schedule's: trigger, slot and, when the batch sets it, N). */
const inputOf = (r: Run) =>
  r.trigger === undefined
    ? {}
    : r.trigger === 'schedule'
      ? {
          trigger: 'schedule',
          scheduledTime: '2026-12-01T21:00:00Z',
          ...(r.pauseAfter ? { pauseAfter: r.pauseAfter } : {}),
        }
      : { trigger: r.trigger };
/** The status event of the newest run (FAILED), as the reconciler receives it. */
const failedEvent = (run = runs[0]) =>
  executionStatusChange({ name: run.name, status: 'FAILED', input: inputOf(run), error: 'BatchRunner.TaskFailed' });
const onFailure = (d = deps()) => handleReconcilerEvent(failedEvent(), d) as Promise<{ pause?: any }>;
const published = () => snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input);
const pauseAlerts = () => published().filter((p) => p.Subject === `[batch-runner] ${BATCH} paused`);

beforeAll(async () => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  db = await startEmbeddedDynamoDb();
  handlerDb = calls.recordDynamoDb(recordingClientFor(db.endpoint));
});
afterEach(() => {
  calls.takeMockCalls('ecs', ecsMock);
  calls.takeMockCalls('states', sfnMock);
  calls.takeMockCalls('sns', snsMock);
  calls.takeMockCalls('scheduler', schedulerMock);
});
// Every line the functions logged is one the README's "Log lines" table documents.
afterEach(expectDocumentedLogLines);
afterAll(async () => {
  handlerDb.destroy();
  await db.close();
  // Every call the reconciler made is declared for the IAM contract test (test/contracts/handler-calls.json).
  expect(calls.undeclared()).toEqual([]);
});
beforeEach(async () => {
  n += 1;
  table = `pause-${n}`;
  await ensureLockTable(db.client, table);
  clock = NOW;
  runs = [];
  scheduleState = 'ENABLED';
  for (const m of [ecsMock, sfnMock, snsMock, schedulerMock]) m.reset();
  ecsMock.on(ListTasksCommand).resolves({ taskArns: [] });
  sfnMock.on(ListStateMachinesCommand).resolves({
    stateMachines: [
      {
        name: `batch-runner-${BATCH}`,
        stateMachineArn: STATE_MACHINE_ARN,
        type: 'STANDARD',
        creationDate: new Date('2026-11-01T00:00:00Z'),
      },
    ],
  });
  sfnMock.on(ListExecutionsCommand).callsFake((input) => {
    expect(input.stateMachineArn).toBe(STATE_MACHINE_ARN);
    const listed = runs
      .filter((r) => input.statusFilter === undefined || r.status === input.statusFilter)
      .slice(0, input.maxResults ?? 100);
    return {
      executions: listed.map((r) => ({
        executionArn: executionArn(r.name),
        stateMachineArn: STATE_MACHINE_ARN,
        name: r.name,
        status: r.status,
        startDate: new Date(NOW - r.hoursAgo * HOUR),
        ...(r.status !== 'RUNNING' ? { stopDate: new Date(NOW - r.hoursAgo * HOUR + 600_000) } : {}),
      })),
    };
  });
  sfnMock.on(DescribeExecutionCommand).callsFake((input) => {
    const r = runs.find((x) => executionArn(x.name) === input.executionArn);
    if (!r) throw Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' });
    return {
      executionArn: input.executionArn,
      stateMachineArn: STATE_MACHINE_ARN,
      name: r.name,
      status: r.status,
      startDate: new Date(NOW - r.hoursAgo * HOUR),
      input: JSON.stringify(inputOf(r)),
      ...(r.status === 'SUCCEEDED' ? { output: JSON.stringify({ outcome: r.outcome, batch: BATCH }) } : {}),
      ...(r.error ? { error: r.error, cause: 'Essential container in task exited (exit code 1)' } : {}),
      ...(r.status !== 'RUNNING' ? { stopDate: new Date(NOW - r.hoursAgo * HOUR + 600_000) } : {}),
    };
  });
  schedulerMock.on(GetScheduleCommand).callsFake(() => ({ ...SCHEDULE, State: scheduleState }));
  schedulerMock.on(UpdateScheduleCommand).callsFake((input) => {
    scheduleState = input.State;
    return { ScheduleArn: SCHEDULE.Arn };
  });
  snsMock.on(PublishCommand).resolves({ MessageId: '6f1c2d3e-4b5a-5c6d-8e7f-901a2b3c4d5e' });
});

describe('pauseAfterConsecutiveFailures: the schedule is disabled after N failed runs in a row, with one alert', () => {
  test('three scheduled runs failed: the schedule is disabled, the pause recorded, one alert says how to resume', async () => {
    runs = [scheduled('f3', 1), scheduled('f2', 25), scheduled('f1', 49), scheduled('ok', 73, 'SUCCEEDED')];

    const report = await onFailure();

    expect(report.pause).toMatchObject({
      result: 'paused',
      failures: [executionArn('f3'), executionArn('f2'), executionArn('f1')],
      alert: 'sent',
    });
    expect(schedulerMock).toHaveReceivedCommandTimes(UpdateScheduleCommand, 1);
    expect(scheduleState).toBe('DISABLED');
    expect(await readPauseRecord(db.client, table, BATCH)).toEqual({
      pausedAtMs: NOW,
      failures: 3,
      executions: [executionArn('f3'), executionArn('f2'), executionArn('f1')],
      resumedAtMs: undefined,
    });
    const [alert] = pauseAlerts();
    expect(pauseAlerts()).toHaveLength(1);
    expect(alert.Message).toContain(`Batch ${BATCH}: schedule paused after 3 failed runs in a row`);
    expect(alert.Message).toContain(`batch-runner-${BATCH} (group batch-runner)`);
    for (const name of ['f3', 'f2', 'f1']) expect(alert.Message).toContain(`${executionArn(name)} (FAILED`);
    expect(alert.Message).not.toContain(executionArn('ok'));
    expect(alert.Message).toContain(`npx batch-runner resume ${BATCH}`);
    expect(alert.Message).toContain('A cdk deploy that changes the schedule also re-enables it.');
    expect(alert.MessageAttributes).toMatchObject({
      batch: { StringValue: BATCH },
      outcome: { StringValue: 'paused' },
      source: { StringValue: 'reconciler' },
    });
    // The alert is an owed-alert record like any other: delivered, never sent again.
    const records = (await listOwedAlerts(db.client, table)).filter((a) => a.outcome === 'paused');
    expect(records).toEqual([]);
  });

  test('UpdateSchedule sends back every field GetSchedule returned, with only State changed', async () => {
    runs = [scheduled('f3', 1), scheduled('f2', 25), scheduled('f1', 49)];
    await onFailure();
    const { $metadata: _m, Arn: _a, CreationDate: _c, LastModificationDate: _l, ...fields } = SCHEDULE;
    expect(schedulerMock.commandCalls(UpdateScheduleCommand)[0].args[0].input).toEqual({
      ...fields,
      State: 'DISABLED',
    });
  });

  test('a second pass, a repeated event and the sweep send nothing more and do not touch the schedule again', async () => {
    runs = [scheduled('f3', 1), scheduled('f2', 25), scheduled('f1', 49)];
    await onFailure();
    clock += 60_000;
    expect((await onFailure()).pause).toMatchObject({ result: 'below threshold', failures: 0 });
    const pass = (await handleReconcilerEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, deps())) as {
      pauses: Record<string, any>;
    };
    expect(pass.pauses[BATCH]).toMatchObject({ result: 'below threshold', failures: 0 });
    expect(pauseAlerts()).toHaveLength(1);
    expect(schedulerMock).toHaveReceivedCommandTimes(UpdateScheduleCommand, 1);
  });

  test('re-enabled without resume (a cdk deploy): the failures before the pause never count again', async () => {
    runs = [scheduled('f3', 1), scheduled('f2', 25), scheduled('f1', 49)];
    await onFailure();
    scheduleState = 'ENABLED';
    clock += 2 * HOUR;
    runs = [scheduled('f4', -1), ...runs];
    expect((await onFailure()).pause).toMatchObject({ result: 'below threshold', failures: 1 });
    expect(scheduleState).toBe('ENABLED');
    expect(pauseAlerts()).toHaveLength(1);
  });

  test('fewer than N failures: nothing happens; the Nth failure pauses', async () => {
    runs = [scheduled('f2', 1), scheduled('f1', 25), scheduled('ok', 49, 'SUCCEEDED')];
    expect((await onFailure()).pause).toMatchObject({ result: 'below threshold', failures: 2, threshold: 3 });
    expect(schedulerMock).not.toHaveReceivedCommand(GetScheduleCommand);
    runs = [scheduled('f3', 0.5), ...runs];
    expect((await onFailure()).pause).toMatchObject({ result: 'paused' });
  });

  test('a success in between resets the streak', async () => {
    runs = [scheduled('f3', 1), scheduled('f2', 25), scheduled('ok', 49, 'SUCCEEDED'), scheduled('f1', 73)];
    expect((await onFailure()).pause).toMatchObject({ result: 'below threshold', failures: 2 });
    expect(schedulerMock).not.toHaveReceivedCommand(UpdateScheduleCommand);
    // Only the failed run's own alert went out.
    expect(published().map((p) => p.Subject)).toEqual([`[batch-runner] ${BATCH} failed`]);
  });

  test('skipped, manual, invalid-input, aborted and running runs neither count nor reset', async () => {
    runs = [
      scheduled('running', 0.1, 'RUNNING'),
      scheduled('f3', 1),
      scheduled('skipped', 2, 'SUCCEEDED', { outcome: 'skipped' }),
      scheduled('manual-ok', 3, 'SUCCEEDED', { trigger: 'cli' }),
      scheduled('console-fail', 4, 'FAILED', { trigger: undefined }),
      scheduled('invalid', 5, 'FAILED', { trigger: 'schedule', error: 'BatchRunner.InvalidInput' }),
      scheduled('stopped-by-hand', 6, 'ABORTED'),
      scheduled('f2', 25, 'TIMED_OUT'),
      scheduled('manual-fail', 26, 'FAILED', { trigger: 'cli' }),
      scheduled('f1', 49),
      scheduled('ok', 73, 'SUCCEEDED'),
    ];
    const report = await onFailure();
    expect(report.pause).toMatchObject({
      result: 'paused',
      failures: [executionArn('f3'), executionArn('f2'), executionArn('f1')],
    });
    // Without the skipped/manual/aborted runs in between, the same streak would pause too: they changed nothing.
    expect(pauseAlerts()[0].Message).toContain(`${executionArn('f2')} (TIMED_OUT`);
  });

  test('a run started by a dependency neither counts nor resets: a dependent batch has no schedule to pause', () => {
    expect(weighRun({ status: 'FAILED', input: '{"trigger":"dependency"}', error: 'BatchRunner.TaskFailed' })).toBe(
      'neutral',
    );
    expect(
      weighRun({ status: 'SUCCEEDED', input: '{"trigger":"dependency"}', output: '{"outcome":"succeeded"}' }),
    ).toBe('neutral');
    expect(weighRun({ status: 'FAILED', input: '{"trigger":"schedule"}', error: 'BatchRunner.TaskFailed' })).toBe(
      'failure',
    );
    expect(weighRun({ status: 'FAILED', input: '{"trigger":"console"}' })).toBe('neutral');
    expect(weighRun({ status: 'SUCCEEDED', input: 'not json', output: '{"outcome":"succeeded"}' })).toBe('neutral');
  });

  test.each([
    ['FAILED', undefined, undefined, 'failure'],
    ['TIMED_OUT', undefined, undefined, 'failure'],
    ['PENDING_REDRIVE', 'BatchRunner.TaskFailed', undefined, 'failure'],
    ['FAILED', 'BatchRunner.InvalidInput', undefined, 'neutral'],
    ['TIMED_OUT', 'BatchRunner.InvalidInput', undefined, 'neutral'],
    ['SUCCEEDED', undefined, '{"outcome":"succeeded"}', 'success'],
    ['SUCCEEDED', undefined, '{"outcome":"skipped"}', 'neutral'],
    ['SUCCEEDED', undefined, null, 'neutral'],
    ['SUCCEEDED', undefined, 'not json', 'neutral'],
    ['ABORTED', undefined, undefined, 'neutral'],
    ['RUNNING', undefined, undefined, 'neutral'],
    ['MISSING', undefined, undefined, 'neutral'],
  ] as const)('a scheduled run %s (error %s, output %s) weighs %s', (status, error, output, weight) => {
    expect(weighRun({ status, input: '{"trigger":"schedule"}', error, output })).toBe(weight);
  });

  test.each([
    [{ [PAUSE_INPUT_KEY]: 3 }, 3],
    [{ [PAUSE_INPUT_KEY]: 1 }, 1],
    [{ [PAUSE_INPUT_KEY]: 0 }, undefined],
    [{ [PAUSE_INPUT_KEY]: -2 }, undefined],
    [{ [PAUSE_INPUT_KEY]: 2.5 }, undefined],
    [{ [PAUSE_INPUT_KEY]: '3' }, undefined],
    [{}, undefined],
    [null, undefined],
  ])('the threshold a run`s input %j carries: %s', (input, threshold) => {
    expect(thresholdOf(JSON.stringify(input))).toBe(threshold);
  });

  test('an input that is not JSON, or none, carries no threshold', () => {
    expect(thresholdOf('{"trigger":')).toBeUndefined();
    expect(thresholdOf(undefined)).toBeUndefined();
    expect(thresholdOf(null)).toBeUndefined();
  });

  test('a schedule already DISABLED (paused by an operator) is left alone, and nothing is sent', async () => {
    scheduleState = 'DISABLED';
    runs = [scheduled('f3', 1), scheduled('f2', 25), scheduled('f1', 49)];
    expect((await onFailure()).pause).toMatchObject({ result: 'schedule not enabled', schedule: 'DISABLED' });
    expect(schedulerMock).not.toHaveReceivedCommand(UpdateScheduleCommand);
    expect(published().map((p) => p.Subject)).toEqual([`[batch-runner] ${BATCH} failed`]);
    expect(await listOwedAlerts(db.client, table)).toEqual([]);
    expect(await readPauseRecord(db.client, table, BATCH)).toBeUndefined();
  });

  test('after resume, the failures before it no longer count', async () => {
    runs = [scheduled('f3', 1), scheduled('f2', 25), scheduled('f1', 49)];
    await onFailure();
    // The operator fixes the cause and resumes (the CLI records the time, then enables).
    clock += HOUR;
    await recordResume(db.client, table, BATCH, clock);
    scheduleState = 'ENABLED';
    // Two failures after the resume: below 3, even though five failed in a row.
    runs = [scheduled('f5', -2), scheduled('f4', -1.5), ...runs];
    expect((await onFailure()).pause).toMatchObject({ result: 'below threshold', failures: 2 });
    expect(scheduleState).toBe('ENABLED');
    // The third failure after the resume pauses again, with a new alert naming only the new streak.
    runs = [scheduled('f6', -3), ...runs];
    clock += 4 * HOUR;
    expect((await onFailure()).pause).toMatchObject({
      result: 'paused',
      failures: [executionArn('f6'), executionArn('f5'), executionArn('f4')],
    });
    expect(pauseAlerts()).toHaveLength(2);
    expect(pauseAlerts()[1].Message).not.toContain(executionArn('f3'));
  });

  test('a resume of a schedule an operator paused by hand forgives the failures before it', async () => {
    runs = [scheduled('f3', 0.25), scheduled('f2', 25), scheduled('f1', 49)];
    await recordResume(db.client, table, BATCH, NOW - 30 * 60_000);
    expect((await onFailure()).pause).toMatchObject({ result: 'below threshold', failures: 1 });
  });

  test('the event lost: the sweep of the scheduled pass finds the failed run and pauses', async () => {
    runs = [scheduled('f3', 1), scheduled('f2', 25), scheduled('f1', 49)];
    const pass = (await handleReconcilerEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, deps())) as {
      pauses: Record<string, any>;
    };
    expect(pass.pauses[BATCH]).toMatchObject({ result: 'paused' });
    expect(pauseAlerts()).toHaveLength(1);
  });

  test('SNS down: the pause alert stays owed and is delivered by a later pass, once', async () => {
    runs = [scheduled('f3', 1), scheduled('f2', 25), scheduled('f1', 49)];
    snsMock.on(PublishCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    expect((await onFailure()).pause).toMatchObject({ result: 'paused', alert: 'owed: publish failed' });
    expect(scheduleState).toBe('DISABLED');
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-2' });
    clock += 10 * 60_000;
    await handleReconcilerEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, deps());
    clock += 10 * 60_000;
    await handleReconcilerEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, deps());
    // One failed attempt, one delivery, nothing after.
    expect(pauseAlerts()).toHaveLength(2);
  });

  test('a disable that fails owes no alert (it would say the schedule is paused while it runs); the next check pauses and alerts once', async () => {
    runs = [scheduled('f3', 1), scheduled('f2', 25), scheduled('f1', 49)];
    schedulerMock
      .on(UpdateScheduleCommand)
      .rejectsOnce(
        Object.assign(new Error('not authorized to perform iam:PassRole'), { name: 'AccessDeniedException' }),
      );
    expect((await onFailure()).pause).toEqual({
      result: 'error',
      error: 'AccessDeniedException: not authorized to perform iam:PassRole',
    });
    expect(scheduleState).toBe('ENABLED');
    expect(await listOwedAlerts(db.client, table)).toEqual([]);
    expect(pauseAlerts()).toHaveLength(0);
    // The next pass (the refusal was once) pauses and alerts; the one after sends nothing more.
    schedulerMock.on(UpdateScheduleCommand).callsFake((input) => {
      scheduleState = input.State;
      return { ScheduleArn: SCHEDULE.Arn };
    });
    clock += 10 * 60_000;
    await handleReconcilerEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, deps());
    expect(scheduleState).toBe('DISABLED');
    clock += 10 * 60_000;
    await handleReconcilerEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, deps());
    expect(pauseAlerts()).toHaveLength(1);
  });

  test('a batch without the setting is never checked; the local mode (no scheduler) does nothing and says so', async () => {
    runs = [scheduled('f3', 1), scheduled('f2', 25), scheduled('f1', 49)].map((r) => ({ ...r, pauseAfter: undefined }));
    expect((await onFailure()).pause).toBeUndefined();
    const pass = (await handleReconcilerEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, deps())) as {
      pauses: Record<string, any>;
    };
    expect(pass.pauses).toEqual({});
    expect(schedulerMock).not.toHaveReceivedCommand(GetScheduleCommand);

    runs = [scheduled('f3', 1), scheduled('f2', 25), scheduled('f1', 49)];
    const lines: string[] = [];
    const local = { ...deps(false), writeLine: (l: string) => lines.push(l) };
    expect((await onFailure(local)).pause).toEqual({ result: 'no scheduler' });
    expect(lines.join('\n')).toContain('no schedule to pause here (local mode)');
    expect(schedulerMock).not.toHaveReceivedCommand(GetScheduleCommand);
  });

  test('N is what the newest scheduled run carries: the option removed (or changed) takes effect with the next scheduled run', async () => {
    // Deployed without the option since f3: the older runs' N no longer applies.
    runs = [scheduled('f3', 1, 'FAILED', { pauseAfter: undefined }), scheduled('f2', 25), scheduled('f1', 49)];
    const pass = (await handleReconcilerEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, deps())) as {
      pauses: Record<string, any>;
    };
    expect(pass.pauses).toEqual({});
    // Raised to 5: three failures no longer pause.
    runs = [scheduled('f3', 1, 'FAILED', { pauseAfter: 5 }), scheduled('f2', 25), scheduled('f1', 49)];
    expect((await onFailure()).pause).toMatchObject({ result: 'below threshold', failures: 3, threshold: 5 });
    // Lowered to 1: one failure pauses.
    runs = [scheduled('f3', 1, 'FAILED', { pauseAfter: 1 }), scheduled('ok', 25, 'SUCCEEDED')];
    expect((await onFailure()).pause).toMatchObject({ result: 'paused', failures: [executionArn('f3')] });
  });

  test('which ended runs start a check: scheduled runs carrying N only (not dependency runs)', () => {
    expect(mayCompleteStreak('{"trigger":"schedule","scheduledTime":"2026-12-01T21:00:00Z","pauseAfter":3}')).toBe(
      true,
    );
    expect(mayCompleteStreak('{"trigger":"schedule","scheduledTime":"2026-12-01T21:00:00Z"}')).toBe(false);
    expect(mayCompleteStreak('{"trigger":"dependency"}')).toBe(false);
    expect(mayCompleteStreak('{"trigger":"cli","pauseAfter":3}')).toBe(false);
    expect(mayCompleteStreak('{}')).toBe(false);
    expect(mayCompleteStreak('not json')).toBe(false);
    expect(mayCompleteStreak('null')).toBe(false);
    expect(mayCompleteStreak(null)).toBe(false);
    expect(mayCompleteStreak(undefined)).toBe(false);
  });

  test('an aborted run (stopped by hand) triggers no check', async () => {
    runs = [scheduled('f3', 1), scheduled('f2', 25), scheduled('f1', 49)];
    const event = executionStatusChange({ name: 'f3', status: 'ABORTED', input: inputOf(runs[0]) });
    expect(((await handleReconcilerEvent(event, deps())) as { pause?: unknown }).pause).toBeUndefined();
  });
});
