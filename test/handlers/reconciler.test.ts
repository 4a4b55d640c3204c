import 'aws-sdk-client-mock-jest';
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeTasksCommand, ECSClient, ListTasksCommand, StopTaskCommand, type Task } from '@aws-sdk/client-ecs';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { BATCH_TAG_KEY, EXECUTION_TAG_KEY, HARD_TIMEOUT_TAG_KEY } from '../../config/naming';
import { RECONCILER_INTERVAL_SECONDS } from '../../config/timings';
import {
  handleReconcilerEvent,
  type ReconcilerDeps,
  type SettleAnswer,
  SLOT_CLAIM_TTL_SECONDS,
} from '../../handlers/cleanup';
import { awsWorld } from '../../handlers/lib/aws-world';
import { readLock } from '../../handlers/lib/lock-item';
import {
  ALERT_RECORD_TTL_SECONDS,
  alertKey,
  nextAttemptDelaySeconds,
  RECORDER_GRACE_SECONDS,
} from '../../handlers/lib/owed-alerts';
import { type BatchReconcileReport, IN_FLIGHT_GRACE_MS, sweepEndedExecutions } from '../../handlers/lib/reconcile';
import { type EmbeddedDynamoDb, ensureLockTable, startEmbeddedDynamoDb } from '../../local/lock-store';
import { expectDocumentedLogLines } from '../support/documented-logs';
import { recordingClientFor, SdkCallRecorder } from '../support/sdk-calls';
import {
  BATCH,
  CLUSTER_ARN,
  executionArn,
  executionStatusChange,
  REGION,
  STATE_MACHINE_ARN,
  taskArn,
} from './fixtures/events';

/**
 * The reconciler (handlers/cleanup.ts + handlers/lib/reconcile.ts) against the SDK clients mocked
 * with aws-sdk-client-mock, in the wire shapes of ECS, Step Functions and SNS, and the lock table real
 * in dynalite. ECS is a small stateful account: StopTask sets the desired status at once and the last
 * status only when the test says the stop grace has passed (AWS-FACTS: "StopTask takes effect in two
 * steps"), so "asked to stop" and "STOPPED" are different answers, as they are on AWS.
 */

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const ecs = new ECSClient({ region: REGION, credentials });
const sfn = new SFNClient({ region: REGION, credentials });
const sns = new SNSClient({ region: REGION, credentials });
const ecsMock = mockClient(ecs);
const sfnMock = mockClient(sfn);
const snsMock = mockClient(sns);
const TOPIC_ARN = `arn:aws:sns:${REGION}:123456789012:batch-runner-alerts`;

let db: EmbeddedDynamoDb;
/** The reconciler's own DynamoDB client: every call it sends is recorded (the test's own setup calls are not). */
let handlerDb: DynamoDBClient;
const calls = new SdkCallRecorder('cleanup');
let table: string;
let n = 0;
let clock: number;
const NOW = Date.parse('2026-12-01T21:00:00.000Z');

interface FakeTask {
  readonly arn: string;
  lastStatus: string;
  desiredStatus: string;
  readonly execution?: string;
  readonly createdAt: Date;
  /** StopTask calls until ECS reports STOPPED; Infinity: never within the test. */
  stopsAfterDescribes: number;
  exitCode?: number;
  stoppedReason?: string;
}
let tasks: FakeTask[];
let executions: Map<string, string>;
/** When ended executions ended (epoch ms); absent: long ago. */
let stoppedAt: Map<string, number>;
/** Runs inside the reconciler's sleeps (virtual time), e.g. to let ECS surface a task meanwhile. */
let duringSleep: () => void;

function toSdk(t: FakeTask): Task {
  return {
    taskArn: t.arn,
    clusterArn: CLUSTER_ARN,
    group: `batch-runner:${BATCH}`,
    startedBy: 'batch-runner',
    lastStatus: t.lastStatus,
    desiredStatus: t.desiredStatus,
    createdAt: t.createdAt,
    containers: [
      { name: 'app', lastStatus: t.lastStatus, ...(t.exitCode !== undefined ? { exitCode: t.exitCode } : {}) },
    ],
    ...(t.lastStatus === 'STOPPED'
      ? { stopCode: 'EssentialContainerExited', stoppedReason: t.stoppedReason ?? 'Essential container in task exited' }
      : {}),
    tags: [
      { key: BATCH_TAG_KEY, value: BATCH },
      { key: HARD_TIMEOUT_TAG_KEY, value: '3600' },
      ...(t.execution ? [{ key: EXECUTION_TAG_KEY, value: Buffer.from(t.execution).toString('base64') }] : []),
    ],
  };
}

function addTask(o: Partial<FakeTask> & { id: string }): FakeTask {
  const t: FakeTask = {
    arn: taskArn(o.id),
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    createdAt: new Date(NOW - 60_000),
    stopsAfterDescribes: 1,
    ...o,
  };
  tasks.push(t);
  return t;
}

function deps(stopConfirmSeconds = 180): ReconcilerDeps {
  return {
    world: awsWorld({ ecs, sfn, sns }, TOPIC_ARN),
    dynamodb: handlerDb,
    config: {
      lockTableName: table,
      namePrefix: 'batch-runner',
      clusterArns: [CLUSTER_ARN],
      stopConfirmSeconds,
      pollIntervalMs: 5000,
    },
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
      duringSleep();
    },
  };
}

async function holdLock(owner: string, extra: Record<string, { S: string } | { N: string }> = {}) {
  await db.client.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        batch: { S: BATCH },
        owner: { S: owner },
        acquiredAt: { S: new Date(NOW - 120_000).toISOString() },
        trigger: { S: 'schedule' },
        requestedBy: { S: 'EventBridge Scheduler' },
        ...extra,
      },
    }),
  );
}

/** An owed alert record as RecordOwedAlert writes it, plus what the reconciler has stamped on it. */
async function putOwedAlert(execution: string, stamped: Record<string, { N: string }> = {}) {
  await db.client.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        batch: { S: alertKey(execution) },
        state: { S: 'owed' },
        batchName: { S: BATCH },
        outcome: { S: 'failed' },
        trigger: { S: 'schedule' },
        source: { S: 'state-machine' },
        subject: { S: `[batch-runner] ${BATCH} failed` },
        message: { S: 'Batch missing-images: failed' },
        ...stamped,
      },
    }),
  );
}

/** What the reconciler stamps on an owed alert it first saw `seconds` ago and has not tried yet: due now. */
const dueSince = (seconds: number) => ({
  owedAt: { N: String(NOW / 1000 - seconds) },
  attempts: { N: '0' },
  nextAttemptAt: { N: String(NOW / 1000 - seconds) },
  expiresAt: { N: String(NOW / 1000 + 86_400) },
});

/** The owed-alert record of an execution as the table holds it now (undefined when none). */
const alertRecord = async (execution: string) =>
  (
    await db.client.send(
      new GetItemCommand({ TableName: table, Key: { batch: { S: alertKey(execution) } }, ConsistentRead: true }),
    )
  ).Item;

const settle = (caller: string) =>
  handleReconcilerEvent(
    { action: 'settle', executionArn: caller, batch: { name: BATCH, clusterArn: CLUSTER_ARN } },
    deps(),
  ) as Promise<SettleAnswer>;
const pass = () =>
  handleReconcilerEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, deps()) as Promise<{
    reports: BatchReconcileReport[];
    errors: unknown[];
  }>;
const published = () => snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input);

