import 'aws-sdk-client-mock-jest';
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeTasksCommand, ECSClient, ListTasksCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { positiveNumber, handler as reconcilerHandler } from '../../handlers/cleanup';
import { handler as watcherHandler } from '../../handlers/task-watcher';
import { BATCH_TAG_KEY } from '../../config/naming';
import { expectDocumentedLogLines } from '../support/documented-logs';
import { ACCOUNT, REGION } from './fixtures/events';

/**
 * The two Lambda entry points as Lambda calls them: configured only by the environment the CDK
 * construct sets (infra/batch-runner.ts), with the SDK clients they create themselves. The clients'
 * classes are mocked (aws-sdk-client-mock mocks every instance), so what is checked is that each
 * variable reaches the call it is for, and that a function deployed without one says which.
 */

const ddb = mockClient(DynamoDBClient);
const ecs = mockClient(ECSClient);
const sfn = mockClient(SFNClient);
const sns = mockClient(SNSClient);
// No test here reaches Scheduler; mocked so that none could reach AWS.
const scheduler = mockClient(SchedulerClient);

const CLUSTERS = [
  `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/batch-runner`,
  `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/imports`,
];
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:acme-alerts`;
const ENV = {
  LOCK_TABLE_NAME: 'acme-locks',
  ALERT_TOPIC_ARN: TOPIC,
  NAME_PREFIX: 'acme',
  STOP_CONFIRM_SECONDS: '180',
  CLUSTER_ARNS: CLUSTERS.join(','),
  AWS_REGION: REGION,
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
};
const saved = { ...process.env };
const scheduledEvent = { source: 'aws.events', 'detail-type': 'Scheduled Event' } as const;

beforeEach(() => {
  Object.assign(process.env, ENV);
  for (const m of [ddb, ecs, sfn, sns, scheduler]) m.reset();
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  ddb.on(ScanCommand).resolves({ Items: [] });
  ddb.on(GetItemCommand).resolves({});
  ddb.on(PutItemCommand).resolves({});
  ecs.on(ListTasksCommand).resolves({ taskArns: [] });
  sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [] });
  sfn.on(ListExecutionsCommand).resolves({ executions: [] });
  sns.on(PublishCommand).resolves({ MessageId: '6f1c2d3e-4b5a-5c6d-8e7f-901a2b3c4d5e' });
});
afterEach(() => {
  expectDocumentedLogLines();
  process.env = { ...saved };
  jest.restoreAllMocks();
});

describe('the reconciler`s entry (handlers/cleanup.ts handler)', () => {
  test('a scheduled pass lists tasks on every cluster of CLUSTER_ARNS and reads the table LOCK_TABLE_NAME', async () => {
    const result = (await reconcilerHandler(scheduledEvent)) as { errors: unknown[] };
    expect(result.errors).toEqual([]);
    const listed = ecs.commandCalls(ListTasksCommand).map((c) => c.args[0].input.cluster);
    expect([...new Set(listed)].sort()).toEqual([...CLUSTERS].sort());
    expect(ddb.commandCalls(ScanCommand).length).toBeGreaterThan(0);
    for (const c of ddb.commandCalls(ScanCommand)) expect(c.args[0].input.TableName).toBe('acme-locks');
  });

  test('the sweep keeps to state machines of NAME_PREFIX and sends an owed alert to ALERT_TOPIC_ARN', async () => {
    const ours = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:acme-nightly`;
    sfn.on(ListStateMachinesCommand).resolves({
      stateMachines: [
        { name: 'acme-nightly', stateMachineArn: ours, type: 'STANDARD', creationDate: new Date(0) },
        {
          name: 'batch-runner-nightly',
          stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:batch-runner-nightly`,
          type: 'STANDARD',
          creationDate: new Date(0),
        },
      ],
    });
    const aborted = `arn:aws:states:${REGION}:${ACCOUNT}:execution:acme-nightly:manual-1`;
    sfn.on(ListExecutionsCommand, { stateMachineArn: ours, statusFilter: 'ABORTED' }).resolves({
      executions: [
        {
          executionArn: aborted,
          stateMachineArn: ours,
          name: 'manual-1',
          status: 'ABORTED',
          startDate: new Date(Date.now() - 600_000),
          stopDate: new Date(Date.now() - 300_000),
        },
      ],
    });
    const result = (await reconcilerHandler(scheduledEvent)) as unknown as {
      sweep: { swept: string[]; owed: string[] };
    };
    expect(result.sweep).toMatchObject({ swept: ['acme-nightly'], owed: [aborted] });
    expect(sfn).not.toHaveReceivedCommandWith(ListExecutionsCommand, {
      stateMachineArn: expect.stringContaining('batch-runner-nightly'),
    });
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      Subject: '[batch-runner] nightly aborted',
    });
  });

  test.each(['LOCK_TABLE_NAME', 'ALERT_TOPIC_ARN', 'NAME_PREFIX', 'CLUSTER_ARNS'])(
    'deployed without %s: it says which variable is missing, and calls nothing',
    async (name) => {
      delete process.env[name];
      await expect(reconcilerHandler(scheduledEvent)).rejects.toThrow(
        `environment variable ${name} is not set: the CDK construct (infra/batch-runner.ts) sets it on the function.`,
      );
      expect(ecs.calls()).toHaveLength(0);
      expect(sns.calls()).toHaveLength(0);
    },
  );
});

