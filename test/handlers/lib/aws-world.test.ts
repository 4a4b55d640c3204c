import 'aws-sdk-client-mock-jest';
import { DescribeTasksCommand, ECSClient, ListTasksCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { BATCH_TAG_KEY, EXECUTION_TAG_KEY, HARD_TIMEOUT_TAG_KEY } from '../../../config/naming';
import { awsSchedules, awsWorld, RUNNER_STARTED_BY } from '../../../handlers/lib/aws-world';
import { BATCH, CLUSTER_ARN, REGION, sdkTask, STATE_MACHINE_ARN, taskArn } from '../fixtures/events';

/**
 * The reconciler's view of AWS (handlers/lib/aws-world.ts) against the SDK clients mocked with
 * aws-sdk-client-mock, in the wire shapes of ECS ListTasks/DescribeTasks (`include: ['TAGS']`) and Step
 * Functions ListExecutions/DescribeExecution: what it reads from the answers and how it pages.
 */

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const ecs = new ECSClient({ region: REGION, credentials });
const sfn = new SFNClient({ region: REGION, credentials });
const sns = new SNSClient({ region: REGION, credentials });
const ecsMock = mockClient(ecs);
const sfnMock = mockClient(sfn);
const world = awsWorld({ ecs, sfn, sns }, `arn:aws:sns:${REGION}:123456789012:batch-runner-alerts`);

/** A task as DescribeTasks answers it with its tags: the runner's batch tag, its execution, its hard timeout. */
const tagged = (
  id: string,
  o: { lastStatus?: string; desiredStatus?: string; tags?: Record<string, string> } = {},
) => ({
  ...sdkTask({ taskArn: taskArn(id), lastStatus: o.lastStatus ?? 'RUNNING' }),
  ...(o.desiredStatus ? { desiredStatus: o.desiredStatus } : {}),
  createdAt: new Date('2026-11-12T23:00:00.000Z'),
  tags: Object.entries(
    o.tags ?? {
      [BATCH_TAG_KEY]: BATCH,
      [EXECUTION_TAG_KEY]: Buffer.from('nightly-2026-11-12').toString('base64'),
      [HARD_TIMEOUT_TAG_KEY]: '3600',
    },
  ).map(([key, value]) => ({ key, value })),
});

beforeEach(() => {
  ecsMock.reset();
  sfnMock.reset();
});

describe('the tasks it observes', () => {
  test('a described task: its batch, execution, hard timeout and creation time from its tags and answer', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [tagged('t1')], failures: [] });

    const [task] = await world.describeTasks(CLUSTER_ARN, [taskArn('t1')]);

    expect(task).toMatchObject({
      taskArn: taskArn('t1'),
      clusterArn: CLUSTER_ARN,
      lastStatus: 'RUNNING',
      desiredStatus: 'RUNNING',
      batch: BATCH,
      executionName: 'nightly-2026-11-12',
      createdAt: Date.parse('2026-11-12T23:00:00.000Z'),
      hardTimeoutSeconds: 3600,
    });
    expect(ecsMock).toHaveReceivedCommandWith(DescribeTasksCommand, {
      cluster: CLUSTER_ARN,
      tasks: [taskArn('t1')],
      include: ['TAGS'],
    });
  });

  test.each([['0'], ['-5'], ['soon'], ['']])('a hard-timeout tag of %j gives no hard timeout', async (value) => {
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [tagged('t1', { tags: { [BATCH_TAG_KEY]: BATCH, [HARD_TIMEOUT_TAG_KEY]: value } })],
    });
    expect((await world.describeTasks(CLUSTER_ARN, [taskArn('t1')]))[0].hardTimeoutSeconds).toBeUndefined();
  });

  test('a task without tags, status or creation time is still observed, as UNKNOWN, with nothing read from tags', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: taskArn('bare'), clusterArn: CLUSTER_ARN }] });
    expect(await world.describeTasks(CLUSTER_ARN, [taskArn('bare')])).toEqual([
      expect.objectContaining({
        lastStatus: 'UNKNOWN',
        desiredStatus: 'UNKNOWN',
        batch: undefined,
        executionName: undefined,
        createdAt: undefined,
        hardTimeoutSeconds: undefined,
      }),
    ]);
  });

  test('an answer without a task ARN or cluster ARN is skipped', async () => {
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [{ clusterArn: CLUSTER_ARN }, { taskArn: taskArn('no-cluster') }, tagged('t1')],
    });
    expect((await world.describeTasks(CLUSTER_ARN, [taskArn('t1')])).map((t) => t.taskArn)).toEqual([taskArn('t1')]);
  });

  test('more than 100 tasks are described in pages of 100 (DescribeTasks` limit)', async () => {
    const arns = Array.from({ length: 201 }, (_, i) => taskArn(`p${i}`));
    ecsMock
      .on(DescribeTasksCommand)
      .callsFake((input) => ({ tasks: input.tasks.map((a: string) => ({ ...tagged('x'), taskArn: a })) }));

    expect(await world.describeTasks(CLUSTER_ARN, arns)).toHaveLength(201);
    expect(ecsMock.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input.tasks?.length)).toEqual([100, 100, 1]);
  });

  test('exactly 200 tasks take two DescribeTasks calls, not a third empty one', async () => {
    ecsMock
      .on(DescribeTasksCommand)
      .callsFake((input) => ({ tasks: input.tasks.map((a: string) => ({ ...tagged('x'), taskArn: a })) }));
    await world.describeTasks(
      CLUSTER_ARN,
      Array.from({ length: 200 }, (_, i) => taskArn(`p${i}`)),
    );
    expect(ecsMock.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input.tasks?.length)).toEqual([100, 100]);
  });
});

