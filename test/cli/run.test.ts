import 'aws-sdk-client-mock-jest';
import { DescribeTasksCommand } from '@aws-sdk/client-ecs';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListStateMachinesCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { EXIT } from '../../cli/exit-codes';
import {
  CLUSTER_ARN,
  cli,
  deployedDefinition,
  entered,
  execArn,
  mockAws,
  NOW,
  resetEventIds,
  runFailed,
  smArn,
  startedTask,
  T0,
  taskArn,
} from './support';

const NAME = 'cli-sitemap-refresh-20261121T233000Z-a1b2c3';
const ARN = execArn('sitemap-refresh', NAME);
const TASK = taskArn('4f1d2c3b4a5968778695a4b3c2d1e0f9');

let aws: ReturnType<typeof mockAws>;
beforeEach(() => {
  resetEventIds();
  aws = mockAws();
  aws.mocks.sfn.on(StartExecutionCommand).resolves({ executionArn: ARN, startDate: new Date(T0) });
});

describe('run <batch> (AWS)', () => {
  test('starts the state machine found by name, with the manual input contract, and exits 0 without --wait', async () => {
    const r = await cli(['run', 'sitemap-refresh', '--reason', 'sitemap was stale'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(aws.mocks.sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: smArn('sitemap-refresh'),
      name: NAME,
    });
    const input = JSON.parse(aws.mocks.sfn.commandCalls(StartExecutionCommand)[0].args[0].input.input!);
    expect(input).toEqual({ trigger: 'cli', reason: 'sitemap was stale', requestedBy: 'alice@ops-laptop' });
    expect(r.stdout).toContain(`started ${NAME}`);
    expect(r.stdout).toContain(
      `https://ap-northeast-1.console.aws.amazon.com/states/home?region=ap-northeast-1#/v2/executions/details/${ARN}`,
    );
    expect(aws.mocks.sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
  });

  test('--override NAME=value becomes overrides.environment; --json prints the started execution', async () => {
    const r = await cli(['run', 'xml-articles', '--override', 'ARTICLE_LIMIT=100', '--json'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    const input = JSON.parse(aws.mocks.sfn.commandCalls(StartExecutionCommand)[0].args[0].input.input!);
    expect(input.overrides).toEqual({ environment: { ARTICLE_LIMIT: '100' } });
    expect(JSON.parse(r.stdout)).toMatchObject({ batch: 'xml-articles', executionArn: ARN });
  });

  test('--for names the slot the run stands for: the input carries it in the Scheduler`s UTC form', async () => {
    const r = await cli(['run', 'xml-articles', '--for', '2026-12-01T07:00+09:00'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    const input = JSON.parse(aws.mocks.sfn.commandCalls(StartExecutionCommand)[0].args[0].input.input!);
    expect(input).toMatchObject({ trigger: 'cli', slot: '2026-11-30T22:00:00Z' });
    expect(r.stderr).toContain('standing for the slot 2026-11-30T22:00:00Z (2026-12-01 07:00 Asia/Tokyo)');
  });

  test.each([
    [
      ['run', 'xml-articles', '--for', '2026-12-01T06:00+09:00'],
      /--for "2026-12-01T06:00\+09:00" \(2026-12-01 06:00 Asia\/Tokyo\) is not a slot of xml-articles: its schedule is cron\(0 7 \* \* \? \*\) in Asia\/Tokyo/,
      /the nearest are 2026-11-30 07:00 Asia\/Tokyo \(--for 2026-11-29T22:00Z\) and 2026-12-01 07:00 Asia\/Tokyo \(--for 2026-11-30T22:00Z\)/,
    ],
    [
      ['run', 'xml-articles', '--for', '2026-12-01T07:00'],
      /--for "2026-12-01T07:00" is not an ISO 8601 time with an offset/,
      /e\.g\. 2026-12-01T06:00\+09:00/,
    ],
    [
      ['run', 'xml-articles', '--override', 'FOO=1'],
      /overrides\.environment\.FOO is not allowed for batch xml-articles/,
      /allows: ARTICLE_LIMIT/,
    ],
    [
      ['run', 'xml-articles', '--override', 'ARTICLE_LIMIT'],
      /"ARTICLE_LIMIT" is not NAME=value/,
      /--override ARTICLE_LIMIT=100/,
    ],
    [
      ['run', 'sitemap-refresh', '--override', 'ARTICLE_LIMIT=5'],
      /not allowed for batch sitemap-refresh \(allowed: none\)/,
      /allows: none/,
    ],
    [['run', 'sitemap-refresh', '--reason', ''], /reason = "" must be a non-empty string/, /Nothing was started/],
    [
      ['run', 'sitmap-refresh'],
      /unknown batch "sitmap-refresh": known batches are sitemap-refresh, xml-articles, missing-images/,
      /batch-runner list/,
    ],
  ])('%j is refused with exit 2 before anything starts', async (argv, problem, fix) => {
    const r = await cli(argv, { clients: aws.clients });

    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(problem);
    expect(r.stderr).toMatch(fix);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(aws.mocks.sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  test('a batch whose state machine is not deployed: exit 6, says where it looked and how to fix it', async () => {
    aws.mocks.sfn.on(ListStateMachinesCommand).resolves({ stateMachines: [] });
    const r = await cli(['run', 'missing-images'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.ENVIRONMENT);
    expect(r.stderr).toContain(
      'state machine "batch-runner-missing-images" of batch "missing-images" was not found in region ap-northeast-1',
    );
    expect(r.stderr).toContain('npx cdk deploy');
  });

  test('finds the state machine under another --prefix', async () => {
    const acme = smArn('x').replace(/:stateMachine:.*/, ':stateMachine:acme-batch-runner-sitemap-refresh');
    aws.mocks.sfn.on(ListStateMachinesCommand).resolves({
      stateMachines: [
        {
          name: 'acme-batch-runner-sitemap-refresh',
          stateMachineArn: acme,
          type: 'STANDARD',
          creationDate: new Date(),
        },
      ],
    });
    aws.mocks.sfn
      .on(DescribeStateMachineCommand, { stateMachineArn: acme })
      .resolves({ definition: deployedDefinition('sitemap-refresh') });
    const r = await cli(['--prefix', 'acme-batch-runner', 'run', 'sitemap-refresh'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(aws.mocks.sfn.commandCalls(StartExecutionCommand)[0].args[0].input.stateMachineArn).toMatch(
      /:stateMachine:acme-batch-runner-sitemap-refresh$/,
    );
  });

  test.each([
    [
      'CredentialsProviderError',
      'Could not load credentials from any providers',
      /no valid AWS credentials/,
      /--profile/,
    ],
    [
      'AccessDeniedException',
      'User: arn:aws:iam::123456789012:user/bob is not authorized to perform: states:ListStateMachines',
      /access denied: User: .*bob/,
      /operator permissions/,
    ],
  ])('AWS error %s: exit 6 with a fix, no stack trace', async (name, message, problem, fix) => {
    aws.mocks.sfn.on(ListStateMachinesCommand).rejects(Object.assign(new Error(message), { name }));
    const r = await cli(['run', 'sitemap-refresh'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.ENVIRONMENT);
    expect(r.stderr).toMatch(problem);
    expect(r.stderr).toMatch(fix);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

/** Scripts one watched execution: history (newest first, as with reverseOrder) and the final status. */
function scriptWatch(finalStatus: Record<string, unknown>, history: HistoryEvent[], runningPolls = 1) {
  const newestFirst = [...history].reverse();
  const half = newestFirst.slice(Math.floor(newestFirst.length / 2));
  aws.mocks.sfn.on(GetExecutionHistoryCommand).resolvesOnce({ events: half }).resolves({ events: newestFirst });
  let describe = aws.mocks.sfn.on(DescribeExecutionCommand);
  for (let i = 0; i < runningPolls; i++)
    describe = describe.resolvesOnce({ executionArn: ARN, status: 'RUNNING', startDate: new Date(T0) });
  describe.resolves({ executionArn: ARN, startDate: new Date(T0), stopDate: new Date(T0 + 95_000), ...finalStatus });
}

const happyHistory = () => [
  entered('RouteInput', 'Choice'),
  entered('ValidateManualInput', 'Task'),
  entered('AcquireLock', 'Task', {}, 1),
  entered('CheckRunningTasks', 'Task', {}, 1),
  entered('StartBatchTask', 'Task', {}, 1),
  startedTask(TASK, 2),
  entered('WaitForTaskToStop', 'Task', {}, 2),
];

describe('run <batch> --wait (AWS)', () => {
  test('shows the states as they are entered and the task, and exits 0 on success', async () => {
    scriptWatch(
      {
        status: 'SUCCEEDED',
        output: JSON.stringify({
          outcome: 'succeeded',
          error: null,
          reason: 'The batch container exited with code 0.',
          task: {
            taskArn: TASK,
            exitCode: 0,
            lastStatus: 'STOPPED',
            logUrl: 'https://ap-northeast-1.console.aws.amazon.com/cloudwatch/home#logsV2:log-groups/x',
          },
          lockRelease: { status: 'released' },
        }),
      },
      [...happyHistory(), entered('ReleaseLock', 'Task', {}, 95)],
      2,
    );
    const r = await cli(['run', 'sitemap-refresh', '--wait'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    const order = [
      'AcquireLock: acquiring the lock',
      'StartBatchTask: starting the task',
      'task 4f1d2c3b4a5968778695a4b3c2d1e0f9 started',
      'WaitForTaskToStop',
      'ReleaseLock',
    ];
    const positions = order.map((text) => r.stderr.indexOf(text));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(r.stderr.match(/AcquireLock/g)).toHaveLength(1); // each event printed once across polls
    expect(r.stdout).toMatch(/^succeeded: The batch container exited with code 0\./);
    expect(r.stdout).toContain(`task       ${TASK} (exit code 0)`);
    expect(r.stdout).toContain('logs       https://ap-northeast-1.console.aws.amazon.com/cloudwatch/');
    expect(r.stdout).toContain('duration   1m 35s');
  });

  test('prints the task status and elapsed time against the hard timeout while the task runs', async () => {
    scriptWatch(
      {
        status: 'SUCCEEDED',
        output: JSON.stringify({ outcome: 'succeeded', reason: 'ok', task: { taskArn: TASK, exitCode: 0 } }),
      },
      happyHistory(),
      2,
    );
    aws.mocks.ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: TASK, lastStatus: 'RUNNING' }] });
    const later = new Date(T0 + 754_000);
    const r = await cli(['run', 'sitemap-refresh', '--wait'], {
      clients: aws.clients,
      now: () => later,
      progressEveryMs: 0,
    });

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(aws.mocks.ecs).toHaveReceivedCommandWith(DescribeTasksCommand, { cluster: CLUSTER_ARN, tasks: [TASK] });
    expect(r.stderr).toContain('task RUNNING: 12m 32s of 30m 00s hard timeout');
  });

  const failureSummary = (details: Record<string, unknown>) => ({
    batch: 'sitemap-refresh',
    outcome: details.outcome,
    error: details.error,
    reason: details.reason,
    details,
  });

  test.each([
    [
      'a non-zero exit',
      {
        status: 'FAILED',
        error: 'BatchRunner.TaskFailed',
        cause:
          'The batch container exited non-zero or the task stopped abnormally (see task.exitCode and task.stoppedReason).',
      },
      failureSummary({
        outcome: 'failed',
        error: 'BatchRunner.TaskFailed',
        task: {
          taskArn: TASK,
          exitCode: 1,
          stoppedReason: 'Essential container in task exited',
          logUrl: 'https://logs.example/1',
        },
      }),
      EXIT.FAILED,
      [
        /^failed \(BatchRunner\.TaskFailed\): The batch container exited non-zero/,
        /\(exit code 1\)/,
        /logs {7}https:\/\/logs\.example\/1/,
        /stopped {4}Essential container in task exited/,
      ],
    ],
    [
      'the hard timeout',
      {
        status: 'FAILED',
        error: 'BatchRunner.TimedOut',
        cause: 'The batch ran into its hard timeout of 1800 s; the runner stopped the task.',
      },
      failureSummary({
        outcome: 'timed_out',
        error: 'BatchRunner.TimedOut',
        taskArn: TASK,
        logUrl: 'https://logs.example/2',
        stoppedTask: {
          LastStatus: 'STOPPED',
          StopCode: 'UserInitiated',
          StoppedReason: 'batch-runner: hard timeout of 1800 s reached',
        },
      }),
      EXIT.TIMED_OUT,
      [
        /^timed_out \(BatchRunner\.TimedOut\): The batch ran into its hard timeout of 1800 s/,
        new RegExp(`task {7}${TASK}`),
        /stopped {4}batch-runner: hard timeout of 1800 s reached/,
      ],
    ],
    [
      'could not start',
      {
        status: 'FAILED',
        error: 'BatchRunner.CouldNotStart',
        cause: 'ECS did not start the task after 4 attempt(s): BatchRunner.TaskNotStarted RESOURCE:MEMORY',
      },
      failureSummary({ outcome: 'could_not_start', error: 'BatchRunner.CouldNotStart' }),
      EXIT.COULD_NOT_START,
      [/^could_not_start \(BatchRunner\.CouldNotStart\): ECS did not start the task after 4 attempt\(s\)/],
    ],
    [
      'invalid input',
      {
        status: 'FAILED',
        error: 'BatchRunner.InvalidInput',
        cause: 'Invalid input for batch sitemap-refresh: unknown key "foo".',
      },
      failureSummary({ outcome: 'invalid_input', error: 'BatchRunner.InvalidInput' }),
      EXIT.USAGE,
      [/^invalid_input \(BatchRunner\.InvalidInput\): Invalid input for batch sitemap-refresh/],
    ],
    [
      'an internal error',
      {
        status: 'FAILED',
        error: 'BatchRunner.InternalError',
        cause: 'Could not acquire the lock (DynamoDB.ResourceNotFoundException: table missing).',
      },
      failureSummary({ outcome: 'failed', error: 'BatchRunner.InternalError' }),
      EXIT.FAILED,
      [/^failed \(BatchRunner\.InternalError\): Could not acquire the lock/],
    ],
  ])('outcome from the Fail state and its summary: %s', async (_label, final, summary, code, expected) => {
    scriptWatch(final, [
      ...happyHistory(),
      entered('ReleaseLockAfterFailure', 'Task', {}, 90),
      entered('PublishFailureAlert', 'Task', {}, 91),
      runFailed(summary, 92),
    ]);
    const r = await cli(['run', 'sitemap-refresh', '--wait'], { clients: aws.clients });

    expect(r.code).toBe(code);
    for (const pattern of expected) expect(r.stdout).toMatch(pattern);
  });

  test('a skipped run (lock held by a live run) exits 4 and names the holder', async () => {
    const holder = execArn('sitemap-refresh', '8f2e1c0d-schedule');
    scriptWatch(
      {
        status: 'SUCCEEDED',
        output: JSON.stringify({
          outcome: 'skipped',
          reason: `Another run holds the lock: execution ${holder} (trigger schedule, requested by EventBridge Scheduler) since 2026-11-21T21:00:00.512Z.`,
          lockHolder: holder,
        }),
      },
      [
        entered('AcquireLock', 'Task'),
        entered('ReadLockHolder', 'Task'),
        entered('RecordSkipLockHeld', 'Pass'),
        entered('Skipped', 'Succeed'),
      ],
    );
    const r = await cli(['run', 'sitemap-refresh', '--wait'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SKIPPED);
    expect(r.stdout).toContain(`skipped: Another run holds the lock: execution ${holder}`);
    expect(r.stderr).toContain('RecordSkipLockHeld: lock held by a live run: skipping');
  });

  test('execution-level ends: TIMED_OUT exits 3, replaced (ABORTED by a newer run) exits 8', async () => {
    scriptWatch({ status: 'TIMED_OUT' }, happyHistory());
    expect((await cli(['run', 'sitemap-refresh', '--wait'], { clients: aws.clients })).code).toBe(EXIT.TIMED_OUT);
    aws.mocks.sfn.reset();
    aws = mockAws();
    aws.mocks.sfn.on(StartExecutionCommand).resolves({ executionArn: ARN, startDate: new Date(T0) });
    scriptWatch(
      { status: 'ABORTED', error: 'BatchRunner.Replaced', cause: 'Replaced by execution x (overlap policy replace).' },
      happyHistory(),
    );
    const r = await cli(['run', 'sitemap-refresh', '--wait', '--json'], { clients: aws.clients });
    expect(r.code).toBe(EXIT.REPLACED);
    expect(JSON.parse(r.stdout)).toMatchObject({
      outcome: 'replaced',
      error: 'BatchRunner.Replaced',
      exitStatus: EXIT.REPLACED,
    });
  });

  test('Ctrl-C stops watching (exit 130) and says the execution continues', async () => {
    scriptWatch({ status: 'SUCCEEDED', output: '{}' }, happyHistory(), 5);
    const interrupt = new AbortController();
    interrupt.abort();
    const r = await cli(['run', 'sitemap-refresh', '--wait'], { clients: aws.clients, signal: interrupt.signal });

    expect(r.code).toBe(EXIT.INTERRUPTED);
    expect(r.stderr).toContain(`stopped watching; the execution continues: ${ARN}`);
    expect(r.stderr).toContain(`or stop it: batch-runner stop ${NAME}`);
  });
});

test('the execution name fits Step Functions limits and carries trigger, batch and time', async () => {
  await cli(['run', 'missing-images'], { clients: aws.clients });
  const name = aws.mocks.sfn.commandCalls(StartExecutionCommand)[0].args[0].input.name!;
  expect(name).toBe(
    `cli-missing-images-${NOW.toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}Z$/, 'Z')}-a1b2c3`,
  );
  expect(name.length).toBeLessThanOrEqual(80);
});
