import 'aws-sdk-client-mock-jest';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeTasksCommand, ECSClient, StopTaskCommand } from '@aws-sdk/client-ecs';
import { GetExecutionHistoryCommand, type HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import {
  batchOfStateMachine,
  type CleanupDeps,
  type CleanupReport,
  handleExecutionEnded,
} from '../../handlers/cleanup';
import { readLock } from '../../handlers/lib/lock-item';
import { type EmbeddedDynamoDb, ensureLockTable, startEmbeddedDynamoDb } from '../../local/lock-store';
import {
  BATCH,
  CLUSTER_ARN,
  executionArn,
  executionStatusChange,
  REGION,
  sdkTask,
  startOutput,
  stateEntered,
  stateExited,
  TOPIC_ARN,
  taskArn,
} from './fixtures/events';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const sfn = new SFNClient({ region: REGION, credentials });
const ecs = new ECSClient({ region: REGION, credentials });
const sns = new SNSClient({ region: REGION, credentials });
const sfnMock = mockClient(sfn);
const ecsMock = mockClient(ecs);
const snsMock = mockClient(sns);

let db: EmbeddedDynamoDb;
let table: string;
let n = 0;
let clock = 0;

const deps = (): CleanupDeps => ({
  clients: { dynamodb: db.client, ecs, sfn, sns },
  config: {
    lockTableName: table,
    alertTopicArn: TOPIC_ARN,
    namePrefix: 'batch-runner',
    stopConfirmSeconds: 180,
    pollIntervalMs: 5000,
  },
  now: () => clock,
  // A virtual clock: the bounded wait for STOPPED runs in no real time.
  sleep: async (ms) => {
    clock += ms;
  },
});

beforeAll(async () => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  db = await startEmbeddedDynamoDb();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  sfnMock.reset();
  ecsMock.reset();
  snsMock.reset();
  snsMock.on(PublishCommand).resolves({ MessageId: 'b1e0f1c4-5d0a-5c9e-8f41-3c2d8e7a9b10' });
  ecsMock.on(StopTaskCommand).resolves({});
  sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [] });
  clock = 1794531741091;
  n += 1;
  table = `locks-${n}`;
  await ensureLockTable(db.client, table);
});

async function lockHeldBy(owner: string, extra: Record<string, string> = {}): Promise<void> {
  const item: Record<string, { S: string }> = {
    batch: { S: BATCH },
    owner: { S: owner },
    acquiredAt: { S: '2026-11-12T23:00:00.000Z' },
    trigger: { S: 'cli' },
    requestedBy: { S: 'ops@example.com' },
    reason: { S: 'backfill' },
  };
  for (const [k, v] of Object.entries(extra)) item[k] = { S: v };
  await db.client.send(new PutItemCommand({ TableName: table, Item: item }));
}

/** History newest first, as the handler asks for it (reverseOrder). */
const history = (...events: HistoryEvent[]) =>
  sfnMock.on(GetExecutionHistoryCommand).resolves({ events: events.reverse() });
const published = () => snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input);
const report = (r: unknown) => r as CleanupReport;

