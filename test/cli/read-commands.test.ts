import 'aws-sdk-client-mock-jest';
import { GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeTasksCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { GetScheduleCommand } from '@aws-sdk/client-scheduler';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
} from '@aws-sdk/client-sfn';
import { BATCHES } from '../../config/batches';
import { EXIT } from '../../cli/exit-codes';
import { stateMachineName } from '../../config/naming';
import {
  CLUSTER_ARN,
  cli,
  entered,
  execArn,
  familyOf,
  mockAws,
  resetEventIds,
  runFailed,
  smArn,
  startedTask,
  T0,
  taskArn,
} from './support';

const TASK = taskArn('0a9b8c7d6e5f40312233445566778899');
const LIVE = execArn('missing-images', 'cli-missing-images-20261121T230000Z-9f8e7d');
const DEAD = execArn('missing-images', '2b7c9d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d');

let aws: ReturnType<typeof mockAws>;
beforeEach(() => {
  resetEventIds();
  aws = mockAws();
});

const lockItem = (owner: string) => ({
  Item: {
    batch: { S: 'missing-images' },
    owner: { S: owner },
    acquiredAt: { S: '2026-11-21T23:00:00.512Z' },
    trigger: { S: 'cli' },
    requestedBy: { S: 'bob@ops' },
    reason: { S: 'rerun after image fix' },
  },
});