describe('listing the runner`s tasks of a cluster', () => {
  test('the runner`s tasks and those asked to stop that are not STOPPED yet; not other teams` tasks, not stopped ones', async () => {
    ecsMock.on(ListTasksCommand, { cluster: CLUSTER_ARN, startedBy: RUNNER_STARTED_BY }).resolves({
      taskArns: [taskArn('running')],
    });
    ecsMock.on(ListTasksCommand, { cluster: CLUSTER_ARN, desiredStatus: 'STOPPED' }).resolves({
      taskArns: [taskArn('stopping'), taskArn('stopped'), taskArn('someone-else')],
    });
    ecsMock.on(DescribeTasksCommand).resolves({
      tasks: [
        tagged('running'),
        tagged('stopping', { desiredStatus: 'STOPPED' }),
        tagged('stopped', { lastStatus: 'STOPPED' }),
        tagged('someone-else', { desiredStatus: 'STOPPED', tags: { team: 'search' } }),
      ],
    });

    expect((await world.listRunnerTasks(CLUSTER_ARN)).map((t) => t.taskArn)).toEqual([
      taskArn('running'),
      taskArn('stopping'),
    ]);
  });

  test('nothing listed: nothing described', async () => {
    ecsMock.on(ListTasksCommand).resolves({ taskArns: [] });
    expect(await world.listRunnerTasks(CLUSTER_ARN)).toEqual([]);
    expect(ecsMock).not.toHaveReceivedCommand(DescribeTasksCommand);
  });

  test('ListTasks is followed page by page, at most 20 pages a listing', async () => {
    let page = 0;
    ecsMock.on(ListTasksCommand).callsFake(() => {
      page += 1;
      return { taskArns: [taskArn(`page${page}`)], nextToken: `after-${page}` };
    });
    ecsMock
      .on(DescribeTasksCommand)
      .callsFake((input) => ({ tasks: input.tasks.map((a: string) => ({ ...tagged('x'), taskArn: a })) }));

    const listed = await world.listRunnerTasks(CLUSTER_ARN);

    // 20 pages of the runner's tasks, then 20 of the stopping ones.
    expect(ecsMock).toHaveReceivedCommandTimes(ListTasksCommand, 40);
    expect(listed).toHaveLength(40);
    expect(ecsMock.commandCalls(ListTasksCommand)[1].args[0].input).toMatchObject({
      nextToken: 'after-1',
      maxResults: 100,
    });
  });
});

