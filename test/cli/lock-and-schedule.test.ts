import 'aws-sdk-client-mock-jest';
import { DeleteItemCommand, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetScheduleCommand, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { ListTasksCommand } from '@aws-sdk/client-ecs';
import { DescribeExecutionCommand, ExecutionDoesNotExist, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { EXIT } from '../../cli/exit-codes';
import { triggerOfInput } from '../../cli/outcome';
import { BATCHES } from '../../config/batches';
import { ACCOUNT, cli, execArn, mockAws, NOW, REGION } from './support';

const OWNER = execArn('xml-articles', 'sched-20261121T220000Z');

let aws: ReturnType<typeof mockAws>;
beforeEach(() => {
  aws = mockAws();
  aws.mocks.dynamodb.on(GetItemCommand).resolves({
    Item: {
      batch: { S: 'xml-articles' },
      owner: { S: OWNER },
      acquiredAt: { S: '2026-11-21T22:00:01.000Z' },
      trigger: { S: 'schedule' },
      requestedBy: { S: 'EventBridge Scheduler' },
      reason: { S: 'scheduled run' },
    },
  });
  aws.mocks.dynamodb.on(DeleteItemCommand).resolves({});
});
const ownerIs = (status: 'RUNNING' | 'FAILED' | 'ABORTED') =>
  aws.mocks.sfn
    .on(DescribeExecutionCommand, { executionArn: OWNER })
    .resolves({ executionArn: OWNER, status, startDate: new Date() });
const conditionalDelete = {
  TableName: 'batch-runner-locks',
  Key: { batch: { S: 'xml-articles' } },
  ConditionExpression: '#owner = :owner',
  ExpressionAttributeNames: { '#owner': 'owner' },
  ExpressionAttributeValues: { ':owner': { S: OWNER } },
};

describe('unlock <batch>', () => {
  test.each(['FAILED', 'ABORTED'] as const)(
    'releases a lock whose owner is %s, conditional on that owner',
    async (status) => {
      ownerIs(status);
      const r = await cli(['unlock', 'xml-articles'], { clients: aws.clients });

      expect(r.code).toBe(EXIT.SUCCESS);
      expect(aws.mocks.dynamodb).toHaveReceivedCommandWith(DeleteItemCommand, conditionalDelete);
      expect(r.stdout).toBe(`xml-articles: released the stale lock of ${OWNER} (owner ${status}).`);
    },
  );

  test('releases a lock whose owner execution no longer exists', async () => {
    aws.mocks.sfn
      .on(DescribeExecutionCommand)
      .rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));
    const r = await cli(['unlock', 'xml-articles', '--json'], { clients: aws.clients });
    expect(r.code).toBe(EXIT.SUCCESS);
    expect(JSON.parse(r.stdout)).toEqual({
      batch: 'xml-articles',
      action: 'released',
      owner: OWNER,
      ownerStatus: 'DOES_NOT_EXIST',
    });
  });

  test('no lock: nothing to do, exit 0, nothing deleted', async () => {
    aws.mocks.dynamodb.on(GetItemCommand).resolves({});
    const r = await cli(['unlock', 'xml-articles'], { clients: aws.clients });
    expect(r.code).toBe(EXIT.SUCCESS);
    expect(r.stdout).toContain('no lock is held');
    expect(aws.mocks.dynamodb).not.toHaveReceivedCommand(DeleteItemCommand);
  });

  test('refuses to break a live owner without --force (exit 7) and says what to do instead', async () => {
    ownerIs('RUNNING');
    const r = await cli(['unlock', 'xml-articles'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.REFUSED);
    expect(r.stderr).toContain(`the lock of xml-articles is held by ${OWNER}, which is still RUNNING`);
    expect(r.stderr).toContain(`batch-runner stop ${OWNER.split(':').pop()} (the runner's cleanup`);
    expect(r.stderr).toContain('--force');
    expect(aws.mocks.dynamodb).not.toHaveReceivedCommand(DeleteItemCommand);
  });

  test('--force without a terminal and without --yes is refused', async () => {
    ownerIs('RUNNING');
    const r = await cli(['unlock', 'xml-articles', '--force'], { clients: aws.clients, interactive: false });
    expect(r.code).toBe(EXIT.REFUSED);
    expect(r.stderr).toContain('add --yes');
    expect(aws.mocks.dynamodb).not.toHaveReceivedCommand(DeleteItemCommand);
  });

  test('--force asks on a terminal; "no" leaves the lock', async () => {
    ownerIs('RUNNING');
    const questions: string[] = [];
    const r = await cli(['unlock', 'xml-articles', '--force'], {
      clients: aws.clients,
      interactive: true,
      confirm: async (q) => {
        questions.push(q);
        return false;
      },
    });
    expect(questions[0]).toContain(`Break the lock of xml-articles held by RUNNING execution ${OWNER}?`);
    expect(r.code).toBe(EXIT.REFUSED);
    expect(aws.mocks.dynamodb).not.toHaveReceivedCommand(DeleteItemCommand);
  });

  test('--force --yes breaks a live lock and warns what follows', async () => {
    ownerIs('RUNNING');
    const r = await cli(['unlock', 'xml-articles', '--force', '--yes'], { clients: aws.clients });
    expect(r.code).toBe(EXIT.SUCCESS);
    expect(aws.mocks.dynamodb).toHaveReceivedCommandWith(DeleteItemCommand, conditionalDelete);
    expect(r.stdout).toContain(`broke the lock of RUNNING execution ${OWNER}`);
    expect(r.stdout).toContain('BatchRunner.LockLost');
  });

  test('a lock that changed hands meanwhile is left alone (conditional delete fails): exit 7', async () => {
    ownerIs('FAILED');
    aws.mocks.dynamodb
      .on(DeleteItemCommand)
      .rejects(Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' }));
    const r = await cli(['unlock', 'xml-articles'], { clients: aws.clients });
    expect(r.code).toBe(EXIT.REFUSED);
    expect(r.stdout).toContain('the lock changed while unlocking');
  });
});

describe('pause / resume <batch>', () => {
  const schedule = {
    Name: 'batch-runner-xml-articles',
    GroupName: 'batch-runner',
    Arn: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/batch-runner/batch-runner-xml-articles`,
    ScheduleExpression: 'cron(0 7 * * ? *)',
    ScheduleExpressionTimezone: 'Asia/Tokyo',
    Description: 'xml-articles nightly',
    FlexibleTimeWindow: { Mode: 'OFF' as const },
    Target: {
      Arn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:batch-runner-xml-articles`,
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch-runner-scheduler`,
      Input: '{"trigger":"schedule","scheduledTime":"<aws.scheduler.scheduled-time>"}',
      RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 3 },
      DeadLetterConfig: { Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:batch-runner-schedule-dlq` },
    },
    State: 'ENABLED' as const,
  };

  test('pause sets State DISABLED and sends every other field back unchanged', async () => {
    aws.mocks.scheduler.on(GetScheduleCommand).resolves(schedule);
    aws.mocks.scheduler.on(UpdateScheduleCommand).resolves({ ScheduleArn: schedule.Arn });
    const r = await cli(['pause', 'xml-articles'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(aws.mocks.scheduler).toHaveReceivedCommandWith(GetScheduleCommand, {
      Name: 'batch-runner-xml-articles',
      GroupName: 'batch-runner',
    });
    const { Arn: _arn, ...fields } = schedule;
    expect(aws.mocks.scheduler.commandCalls(UpdateScheduleCommand)[0].args[0].input).toEqual({
      ...fields,
      State: 'DISABLED',
    });
    expect(r.stdout).toContain('paused schedule batch-runner-xml-articles');
    expect(r.stdout).toContain('batch-runner resume xml-articles');
  });

  test('resume sets State ENABLED; --json', async () => {
    aws.mocks.scheduler.on(GetScheduleCommand).resolves({ ...schedule, State: 'DISABLED' });
    aws.mocks.scheduler.on(UpdateScheduleCommand).resolves({ ScheduleArn: schedule.Arn });
    const r = await cli(['resume', 'xml-articles', '--json'], { clients: aws.clients });
    expect(r.code).toBe(EXIT.SUCCESS);
    expect(aws.mocks.scheduler).toHaveReceivedCommandWith(UpdateScheduleCommand, {
      State: 'ENABLED',
      ScheduleExpression: 'cron(0 7 * * ? *)',
    });
    expect(JSON.parse(r.stdout)).toEqual({
      batch: 'xml-articles',
      schedule: 'batch-runner-xml-articles',
      group: 'batch-runner',
      before: 'DISABLED',
      state: 'ENABLED',
      changed: true,
    });
  });

  test('resume first records the resume time on the pause item (earlier failures stop counting), then enables', async () => {
    const order: string[] = [];
    aws.mocks.scheduler.on(GetScheduleCommand).resolves({ ...schedule, State: 'DISABLED' });
    aws.mocks.scheduler.on(UpdateScheduleCommand).callsFake(async () => {
      order.push('UpdateSchedule');
      return { ScheduleArn: schedule.Arn };
    });
    aws.mocks.dynamodb.on(UpdateItemCommand).callsFake(async () => {
      order.push('UpdateItem');
      return {};
    });
    const r = await cli(['resume', 'xml-articles'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(order).toEqual(['UpdateItem', 'UpdateSchedule']);
    expect(aws.mocks.dynamodb.commandCalls(UpdateItemCommand)[0].args[0].input).toEqual({
      TableName: 'batch-runner-locks',
      Key: { batch: { S: 'pause#xml-articles' } },
      UpdateExpression: 'SET resumedAtMs = :at',
      ExpressionAttributeValues: { ':at': { N: String(NOW.getTime()) } },
    });
  });

  test('pause records nothing on the pause item (only the reconciler and resume write it)', async () => {
    aws.mocks.scheduler.on(GetScheduleCommand).resolves(schedule);
    aws.mocks.scheduler.on(UpdateScheduleCommand).resolves({ ScheduleArn: schedule.Arn });
    const r = await cli(['pause', 'xml-articles'], { clients: aws.clients });
    expect(r.code).toBe(EXIT.SUCCESS);
    expect(aws.mocks.dynamodb).not.toHaveReceivedCommand(UpdateItemCommand);
  });

  test('list and status say "paused after N failures" when the pause item says the reconciler paused it', async () => {
    const batches = BATCHES.map((b) => (b.name === 'xml-articles' ? { ...b, pauseAfterConsecutiveFailures: 3 } : b));
    aws.mocks.scheduler.on(GetScheduleCommand).resolves({ ...schedule, State: 'DISABLED' });
    aws.mocks.dynamodb.on(GetItemCommand, { Key: { batch: { S: 'pause#xml-articles' } } }).resolves({
      Item: {
        batch: { S: 'pause#xml-articles' },
        pausedAtMs: { N: String(NOW.getTime() - 3600_000) },
        failures: { N: '3' },
        executions: { L: [{ S: OWNER }] },
      },
    });
    ownerIs('RUNNING');
    aws.mocks.ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    aws.mocks.sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    const status = await cli(['status', 'xml-articles'], { clients: aws.clients, batches });
    expect(status.stderr).toBe('');
    expect(status.code).toBe(EXIT.SUCCESS);
    expect(status.stdout).toContain('Schedule:    paused after 3 failures in a row');
    expect(status.stdout).toContain('resume: batch-runner resume xml-articles');
    const list = await cli(['list', '--json'], { clients: aws.clients, batches });
    const row = JSON.parse(list.stdout).find((x: any) => x.batch === 'xml-articles');
    expect(row).toMatchObject({ scheduleState: 'DISABLED', pausedAfterFailures: 3 });

    // Resumed since: an ordinary paused (or enabled) schedule again.
    aws.mocks.dynamodb.on(GetItemCommand, { Key: { batch: { S: 'pause#xml-articles' } } }).resolves({
      Item: {
        batch: { S: 'pause#xml-articles' },
        pausedAtMs: { N: String(NOW.getTime() - 3600_000) },
        failures: { N: '3' },
        resumedAtMs: { N: String(NOW.getTime() - 60_000) },
      },
    });
    const after = await cli(['status', 'xml-articles'], { clients: aws.clients, batches });
    expect(after.stdout).not.toContain('paused after');
  });

  test('pausing a paused schedule changes nothing', async () => {
    aws.mocks.scheduler.on(GetScheduleCommand).resolves({ ...schedule, State: 'DISABLED' });
    const r = await cli(['pause', 'xml-articles'], { clients: aws.clients });
    expect(r.code).toBe(EXIT.SUCCESS);
    expect(r.stdout).toContain('already paused');
    expect(aws.mocks.scheduler).not.toHaveReceivedCommand(UpdateScheduleCommand);
  });

  test('a schedule that does not exist: exit 6 with the fix', async () => {
    aws.mocks.scheduler.on(GetScheduleCommand).rejects(
      Object.assign(new Error('Schedule batch-runner-xml-articles does not exist.'), {
        name: 'ResourceNotFoundException',
      }),
    );
    const r = await cli(['resume', 'xml-articles'], { clients: aws.clients });
    expect(r.code).toBe(EXIT.ENVIRONMENT);
    expect(r.stderr).toContain(
      'schedule "batch-runner-xml-articles" (group "batch-runner") of xml-articles was not found',
    );
  });

  test('demo-only batches have no schedule to pause: unknown batch on AWS', async () => {
    const r = await cli(['pause', 'stubborn-export'], { clients: aws.clients });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('unknown batch "stubborn-export"');
  });
});

describe('a batch with after (dependencies)', () => {
  const dependent = {
    ...BATCHES[2],
    name: 'xml-sitemap',
    schedule: BATCHES[1].schedule,
    after: ['xml-articles'],
  };
  const batches = [...BATCHES, dependent];

  test.each(['pause', 'resume'] as const)(
    '%s: it has no schedule; exit 2 naming the upstream and the rule',
    async (verb) => {
      const r = await cli([verb, 'xml-sitemap'], { clients: aws.clients, batches });
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.stderr).toContain('xml-sitemap has no schedule: it runs after xml-articles succeeds');
      expect(r.stderr).toContain(`batch-runner pause xml-articles`);
      expect(r.stderr).toContain(
        `aws events ${verb === 'pause' ? 'disable' : 'enable'}-rule --name batch-runner-xml-sitemap`,
      );
      expect(aws.mocks.scheduler).not.toHaveReceivedCommand(GetScheduleCommand);
    },
  );

  test('list shows what starts it instead of a schedule and a next run', async () => {
    aws.mocks.scheduler.on(GetScheduleCommand).resolves({ State: 'ENABLED' });
    aws.mocks.sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    aws.mocks.dynamodb.on(GetItemCommand).resolves({});
    const r = await cli(['list', '--json'], { clients: aws.clients, batches });
    expect(r.code).toBe(EXIT.SUCCESS);
    const row = JSON.parse(r.stdout).find((x: { batch: string }) => x.batch === 'xml-sitemap');
    // (Not in this mocked deployment, so its row says so; what matters is what starts it.)
    expect(row).toMatchObject({ after: 'xml-articles' });
    expect(row.nextRun).toBeUndefined();
    const asked = aws.mocks.scheduler.commandCalls(GetScheduleCommand).map((c) => c.args[0].input.Name);
    expect(asked).not.toContain('batch-runner-xml-sitemap');
    const text = await cli(['list'], { clients: aws.clients, batches });
    expect(text.stdout).toMatch(/xml-sitemap\s+after xml-articles succeeds\s+-\s/);
  });

  test('show and history tell who started a dependency run and why, from its input', () => {
    const upstream = execArn('xml-articles', 'sched-20261121T220000Z');
    expect(
      triggerOfInput({
        trigger: 'dependency',
        scheduledTime: '2026-11-21T22:00:00Z',
        upstream: { batch: 'xml-articles', executionArn: upstream },
      }),
    ).toEqual({
      trigger: 'dependency',
      requestedBy: 'EventBridge rule',
      reason: `after xml-articles succeeded (execution ${upstream})`,
    });
  });
});