beforeAll(async () => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  db = await startEmbeddedDynamoDb();
  handlerDb = calls.recordDynamoDb(recordingClientFor(db.endpoint));
});
afterEach(() => {
  calls.takeMockCalls('ecs', ecsMock);
  calls.takeMockCalls('states', sfnMock);
  calls.takeMockCalls('sns', snsMock);
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
  table = `reconcile-${n}`;
  await ensureLockTable(db.client, table);
  clock = NOW;
  tasks = [];
  executions = new Map();
  stoppedAt = new Map();
  duringSleep = () => undefined;
  ecsMock.reset();
  sfnMock.reset();
  snsMock.reset();
  ecsMock.on(ListTasksCommand).callsFake((input) => {
    // startedBy must be the only filter (ECS ListTasks): either the runner's tasks (desired status
    // RUNNING by default) or every task asked to stop, never both filters at once.
    if (input.startedBy !== undefined) {
      expect(input.startedBy).toBe('batch-runner');
      expect(input.desiredStatus).toBeUndefined();
      return { taskArns: tasks.filter((t) => t.desiredStatus === 'RUNNING').map((t) => t.arn) };
    }
    expect(input.desiredStatus).toBe('STOPPED');
    return { taskArns: tasks.filter((t) => t.desiredStatus === 'STOPPED').map((t) => t.arn) };
  });
  ecsMock.on(DescribeTasksCommand).callsFake((input) => {
    const found = tasks.filter((t) => input.tasks?.includes(t.arn));
    for (const t of found) {
      if (t.desiredStatus === 'STOPPED' && t.lastStatus !== 'STOPPED') {
        t.stopsAfterDescribes -= 1;
        if (t.stopsAfterDescribes <= 0) {
          t.lastStatus = 'STOPPED';
          t.exitCode ??= 143;
        }
      }
    }
    return {
      tasks: found.map(toSdk),
      failures: (input.tasks ?? [])
        .filter((a: string) => !found.some((t) => t.arn === a))
        .map((arn: string) => ({ arn, reason: 'MISSING' })),
    };
  });
  ecsMock.on(StopTaskCommand).callsFake((input) => {
    const t = tasks.find((x) => x.arn === input.task);
    if (!t) throw Object.assign(new Error('The referenced task was not found.'), { name: 'InvalidParameterException' });
    t.desiredStatus = 'STOPPED';
    t.stoppedReason ??= input.reason;
    return { task: toSdk(t) };
  });
  sfnMock.on(DescribeExecutionCommand).callsFake((input) => {
    const status = executions.get(input.executionArn);
    if (!status) throw Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' });
    const stopped = stoppedAt.get(input.executionArn);
    return {
      executionArn: input.executionArn,
      stateMachineArn: STATE_MACHINE_ARN,
      status,
      startDate: new Date(NOW - 3_600_000),
      ...(status !== 'RUNNING' ? { stopDate: new Date(stopped ?? NOW - 3_000_000) } : {}),
    };
  });
  sfnMock.on(ListStateMachinesCommand).resolves({ stateMachines: [] });
  sfnMock.on(SendTaskSuccessCommand).resolves({});
  sfnMock.on(SendTaskFailureCommand).resolves({});
  snsMock.on(PublishCommand).resolves({ MessageId: '6f1c2d3e-4b5a-5c6d-8e7f-901a2b3c4d5e' });
});

describe('issue 9 scenarios: a lock is let go only when its task is known to be STOPPED', () => {
  test('stop, then re-run: the stopped run`s task is still inside its stop grace, so the re-run does not take the lock', async () => {
    const stopped = executionArn('stopped-by-hand');
    executions.set(stopped, 'ABORTED');
    await holdLock(stopped, { taskArn: { S: taskArn('old') } });
    // The console stop's cleanup already asked ECS to stop it: desired STOPPED, still RUNNING.
    addTask({ id: 'old', execution: 'stopped-by-hand', desiredStatus: 'STOPPED', stopsAfterDescribes: Infinity });

    const answer = await settle(executionArn('rerun'));

    expect(answer).toMatchObject({ lock: 'held until its task is confirmed STOPPED', taskMayStillRun: true });
    expect(answer.mayStillRun).toEqual([taskArn('old')]);
    const lock = await readLock(db.client, table, BATCH);
    expect(lock).toMatchObject({ owner: stopped, pendingStopTaskArns: [taskArn('old')] });

    // Once ECS reports it STOPPED, the next settle lets the lock go.
    tasks[0].stopsAfterDescribes = 1;
    expect(await settle(executionArn('rerun-2'))).toMatchObject({ lock: 'released', taskMayStillRun: false });
    expect(await readLock(db.client, table, BATCH)).toBeUndefined();
  });

  test('a task still inside its stop grace, noted nowhere (stopped by someone else), still keeps the lock', async () => {
    const aborted = executionArn('stopped-elsewhere');
    executions.set(aborted, 'ABORTED');
    await holdLock(aborted); // no taskArn, no pendingStopTaskArns
    addTask({
      id: 'stopping',
      execution: 'stopped-elsewhere',
      desiredStatus: 'STOPPED',
      stopsAfterDescribes: Infinity,
    });

    const answer = await settle(executionArn('next-start'));

    expect(answer).toMatchObject({
      lock: 'held until its task is confirmed STOPPED',
      mayStillRun: [taskArn('stopping')],
    });
    expect((await readLock(db.client, table, BATCH))?.owner).toBe(aborted);
  });

  test('a stopping task with the lock free: the settle does not answer "free"', async () => {
    executions.set(executionArn('gone'), 'ABORTED');
    addTask({ id: 'orphan', execution: 'gone', desiredStatus: 'STOPPED', stopsAfterDescribes: Infinity });

    const answer = await settle(executionArn('next-start'));

    expect(answer.lock).toBe('free, but a task may still run');
    expect(answer.taskMayStillRun).toBe(true);
  });

  test('the stop is noted on the lock before StopTask is sent', async () => {
    const aborted = executionArn('noted');
    executions.set(aborted, 'ABORTED');
    await holdLock(aborted);
    addTask({ id: 't1', execution: 'noted', stopsAfterDescribes: Infinity });
    let notedWhenStopped: readonly string[] | undefined;
    ecsMock.on(StopTaskCommand).callsFake(async (input) => {
      notedWhenStopped = (await readLock(db.client, table, BATCH))?.pendingStopTaskArns;
      const t = tasks.find((x) => x.arn === input.task)!;
      t.desiredStatus = 'STOPPED';
      return { task: toSdk(t) };
    });

    await pass();

    expect(notedWhenStopped).toEqual([taskArn('t1')]);
  });

  test('tasks are described on their own cluster (imported batches run on other clusters)', async () => {
    const aborted = executionArn('elsewhere');
    executions.set(aborted, 'ABORTED');
    const otherCluster = 'arn:aws:ecs:ap-northeast-1:123456789012:task/payments/abc';
    await holdLock(aborted, { taskArn: { S: otherCluster } });

    await settle(executionArn('next'));

    expect(ecsMock).toHaveReceivedCommandWith(DescribeTasksCommand, {
      cluster: 'arn:aws:ecs:ap-northeast-1:123456789012:cluster/payments',
      tasks: [otherCluster],
    });
  });

  test('stopped while RunTask was in flight: the task its history never recorded is found by its tags and stopped', async () => {
    const aborted = executionArn('aborted-mid-start');
    executions.set(aborted, 'ABORTED');
    await holdLock(aborted); // no taskArn: the watcher never registered it
    addTask({ id: 'unrecorded', execution: 'aborted-mid-start' });

    const report = (await handleReconcilerEvent(
      executionStatusChange({ status: 'ABORTED', name: 'aborted-mid-start' }),
      deps(),
    )) as BatchReconcileReport;

    expect(ecsMock).toHaveReceivedCommandWith(StopTaskCommand, {
      task: taskArn('unrecorded'),
      reason: 'batch-runner reconciler: its execution aborted-mid-start is ABORTED',
    });
    expect(report).toMatchObject({ lock: 'released', tasks: [{ taskArn: taskArn('unrecorded'), action: 'stopped' }] });
    expect(published()).toHaveLength(1);
    expect(published()[0].Message).toContain(`Task ${taskArn('unrecorded')} was stopped by the reconciler`);
    expect(published()[0].Message).not.toContain('No ECS task had been started');
  });

  test('a lost Execution Status Change event: the scheduled pass stops the task, releases the lock and sends the alert', async () => {
    const aborted = executionArn('event-lost');
    executions.set(aborted, 'ABORTED');
    await holdLock(aborted, { taskArn: { S: taskArn('t1') } });
    addTask({ id: 't1', execution: 'event-lost', stopsAfterDescribes: 1 });

    const first = await pass();
    // Asked to stop; not yet STOPPED: the lock stays, the alert says so.
    expect(first.reports[0]).toMatchObject({ lock: 'held until its task is confirmed STOPPED', alert: 'sent' });
    expect((await readLock(db.client, table, BATCH))?.owner).toBe(aborted);
    expect(published()[0].Message).toContain('Task may still run: true');

    const second = await pass();
    expect(second.reports[0]).toMatchObject({ lock: 'released', alert: 'already recorded' });
    expect(published()).toHaveLength(1);
    expect(await readLock(db.client, table, BATCH)).toBeUndefined();
  });

  test('a copy with no live owner and no lock (e.g. its lock was force-unlocked) is stopped', async () => {
    executions.set(executionArn('gone'), 'FAILED');
    addTask({ id: 'orphan', execution: 'gone' });

    const { reports } = await pass();

    expect(reports[0].tasks).toEqual([
      expect.objectContaining({ taskArn: taskArn('orphan'), why: 'its execution gone does not hold the lock' }),
    ]);
    expect(tasks[0].desiredStatus).toBe('STOPPED');
  });

  test('the live owner`s task before its deadline is supervised: nothing is stopped, nothing released', async () => {
    const owner = executionArn('healthy');
    executions.set(owner, 'RUNNING');
    await holdLock(owner, { taskArn: { S: taskArn('t1') }, deadlineAt: { N: String(NOW / 1000 + 600) } });
    addTask({ id: 't1', execution: 'healthy' });

    const { reports } = await pass();

    expect(reports[0]).toMatchObject({ lock: 'held by a live owner', mayStillRun: [taskArn('t1')] });
    expect(ecsMock).not.toHaveReceivedCommand(StopTaskCommand);
    expect(sfnMock).not.toHaveReceivedCommand(SendTaskFailureCommand);
  });

  test('a run that started between the task list and the lock read is not taken for an orphan', async () => {
    // ListTasks sees no task; by the time the lock is read, a new run owns it and has started one.
    const owner = executionArn('just-started');
    executions.set(owner, 'RUNNING');
    ecsMock.on(ListTasksCommand).callsFake(() => {
      void holdLock(owner);
      addTask({ id: 'new', execution: 'just-started' });
      return { taskArns: [] };
    });

    const { reports } = await pass();

    expect(ecsMock).not.toHaveReceivedCommand(StopTaskCommand);
    expect(tasks[0].desiredStatus).toBe('RUNNING');
    expect(reports.every((r) => r.tasks.length === 0)).toBe(true);
  });
});