describe('Step Functions', () => {
  test('StopTask`s reason is cut to ECS`s 255 characters', async () => {
    ecsMock.on(StopTaskCommand).resolves({});
    await world.stopTask(CLUSTER_ARN, taskArn('t1'), `batch-runner reconciler: ${'x'.repeat(300)}`);
    expect(ecsMock.commandCalls(StopTaskCommand)[0].args[0].input.reason).toHaveLength(255);
  });

  test.each(['ExecutionDoesNotExist', 'InvalidArn'])(
    'an owner Step Functions answers %s for is MISSING',
    async (name) => {
      sfnMock.on(DescribeExecutionCommand).rejects(Object.assign(new Error(name), { name }));
      expect(await world.describeExecution('arn:aws:states:x')).toEqual({ status: 'MISSING' });
    },
  );

  test('any other DescribeExecution error is not taken for a dead owner', async () => {
    sfnMock
      .on(DescribeExecutionCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(world.describeExecution('arn:aws:states:x')).rejects.toThrow('Rate exceeded');
  });

  test('an ended execution: its status, when it stopped, and its input, output and error', async () => {
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: 'arn:aws:states:x',
      stateMachineArn: STATE_MACHINE_ARN,
      status: 'FAILED',
      startDate: new Date('2026-11-12T23:00:00.000Z'),
      stopDate: new Date('2026-11-12T23:31:45.000Z'),
      input: '{"trigger":"schedule"}',
      error: 'BatchRunner.TaskFailed',
    });
    expect(await world.describeExecution('arn:aws:states:x')).toEqual({
      status: 'FAILED',
      stoppedAt: Date.parse('2026-11-12T23:31:45.000Z'),
      input: '{"trigger":"schedule"}',
      output: undefined,
      error: 'BatchRunner.TaskFailed',
    });
  });

  test('the deployment`s state machines: those named "<prefix>-...", over every page', async () => {
    sfnMock
      .on(ListStateMachinesCommand, { nextToken: undefined })
      .resolves({
        stateMachines: [
          { name: 'batch-runner-nightly', stateMachineArn: 'arn:1', type: 'STANDARD', creationDate: new Date() },
          { name: 'other-app', stateMachineArn: 'arn:2', type: 'STANDARD', creationDate: new Date() },
        ],
        nextToken: 'p2',
      })
      .on(ListStateMachinesCommand, { nextToken: 'p2' })
      .resolves({
        stateMachines: [
          { name: 'batch-runner-weekly', stateMachineArn: 'arn:3', type: 'STANDARD', creationDate: new Date() },
          { name: 'batch-runner', stateMachineArn: 'arn:4', type: 'STANDARD', creationDate: new Date() },
          // Not documented as possible, but the SDK types allow it: skipped, not a crash.
          { stateMachineArn: 'arn:5', type: 'STANDARD', creationDate: new Date() } as never,
        ],
      });
    expect(await world.listStateMachines('batch-runner')).toEqual([
      { name: 'batch-runner-nightly', arn: 'arn:1' },
      { name: 'batch-runner-weekly', arn: 'arn:3' },
    ]);
  });

  test('ended executions since a time: each status filter newest first, stopping at the first page that reaches back past it', async () => {
    const since = Date.parse('2026-11-12T00:00:00.000Z');
    const execution = (name: string, stopDate: string) => ({
      executionArn: `arn:aws:states:${REGION}:123456789012:execution:batch-runner-nightly:${name}`,
      stateMachineArn: STATE_MACHINE_ARN,
      name,
      status: 'FAILED' as const,
      startDate: new Date(Date.parse(stopDate) - 60_000),
      stopDate: new Date(stopDate),
    });
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    sfnMock
      .on(ListExecutionsCommand, { statusFilter: 'FAILED', nextToken: undefined })
      .resolves({ executions: [execution('new', '2026-11-12T23:00:00.000Z')], nextToken: 'p2' })
      .on(ListExecutionsCommand, { statusFilter: 'FAILED', nextToken: 'p2' })
      .resolves({
        executions: [
          execution('on-the-line', '2026-11-12T00:00:00.000Z'),
          execution('old', '2026-11-11T23:59:59.000Z'),
        ],
        nextToken: 'p3',
      });

    const ended = await world.listEndedExecutions(STATE_MACHINE_ARN, since);

    expect(ended.map((e) => [e.executionArn.split(':').pop(), e.status])).toEqual([
      ['new', 'FAILED'],
      ['on-the-line', 'FAILED'],
    ]);
    expect(ended[0]).toMatchObject({
      startDate: Date.parse('2026-11-12T22:59:00.000Z'),
      stopDate: Date.parse('2026-11-12T23:00:00.000Z'),
    });
    // p3 is never asked for; TIMED_OUT and ABORTED are asked once each.
    expect(
      sfnMock.commandCalls(ListExecutionsCommand).map((c) => [c.args[0].input.statusFilter, c.args[0].input.nextToken]),
    ).toEqual([
      ['FAILED', undefined],
      ['FAILED', 'p2'],
      ['TIMED_OUT', undefined],
      ['ABORTED', undefined],
    ]);
  });

  test('an execution listed without its dates: no start date (ended) or 0 (recent); one without a stop date counts as ended long ago', async () => {
    const bare = {
      executionArn: `arn:aws:states:${REGION}:123456789012:execution:batch-runner-nightly:bare`,
      stateMachineArn: STATE_MACHINE_ARN,
      name: 'bare',
      status: 'ABORTED' as const,
    };
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    sfnMock.on(ListExecutionsCommand, { statusFilter: 'ABORTED' }).resolves({
      executions: [{ ...bare, stopDate: new Date('2026-11-12T23:00:00.000Z') } as never, bare as never],
    });
    expect(await world.listEndedExecutions(STATE_MACHINE_ARN, Date.parse('2026-11-12T00:00:00.000Z'))).toEqual([
      {
        executionArn: bare.executionArn,
        status: 'ABORTED',
        startDate: null,
        stopDate: Date.parse('2026-11-12T23:00:00.000Z'),
      },
    ]);
    sfnMock.reset();
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [bare as never] });
    expect(await world.listRecentExecutions?.(STATE_MACHINE_ARN, 10)).toEqual([
      { executionArn: bare.executionArn, status: 'ABORTED', startDate: 0 },
    ]);
  });

  test('recent executions: one page, newest first, at most 1000 asked for', async () => {
    sfnMock.on(ListExecutionsCommand).resolves({ executions: [] });
    const recent = world.listRecentExecutions;
    if (recent === undefined) throw new Error('awsWorld lists recent executions (the pause check needs it)');
    await recent(STATE_MACHINE_ARN, 5000);
    await recent(STATE_MACHINE_ARN, 10);
    expect(sfnMock.commandCalls(ListExecutionsCommand).map((c) => c.args[0].input.maxResults)).toEqual([1000, 10]);
  });
});

