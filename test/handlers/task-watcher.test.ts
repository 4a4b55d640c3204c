import 'aws-sdk-client-mock-jest';
import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { readLock } from '../../handlers/lib/lock-item';
import { summaryCause, type TaskSummary } from '../../handlers/lib/task-outcome';
import { MAX_CAUSE_LENGTH } from '../../handlers/lib/task-token';
import {
  DEADLINE_TOLERANCE_SECONDS,
  deadlineToleranceSeconds,
  handleTaskWatcherEvent,
  LOCK_TTL_MARGIN_SECONDS,
  startedAtSeconds,
  type WatchRequest,
} from '../../handlers/task-watcher';
import { type EmbeddedDynamoDb, ensureLockTable, startEmbeddedDynamoDb } from '../../local/lock-store';
import { expectDocumentedLogLines } from '../support/documented-logs';
import { recordingClientFor, SdkCallRecorder } from '../support/sdk-calls';
import { BATCH, CLUSTER_ARN, ecsTaskStateChange, executionArn, REGION, sdkTask, taskArn } from './fixtures/events';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const sfn = new SFNClient({ region: REGION, credentials });
const ecs = new ECSClient({ region: REGION, credentials });
const sfnMock = mockClient(sfn);
const ecsMock = mockClient(ecs);

let db: EmbeddedDynamoDb;
/** The handler's own DynamoDB client: every call it sends is recorded (the test's own setup calls are not). */
let handlerDb: DynamoDBClient;
let table: string;
let n = 0;
const NOW = 1794525600000;
const deps = () => ({ clients: { dynamodb: handlerDb, ecs, sfn }, lockTableName: table, now: () => NOW });
const calls = new SdkCallRecorder('task-watcher');

beforeAll(async () => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  db = await startEmbeddedDynamoDb();
  handlerDb = calls.recordDynamoDb(recordingClientFor(db.endpoint));
});
afterEach(() => {
  calls.takeMockCalls('ecs', ecsMock);
  calls.takeMockCalls('states', sfnMock);
});
// Every line the functions logged is one the README's "Log lines" table documents.
afterEach(expectDocumentedLogLines);
afterAll(async () => {
  handlerDb.destroy();
  await db.close();
  // Every call the watcher made is declared for the IAM contract test (test/contracts/handler-calls.json).
  expect(calls.undeclared()).toEqual([]);
});
beforeEach(async () => {
  sfnMock.reset();
  ecsMock.reset();
  sfnMock.on(SendTaskSuccessCommand).resolves({});
  sfnMock.on(SendTaskFailureCommand).resolves({});
  n += 1;
  table = `locks-${n}`;
  await ensureLockTable(db.client, table);
});

async function acquire(owner: string): Promise<void> {
  await db.client.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        batch: { S: BATCH },
        owner: { S: owner },
        acquiredAt: { S: '2026-11-12T23:00:00.000Z' },
        trigger: { S: 'schedule' },
      },
    }),
  );
}

/** The payload WaitForTaskToStop sends (RunTask output in `start`). */
function watchRequest(o: { exec: string; task?: string; token?: string }): WatchRequest {
  return {
    taskToken: o.token ?? 'AQCEAAAAKgAAAAMAAAAAAAAAAR1chunk1',
    executionArn: o.exec,
    batch: {
      name: BATCH,
      lockTableName: table,
      clusterArn: CLUSTER_ARN,
      containerName: 'app',
      logGroupName: '/batch-runner/tasks/missing-images',
      logStreamPrefix: 'batch',
      hardTimeoutSeconds: 7200,
    },
    start: o.task
      ? { Tasks: [{ TaskArn: o.task }], Failures: [] }
      : {
          Tasks: [],
          Failures: [
            {
              Arn: 'arn:aws:ecs:ap-northeast-1:123456789012:container-instance/batch-runner/7d3f1c2b',
              Reason: 'RESOURCE:MEMORY',
            },
          ],
        },
  };
}