describe('a RunTask in flight when its execution was stopped', () => {
  test('the task surfaces after the execution ended: the settle waits out the grace, finds it, stops it, then hands on the lock', async () => {
    const stopped = executionArn('stopped-mid-runtask');
    executions.set(stopped, 'ABORTED');
    stoppedAt.set(stopped, NOW - 5_000);
    await holdLock(stopped);
    // ECS creates the task a moment after StopExecution returned.
    duringSleep = () => {
      if (tasks.length === 0) addTask({ id: 'late', execution: 'stopped-mid-runtask' });
    };

    const answer = await settle(executionArn('rerun'));

    expect(clock - NOW).toBeGreaterThanOrEqual(55_000);
    expect(ecsMock).toHaveReceivedCommandWith(StopTaskCommand, { task: taskArn('late') });
    expect(answer).toMatchObject({ lock: 'released', taskMayStillRun: false });
    expect(tasks[0].lastStatus).toBe('STOPPED');
  });

  test('the scheduled pass does not wait: it keeps a just-ended owner`s lock until a later pass', async () => {
    const stopped = executionArn('just-ended');
    executions.set(stopped, 'ABORTED');
    stoppedAt.set(stopped, NOW - 5_000);
    await holdLock(stopped);

    const first = await pass();
    expect(first.reports[0].lock).toBe('held: its owner ended moments ago');
    expect((await readLock(db.client, table, BATCH))?.owner).toBe(stopped);

    clock += 60_000;
    const later = await pass();
    expect(later.reports[0].lock).toBe('released');
  });

  test('the grace is a minute to the millisecond: an owner ended 59.999 s before the listing keeps its lock, one ended 60 s before does not', async () => {
    const owner = executionArn('edge');
    executions.set(owner, 'FAILED');
    await holdLock(owner);

    stoppedAt.set(owner, NOW - IN_FLIGHT_GRACE_MS + 1);
    expect((await pass()).reports[0].lock).toBe('held: its owner ended moments ago');

    stoppedAt.set(owner, NOW - IN_FLIGHT_GRACE_MS);
    expect((await pass()).reports[0].lock).toBe('released');
  });

  test.each([
    ['covers exactly the rest of the grace: it waits it out, then hands the lock on', 30, 30_000, 'released'],
    [
      'is a second short of the rest of the grace: it does not wait, the lock stays',
      29,
      0,
      'held: its owner ended moments ago',
    ],
  ])('a settle whose budget %s', async (_label, budgetSeconds, waitedMs, lock) => {
    const owner = executionArn('ended-30s-ago');
    executions.set(owner, 'ABORTED');
    stoppedAt.set(owner, NOW - 30_000);
    await holdLock(owner);

    const answer = (await handleReconcilerEvent(
      { action: 'settle', executionArn: executionArn('next-run'), batch: { name: BATCH, clusterArn: CLUSTER_ARN } },
      deps(budgetSeconds),
    )) as SettleAnswer;

    expect(clock - NOW).toBe(waitedMs);
    expect(answer.lock).toBe(lock);
    expect((await readLock(db.client, table, BATCH))?.owner).toBe(lock === 'released' ? undefined : owner);
  });

  test('the grace counts to when the task listing began, not to the decision: slow calls after the listing do not shorten it', async () => {
    const stopped = executionArn('slow-look');
    executions.set(stopped, 'ABORTED');
    stoppedAt.set(stopped, NOW - 30_000);
    await holdLock(stopped);
    // The listing is taken 30 s after the owner ended and shows nothing; DescribeExecution then
    // answers 40 s later (throttled, retried), while the owner's in-flight RunTask surfaces.
    const describe = sfnMock.commandCalls(DescribeExecutionCommand).length;
    sfnMock.on(DescribeExecutionCommand).callsFake((input) => {
      clock += 40_000;
      addTask({ id: 'surfaced', execution: 'slow-look' });
      return {
        executionArn: input.executionArn,
        stateMachineArn: STATE_MACHINE_ARN,
        status: 'ABORTED',
        startDate: new Date(NOW - 3_600_000),
        stopDate: new Date(NOW - 30_000),
      };
    });

    const first = await pass();

    expect(sfnMock.commandCalls(DescribeExecutionCommand).length).toBeGreaterThan(describe);
    expect(first.reports[0].lock).toBe('held: its owner ended moments ago');
    expect((await readLock(db.client, table, BATCH))?.owner).toBe(stopped);
    // The next pass lists again, finds the surfaced task and stops it before anything else.
    const later = await pass();
    expect(ecsMock).toHaveReceivedCommandWith(StopTaskCommand, { task: taskArn('surfaced') });
    expect(later.reports[0].lock).not.toBe('released');
  });
});