describe('the task watcher`s entry (handlers/task-watcher.ts handler)', () => {
  test('deployed without LOCK_TABLE_NAME: it says so', async () => {
    delete process.env.LOCK_TABLE_NAME;
    await expect(watcherHandler({} as never)).rejects.toThrow('environment variable LOCK_TABLE_NAME is not set');
  });

  test('a STOPPED event of a task no lock watches: it reads the lock of its batch from LOCK_TABLE_NAME, and answers nothing', async () => {
    const taskArn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/batch-runner/0f3d9c2a7b6e4f1a8c5d2e9b7a6f4c3d`;
    const outcome = await watcherHandler({
      version: '0',
      id: '1f8b2c4e-7d56-3b18-a0e2-4d6f9a1c7e35',
      'detail-type': 'ECS Task State Change',
      source: 'aws.ecs',
      account: ACCOUNT,
      time: '2026-12-01T21:07:30Z',
      region: REGION,
      resources: [taskArn],
      detail: {
        taskArn,
        clusterArn: CLUSTERS[0],
        group: 'batch-runner:nightly',
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        stopCode: 'EssentialContainerExited',
        containers: [{ name: 'app', exitCode: 0, lastStatus: 'STOPPED' }],
      },
    } as never);
    expect(outcome).toMatchObject({ action: 'ignored' });
    expect(ddb).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: 'acme-locks',
      Key: { batch: { S: 'nightly' } },
    });
    expect(sfn.calls()).toHaveLength(0);
  });
});

test('STOP_CONFIRM_SECONDS bounds how long finish waits for its task to reach STOPPED (a look every 5 s)', async () => {
  process.env.STOP_CONFIRM_SECONDS = '20';
  const caller = `arn:aws:states:${REGION}:${ACCOUNT}:execution:acme-nightly:run-1`;
  const task = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/batch-runner/0f3d9c2a7b6e4f1a8c5d2e9b7a6f4c3d`;
  ddb.on(GetItemCommand).resolves({ Item: { batch: { S: 'nightly' }, owner: { S: caller }, taskArn: { S: task } } });
  ddb.on(UpdateItemCommand).resolves({});
  ecs.on(StopTaskCommand).resolves({});
  ecs.on(DescribeTasksCommand).resolves({
    tasks: [
      {
        taskArn: task,
        clusterArn: CLUSTERS[0],
        lastStatus: 'RUNNING',
        desiredStatus: 'STOPPED',
        createdAt: new Date(),
        tags: [{ key: BATCH_TAG_KEY, value: 'nightly' }],
      },
    ],
  });
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  try {
    const answer = reconcilerHandler({
      action: 'finish',
      executionArn: caller,
      batch: { name: 'nightly', clusterArn: CLUSTERS[0] },
      start: { Tasks: [{ TaskArn: task }] },
    });
    await jest.advanceTimersByTimeAsync(60_000);
    expect(await answer).toMatchObject({ taskMayStillRun: true });
    // The first look, then one after each 5 s wait within the 20 s.
    expect(ecs.commandCalls(DescribeTasksCommand)).toHaveLength(1 + 4);
  } finally {
    jest.useRealTimers();
  }
});

test.each([
  ['120', 120],
  ['2.5', 2.5],
  [undefined, 180],
  ['', 180],
  ['0', 180],
  ['-30', 180],
  ['three minutes', 180],
  ['Infinity', 180],
])('STOP_CONFIRM_SECONDS=%j: is read as %s s', (text, seconds) => {
  expect(positiveNumber(text, 180)).toBe(seconds);
});

test('a scheduled pass writes its embedded metric line to stdout (the undelivered-alerts alarm reads it)', async () => {
  await reconcilerHandler(scheduledEvent);
  const metric = jest
    .mocked(console.log)
    .mock.calls.map((args) => JSON.parse(String(args[0])))
    .find((line) => '_aws' in line);
  expect(metric).toMatchObject({ OldestUndeliveredAlertSeconds: 0, ReconcileErrors: 0 });
});