const failureCause = () => JSON.parse(sfnMock.commandCalls(SendTaskFailureCommand)[0].args[0].input.cause ?? '');
const successOutput = () => JSON.parse(sfnMock.commandCalls(SendTaskSuccessCommand)[0].args[0].input.output ?? '');

describe('task watcher, called by WaitForTaskToStop', () => {
  test('RunTask started no task (capacity): fails the token with BatchRunner.TaskNotStarted and touches no lock', async () => {
    await acquire(executionArn('e1'));
    const out = await handleTaskWatcherEvent(watchRequest({ exec: executionArn('e1') }), deps());
    expect(out).toEqual({
      action: 'answered',
      answer: 'failure',
      error: 'BatchRunner.TaskNotStarted',
      token: 'answered',
    });
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: 'AQCEAAAAKgAAAAMAAAAAAAAAAR1chunk1',
      error: 'BatchRunner.TaskNotStarted',
    });
    expect(failureCause().message).toMatch(/RESOURCE:MEMORY/);
    expect((await readLock(db.client, table, BATCH))?.taskToken).toBeUndefined();
    expect(ecsMock).not.toHaveReceivedAnyCommand();
  });

  test("task running: stores the token on the owner's lock item and waits", async () => {
    await acquire(executionArn('e1'));
    ecsMock
      .on(DescribeTasksCommand)
      .resolves({ tasks: [sdkTask({ taskArn: taskArn('t1'), lastStatus: 'RUNNING' })], failures: [] });
    const out = await handleTaskWatcherEvent(watchRequest({ exec: executionArn('e1'), task: taskArn('t1') }), deps());
    expect(out).toEqual({ action: 'waiting', taskArn: taskArn('t1'), lastStatus: 'RUNNING' });
    expect(await readLock(db.client, table, BATCH)).toMatchObject({
      owner: executionArn('e1'),
      taskArn: taskArn('t1'),
      taskToken: 'AQCEAAAAKgAAAAMAAAAAAAAAAR1chunk1',
      containerName: 'app',
      clusterArn: CLUSTER_ARN,
      expiresAt: NOW / 1000 + 7200 + LOCK_TTL_MARGIN_SECONDS,
    });
    expect(ecsMock).toHaveReceivedCommandWith(DescribeTasksCommand, { cluster: CLUSTER_ARN, tasks: [taskArn('t1')] });
    expect(sfnMock).not.toHaveReceivedAnyCommand();
  });

  test('lock held by another execution: fails the token with BatchRunner.LockLost naming the holder', async () => {
    await acquire(executionArn('replacer'));
    const out = await handleTaskWatcherEvent(watchRequest({ exec: executionArn('e1'), task: taskArn('t1') }), deps());
    expect(out).toMatchObject({ action: 'answered', answer: 'failure', error: 'BatchRunner.LockLost' });
    expect(failureCause()).toEqual({
      message: `The lock of batch ${BATCH} is no longer held by this execution (current owner: ${executionArn('replacer')}); the runner stops its task rather than let two copies run.`,
      taskArn: taskArn('t1'),
      currentOwner: executionArn('replacer'),
    });
    expect((await readLock(db.client, table, BATCH))?.taskArn).toBeUndefined();
    expect(ecsMock).not.toHaveReceivedAnyCommand();
  });

  test('no lock at all (released or broken): BatchRunner.LockLost with no current owner', async () => {
    await handleTaskWatcherEvent(watchRequest({ exec: executionArn('e1'), task: taskArn('t1') }), deps());
    expect(failureCause()).toMatchObject({
      message: expect.stringContaining('is no longer held by this execution (current owner: nobody);'),
      currentOwner: null,
    });
    expect(await readLock(db.client, table, BATCH)).toBeUndefined();
  });

  test('task already stopped with exit 0 (event lost or early): answers success at once with the summary', async () => {
    await acquire(executionArn('e1'));
    ecsMock
      .on(DescribeTasksCommand)
      .resolves({ tasks: [sdkTask({ taskArn: taskArn('t1'), lastStatus: 'STOPPED', exitCode: 0 })] });
    const out = await handleTaskWatcherEvent(watchRequest({ exec: executionArn('e1'), task: taskArn('t1') }), deps());
    expect(out).toEqual({ action: 'answered', answer: 'success', token: 'answered' });
    expect(successOutput()).toEqual({
      taskArn: taskArn('t1'),
      lastStatus: 'STOPPED',
      exitCode: 0,
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
      startedAt: '2026-11-12T23:00:23.004Z',
      stoppedAt: '2026-11-12T23:31:45.000Z',
      // 23:00:23.004 to 23:31:45.000, rounded: what durationGuards compares.
      durationSeconds: 1882,
      capacity: 'FARGATE',
      containers: [{ name: 'app', exitCode: 0, reason: null }],
      logUrl: `https://${REGION}.console.aws.amazon.com/cloudwatch/home?region=${REGION}#logsV2:log-groups/log-group/$252Fbatch-runner$252Ftasks$252Fmissing-images/log-events/batch$252Fapp$252Ft1`,
    });
  });

  test('task already stopped with exit 1: BatchRunner.TaskFailed whose cause is the summary as JSON', async () => {
    await acquire(executionArn('e1'));
    ecsMock
      .on(DescribeTasksCommand)
      .resolves({ tasks: [sdkTask({ taskArn: taskArn('t1'), lastStatus: 'STOPPED', exitCode: 1 })] });
    await handleTaskWatcherEvent(watchRequest({ exec: executionArn('e1'), task: taskArn('t1') }), deps());
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskFailureCommand, { error: 'BatchRunner.TaskFailed' });
    expect(failureCause()).toMatchObject({ taskArn: taskArn('t1'), exitCode: 1, lastStatus: 'STOPPED' });
  });

  test('DescribeTasks failing after the token is stored: keep waiting (the STOPPED event or the next chunk answers)', async () => {
    await acquire(executionArn('e1'));
    ecsMock
      .on(DescribeTasksCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const out = await handleTaskWatcherEvent(watchRequest({ exec: executionArn('e1'), task: taskArn('t1') }), deps());
    expect(out).toEqual({ action: 'waiting', taskArn: taskArn('t1'), lastStatus: 'UNKNOWN' });
    expect((await readLock(db.client, table, BATCH))?.taskToken).toBe('AQCEAAAAKgAAAAMAAAAAAAAAAR1chunk1');
    expect(sfnMock).not.toHaveReceivedAnyCommand();
  });

  test('the lock table failing: a named error the state machine retries, nothing answered', async () => {
    await acquire(executionArn('e1'));
    const request = watchRequest({ exec: executionArn('e1'), task: taskArn('t1') });
    const broken = { ...request, batch: { ...request.batch, lockTableName: 'no-such-table' } };
    await expect(handleTaskWatcherEvent(broken, deps())).rejects.toMatchObject({
      name: 'BatchRunner.WatcherUnavailable',
      message: expect.stringContaining('ResourceNotFoundException'),
    });
    expect(sfnMock).not.toHaveReceivedAnyCommand();
  });

  test('MISSING right after RunTask is eventual consistency: keep waiting', async () => {
    await acquire(executionArn('e1'));
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [], failures: [{ arn: taskArn('t1'), reason: 'MISSING' }] });
    const out = await handleTaskWatcherEvent(watchRequest({ exec: executionArn('e1'), task: taskArn('t1') }), deps());
    expect(out).toEqual({ action: 'waiting', taskArn: taskArn('t1'), lastStatus: 'MISSING' });
    expect(sfnMock).not.toHaveReceivedAnyCommand();
  });

  test('MISSING at a later chunk: the task is long gone and its event was lost, so the run fails instead of waiting to the deadline', async () => {
    await acquire(executionArn('e1'));
    ecsMock
      .on(DescribeTasksCommand)
      .resolvesOnce({ tasks: [sdkTask({ taskArn: taskArn('t1'), lastStatus: 'RUNNING' })] });
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [], failures: [{ arn: taskArn('t1'), reason: 'MISSING' }] });
    await handleTaskWatcherEvent(watchRequest({ exec: executionArn('e1'), task: taskArn('t1') }), deps());
    const out = await handleTaskWatcherEvent(
      watchRequest({ exec: executionArn('e1'), task: taskArn('t1'), token: 'chunk-2' }),
      deps(),
    );
    expect(out).toMatchObject({ action: 'answered', answer: 'failure', error: 'BatchRunner.TaskFailed' });
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'chunk-2' });
    expect(failureCause()).toMatchObject({
      lastStatus: 'MISSING',
      exitCode: null,
      stoppedReason: 'ECS no longer knows the task (MISSING); its STOPPED event was not received.',
    });
  });
});