describe('issue 9 scenarios: the absolute deadline and lost ECS events', () => {
  test('past the stored deadline: the owner`s token is answered DeadlineReached, then the task is stopped', async () => {
    const owner = executionArn('overran');
    executions.set(owner, 'RUNNING');
    await holdLock(owner, {
      taskArn: { S: taskArn('t1') },
      taskToken: { S: 'token-of-the-current-chunk' },
      deadlineAt: { N: String(NOW / 1000 - 30) },
    });
    addTask({ id: 't1', execution: 'overran' });

    const { reports } = await pass();

    expect(sfnMock).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: 'token-of-the-current-chunk',
      error: 'BatchRunner.DeadlineReached',
    });
    // The cause says why, naming the deadline (the stored one, earlier than the tags') and the task.
    const [failure] = sfnMock.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input);
    expect(JSON.parse(failure.cause ?? '')).toEqual({
      message: `hard timeout: the run's deadline ${new Date(NOW - 30_000).toISOString()} has passed; the reconciler stops the task.`,
      taskArn: taskArn('t1'),
    });
    expect(reports[0].tokenAnswered).toMatch(/: deadline reached$/);
    expect(ecsMock).toHaveReceivedCommandWith(StopTaskCommand, { task: taskArn('t1') });
    expect(tasks[0].stoppedReason).toMatch(/^batch-runner reconciler: hard timeout: the run's deadline .* has passed$/);
    // The owner still runs: it records the timeout and releases its own lock.
    expect((await readLock(db.client, table, BATCH))?.owner).toBe(owner);
  });

  test('start timeout: a watched task still PENDING past createdAt + the stored startTimeoutSeconds has its token answered StartTimedOut, not stopped here', async () => {
    const owner = executionArn('stuck');
    executions.set(owner, 'RUNNING');
    await holdLock(owner, {
      taskArn: { S: taskArn('t1') },
      taskToken: { S: 'token-of-the-current-chunk' },
      deadlineAt: { N: String(NOW / 1000 + 3000) },
      startTimeoutSeconds: { N: '300' },
    });
    addTask({ id: 't1', execution: 'stuck', lastStatus: 'PENDING', createdAt: new Date(NOW - 400_000) });

    const { reports } = await pass();

    expect(sfnMock).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: 'token-of-the-current-chunk',
      error: 'BatchRunner.StartTimedOut',
      cause: `Task ${taskArn('t1')} stayed PENDING for 400 s since it was created at ${new Date(NOW - 400_000).toISOString()}, longer than the start timeout of 300 s (seen by the reconciler).`,
    });
    expect(reports[0].tokenAnswered).toMatch(/: start timed out \(PENDING\)$/);
    // The state machine stops it, confirms STOPPED and then releases its own lock.
    expect(ecsMock).not.toHaveReceivedCommand(StopTaskCommand);
    expect((await readLock(db.client, table, BATCH))?.owner).toBe(owner);
  });

  test('start timeout: a PENDING task within it, or a RUNNING one past it, is only supervised', async () => {
    const owner = executionArn('slow-start');
    executions.set(owner, 'RUNNING');
    await holdLock(owner, {
      taskArn: { S: taskArn('t1') },
      taskToken: { S: 'token' },
      deadlineAt: { N: String(NOW / 1000 + 3000) },
      startTimeoutSeconds: { N: '300' },
    });
    const task = addTask({
      id: 't1',
      execution: 'slow-start',
      lastStatus: 'PENDING',
      createdAt: new Date(NOW - 200_000),
    });
    await pass();
    task.lastStatus = 'RUNNING';
    clock += 600_000;
    await pass();

    expect(sfnMock).not.toHaveReceivedCommand(SendTaskFailureCommand);
    expect(ecsMock).not.toHaveReceivedCommand(StopTaskCommand);
  });

  test('without a stored deadline, the task`s own tags and creation time give it', async () => {
    const owner = executionArn('no-deadline-stored');
    executions.set(owner, 'RUNNING');
    await holdLock(owner);
    addTask({ id: 't1', execution: 'no-deadline-stored', createdAt: new Date(NOW - 3601_000) });

    await pass();

    expect(tasks[0].desiredStatus).toBe('STOPPED');
  });

  test('the watched task stopped and its STOPPED event was lost: the token is answered with the task`s own outcome', async () => {
    const owner = executionArn('waiting');
    executions.set(owner, 'RUNNING');
    await holdLock(owner, {
      taskArn: { S: taskArn('t1') },
      taskToken: { S: 'token' },
      containerName: { S: 'app' },
    });
    addTask({ id: 't1', execution: 'waiting', lastStatus: 'STOPPED', desiredStatus: 'STOPPED', exitCode: 0 });

    const { reports } = await pass();

    expect(sfnMock).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token' });
    const output = JSON.parse(sfnMock.commandCalls(SendTaskSuccessCommand)[0].args[0].input.output ?? '{}');
    expect(output).toMatchObject({ taskArn: taskArn('t1'), exitCode: 0 });
    expect(reports[0].tokenAnswered).toBe(`answered: task ${taskArn('t1')} stopped`);
  });
});

describe('the state machine`s calls (settle, finish): the answer it reads is always complete', () => {
  test.each([
    ['settle of a free lock', 'settle', undefined],
    ['settle of a dead owner', 'settle', 'FAILED'],
    ['finish of its own run', 'finish', 'RUNNING'],
  ])('%s', async (_label, action, ownerStatus) => {
    const caller = executionArn('caller');
    if (ownerStatus) {
      const owner = action === 'finish' ? caller : executionArn('dead');
      executions.set(owner, ownerStatus);
      await holdLock(owner);
    }
    const answer = (await handleReconcilerEvent(
      { action: action as 'settle' | 'finish', executionArn: caller, batch: { name: BATCH, clusterArn: CLUSTER_ARN } },
      deps(),
    )) as SettleAnswer;
    // The definition's ResultSelectors read exactly these (test/contracts/service-apis OWN_CONTRACTS).
    expect(Object.keys(answer).sort()).toEqual(['lock', 'mayStillRun', 'status', 'taskMayStillRun', 'tasks']);
    expect(typeof answer.status).toBe('string');
    expect(typeof answer.taskMayStillRun).toBe('boolean');
  });

  test('finish: a task of this execution that ECS lists (its RunTask answer was lost) is stopped and confirmed first', async () => {
    const caller = executionArn('answer-lost');
    executions.set(caller, 'RUNNING');
    await holdLock(caller);
    addTask({ id: 'started-anyway', execution: 'answer-lost', stopsAfterDescribes: 3 });

    const answer = (await handleReconcilerEvent(
      { action: 'finish', executionArn: caller, batch: { name: BATCH, clusterArn: CLUSTER_ARN }, start: {} },
      deps(),
    )) as SettleAnswer;

    expect(answer).toMatchObject({ lock: 'released', status: 'released', taskMayStillRun: false });
    expect(tasks[0].lastStatus).toBe('STOPPED');
    expect(published()).toEqual([]); // the execution sends its own alert
  });

  test('finish: its own started task, not yet in ECS`s list (the list lags RunTask), is found from the start answer, stopped and confirmed first', async () => {
    const caller = executionArn('just-started');
    executions.set(caller, 'RUNNING');
    await holdLock(caller);
    addTask({ id: 'not-listed-yet', execution: 'just-started', stopsAfterDescribes: 2 });
    ecsMock.on(ListTasksCommand).resolves({ taskArns: [] });

    const answer = (await handleReconcilerEvent(
      {
        action: 'finish',
        executionArn: caller,
        batch: { name: BATCH, clusterArn: CLUSTER_ARN },
        start: { Tasks: [{ TaskArn: taskArn('not-listed-yet') }], Failures: [] },
      },
      deps(),
    )) as SettleAnswer;

    expect(ecsMock).toHaveReceivedCommandWith(StopTaskCommand, {
      task: taskArn('not-listed-yet'),
      reason: 'batch-runner reconciler: its execution just-started is ending its run',
    });
    expect(answer).toMatchObject({
      lock: 'released',
      taskMayStillRun: false,
      tasks: [expect.objectContaining({ taskArn: taskArn('not-listed-yet'), action: 'stopped' })],
    });
    expect(await readLock(db.client, table, BATCH)).toBeUndefined();
  });

  test('settle against a live holder: nothing is stopped, the lock stays the holder`s, and the answer says so', async () => {
    const owner = executionArn('holder');
    executions.set(owner, 'RUNNING');
    await holdLock(owner);

    const answer = (await handleReconcilerEvent(
      {
        action: 'settle',
        executionArn: executionArn('caller'),
        batch: { name: BATCH, clusterArn: CLUSTER_ARN },
      },
      deps(),
    )) as SettleAnswer;

    expect(answer).toMatchObject({ lock: 'held by a live owner', taskMayStillRun: false, tasks: [] });
    expect(ecsMock).not.toHaveReceivedCommand(StopTaskCommand);
    expect((await readLock(db.client, table, BATCH))?.owner).toBe(owner);
  });

  test('finish: a task that does not reach STOPPED within the bound keeps the lock held', async () => {
    const caller = executionArn('stubborn');
    executions.set(caller, 'RUNNING');
    await holdLock(caller, { taskArn: { S: taskArn('t1') } });
    addTask({ id: 't1', execution: 'stubborn', desiredStatus: 'STOPPED', stopsAfterDescribes: Infinity });

    const answer = (await handleReconcilerEvent(
      {
        action: 'finish',
        executionArn: caller,
        batch: { name: BATCH, clusterArn: CLUSTER_ARN },
        start: { Tasks: [{ TaskArn: taskArn('t1') }] },
      },
      deps(30),
    )) as SettleAnswer;

    expect(answer).toMatchObject({ taskMayStillRun: true, mayStillRun: [taskArn('t1')] });
    expect(answer.status).toContain('kept until the task is confirmed STOPPED');
    expect(await readLock(db.client, table, BATCH)).toMatchObject({
      owner: caller,
      pendingStopTaskArns: [taskArn('t1')],
    });
  });
});