describe('the schedules (awsSchedules)', () => {
  const scheduler = new SchedulerClient({ region: REGION, credentials });
  const schedulerMock = mockClient(scheduler);
  const schedules = awsSchedules(scheduler, 'batch-runner');
  beforeEach(() => schedulerMock.reset());

  test('a schedule`s state, read by its name and group; a schedule that does not exist is NOT_FOUND', async () => {
    schedulerMock.on(GetScheduleCommand).resolves({ Name: 'batch-runner-nightly', State: 'DISABLED' });
    expect(await schedules.state('nightly')).toBe('DISABLED');
    expect(schedulerMock).toHaveReceivedCommandWith(GetScheduleCommand, {
      Name: 'batch-runner-nightly',
      GroupName: 'batch-runner',
    });
    schedulerMock.on(GetScheduleCommand).rejects(
      Object.assign(new Error('Schedule batch-runner-nightly does not exist.'), {
        name: 'ResourceNotFoundException',
      }),
    );
    expect(await schedules.state('nightly')).toBe('NOT_FOUND');
  });

  test('any other failure to read it is thrown', async () => {
    schedulerMock
      .on(GetScheduleCommand)
      .rejects(
        Object.assign(new Error('not authorized to perform scheduler:GetSchedule'), { name: 'AccessDeniedException' }),
      );
    await expect(schedules.state('nightly')).rejects.toThrow(
      expect.objectContaining({ name: 'AccessDeniedException' }),
    );
  });
});