describe('task watcher: the run`s deadline (RunTask`s CreatedAt + hardTimeoutSeconds)', () => {
  const nowSeconds = NOW / 1000;
  /** A wait chunk that registers when the deadline is `inSeconds` away (the batch's hard timeout is 7200 s). */
  const chunkBefore = (inSeconds: number, waitChunkSeconds?: number): WatchRequest => {
    const req = watchRequest({ exec: executionArn('e1'), task: taskArn('t1') });
    return {
      ...req,
      batch: { ...req.batch, ...(waitChunkSeconds === undefined ? {} : { waitChunkSeconds }) },
      // RunTask's answer carries CreatedAt (the StartResult type names only what the code reads by name).
      start: {
        Tasks: [{ TaskArn: taskArn('t1'), CreatedAt: nowSeconds - 7200 + inSeconds } as { TaskArn: string }],
        Failures: [],
      },
    };
  };
  const running = () =>
    ecsMock
      .on(DescribeTasksCommand)
      .resolves({ tasks: [sdkTask({ taskArn: taskArn('t1'), lastStatus: 'RUNNING' })], failures: [] });

  test('the tolerance is 30 s, or half a wait chunk when that is less', () => {
    expect(DEADLINE_TOLERANCE_SECONDS).toBe(30);
    expect([undefined, 120, 60, 20, 1].map(deadlineToleranceSeconds)).toEqual([30, 30, 30, 10, 0.5]);
  });

  test('a chunk registering within the tolerance of the deadline answers DeadlineReached naming the task and the deadline', async () => {
    await acquire(executionArn('e1'));
    running();

    const out = await handleTaskWatcherEvent(chunkBefore(30), deps());

    expect(out).toMatchObject({ action: 'answered', error: 'BatchRunner.DeadlineReached' });
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskFailureCommand, { error: 'BatchRunner.DeadlineReached' });
    const deadline = new Date((nowSeconds + 30) * 1000).toISOString();
    expect(failureCause()).toEqual({
      message: `The run's deadline ${deadline} has come and task ${taskArn('t1')} still runs.`,
      taskArn: taskArn('t1'),
      deadlineAt: nowSeconds + 30,
    });
    expect((await readLock(db.client, table, BATCH))?.deadlineAt).toBe(nowSeconds + 30);
  });

  test('a chunk registering a second before the tolerance begins waits', async () => {
    await acquire(executionArn('e1'));
    running();
    expect(await handleTaskWatcherEvent(chunkBefore(31), deps())).toEqual({
      action: 'waiting',
      taskArn: taskArn('t1'),
      lastStatus: 'RUNNING',
    });
    expect(sfnMock).not.toHaveReceivedAnyCommand();
  });

  test('with 20 s chunks the tolerance is 10 s: 11 s before the deadline waits, 10 s before answers', async () => {
    await acquire(executionArn('e1'));
    running();
    expect((await handleTaskWatcherEvent(chunkBefore(11, 20), deps())).action).toBe('waiting');
    await acquire(executionArn('e1')); // a new run: the deadline is stored once, at the first registration
    expect((await handleTaskWatcherEvent(chunkBefore(10, 20), deps())).action).toBe('answered');
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskFailureCommand, { error: 'BatchRunner.DeadlineReached' });
  });

  test('the deadline is stored once, at the first registration: a later chunk cannot move it', async () => {
    await acquire(executionArn('e1'));
    running();
    await handleTaskWatcherEvent(chunkBefore(100), deps());
    // A later chunk whose start answer claims a later creation (a redrive with other input) changes nothing.
    await handleTaskWatcherEvent({ ...chunkBefore(5000), taskToken: 'AQCEAAAAKgAAAAMAAAAAAAAAAR1chunk2' }, deps());

    expect((await readLock(db.client, table, BATCH))?.deadlineAt).toBe(nowSeconds + 100);
  });

  test('a task that stopped by itself in the last chunk gets its own outcome at the deadline, not timed_out', async () => {
    await acquire(executionArn('e1'));
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [sdkTask({ taskArn: taskArn('t1'), lastStatus: 'STOPPED', exitCode: 0 })],
      failures: [],
    });

    await handleTaskWatcherEvent(chunkBefore(0), deps());

    expect(sfnMock).toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(sfnMock).not.toHaveReceivedCommand(SendTaskFailureCommand);
  });

  test('at the deadline, a DescribeTasks that fails does not hide it: DeadlineReached', async () => {
    await acquire(executionArn('e1'));
    ecsMock
      .on(DescribeTasksCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    expect(await handleTaskWatcherEvent(chunkBefore(-5), deps())).toMatchObject({
      action: 'answered',
      error: 'BatchRunner.DeadlineReached',
    });
  });
});