describe('list', () => {
  test('every batch with schedule, next run in its time zone, schedule state, last outcome and lock holder', async () => {
    aws.mocks.scheduler.on(GetScheduleCommand).resolves({ State: 'ENABLED' });
    aws.mocks.scheduler.on(GetScheduleCommand, { Name: 'batch-runner-xml-articles' }).resolves({ State: 'DISABLED' });
    aws.mocks.sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    aws.mocks.sfn.on(ListExecutionsCommand, { stateMachineArn: smArn('sitemap-refresh') }).resolves({
      executions: [
        {
          executionArn: execArn('sitemap-refresh', 'sched-1'),
          name: 'sched-1',
          status: 'SUCCEEDED',
          startDate: new Date(T0),
          stateMachineArn: smArn('sitemap-refresh'),
        },
      ],
    });
    aws.mocks.sfn.on(DescribeExecutionCommand, { executionArn: execArn('sitemap-refresh', 'sched-1') }).resolves({
      executionArn: execArn('sitemap-refresh', 'sched-1'),
      status: 'SUCCEEDED',
      startDate: new Date(T0),
      stopDate: new Date(T0 + 61_000),
      input: JSON.stringify({ trigger: 'schedule', scheduledTime: '2026-11-21T21:00:00Z' }),
      output: JSON.stringify({ outcome: 'succeeded', reason: 'ok', task: { taskArn: TASK, exitCode: 0 } }),
    });
    aws.mocks.dynamodb.on(GetItemCommand).resolves({});
    aws.mocks.dynamodb.on(GetItemCommand, { Key: { batch: { S: 'missing-images' } } }).resolves(lockItem(LIVE));
    aws.mocks.sfn
      .on(DescribeExecutionCommand, { executionArn: LIVE })
      .resolves({ executionArn: LIVE, status: 'RUNNING', startDate: new Date(T0) });

    const r = await cli(['list'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    const rows = r.stdout.split('\n');
    expect(rows[0]).toMatch(/^BATCH\s+SCHEDULE\s+NEXT RUN\s+STATE\s+LAST RUN\s+LOCK$/);
    // NOW is 2026-11-21 23:30 UTC = 2026-11-22 08:30 JST: 06:00 and 07:00 have passed, 08:00 too.
    expect(rows.find((l) => l.startsWith('sitemap-refresh'))).toMatch(
      /0 6 \* \* \? \* \(Asia\/Tokyo\)\s+2026-11-23 06:00 Asia\/Tokyo\s+enabled\s+succeeded 2026-11-21 23:00:00Z \(sched-1\)\s+free/,
    );
    expect(rows.find((l) => l.startsWith('xml-articles'))).toMatch(
      /2026-11-23 07:00 Asia\/Tokyo\s+paused\s+never\s+free/,
    );
    expect(rows.find((l) => l.startsWith('missing-images'))).toMatch(
      /held by cli-missing-images-20261121T230000Z-9f8e7d \(RUNNING\)/,
    );
    expect(aws.mocks.dynamodb).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: 'batch-runner-locks',
      ConsistentRead: true,
    });
  });

  test('--json, and a batch that is not deployed is a row, not a failure', async () => {
    aws.mocks.sfn.on(ListStateMachinesCommand).resolves({
      stateMachines: [
        {
          name: stateMachineName('sitemap-refresh'),
          stateMachineArn: smArn('sitemap-refresh'),
          type: 'STANDARD',
          creationDate: new Date(),
        },
      ],
    });
    aws.mocks.scheduler
      .on(GetScheduleCommand)
      .rejects(Object.assign(new Error('Schedule not found'), { name: 'ResourceNotFoundException' }));
    aws.mocks.sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    aws.mocks.dynamodb.on(GetItemCommand).resolves({});

    const r = await cli(['list', '--json'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    const rows = JSON.parse(r.stdout);
    expect(rows.map((row: any) => [row.batch, row.error ?? row.scheduleState])).toEqual(
      BATCHES.map((b) => [b.name, b.name === 'sitemap-refresh' ? 'NOT_FOUND' : 'not deployed']),
    );
    expect(rows[0]).toMatchObject({
      schedule: { cron: '0 6 * * ? *', timeZone: 'Asia/Tokyo' },
      nextRun: '2026-11-22T21:00:00.000Z',
      lock: null,
    });
  });
});

describe('status <batch>', () => {
  test('a live lock, the RUNNING task of the family (from the deployed definition) and the current execution', async () => {
    aws.mocks.dynamodb.on(GetItemCommand).resolves(lockItem(LIVE));
    aws.mocks.sfn.on(DescribeExecutionCommand, { executionArn: LIVE }).resolves({
      executionArn: LIVE,
      name: LIVE.split(':').pop(),
      status: 'RUNNING',
      startDate: new Date(T0),
      input: JSON.stringify({ trigger: 'cli', requestedBy: 'bob@ops', reason: 'rerun after image fix' }),
    });
    aws.mocks.ecs.on(ListTasksCommand).resolves({ taskArns: [TASK] });
    aws.mocks.ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        {
          taskArn: TASK,
          lastStatus: 'RUNNING',
          desiredStatus: 'RUNNING',
          startedAt: new Date(T0 + 20_000),
          group: 'batch-runner:missing-images',
          startedBy: 'batch-runner',
        },
      ],
    });
    aws.mocks.sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: LIVE,
          name: LIVE.split(':').pop(),
          status: 'RUNNING',
          startDate: new Date(T0),
          stateMachineArn: smArn('missing-images'),
        },
      ],
    });
    aws.mocks.sfn.on(GetExecutionHistoryCommand).resolves({
      events: [entered('StartBatchTask', 'Task', {}, 19), entered('WaitForTaskToStop', 'Task', {}, 20)].reverse(),
    });

    const r = await cli(['status', 'missing-images'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(aws.mocks.ecs).toHaveReceivedCommandWith(ListTasksCommand, {
      cluster: CLUSTER_ARN,
      family: familyOf('missing-images'),
      desiredStatus: 'RUNNING',
    });
    expect(aws.mocks.sfn).toHaveReceivedCommandWith(ListExecutionsCommand, {
      stateMachineArn: smArn('missing-images'),
      statusFilter: 'RUNNING',
    });
    expect(r.stdout).toContain(`Lock:        held by ${LIVE}`);
    expect(r.stdout).toContain(
      'acquired 2026-11-21 23:00:00Z, trigger cli, requested by bob@ops ("rerun after image fix")',
    );
    expect(r.stdout).toContain('owner is RUNNING: the lock is live');
    expect(r.stdout).toContain(
      `${TASK}  RUNNING  started 2026-11-21 23:00:20Z  group batch-runner:missing-images  started by batch-runner`,
    );
    expect(r.stdout).toMatch(
      /Executions: {2}1 running\n\s+cli-missing-images-20261121T230000Z-9f8e7d {2}RUNNING in WaitForTaskToStop {2}started 2026-11-21 23:00:00Z, running for 30m 00s, cli by bob@ops/,
    );
  });

  test('a stale lock (owner no longer exists) says so and how to clear it; --json', async () => {
    aws.mocks.dynamodb.on(GetItemCommand).resolves(lockItem(DEAD));
    aws.mocks.sfn
      .on(DescribeExecutionCommand, { executionArn: DEAD })
      .rejects(new ExecutionDoesNotExist({ message: `Execution Does Not Exist: '${DEAD}'`, $metadata: {} }));
    aws.mocks.ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    aws.mocks.sfn.on(ListExecutionsCommand).resolves({ executions: [] });

    const text = await cli(['status', 'missing-images'], { clients: aws.clients });
    expect(text.stdout).toContain(
      'owner is DOES_NOT_EXIST: the lock is stale; the next start reclaims it, or: batch-runner unlock missing-images',
    );
    expect(text.stdout).toContain('Tasks:       none running');

    const r = await cli(['status', 'missing-images', '--json'], { clients: aws.clients });
    expect(r.code).toBe(EXIT.SUCCESS);
    expect(JSON.parse(r.stdout)).toMatchObject({
      batch: 'missing-images',
      mode: 'aws',
      lock: { owner: DEAD, ownerStatus: 'DOES_NOT_EXIST', ownerRunning: false, requestedBy: 'bob@ops' },
      runningTasks: [],
      runningExecutions: [],
    });
  });
});