describe('alerts are owed, not fired', () => {
  test('SNS down: the alert stays owed and is delivered by a later pass; never twice', async () => {
    const aborted = executionArn('sns-outage');
    executions.set(aborted, 'ABORTED');
    await holdLock(aborted);
    snsMock
      .on(PublishCommand)
      .rejects(Object.assign(new Error('Service Unavailable'), { name: 'InternalErrorException' }));

    const first = (await handleReconcilerEvent(
      executionStatusChange({ status: 'ABORTED', name: 'sns-outage' }),
      deps(),
    )) as BatchReconcileReport;
    expect(first.alert).toBe('owed: publish failed');

    // Still down once the recorder's grace has passed: backoff, no loss.
    clock += (RECORDER_GRACE_SECONDS + 1) * 1000;
    await pass();
    const record = await alertRecord(aborted);
    expect(record?.state?.S).toBe('owed');
    expect(Number(record?.attempts?.N)).toBe(2);

    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    clock += 5 * 60_000;
    await pass();
    // The duplicate event of the same execution records nothing new and sends nothing.
    await handleReconcilerEvent(executionStatusChange({ status: 'ABORTED', name: 'sns-outage' }), deps());
    clock += 60 * 60_000;
    await pass();

    const delivered = snsMock.commandCalls(PublishCommand).filter((c) => c.returnValue !== undefined);
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 3); // two failed attempts, one success
    expect(delivered.length).toBeGreaterThan(0);
    expect((await alertRecord(aborted))?.state?.S).toBe('delivered');
  });

  test('an alert the state machine recorded is left to it for the grace, then delivered once if it never marked it', async () => {
    const execution = executionArn('aborted-while-publishing');
    // What RecordOwedAlert writes: no epoch seconds (the state machine has none).
    await putOwedAlert(execution);

    await pass(); // first sight: stamped, not published
    expect(published()).toEqual([]);
    clock += (RECORDER_GRACE_SECONDS + 1) * 1000;
    await pass();
    await pass();
    expect(published()).toHaveLength(1);
    expect(published()[0]).toMatchObject({ Subject: `[batch-runner] ${BATCH} failed`, TopicArn: TOPIC_ARN });
  });

  test('an alert the reconciler delivers carries the attributes subscription filters match; a field the record lacks is "-" (SNS refuses an empty value)', async () => {
    const full = executionArn('full-record');
    await putOwedAlert(full);
    const bare = executionArn('bare-record');
    await db.client.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          batch: { S: alertKey(bare) },
          state: { S: 'owed' },
          source: { S: 'state-machine' },
          subject: { S: '[batch-runner] ? failed' },
          message: { S: 'Batch ?: failed' },
        },
      }),
    );
    await pass(); // stamped
    clock += RECORDER_GRACE_SECONDS * 1000;
    await pass();

    const attributesOf = (subject: string) => published().find((p) => p.Subject === subject)?.MessageAttributes;
    const attribute = (value: string) => ({ DataType: 'String', StringValue: value });
    expect(attributesOf(`[batch-runner] ${BATCH} failed`)).toEqual({
      batch: attribute(BATCH),
      outcome: attribute('failed'),
      severity: attribute('alert'),
      trigger: attribute('schedule'),
      source: attribute('reconciler'),
    });
    expect(attributesOf('[batch-runner] ? failed')).toEqual({
      batch: attribute('-'),
      outcome: attribute('-'),
      severity: attribute('alert'),
      trigger: attribute('-'),
      source: attribute('reconciler'),
    });
  });

  test('the recorder`s grace ends to the second: due exactly RECORDER_GRACE_SECONDS after the reconciler first saw it', async () => {
    const execution = executionArn('grace-boundary');
    await putOwedAlert(execution);
    await pass();
    expect(Number((await alertRecord(execution))?.owedAt?.N)).toBe(NOW / 1000);
    expect(Number((await alertRecord(execution))?.expiresAt?.N)).toBe(NOW / 1000 + ALERT_RECORD_TTL_SECONDS);

    clock += (RECORDER_GRACE_SECONDS - 1) * 1000;
    await pass();
    expect(published()).toEqual([]);
    clock += 1000;
    await pass();
    expect(published()).toHaveLength(1);
    expect((await alertRecord(execution))?.state?.S).toBe('delivered');
  });

  test('a failed delivery is tried again after a backoff that doubles from a minute, up to 30 minutes', async () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(nextAttemptDelaySeconds)).toEqual([60, 120, 240, 480, 960, 1800, 1800, 1800]);

    const execution = executionArn('sns-refuses');
    await putOwedAlert(execution);
    snsMock
      .on(PublishCommand)
      .rejects(Object.assign(new Error('Service Unavailable'), { name: 'InternalErrorException' }));
    await pass();
    clock += RECORDER_GRACE_SECONDS * 1000;
    await pass();

    const record = await alertRecord(execution);
    expect(record?.state?.S).toBe('owed');
    expect(Number(record?.attempts?.N)).toBe(1);
    expect(Number(record?.nextAttemptAt?.N)).toBe(clock / 1000 + 60);
    expect(record?.lastError?.S).toBe('InternalErrorException: Service Unavailable');
    // Not before the backoff has passed.
    clock += 59_000;
    await pass();
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    clock += 1000;
    await pass();
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 2);
  });

  test('the scheduled pass reports the age of the oldest undelivered alert as an embedded metric', async () => {
    const log = jest.spyOn(console, 'log');
    log.mockClear();
    executions.set(executionArn('x'), 'FAILED');
    await holdLock(executionArn('x'));
    snsMock.on(PublishCommand).rejects(new Error('down'));
    await pass();
    clock += 400_000;
    await pass();
    const metric = log.mock.calls
      .map(([line]) => String(line))
      .filter((line) => line.includes('OldestUndeliveredAlertSeconds'))
      .map((line) => JSON.parse(line))
      .at(-1);
    // The EMF directive: namespace and metric as the undelivered-alerts alarm (infra/batch-runner.ts)
    // watches them, with no dimensions (the alarm's metric has none), at the pass's time.
    expect(metric._aws).toEqual({
      Timestamp: clock,
      CloudWatchMetrics: [
        {
          Namespace: 'BatchRunner',
          Dimensions: [[]],
          Metrics: [
            { Name: 'OldestUndeliveredAlertSeconds', Unit: 'Seconds' },
            { Name: 'ReconcileErrors', Unit: 'Count' },
          ],
        },
      ],
    });
    expect(metric.OldestUndeliveredAlertSeconds).toBe(400);
    expect(metric.ReconcileErrors).toBe(0);
  });
});