describe('task watcher: start timeout (startTimeoutSeconds in the attempt policy)', () => {
  /** A Fargate task that has not started: no startedAt, created `ageSeconds` before NOW. */
  function notStartedTask(lastStatus: 'PROVISIONING' | 'PENDING', ageSeconds: number) {
    const { startedAt: _notStarted, ...task } = sdkTask({ taskArn: taskArn('t1'), lastStatus });
    return { ...task, createdAt: new Date(NOW - ageSeconds * 1000) };
  }
  const withStartTimeout = (startTimeoutSeconds?: number): WatchRequest => ({
    ...watchRequest({ exec: executionArn('e1'), task: taskArn('t1') }),
    policy: startTimeoutSeconds === undefined ? {} : { startTimeoutSeconds },
  });

  test('PENDING longer than the start timeout: fails the token with BatchRunner.StartTimedOut naming PENDING', async () => {
    await acquire(executionArn('e1'));
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [notStartedTask('PENDING', 301)], failures: [] });
    const out = await handleTaskWatcherEvent(withStartTimeout(300), deps());
    expect(out).toMatchObject({ action: 'answered', answer: 'failure', error: 'BatchRunner.StartTimedOut' });
    const cause = sfnMock.commandCalls(SendTaskFailureCommand)[0].args[0].input.cause ?? '';
    expect(cause).toBe(
      `Task ${taskArn('t1')} stayed PENDING for 301 s since it was created at ${new Date(NOW - 301_000).toISOString()}, longer than the start timeout of 300 s (last status PENDING).`,
    );
    // The token is stored first, so a lost answer is repeated by the next chunk or the reconciler.
    expect(await readLock(db.client, table, BATCH)).toMatchObject({ taskArn: taskArn('t1'), startTimeoutSeconds: 300 });
  });

  test('a task whose image pull has begun says so in the cause', async () => {
    await acquire(executionArn('e1'));
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [{ ...notStartedTask('PENDING', 301), pullStartedAt: new Date(NOW - 200_000) }],
      failures: [],
    });
    await handleTaskWatcherEvent(withStartTimeout(300), deps());
    expect(sfnMock.commandCalls(SendTaskFailureCommand)[0].args[0].input.cause).toMatch(
      /\(last status PENDING, image pull started\)\.$/,
    );
  });

  test('PROVISIONING past the start timeout is named too', async () => {
    await acquire(executionArn('e1'));
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [notStartedTask('PROVISIONING', 900)], failures: [] });
    await handleTaskWatcherEvent(withStartTimeout(600), deps());
    expect(sfnMock.commandCalls(SendTaskFailureCommand)[0].args[0].input).toMatchObject({
      error: 'BatchRunner.StartTimedOut',
      cause: expect.stringContaining('stayed PROVISIONING'),
    });
  });

  test('PENDING within the start timeout, a RUNNING task past it, or no start timeout: keep waiting', async () => {
    await acquire(executionArn('e1'));
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [notStartedTask('PENDING', 299)], failures: [] });
    expect(await handleTaskWatcherEvent(withStartTimeout(300), deps())).toEqual({
      action: 'waiting',
      taskArn: taskArn('t1'),
      lastStatus: 'PENDING',
    });
    ecsMock.reset();
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [{ ...sdkTask({ taskArn: taskArn('t1'), lastStatus: 'RUNNING' }), createdAt: new Date(NOW - 3600_000) }],
    });
    expect(await handleTaskWatcherEvent(withStartTimeout(300), deps())).toMatchObject({ action: 'waiting' });
    ecsMock.reset();
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [notStartedTask('PENDING', 3600)], failures: [] });
    expect(await handleTaskWatcherEvent(withStartTimeout(undefined), deps())).toMatchObject({ action: 'waiting' });
    expect(sfnMock).not.toHaveReceivedAnyCommand();
  });
});