describe('cleanup after an execution ended outside its own failure path', () => {
  test('ABORTED (stopped by hand) while its task runs: stops the task, waits for STOPPED, releases the lock, one alert', async () => {
    const exec = executionArn('manual-run-1');
    await lockHeldBy(exec, { taskArn: taskArn('t1'), clusterArn: CLUSTER_ARN });
    ecsMock
      .on(DescribeTasksCommand)
      .resolvesOnce({ tasks: [sdkTask({ taskArn: taskArn('t1'), lastStatus: 'RUNNING' })] })
      .resolvesOnce({ tasks: [sdkTask({ taskArn: taskArn('t1'), lastStatus: 'DEACTIVATING' })] })
      .resolves({
        tasks: [
          sdkTask({
            taskArn: taskArn('t1'),
            lastStatus: 'STOPPED',
            exitCode: 143,
            stoppedReason: 'batch-runner cleanup: execution manual-run-1 ended ABORTED',
          }),
        ],
      });

    const r = report(
      await handleExecutionEnded(executionStatusChange({ status: 'ABORTED', name: 'manual-run-1' }), deps()),
    );

    expect(ecsMock).toHaveReceivedCommandWith(StopTaskCommand, {
      cluster: CLUSTER_ARN,
      task: taskArn('t1'),
      reason: 'batch-runner cleanup: execution manual-run-1 ended ABORTED',
    });
    expect(r).toMatchObject({ batch: BATCH, status: 'ABORTED', lock: 'released', alert: 'sent' });
    expect(r.task).toMatchObject({
      taskArn: taskArn('t1'),
      source: 'lock',
      stop: { status: 'stopped', lastStatus: 'STOPPED' },
    });
    expect(await readLock(db.client, table, BATCH)).toBeUndefined();
    expect(sfnMock).not.toHaveReceivedCommand(GetExecutionHistoryCommand);

    const [alert] = published();
    expect(published()).toHaveLength(1);
    expect(alert.TopicArn).toBe(TOPIC_ARN);
    expect(alert.Subject).toBe('[batch-runner] missing-images aborted');
    expect(alert.Message).toContain('Batch missing-images: aborted');
    expect(alert.Message).toContain('Trigger: cli (requested by ops@example.com)');
    expect(alert.Message).toContain(`Execution: ${exec}`);
    expect(alert.Message).toContain(
      `Console: https://${REGION}.console.aws.amazon.com/states/home?region=${REGION}#/v2/executions/details/${exec}`,
    );
    expect(alert.Message).toContain(`Task: ${taskArn('t1')}`);
    expect(alert.Message).toContain('Stop reason: batch-runner cleanup: execution manual-run-1 ended ABORTED');
    expect(alert.Message).toContain('Task may still run: false');
    expect(alert.Message).toContain('Lock: released');
    expect(alert.MessageAttributes).toEqual({
      batch: { DataType: 'String', StringValue: BATCH },
      outcome: { DataType: 'String', StringValue: 'aborted' },
      severity: { DataType: 'String', StringValue: 'alert' },
      trigger: { DataType: 'String', StringValue: 'cli' },
      source: { DataType: 'String', StringValue: 'cleanup' },
    });
  });

  test('TIMED_OUT before the watcher registered the task: the task ARN comes from the StartBatchTask output in the history', async () => {
    const exec = executionArn('sched-1');
    await lockHeldBy(exec);
    history(
      stateEntered('StartBatchTask'),
      stateExited('StartBatchTask', startOutput(taskArn('t2'))),
      stateEntered('WaitForTaskToStop'),
    );
    ecsMock
      .on(DescribeTasksCommand)
      .resolvesOnce({ tasks: [sdkTask({ taskArn: taskArn('t2'), lastStatus: 'RUNNING' })] })
      .resolves({ tasks: [sdkTask({ taskArn: taskArn('t2'), lastStatus: 'STOPPED', exitCode: 137 })] });

    const r = report(
      await handleExecutionEnded(
        executionStatusChange({
          status: 'TIMED_OUT',
          name: 'sched-1',
          error: 'States.Timeout',
          input: { trigger: 'schedule', scheduledTime: '2026-11-12T23:00:00Z' },
        }),
        deps(),
      ),
    );

    expect(r.task).toMatchObject({ taskArn: taskArn('t2'), source: 'history', stop: { status: 'stopped' } });
    expect(ecsMock).toHaveReceivedCommandWith(StopTaskCommand, { task: taskArn('t2'), cluster: CLUSTER_ARN });
    expect(r).toMatchObject({ lock: 'released', alert: 'sent' });
    expect(sfnMock).toHaveReceivedCommandWith(GetExecutionHistoryCommand, {
      executionArn: exec,
      reverseOrder: true,
      includeExecutionData: true,
    });
    expect(published()[0].Subject).toBe('[batch-runner] missing-images timed_out');
    expect(published()[0].Message).toMatch(/Error: States.Timeout/);
  });

  test('FAILED through the normal failure path (its own alert published, lock released, task stopped): nothing to do', async () => {
    history(
      stateExited('StartBatchTask', startOutput(taskArn('t3'))),
      stateExited('ReleaseLockAfterFailure', {}),
      stateExited('PublishFailureAlert', { summary: { outcome: 'failed' } }),
    );
    ecsMock
      .on(DescribeTasksCommand)
      .resolves({ tasks: [sdkTask({ taskArn: taskArn('t3'), lastStatus: 'STOPPED', exitCode: 1 })] });

    const r = report(
      await handleExecutionEnded(
        executionStatusChange({ status: 'FAILED', name: 'run-3', error: 'BatchRunner.TaskFailed' }),
        deps(),
      ),
    );

    expect(r).toMatchObject({ lock: 'not held by this execution', alert: 'already sent by the execution' });
    expect(r.task?.stop.status).toBe('already stopped');
    expect(ecsMock).not.toHaveReceivedCommand(StopTaskCommand);
    expect(snsMock).not.toHaveReceivedAnyCommand();
  });

  test('FAILED whose own alert could not be published (Catch wrote alertError): the cleanup sends it', async () => {
    history(
      stateExited('PublishFailureAlert', {
        summary: { outcome: 'failed' },
        alertError: { Error: 'SNS.AuthorizationErrorException' },
      }),
    );
    const r = report(
      await handleExecutionEnded(
        executionStatusChange({ status: 'FAILED', name: 'run-4', error: 'BatchRunner.TaskFailed' }),
        deps(),
      ),
    );
    expect(r).toMatchObject({ task: null, alert: 'sent' });
    expect(published()[0].Subject).toBe('[batch-runner] missing-images failed');
    expect(published()[0].Message).toContain('Task: none started');
  });

  test('FAILED outside the failure path (States.Runtime): releases the lock it still owns and alerts', async () => {
    const exec = executionArn('run-5');
    await lockHeldBy(exec);
    history(stateEntered('CheckRunningTasks'));
    const r = report(
      await handleExecutionEnded(
        executionStatusChange({
          status: 'FAILED',
          name: 'run-5',
          error: 'States.Runtime',
          cause: "An error occurred while executing the state 'RecordSkipTaskRunning'",
        }),
        deps(),
      ),
    );
    expect(r).toMatchObject({ task: null, lock: 'released', alert: 'sent' });
    expect(await readLock(db.client, table, BATCH)).toBeUndefined();
    expect(published()[0].Message).toContain('States.Runtime');
  });

  test('a lock now owned by another execution (reclaimed or replaced) is left alone', async () => {
    await lockHeldBy(executionArn('newer-run'), { taskArn: taskArn('newer-task') });
    history(stateExited('StartBatchTask', startOutput(taskArn('t6'))));
    ecsMock
      .on(DescribeTasksCommand)
      .resolves({ tasks: [sdkTask({ taskArn: taskArn('t6'), lastStatus: 'STOPPED', exitCode: 143 })] });

    const r = report(
      await handleExecutionEnded(
        executionStatusChange({
          status: 'ABORTED',
          name: 'replaced-run',
          error: 'BatchRunner.Replaced',
          cause: 'Replaced by execution newer-run (overlap policy replace).',
        }),
        deps(),
      ),
    );

    expect(r).toMatchObject({ lock: 'not held by this execution', alert: 'sent' });
    expect(r.task).toMatchObject({ taskArn: taskArn('t6'), source: 'history' });
    expect(await readLock(db.client, table, BATCH)).toMatchObject({
      owner: executionArn('newer-run'),
      taskArn: taskArn('newer-task'),
    });
    expect(published()[0].Message).toContain('BatchRunner.Replaced');
  });

  test('STOPPED not seen within the bound: the lock is still released and the alert says the task may still run', async () => {
    const exec = executionArn('stuck');
    await lockHeldBy(exec, { taskArn: taskArn('t7'), clusterArn: CLUSTER_ARN });
    ecsMock
      .on(DescribeTasksCommand)
      .resolves({ tasks: [sdkTask({ taskArn: taskArn('t7'), lastStatus: 'DEACTIVATING' })] });
    const started = clock;

    const r = report(await handleExecutionEnded(executionStatusChange({ status: 'ABORTED', name: 'stuck' }), deps()));

    expect(r.task?.stop).toMatchObject({ status: 'stop not confirmed', lastStatus: 'DEACTIVATING' });
    expect(clock - started).toBeGreaterThanOrEqual(180_000);
    expect(clock - started).toBeLessThan(190_000);
    expect(ecsMock.commandCalls(DescribeTasksCommand).length).toBe(1 + 36);
    expect(r.lock).toBe('released');
    expect(published()[0].Message).toContain('Task may still run: true');
    expect(published()[0].Message).toMatch(/may still run \(the next start refuses/);
  });

  test('StopTask refused (e.g. AccessDenied): reported with the error, the alert still goes out', async () => {
    await lockHeldBy(executionArn('denied'), { taskArn: taskArn('t8'), clusterArn: CLUSTER_ARN });
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [sdkTask({ taskArn: taskArn('t8'), lastStatus: 'RUNNING' })] });
    ecsMock
      .on(StopTaskCommand)
      .rejects(
        Object.assign(new Error('User is not authorized to perform: ecs:StopTask'), { name: 'AccessDeniedException' }),
      );

    const r = report(await handleExecutionEnded(executionStatusChange({ status: 'ABORTED', name: 'denied' }), deps()));

    expect(r.task?.stop).toMatchObject({
      status: 'stop not confirmed',
      error: expect.stringMatching(/AccessDeniedException/),
    });
    expect(published()[0].Message).toContain('Stop reason: AccessDeniedException: User is not authorized');
    expect(published()[0].Message).toContain('Task may still run: true');
  });

  test('a duplicate status event (at-least-once delivery) sends no second alert', async () => {
    const event = executionStatusChange({ status: 'ABORTED', name: 'dup' });
    await lockHeldBy(executionArn('dup'));
    const first = report(await handleExecutionEnded(event, deps()));
    const second = report(await handleExecutionEnded(event, deps()));
    expect(first).toMatchObject({ lock: 'released', alert: 'sent' });
    expect(second).toMatchObject({ lock: 'not held by this execution', alert: 'already sent by an earlier cleanup' });
    expect(published()).toHaveLength(1);
  });

  test('SNS publish fails: the marker is removed and the invocation fails, so the retry sends the one alert', async () => {
    const event = executionStatusChange({ status: 'ABORTED', name: 'sns-down' });
    snsMock
      .on(PublishCommand)
      .rejectsOnce(Object.assign(new Error('Internal error'), { name: 'InternalErrorException' }))
      .resolves({ MessageId: 'b1e0f1c4-5d0a-5c9e-8f41-3c2d8e7a9b11' });
    await expect(handleExecutionEnded(event, deps())).rejects.toThrow(/Internal error/);
    const marker = await db.client.send(
      new GetItemCommand({ TableName: table, Key: { batch: { S: `alert#${executionArn('sns-down')}` } } }),
    );
    expect(marker.Item).toBeUndefined();
    expect(report(await handleExecutionEnded(event, deps())).alert).toBe('sent');
    // Two publish calls: the failed one and the one that reached SNS.
    expect(published()).toHaveLength(2);
    expect(report(await handleExecutionEnded(event, deps())).alert).toBe('already sent by an earlier cleanup');
  });

  test('trigger and requester come from the input when the lock is gone: a scheduled run', async () => {
    await handleExecutionEnded(
      executionStatusChange({
        status: 'TIMED_OUT',
        name: 'sched-2',
        input: { trigger: 'schedule', scheduledTime: '2026-11-12T23:00:00Z' },
      }),
      deps(),
    );
    expect(published()[0].Message).toContain('Trigger: schedule (requested by EventBridge Scheduler)');
    expect(published()[0].MessageAttributes?.trigger?.StringValue).toBe('schedule');
  });

  test('SUCCEEDED executions and other state machines are ignored without any call', async () => {
    expect(await handleExecutionEnded(executionStatusChange({ status: 'SUCCEEDED', name: 'ok' }), deps())).toEqual({
      ignored: 'status SUCCEEDED needs no cleanup',
    });
    const foreign = executionStatusChange({ status: 'FAILED', name: 'x' });
    const other = {
      ...foreign,
      detail: {
        ...foreign.detail,
        stateMachineArn: `arn:aws:states:${REGION}:123456789012:stateMachine:orders-import`,
      },
    };
    expect(await handleExecutionEnded(other, deps())).toMatchObject({
      ignored: expect.stringMatching(/orders-import/),
    });
    expect(sfnMock).not.toHaveReceivedAnyCommand();
    expect(ecsMock).not.toHaveReceivedAnyCommand();
    expect(snsMock).not.toHaveReceivedAnyCommand();
  });
});

describe('batchOfStateMachine', () => {
  test('derives the batch from the state machine name and the deployment prefix', () => {
    expect(
      batchOfStateMachine(
        `arn:aws:states:${REGION}:123456789012:stateMachine:batch-runner-xml-articles`,
        'batch-runner',
      ),
    ).toBe('xml-articles');
    expect(
      batchOfStateMachine(
        `arn:aws:states:${REGION}:123456789012:stateMachine:batch-runner-xml-articles`,
        'batch-runner-staging',
      ),
    ).toBeUndefined();
  });
});