describe('the sweep: executions that ended without a trace in the lock table', () => {
  test('stopped by hand while it waited for the lock, its status event lost: the sweep sends its one alert', async () => {
    const waited = executionArn('stopped-while-waiting');
    sfnMock.on(ListStateMachinesCommand).resolves({
      stateMachines: [
        {
          name: `batch-runner-${BATCH}`,
          stateMachineArn: STATE_MACHINE_ARN,
          type: 'STANDARD',
          creationDate: new Date(0),
        },
        {
          name: 'payments-refund',
          stateMachineArn: 'arn:aws:states:ap-northeast-1:123456789012:stateMachine:payments-refund',
          type: 'STANDARD',
          creationDate: new Date(0),
        },
      ],
    });
    sfnMock.on(ListExecutionsCommand).callsFake((input) => ({
      executions:
        input.statusFilter === 'ABORTED'
          ? [
              {
                executionArn: waited,
                stateMachineArn: STATE_MACHINE_ARN,
                name: 'stopped-while-waiting',
                status: 'ABORTED',
                startDate: new Date(NOW - 600_000),
                stopDate: new Date(NOW - 300_000),
              },
              // Older than the lookback: its alert, if any, is long settled.
              {
                executionArn: executionArn('last-week'),
                stateMachineArn: STATE_MACHINE_ARN,
                name: 'last-week',
                status: 'ABORTED',
                startDate: new Date(NOW - 7 * 86_400_000),
                stopDate: new Date(NOW - 7 * 86_400_000),
              },
            ]
          : [],
    }));

    const first = (await pass()) as any;
    expect(first.sweep).toEqual({ swept: [`batch-runner-${BATCH}`], owed: [waited], failedBatches: [] });
    expect(sfnMock).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: STATE_MACHINE_ARN });
    expect(sfnMock).not.toHaveReceivedCommandWith(ListExecutionsCommand, {
      stateMachineArn: expect.stringContaining('payments'),
    });
    expect(published()).toHaveLength(1);
    expect(published()[0].Subject).toBe(`[batch-runner] ${BATCH} aborted`);
    expect(published()[0].Message).toContain(`Execution: ${waited}`);

    // Every later pass finds the record: never a second alert.
    await pass();
    expect(published()).toHaveLength(1);
  });
});

describe('the sweep`s turns over many state machines', () => {
  const names = Array.from({ length: 25 }, (_, i) => `batch-runner-b${String(i).padStart(2, '0')}`);
  const arnOf = (name: string) => `arn:aws:states:${REGION}:123456789012:stateMachine:${name}`;
  const ended = (name: string, status: string) => ({
    executionArn: `arn:aws:states:${REGION}:123456789012:execution:${name}:run-1`,
    stateMachineArn: arnOf(name),
    name: 'run-1',
    status,
    startDate: new Date(NOW - 600_000),
    stopDate: new Date(NOW - 300_000),
  });
  const sweep = (passIndex: number) =>
    sweepEndedExecutions(
      { world: awsWorld({ ecs, sfn, sns }, TOPIC_ARN), dynamodb: handlerDb, lockTableName: table, now: () => clock },
      'batch-runner',
      passIndex,
    );
  const machines = (list: readonly string[]) =>
    sfnMock.on(ListStateMachinesCommand).resolves({
      stateMachines: list.map((name) => ({
        name,
        stateMachineArn: arnOf(name),
        type: 'STANDARD' as const,
        creationDate: new Date(0),
      })),
    });

  test('25 state machines, 20 a pass, in name order whatever order Step Functions lists them in: every one within two passes', async () => {
    machines([...names].reverse());
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    expect((await sweep(0)).swept).toEqual(names.slice(0, 20));
    expect((await sweep(1)).swept).toEqual([...names.slice(20), ...names.slice(0, 15)]);
    expect((await sweep(2)).swept).toEqual([...names.slice(15), ...names.slice(0, 10)]);
  });

  test('fewer than 20: each once a pass; none: nothing swept', async () => {
    machines(['batch-runner-b', 'batch-runner-a']);
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    expect((await sweep(7)).swept).toEqual(['batch-runner-a', 'batch-runner-b']);
    machines([]);
    expect(await sweep(7)).toEqual({ swept: [], owed: [], failedBatches: [] });
  });

  test('FAILED and TIMED_OUT runs name their batch for the pause check, an ABORTED one does not; each is owed one alert, once', async () => {
    machines(['batch-runner-aborts', 'batch-runner-fails', 'batch-runner-times-out']);
    sfnMock.on(ListExecutionsCommand).callsFake((input) => {
      const name = input.stateMachineArn.split(':').pop();
      const status =
        { 'batch-runner-aborts': 'ABORTED', 'batch-runner-fails': 'FAILED' }[name as string] ?? 'TIMED_OUT';
      return { executions: input.statusFilter === status ? [ended(name, status)] : [] };
    });
    const first = await sweep(0);
    expect(first.failedBatches.sort()).toEqual(['fails', 'times-out']);
    expect(first.owed).toHaveLength(3);
    expect(
      published()
        .map((p) => p.Subject)
        .sort(),
    ).toEqual(['[batch-runner] aborts aborted', '[batch-runner] fails failed', '[batch-runner] times-out timed_out']);
    // A later pass over the same executions finds their records: nothing owed again, nothing sent.
    const second = await sweep(0);
    expect(second.owed).toEqual([]);
    expect(published()).toHaveLength(3);
  });
});

describe('records the state machine writes without epoch seconds', () => {
  test('slot claims get a one-week TTL on the first pass that sees them, and keep it', async () => {
    const key = `slot#${BATCH}#2026-12-01T21:00:00Z`;
    await db.client.send(
      new PutItemCommand({ TableName: table, Item: { batch: { S: key }, execution: { S: executionArn('x') } } }),
    );
    await pass();
    const read = async () =>
      (await db.client.send(new GetItemCommand({ TableName: table, Key: { batch: { S: key } }, ConsistentRead: true })))
        .Item;
    expect(Number((await read())?.expiresAt?.N)).toBe(NOW / 1000 + SLOT_CLAIM_TTL_SECONDS);
    clock += 3_600_000;
    await pass();
    expect(Number((await read())?.expiresAt?.N)).toBe(NOW / 1000 + SLOT_CLAIM_TTL_SECONDS);
  });
});