describe('task watcher, called by the ECS "Task State Change" rule', () => {
  async function watching(task: string, token = 'AQCEAAAAKgAAAAMAAAAAAAAAAR1chunk1') {
    await acquire(executionArn('e1'));
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [sdkTask({ taskArn: task, lastStatus: 'RUNNING' })] });
    await handleTaskWatcherEvent(watchRequest({ exec: executionArn('e1'), task, token }), deps());
    calls.takeMockCalls('ecs', ecsMock);
    ecsMock.reset();
  }

  test('STOPPED with exit 0 for the watched task: SendTaskSuccess on the stored token', async () => {
    await watching(taskArn('t1'), 'stored-token');
    const out = await handleTaskWatcherEvent(ecsTaskStateChange({ taskArn: taskArn('t1'), exitCode: 0 }), deps());
    expect(out).toEqual({ action: 'answered', answer: 'success', token: 'answered' });
    expect(sfnMock).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'stored-token' });
    expect(successOutput()).toMatchObject({
      exitCode: 0,
      startedAt: '2026-11-12T23:00:23.004Z',
      stoppedAt: '2026-11-12T23:31:45.000Z',
    });
    expect(ecsMock).not.toHaveReceivedAnyCommand();
  });

  test('a sidecar SIGKILLed at shutdown (137) does not fail a batch whose own container exited 0', async () => {
    await watching(taskArn('t1'));
    await handleTaskWatcherEvent(
      ecsTaskStateChange({ taskArn: taskArn('t1'), exitCode: 0, sidecarExitCode: 137 }),
      deps(),
    );
    expect(successOutput().containers).toEqual([
      { name: 'app', exitCode: 0, reason: null },
      { name: 'log-router', exitCode: 137, reason: null },
    ]);
  });

  test('batch container exited 3: SendTaskFailure BatchRunner.TaskFailed with exit code and stop reason', async () => {
    await watching(taskArn('t1'));
    await handleTaskWatcherEvent(ecsTaskStateChange({ taskArn: taskArn('t1'), exitCode: 3 }), deps());
    expect(failureCause()).toMatchObject({
      exitCode: 3,
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
    });
  });

  test('image pull failure (no exit code): a failure, not a success', async () => {
    await watching(taskArn('t1'));
    await handleTaskWatcherEvent(
      ecsTaskStateChange({
        taskArn: taskArn('t1'),
        stopCode: 'TaskFailedToStart',
        stoppedReason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s)',
      }),
      deps(),
    );
    expect(failureCause()).toMatchObject({ exitCode: null, stopCode: 'TaskFailedToStart' });
  });

  test('a STOPPED task that is not the watched one (started by hand, old run) is ignored', async () => {
    await watching(taskArn('t1'));
    const out = await handleTaskWatcherEvent(
      ecsTaskStateChange({ taskArn: taskArn('someone-elses'), exitCode: 0 }),
      deps(),
    );
    expect(out).toEqual({
      action: 'ignored',
      why: `task ${taskArn('someone-elses')} is not the watched task of batch ${BATCH}`,
    });
    expect(sfnMock).not.toHaveReceivedAnyCommand();
  });

  test('a lock that names the task but holds no token (no chunk registered it): ignored, nothing answered', async () => {
    await acquire(executionArn('e1'));
    await db.client.send(
      new PutItemCommand({
        TableName: table,
        Item: { batch: { S: BATCH }, owner: { S: executionArn('e1') }, taskArn: { S: taskArn('t1') } },
      }),
    );
    const out = await handleTaskWatcherEvent(ecsTaskStateChange({ taskArn: taskArn('t1'), exitCode: 0 }), deps());
    expect(out).toMatchObject({ action: 'ignored' });
    expect(sfnMock).not.toHaveReceivedAnyCommand();
  });

  test('no lock item (run already ended): ignored', async () => {
    const out = await handleTaskWatcherEvent(ecsTaskStateChange({ taskArn: taskArn('t1'), exitCode: 0 }), deps());
    expect(out).toMatchObject({ action: 'ignored' });
    expect(sfnMock).not.toHaveReceivedAnyCommand();
  });

  test('events that are not STOPPED, or of other task groups, are ignored without reading the lock', async () => {
    await watching(taskArn('t1'));
    expect(
      await handleTaskWatcherEvent(ecsTaskStateChange({ taskArn: taskArn('t1'), lastStatus: 'RUNNING' }), deps()),
    ).toEqual({ action: 'ignored', why: 'lastStatus is RUNNING, not STOPPED' });
    expect(
      await handleTaskWatcherEvent(
        ecsTaskStateChange({ taskArn: taskArn('t1'), exitCode: 0, group: 'service:web' }),
        deps(),
      ),
    ).toMatchObject({ action: 'ignored', why: expect.stringMatching(/service:web/) });
    expect(sfnMock).not.toHaveReceivedAnyCommand();
  });

  test('a token that already timed out or was answered by the other path is not an error', async () => {
    await watching(taskArn('t1'));
    sfnMock.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('Task Timed Out'), { name: 'TaskTimedOut' }));
    const out = await handleTaskWatcherEvent(ecsTaskStateChange({ taskArn: taskArn('t1'), exitCode: 0 }), deps());
    expect(out).toEqual({ action: 'answered', answer: 'success', token: 'token no longer valid' });
  });

  test('any other Step Functions error fails the invocation, so the event is retried', async () => {
    await watching(taskArn('t1'));
    sfnMock
      .on(SendTaskSuccessCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(
      handleTaskWatcherEvent(ecsTaskStateChange({ taskArn: taskArn('t1'), exitCode: 0 }), deps()),
    ).rejects.toThrow(/Rate exceeded/);
  });

  test('an event of an unknown kind is refused with a message quoting its first 200 characters', async () => {
    await expect(handleTaskWatcherEvent({ source: 'aws.s3' } as never, deps())).rejects.toThrow(
      'task-watcher: unexpected event {"source":"aws.s3"}: expected a WaitForTaskToStop payload or an ECS Task State Change event.',
    );
    const stopped = ecsTaskStateChange({ taskArn: taskArn('t1'), exitCode: 0 });
    for (const event of [
      { ...stopped, 'detail-type': 'ECS Container Instance State Change' },
      { ...stopped, source: 'aws.batch' },
    ])
      await expect(handleTaskWatcherEvent(event as never, deps())).rejects.toThrow(
        `task-watcher: unexpected event ${JSON.stringify(event).slice(0, 200)}: expected`,
      );
    expect(sfnMock).not.toHaveReceivedAnyCommand();
  });
});