describe('history <batch>', () => {
  const names = ['e3', 'e2', 'e1'];
  beforeEach(() => {
    aws.mocks.sfn.on(ListExecutionsCommand).resolves({
      executions: names.map((n) => ({
        executionArn: execArn('missing-images', n),
        name: n,
        status: 'SUCCEEDED',
        startDate: new Date(T0),
        stateMachineArn: smArn('missing-images'),
      })),
    });
    aws.mocks.sfn.on(DescribeExecutionCommand, { executionArn: execArn('missing-images', 'e3') }).resolves({
      executionArn: execArn('missing-images', 'e3'),
      name: 'e3',
      status: 'FAILED',
      startDate: new Date(T0 + 7200_000),
      stopDate: new Date(T0 + 7200_000 + 125_000),
      input: JSON.stringify({ trigger: 'cli', reason: 'rerun', requestedBy: 'bob@ops' }),
      error: 'BatchRunner.TaskFailed',
      cause:
        'The batch container exited non-zero or the task stopped abnormally (see task.exitCode and task.stoppedReason).',
    });
    aws.mocks.sfn.on(GetExecutionHistoryCommand, { executionArn: execArn('missing-images', 'e3') }).resolves({
      events: [runFailed({ outcome: 'failed', details: { outcome: 'failed', task: { taskArn: TASK, exitCode: 2 } } })],
    });
    aws.mocks.sfn.on(DescribeExecutionCommand, { executionArn: execArn('missing-images', 'e2') }).resolves({
      executionArn: execArn('missing-images', 'e2'),
      name: 'e2',
      status: 'SUCCEEDED',
      startDate: new Date(T0 + 3600_000),
      stopDate: new Date(T0 + 3600_000 + 400),
      input: '{}',
      output: JSON.stringify({
        outcome: 'skipped',
        reason: 'Another run holds the lock: execution x since y.',
        lockHolder: 'x',
      }),
    });
    aws.mocks.sfn.on(DescribeExecutionCommand, { executionArn: execArn('missing-images', 'e1') }).resolves({
      executionArn: execArn('missing-images', 'e1'),
      name: 'e1',
      status: 'SUCCEEDED',
      startDate: new Date(T0),
      stopDate: new Date(T0 + 3723_000),
      input: JSON.stringify({ trigger: 'schedule', scheduledTime: '2026-11-21T23:00:00Z' }),
      output: JSON.stringify({
        outcome: 'succeeded',
        reason: 'The batch container exited with code 0.',
        task: { taskArn: TASK, exitCode: 0 },
      }),
    });
  });

  test('recent executions with outcome, trigger, duration and exit code, newest first', async () => {
    const r = await cli(['history', 'missing-images', '--limit', '3'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(aws.mocks.sfn).toHaveReceivedCommandWith(ListExecutionsCommand, {
      stateMachineArn: smArn('missing-images'),
      maxResults: 3,
    });
    const [header, ...rows] = r.stdout.split('\n');
    expect(header).toMatch(/^STARTED\s+TRIGGER\s+OUTCOME\s+DURATION\s+EXIT\s+EXECUTION\s+REASON$/);
    expect(rows[0]).toMatch(
      /^2026-11-22 01:00:00Z\s+cli\s+failed\s+2m 05s\s+2\s+e3\s+The batch container exited non-zero/,
    );
    expect(rows[1]).toMatch(/^2026-11-22 00:00:00Z\s+console\s+skipped\s+0\.4s\s+-\s+e2\s+Another run holds the lock/);
    expect(rows[2]).toMatch(/^2026-11-21 23:00:00Z\s+schedule\s+succeeded\s+1h 02m 03s\s+0\s+e1/);
  });

  test('--json carries the structured outcome', async () => {
    const r = await cli(['history', 'missing-images', '--json', '--limit', '3'], { clients: aws.clients });
    const rows = JSON.parse(r.stdout);
    expect(rows[0]).toMatchObject({
      name: 'e3',
      trigger: 'cli',
      requestedBy: 'bob@ops',
      outcome: { outcome: 'failed', error: 'BatchRunner.TaskFailed', exitCode: 2, taskArn: TASK },
    });
    expect(rows[1]).toMatchObject({ name: 'e2', trigger: 'console', outcome: { outcome: 'skipped', lockHolder: 'x' } });
    expect(rows[2]).toMatchObject({
      name: 'e1',
      trigger: 'schedule',
      requestedBy: 'EventBridge Scheduler',
      durationMs: 3723_000,
    });
  });

  test.each(['0', '101', 'ten'])('--limit %s is a usage error', async (limit) => {
    const r = await cli(['history', 'missing-images', '--limit', limit], { clients: aws.clients });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain(`--limit ${limit} is not a whole number between 1 and 100`);
    expect(aws.mocks.sfn).not.toHaveReceivedCommand(ListExecutionsCommand);
  });
});

describe('logs <batch>', () => {
  const NAME = 'cli-missing-images-20261121T230000Z-9f8e7d';
  const stream = 'batch/app/0a9b8c7d6e5f40312233445566778899';

  test('finds the newest execution that started a task and prints its log stream', async () => {
    aws.mocks.sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: execArn('missing-images', 'skipped-one'),
          name: 'skipped-one',
          status: 'SUCCEEDED',
          startDate: new Date(T0 + 60_000),
          stateMachineArn: smArn('missing-images'),
        },
        {
          executionArn: LIVE,
          name: NAME,
          status: 'SUCCEEDED',
          startDate: new Date(T0),
          stateMachineArn: smArn('missing-images'),
        },
      ],
    });
    aws.mocks.sfn.on(GetExecutionHistoryCommand).resolves({ events: [entered('Skipped', 'Succeed')] });
    aws.mocks.sfn.on(GetExecutionHistoryCommand, { executionArn: LIVE }).resolves({ events: [startedTask(TASK)] });
    aws.mocks.logs
      .on(GetLogEventsCommand)
      .resolvesOnce({
        events: [
          { timestamp: T0 + 21_000, message: 'checking 8 images\n' },
          { timestamp: T0 + 22_000, message: '2 missing' },
        ],
        nextForwardToken: 'f/1',
      })
      .resolves({ events: [], nextForwardToken: 'f/1' });

    const r = await cli(['logs', 'missing-images'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(aws.mocks.logs).toHaveReceivedCommandWith(GetLogEventsCommand, {
      logGroupName: '/batch-runner/tasks/missing-images',
      logStreamName: stream,
      startFromHead: true,
    });
    expect(r.stdout).toBe('2026-11-21 23:00:21Z  checking 8 images\n2026-11-21 23:00:22Z  2 missing');
    expect(r.stderr).toContain(`logs of ${NAME}, task 0a9b8c7d6e5f40312233445566778899`);
  });

  test('--execution by name, --follow until the execution ends, --json lines', async () => {
    aws.mocks.sfn
      .on(DescribeExecutionCommand, { executionArn: LIVE })
      .resolvesOnce({ status: 'RUNNING' })
      .resolvesOnce({ status: 'RUNNING' })
      .resolves({ status: 'SUCCEEDED' });
    aws.mocks.sfn.on(GetExecutionHistoryCommand, { executionArn: LIVE }).resolves({ events: [startedTask(TASK)] });
    aws.mocks.logs
      .on(GetLogEventsCommand)
      .resolvesOnce({ events: [{ timestamp: T0, message: 'one' }], nextForwardToken: 'f/1' })
      .resolvesOnce({ events: [], nextForwardToken: 'f/1' })
      .resolvesOnce({ events: [{ timestamp: T0 + 1000, message: 'two' }], nextForwardToken: 'f/2' })
      .resolves({ events: [], nextForwardToken: 'f/2' });

    const r = await cli(['logs', 'missing-images', '--execution', NAME, '--follow', '--json'], {
      clients: aws.clients,
    });

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(r.stdout.split('\n').map((l) => JSON.parse(l).message)).toEqual(['one', 'two']);
    expect(aws.mocks.logs).toHaveReceivedCommandWith(GetLogEventsCommand, { nextToken: 'f/1' });
  });

  test('an execution that does not exist is a user error; no run with a task yet is not (exit 0, a note)', async () => {
    aws.mocks.sfn
      .on(DescribeExecutionCommand)
      .rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));
    const missing = await cli(['logs', 'missing-images', '--execution', 'nope'], { clients: aws.clients });
    expect(missing.code).toBe(EXIT.USAGE);
    expect(missing.stderr).toContain('execution "nope" of missing-images does not exist');
    expect(missing.stderr).toContain('batch-runner history missing-images');

    aws.mocks.sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    const none = await cli(['logs', 'missing-images'], { clients: aws.clients });
    expect(none.code).toBe(EXIT.SUCCESS);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('no logs yet: none of the last 10 executions of missing-images started a task');
  });

  test('a log stream that does not exist (yet) exits 1 and says why', async () => {
    aws.mocks.sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: LIVE,
          name: NAME,
          status: 'RUNNING',
          startDate: new Date(T0),
          stateMachineArn: smArn('missing-images'),
        },
      ],
    });
    aws.mocks.sfn.on(GetExecutionHistoryCommand).resolves({ events: [startedTask(TASK)] });
    aws.mocks.logs
      .on(GetLogEventsCommand)
      .rejects(
        Object.assign(new Error('The specified log stream does not exist.'), { name: 'ResourceNotFoundException' }),
      );

    const r = await cli(['logs', 'missing-images'], { clients: aws.clients });
    expect(r.code).toBe(EXIT.FAILED);
    expect(r.stderr).toContain(`log stream ${stream} does not exist in /batch-runner/tasks/missing-images`);
  });
});