describe('the reconciler as the state machine calls it', () => {
  test('an AWS failure inside settle/finish is a named error the state machine retries, not a failed run', async () => {
    executions.set(executionArn('dead'), 'FAILED');
    await holdLock(executionArn('dead'));
    ecsMock.on(ListTasksCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    await expect(settle(executionArn('caller'))).rejects.toMatchObject({
      name: 'BatchRunner.ReconcilerUnavailable',
      message: 'the reconciler could not finish (ThrottlingException: Rate exceeded); the state machine retries.',
    });
    expect((await readLock(db.client, table, BATCH))?.owner).toBe(executionArn('dead'));
  });

  test('a cluster that cannot be listed: the pass reconciles nothing on a partial view, yet delivers owed alerts', async () => {
    executions.set(executionArn('dead'), 'FAILED');
    await holdLock(executionArn('dead'));
    ecsMock.on(ListTasksCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    const result = (await pass()) as any;

    expect(result.reports).toEqual([]);
    expect(result.errors).toEqual([{ batch: '(listing)', error: 'ThrottlingException: Rate exceeded' }]);
    expect((await readLock(db.client, table, BATCH))?.owner).toBe(executionArn('dead'));
  });

  test('a lock naming an ARN Step Functions rejects does not block the batch forever', async () => {
    sfnMock.on(DescribeExecutionCommand).rejects(Object.assign(new Error('Invalid Arn'), { name: 'InvalidArn' }));
    await holdLock('not-an-arn');

    expect(await settle(executionArn('caller'))).toMatchObject({ lock: 'released' });
  });

  test('two deliverers at once (the status event and the pass) publish an owed alert once', async () => {
    const execution = executionArn('owed');
    await putOwedAlert(execution, dueSince(600));
    await Promise.all([pass(), pass(), pass()]);
    expect(published()).toHaveLength(1);
  });
});

describe('the rule`s boundaries, each as a pass decides it', () => {
  /** A live owner whose watched task is registered on the lock with its current chunk's token. */
  async function liveOwnerWatching(name: string, extra: Record<string, { S: string } | { N: string }> = {}) {
    const owner = executionArn(name);
    executions.set(owner, 'RUNNING');
    await holdLock(owner, {
      taskArn: { S: taskArn('watched') },
      taskToken: { S: `token-of-${name}` },
      containerName: { S: 'app' },
      ...extra,
    });
    return owner;
  }
  const registeredMinutesAgo = (minutes: number) => ({ registeredAt: { N: String(NOW / 1000 - minutes * 60) } });

  test('a watched task ECS no longer knows, registered over 10 minutes ago: its token is answered as stopped (MISSING)', async () => {
    await liveOwnerWatching('lost-task', registeredMinutesAgo(11));

    const { reports } = await pass();

    expect(reports[0].tokenAnswered).toBe(`answered: task ${taskArn('watched')} stopped`);
    const answered = [
      ...sfnMock.commandCalls(SendTaskFailureCommand),
      ...sfnMock.commandCalls(SendTaskSuccessCommand),
    ].map((c) => c.args[0].input);
    expect(answered).toEqual([expect.objectContaining({ taskToken: 'token-of-lost-task' })]);
    expect(JSON.stringify(answered[0])).toContain('ECS no longer knows the task');
  });

  test.each([
    ['registered 9 minutes ago (a new task may not be listed yet)', registeredMinutesAgo(9)],
    ['registered exactly 10 minutes ago', registeredMinutesAgo(10)],
    ['with no registration time on the lock', {}],
  ])('a watched task ECS does not list, %s: its token is left alone', async (_label, registered) => {
    await liveOwnerWatching('new-task', registered);

    const { reports } = await pass();

    expect(reports[0].tokenAnswered).toBeNull();
    expect(sfnMock).not.toHaveReceivedCommand(SendTaskFailureCommand);
    expect(sfnMock).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  test('a watched task that still runs: its token is left alone, the task supervised', async () => {
    await liveOwnerWatching('running', registeredMinutesAgo(30));
    addTask({ id: 'watched', execution: 'running' });

    const { reports } = await pass();

    expect(reports[0]).toMatchObject({
      tokenAnswered: null,
      lock: 'held by a live owner',
      mayStillRun: [taskArn('watched')],
      tasks: [{ taskArn: taskArn('watched'), action: 'supervised' }],
    });
    expect(ecsMock).not.toHaveReceivedCommand(StopTaskCommand);
  });

  test('the deadline itself is not past: a task at exactly its deadline is supervised; a second later it is stopped', async () => {
    await liveOwnerWatching('on-the-dot', { deadlineAt: { N: String(NOW / 1000) } });
    addTask({ id: 'watched', execution: 'on-the-dot' });

    expect((await pass()).reports[0].tasks).toEqual([expect.objectContaining({ action: 'supervised' })]);
    expect(ecsMock).not.toHaveReceivedCommand(StopTaskCommand);

    clock += 1000;
    const { reports } = await pass();
    expect(reports[0].tokenAnswered).toBe('answered: deadline reached');
    expect(ecsMock).toHaveReceivedCommandWith(StopTaskCommand, { task: taskArn('watched') });
  });

  test('the earlier deadline wins: the one from the task`s tags when the stored one is later', async () => {
    // Created 3601 s ago with a 3600 s hard timeout (its tag); the lock says another hour.
    await liveOwnerWatching('late-registration', { deadlineAt: { N: String(NOW / 1000 + 3600) } });
    addTask({ id: 'watched', execution: 'late-registration', createdAt: new Date(NOW - 3_601_000) });

    const { reports } = await pass();

    expect(reports[0].tokenAnswered).toBe('answered: deadline reached');
    expect(tasks[0].desiredStatus).toBe('STOPPED');
  });

  test('a free lock with a copy that does not stop within the bound: "free, but a task may still run", naming it', async () => {
    addTask({ id: 'orphan', execution: 'long-gone', stopsAfterDescribes: Number.POSITIVE_INFINITY });

    const answer = (await handleReconcilerEvent(
      { action: 'settle', executionArn: executionArn('caller'), batch: { name: BATCH, clusterArn: CLUSTER_ARN } },
      deps(10),
    )) as SettleAnswer;

    expect(answer).toMatchObject({
      lock: 'free, but a task may still run',
      taskMayStillRun: true,
      mayStillRun: [taskArn('orphan')],
      tasks: [expect.objectContaining({ taskArn: taskArn('orphan'), action: 'stop requested, not yet STOPPED' })],
    });
    expect(tasks[0].desiredStatus).toBe('STOPPED');
  });

  test('a pass over a free lock reports no owner, and a live owner owes no alert', async () => {
    const free = (await pass()).reports;
    expect(free).toEqual([]);

    await liveOwnerWatching('alive', registeredMinutesAgo(1));
    addTask({ id: 'watched', execution: 'alive' });
    const { reports } = await pass();
    expect(reports[0]).toMatchObject({ lockOwner: executionArn('alive'), ownerStatus: 'RUNNING', alert: 'none owed' });
    expect(published()).toEqual([]);
  });
});

describe('the rule, case by case', () => {
  const finish = (caller: string, started = taskArn('t1'), stopConfirmSeconds = 30) =>
    handleReconcilerEvent(
      {
        action: 'finish',
        executionArn: caller,
        batch: { name: BATCH, clusterArn: CLUSTER_ARN },
        start: { Tasks: [{ TaskArn: started }] },
      },
      deps(stopConfirmSeconds),
    ) as Promise<SettleAnswer>;

  test('an ended owner`s stopped task: its token is not answered (the execution is gone); the lock is released', async () => {
    const owner = executionArn('aborted');
    executions.set(owner, 'ABORTED');
    await holdLock(owner, { taskArn: { S: taskArn('t1') }, taskToken: { S: 'token' } });
    addTask({ id: 't1', execution: 'aborted', lastStatus: 'STOPPED', desiredStatus: 'STOPPED' });

    const { reports } = await pass();

    expect(reports[0]).toMatchObject({ tokenAnswered: null, lock: 'released' });
    expect(sfnMock).not.toHaveReceivedCommand(SendTaskFailureCommand);
    expect(sfnMock).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  test('a task without the execution tag: the lock`s own task belongs to its live owner; any other is stopped, saying why', async () => {
    const owner = executionArn('old-style');
    executions.set(owner, 'RUNNING');
    await holdLock(owner, { taskArn: { S: taskArn('t1') } });
    addTask({ id: 't1' });
    addTask({ id: 'stray' });

    const { reports } = await pass();

    expect(reports[0].tasks).toEqual([
      { taskArn: taskArn('t1'), execution: owner, action: 'supervised', why: 'its execution holds the lock and runs' },
      {
        taskArn: taskArn('stray'),
        execution: null,
        action: 'stop requested, not yet STOPPED',
        why: 'it carries no execution tag of the runner',
      },
    ]);
    expect(tasks[1].stoppedReason).toBe('batch-runner reconciler: it carries no execution tag of the runner');
    expect(tasks[0].desiredStatus).toBe('RUNNING');
  });

  test('a StopTask that is refused: reported with its error, and the task counts as still running', async () => {
    addTask({ id: 'orphan', execution: 'gone' });
    ecsMock
      .on(StopTaskCommand)
      .rejects(Object.assign(new Error('not authorized to perform ecs:StopTask'), { name: 'AccessDeniedException' }));

    const answer = await settle(executionArn('caller'));

    expect(answer).toMatchObject({
      lock: 'free, but a task may still run',
      taskMayStillRun: true,
      tasks: [
        {
          taskArn: taskArn('orphan'),
          action: 'stop failed',
          error: 'AccessDeniedException: not authorized to perform ecs:StopTask',
        },
      ],
    });
  });

  test('settle against a live holder whose task runs: it answers at once, without waiting on the holder`s task', async () => {
    const owner = executionArn('holder');
    executions.set(owner, 'RUNNING');
    await holdLock(owner, { taskArn: { S: taskArn('t1') } });
    addTask({ id: 't1', execution: 'holder' });

    const answer = await settle(executionArn('caller'));

    expect(answer).toMatchObject({ lock: 'held by a live owner', mayStillRun: [taskArn('t1')] });
    expect(clock).toBe(NOW);
    expect(tasks[0].desiredStatus).toBe('RUNNING');
  });

  test('finish looks at a stopping task every pollIntervalMs until its bound, then keeps the lock', async () => {
    const caller = executionArn('slow-stop');
    executions.set(caller, 'RUNNING');
    await holdLock(caller, { taskArn: { S: taskArn('t1') } });
    addTask({ id: 't1', execution: 'slow-stop', stopsAfterDescribes: Infinity });
    const base = deps(30);

    const answer = (await handleReconcilerEvent(
      {
        action: 'finish',
        executionArn: caller,
        batch: { name: BATCH, clusterArn: CLUSTER_ARN },
        start: { Tasks: [{ TaskArn: taskArn('t1') }] },
      },
      { ...base, config: { ...base.config, pollIntervalMs: 10_000 } },
    )) as SettleAnswer;

    expect(answer).toMatchObject({ taskMayStillRun: true, lock: 'held until its task is confirmed STOPPED' });
    expect((await readLock(db.client, table, BATCH))?.owner).toBe(caller);
    expect(clock - NOW).toBe(30_000);
    // One look in the listing, then one after each of the three 10 s waits.
    expect(ecsMock.commandCalls(DescribeTasksCommand)).toHaveLength(4);
  });

  test('settle on a free lock: "free", nothing written', async () => {
    expect(await settle(executionArn('caller'))).toMatchObject({ lock: 'free', tasks: [] });
    expect(await readLock(db.client, table, BATCH)).toBeUndefined();
  });

  test('finish does not ask Step Functions about the finishing execution: it knows it is ending', async () => {
    const caller = executionArn('finishing');
    executions.set(caller, 'RUNNING');
    await holdLock(caller, { taskArn: { S: taskArn('t1') } });
    addTask({ id: 't1', execution: 'finishing', lastStatus: 'STOPPED', desiredStatus: 'STOPPED' });

    expect(await finish(caller)).toMatchObject({ lock: 'released' });
    expect(sfnMock).not.toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: caller });
  });

  test('the status event of an ended run also delivers the batch`s other due alerts; the state machine`s settle leaves them to the pass', async () => {
    const older = executionArn('failed-earlier');
    await putOwedAlert(older, dueSince(3600));

    await settle(executionArn('caller'));
    expect(published()).toEqual([]);

    const stopped = executionArn('stopped-by-hand');
    executions.set(stopped, 'ABORTED');
    await handleReconcilerEvent(
      executionStatusChange({ name: 'stopped-by-hand', status: 'ABORTED', input: { trigger: 'manual' } }),
      deps(),
    );
    expect(published().map((p) => p.Message?.split('\n')[0])).toEqual([
      `Batch ${BATCH}: aborted`,
      'Batch missing-images: failed',
    ]);
    expect((await alertRecord(older))?.state).toEqual({ S: 'delivered' });
  });

  test('an ended execution that did not hold the lock: its alert tells its own run, not the lock holder`s', async () => {
    const holder = executionArn('holder');
    executions.set(holder, 'RUNNING');
    await holdLock(holder, { taskArn: { S: taskArn('t1') } });
    addTask({ id: 't1', execution: 'holder' });
    const waiting = executionArn('waited');
    executions.set(waiting, 'ABORTED');

    await handleReconcilerEvent(
      executionStatusChange({
        name: 'waited',
        status: 'ABORTED',
        input: { trigger: 'manual', requestedBy: 'alice@example.com' },
      }),
      deps(),
    );

    const [alert] = published();
    expect(alert.MessageAttributes?.trigger?.StringValue).toBe('manual');
    expect(alert.Message).toContain('Trigger: manual (requested by alice@example.com)');
    expect(alert.Message).toContain('No task of this execution was running.');
    expect(alert.Message).toContain('Task: none started');
    expect(alert.Message).toContain('Lock: not held by this execution');
    expect(tasks[0].desiredStatus).toBe('RUNNING');
  });

  test('one batch that cannot be reconciled (its owner cannot be read) is reported; the others are reconciled', async () => {
    await db.client.send(
      new PutItemCommand({
        TableName: table,
        Item: { batch: { S: 'xml-articles' }, owner: { S: executionArn('busy', 'xml-articles') } },
      }),
    );
    sfnMock
      .on(DescribeExecutionCommand, { executionArn: executionArn('busy', 'xml-articles') })
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    executions.set(executionArn('dead'), 'FAILED');
    await holdLock(executionArn('dead'));

    const result = (await pass()) as { reports: BatchReconcileReport[]; errors: unknown[] };

    expect(result.errors).toEqual([{ batch: 'xml-articles', error: 'ThrottlingException: Rate exceeded' }]);
    expect(result.reports.map((r) => [r.batch, r.lock])).toEqual([[BATCH, 'released']]);
  });
});

describe('the scheduled pass, part by part', () => {
  const machines = (count: number) =>
    sfnMock.on(ListStateMachinesCommand).resolves({
      stateMachines: Array.from({ length: count }, (_, i) => ({
        name: `batch-runner-b${String(i).padStart(2, '0')}`,
        stateMachineArn: `arn:aws:states:${REGION}:123456789012:stateMachine:batch-runner-b${String(i).padStart(2, '0')}`,
        type: 'STANDARD' as const,
        creationDate: new Date(0),
      })),
    });

  test('consecutive passes sweep the state machines in turn: the next pass starts where the last one stopped', async () => {
    machines(25);
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    clock = Math.floor(NOW / 60_000) * 60_000;
    const first = ((await pass()) as any).sweep.swept as string[];
    clock += RECONCILER_INTERVAL_SECONDS * 1000;
    const second = ((await pass()) as any).sweep.swept as string[];
    expect(first).toHaveLength(20);
    expect(second).toHaveLength(20);
    const names = Array.from({ length: 25 }, (_, i) => `batch-runner-b${String(i).padStart(2, '0')}`);
    expect(names.indexOf(second[0])).toBe((names.indexOf(first[19]) + 1) % 25);
    expect(new Set([...first, ...second]).size).toBe(25);
  });

  test('a sweep that fails is reported as an error of the pass; owed alerts are still delivered', async () => {
    sfnMock.on(ListStateMachinesCommand).rejects(
      Object.assign(new Error('not authorized to perform states:ListStateMachines'), {
        name: 'AccessDeniedException',
      }),
    );
    await putOwedAlert(executionArn('owed'), dueSince(3600));

    const result = (await pass()) as any;

    expect(result.errors).toEqual([
      { batch: '(sweep)', error: 'AccessDeniedException: not authorized to perform states:ListStateMachines' },
    ]);
    expect(result.sweep).toEqual({ swept: [], owed: [], failedBatches: [] });
    expect(result.alerts.delivered).toEqual([executionArn('owed')]);
  });

  test('a batch with a task but no lock is reconciled too: its copy without a live owner is stopped', async () => {
    addTask({ id: 'orphan', execution: 'long-gone' });

    const { reports } = await pass();

    expect(reports.map((r) => [r.batch, r.lock])).toEqual([[BATCH, 'free, but a task may still run']]);
    expect(tasks[0].desiredStatus).toBe('STOPPED');
  });
});

describe('which events the reconciler acts on', () => {
  test.each(['SUCCEEDED', 'RUNNING'] as const)(
    'an execution that is %s needs no cleanup: ignored, nothing called',
    async (status) => {
      const result = await handleReconcilerEvent(executionStatusChange({ status, name: 'fine' }), deps());
      expect(result).toEqual({ ignored: `status ${status} needs no cleanup` });
      expect(ecsMock).not.toHaveReceivedAnyCommand();
      expect(sfnMock).not.toHaveReceivedAnyCommand();
    },
  );

  test('an ended execution of another application`s state machine is not ours: ignored, nothing called', async () => {
    const event = executionStatusChange({ status: 'FAILED', name: 'theirs' });
    const foreign = {
      ...event,
      detail: { ...event.detail, stateMachineArn: `arn:aws:states:${REGION}:123456789012:stateMachine:billing-export` },
    };

    expect(await handleReconcilerEvent(foreign, deps())).toEqual({
      ignored: `state machine arn:aws:states:${REGION}:123456789012:stateMachine:billing-export is not a batch-runner state machine`,
    });
    expect(ecsMock).not.toHaveReceivedAnyCommand();
  });

  test('an event of an unknown kind is refused, quoting it and saying what is expected', async () => {
    await expect(handleReconcilerEvent({ source: 'aws.s3' } as never, deps())).rejects.toThrow(
      'reconciler: unexpected event {"source":"aws.s3"}: expected an Execution Status Change event, a scheduled event, or a settle/finish request.',
    );
  });

  test('a large unknown event is quoted to its first 200 characters', async () => {
    const event = { source: 'aws.s3', detail: { key: 'k'.repeat(1000) } };
    const quoted = JSON.stringify(event).slice(0, 200);
    await expect(handleReconcilerEvent(event as never, deps())).rejects.toThrow(
      `reconciler: unexpected event ${quoted}: expected an Execution Status Change event`,
    );
  });
});