describe('summaryCause', () => {
  const summary = (reasonLength: number, containers: number): TaskSummary => ({
    taskArn: taskArn('t1'),
    lastStatus: 'STOPPED',
    exitCode: 1,
    stopCode: 'EssentialContainerExited',
    stoppedReason: 'x'.repeat(reasonLength),
    startedAt: null,
    stoppedAt: null,
    durationSeconds: null,
    capacity: null,
    containers: Array.from({ length: containers }, (_, i) => ({
      name: `c${i}`,
      exitCode: 1,
      reason: 'r'.repeat(5000),
    })),
    logUrl: null,
  });

  test('keeps a normal summary whole', () => {
    const s = summary(100, 2);
    expect(JSON.parse(summaryCause(s))).toEqual(s);
  });

  test('shrinks an oversized summary to valid JSON within the SendTaskFailure limit, keeping the exit code', () => {
    for (const s of [summary(100, 10), summary(40000, 10)]) {
      const cause = summaryCause(s);
      expect(cause.length).toBeLessThanOrEqual(MAX_CAUSE_LENGTH);
      expect(JSON.parse(cause)).toMatchObject({ taskArn: taskArn('t1'), exitCode: 1 });
    }
  });

  test('a summary of exactly the limit is kept whole', () => {
    const base = summary(0, 0);
    const exact = { ...base, stoppedReason: 'x'.repeat(MAX_CAUSE_LENGTH - JSON.stringify(base).length) };
    expect(summaryCause(exact)).toBe(JSON.stringify(exact));
  });

  test('first each container`s reason is cut to 200 characters (a container without one keeps null); the rest stays', () => {
    const s = summary(100, 10);
    const withoutReason = { ...s, containers: [...s.containers, { name: 'sidecar', exitCode: 0, reason: null }] };
    const parsed = JSON.parse(summaryCause(withoutReason));
    expect(parsed.containers).toHaveLength(11);
    expect(parsed.containers[0]).toEqual({ name: 'c0', exitCode: 1, reason: 'r'.repeat(200) });
    expect(parsed.containers[10]).toEqual({ name: 'sidecar', exitCode: 0, reason: null });
    expect(parsed.stoppedReason).toBe('x'.repeat(100));
  });

  test('if that is not enough, the containers go and the stop reason is cut to 1000 characters', () => {
    const parsed = JSON.parse(summaryCause(summary(40000, 10)));
    expect(parsed.containers).toEqual([]);
    expect(parsed.stoppedReason).toBe('x'.repeat(1000));
    expect(parsed).toMatchObject({ stopCode: 'EssentialContainerExited', lastStatus: 'STOPPED' });
  });
});

describe('startedAtSeconds: the deadline counts from RunTask`s CreatedAt', () => {
  const now = 1794525600;
  test('reads epoch seconds, epoch milliseconds and ISO text', () => {
    expect(startedAtSeconds({ Tasks: [{ TaskArn: 'a', CreatedAt: now - 200 } as any] }, now)).toBe(now - 200);
    expect(startedAtSeconds({ Tasks: [{ TaskArn: 'a', CreatedAt: (now - 200) * 1000 } as any] }, now)).toBe(now - 200);
    expect(
      startedAtSeconds(
        { Tasks: [{ TaskArn: 'a', CreatedAt: new Date((now - 200) * 1000).toISOString() } as any] },
        now,
      ),
    ).toBe(now - 200);
  });

  test('falls back to now when the answer has no CreatedAt, an unreadable one, or one in the future', () => {
    expect(startedAtSeconds({ Tasks: [{ TaskArn: 'a' }] }, now)).toBe(now);
    expect(startedAtSeconds({ Tasks: [{ TaskArn: 'a', CreatedAt: 'soon' } as any] }, now)).toBe(now);
    expect(startedAtSeconds({ Tasks: [{ TaskArn: 'a', CreatedAt: now + 60 } as any] }, now)).toBe(now);
  });
});
