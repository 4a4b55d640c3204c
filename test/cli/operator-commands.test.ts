import 'aws-sdk-client-mock-jest';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeTasksCommand } from '@aws-sdk/client-ecs';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { EXIT } from '../../cli/exit-codes';
import type { BatchConfig } from '../../config/batch-config';
import { BATCHES } from '../../config/batches';
import {
  CLUSTER_ARN,
  cli,
  entered,
  execArn,
  exited,
  mockAws,
  resetEventIds,
  runFailed,
  smArn,
  startedTask,
  T0,
  taskArn,
} from './support';

const NAME = 'cli-xml-articles-20261121T230000Z-0f0f0f';
const ARN = execArn('xml-articles', NAME);
const TASK = taskArn('9a8b7c6d5e4f30211203948576abcdef');
const INPUT = {
  trigger: 'cli',
  reason: 'feed re-export',
  requestedBy: 'bob@ops',
  overrides: { environment: { ARTICLE_LIMIT: '100' } },
};

let aws: ReturnType<typeof mockAws>;

/** One execution of xml-articles, scripted: what DescribeExecution says (may change), its history, the lock. */
function scriptExecution(options: {
  describe: () => Partial<DescribeExecutionCommandOutput>;
  history: HistoryEvent[];
  lockOwner?: () => string | undefined;
  taskStatus?: () => { lastStatus: string; exitCode?: number; stoppedReason?: string } | undefined;
}) {
  aws.mocks.sfn.on(ListExecutionsCommand, { stateMachineArn: smArn('xml-articles') }).callsFake((input) => {
    const d = options.describe();
    return {
      executions:
        input.statusFilter === 'RUNNING' && d.status !== 'RUNNING'
          ? []
          : [
              {
                executionArn: ARN,
                stateMachineArn: smArn('xml-articles'),
                name: NAME,
                status: d.status,
                startDate: new Date(T0),
              },
            ],
    };
  });
  aws.mocks.sfn.on(DescribeExecutionCommand).callsFake((input) => {
    if (input.executionArn !== ARN)
      throw Object.assign(new Error(`Execution Does Not Exist: '${input.executionArn}'`), {
        name: 'ExecutionDoesNotExist',
      });
    return {
      executionArn: ARN,
      stateMachineArn: smArn('xml-articles'),
      name: NAME,
      startDate: new Date(T0),
      input: JSON.stringify(INPUT),
      ...options.describe(),
    };
  });
  aws.mocks.sfn.on(GetExecutionHistoryCommand).callsFake((input) => ({
    events: input.reverseOrder ? [...options.history].reverse() : options.history,
  }));
  aws.mocks.dynamodb.on(GetItemCommand).callsFake(() => {
    const owner = options.lockOwner?.();
    return owner ? { Item: { batch: { S: 'xml-articles' }, owner: { S: owner } } } : {};
  });
  aws.mocks.ecs.on(DescribeTasksCommand).callsFake(() => {
    const t = options.taskStatus?.();
    return t
      ? {
          tasks: [
            {
              taskArn: TASK,
              lastStatus: t.lastStatus,
              stoppedReason: t.stoppedReason,
              containers: [{ name: 'app', exitCode: t.exitCode }],
            },
          ],
        }
      : { tasks: [], failures: [{ arn: TASK, reason: 'MISSING' }] };
  });
}

const runningHistory = () => [
  entered('RouteInput', 'Choice', {}, 0),
  exited('RouteInput', 'Choice', {}, 0),
  entered('ValidateManualInput', 'Task', {}, 0),
  exited('ValidateManualInput', 'Task', {}, 1),
  entered('AcquireLock', 'Task', {}, 1),
  exited('AcquireLock', 'Task', {}, 1),
  entered('StartBatchTask', 'Task', {}, 1),
  startedTask(TASK, 3),
  entered('WaitForTaskToStop', 'Task', {}, 3),
];

beforeEach(() => {
  resetEventIds();
  aws = mockAws();
});

describe('stop <batch|execution> (AWS)', () => {
  test('stops the one RUNNING execution of a batch with StopExecution naming the operator and the reason', async () => {
    scriptExecution({ describe: () => ({ status: 'RUNNING' }), history: runningHistory(), lockOwner: () => ARN });
    aws.mocks.sfn.on(StopExecutionCommand).resolves({ stopDate: new Date(T0 + 60_000) });

    const r = await cli(['stop', 'xml-articles', '--reason', 'hung on the feed API'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(aws.mocks.sfn).toHaveReceivedCommandTimes(StopExecutionCommand, 1);
    expect(aws.mocks.sfn).toHaveReceivedCommandWith(StopExecutionCommand, {
      executionArn: ARN,
      error: 'BatchRunner.StoppedByOperator',
      cause: 'Stopped by alice@ops-laptop with batch-runner stop: hung on the feed API',
    });
    expect(r.stdout).toContain(`stop requested: ${NAME}`);
    expect(r.stdout).toContain(`stops task ${TASK}, releases the lock once the task is STOPPED, and sends one alert`);
  });

  test('--wait follows the cleanup until the execution ended, the task STOPPED and the lock is free', async () => {
    let stopped = false;
    let polls = 0;
    scriptExecution({
      describe: () => (stopped ? { status: 'ABORTED', stopDate: new Date(T0 + 60_000) } : { status: 'RUNNING' }),
      history: runningHistory(),
      // The reconciler: the task takes two polls to stop, the lock goes one poll after that.
      taskStatus: () =>
        !stopped || polls < 2
          ? { lastStatus: 'RUNNING' }
          : {
              lastStatus: 'STOPPED',
              exitCode: 143,
              stoppedReason: 'batch-runner reconciler: its execution is ABORTED',
            },
      lockOwner: () => (stopped && polls >= 3 ? undefined : ARN),
    });
    aws.mocks.sfn.on(StopExecutionCommand).callsFake(() => {
      stopped = true;
      return { stopDate: new Date(T0 + 60_000) };
    });

    const r = await cli(['stop', NAME, '--wait', '--json'], {
      clients: aws.clients,
      sleep: async () => {
        polls += 1;
      },
    });

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(polls).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({
      executionArn: ARN,
      cause: 'Stopped by alice@ops-laptop with batch-runner stop: stopped by alice@ops-laptop',
      settled: true,
      status: 'ABORTED',
      lockReleased: true,
      task: { taskArn: TASK, lastStatus: 'STOPPED', exitCode: 143 },
    });
    const order = ['execution ABORTED', 'task STOPPED (exit code 143)', 'lock released'].map((t) =>
      r.stderr.indexOf(t),
    );
    expect(order.every((p) => p >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  test('--wait on an execution stopped already whose cleanup is under way: waits for it, stops nothing twice', async () => {
    let polls = 0;
    scriptExecution({
      describe: () => ({ status: 'ABORTED', error: 'States.Aborted', stopDate: new Date(T0 + 60_000) }),
      history: runningHistory(),
      taskStatus: () => ({ lastStatus: polls < 1 ? 'DEPROVISIONING' : 'STOPPED', exitCode: 137 }),
      lockOwner: () => (polls < 2 ? ARN : undefined),
    });

    const r = await cli(['stop', NAME, '--wait'], {
      clients: aws.clients,
      sleep: async () => {
        polls += 1;
      },
    });

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(polls).toBe(2);
    expect(r.stderr).toContain(`${NAME} has already ended (ABORTED); waiting for its cleanup`);
    expect(r.stdout).toContain(
      `stopped ${NAME}: execution ABORTED, task ${TASK} STOPPED (exit code 137), lock released`,
    );
    expect(aws.mocks.sfn).not.toHaveReceivedCommand(StopExecutionCommand);
  });

  test('--wait gives up after 10 minutes with exit 1, naming what is still pending', async () => {
    let minutes = 0;
    scriptExecution({
      describe: () => ({ status: minutes > 0 ? 'ABORTED' : 'RUNNING' }),
      history: runningHistory(),
      taskStatus: () => ({ lastStatus: 'RUNNING' }),
      lockOwner: () => ARN,
    });
    aws.mocks.sfn.on(StopExecutionCommand).resolves({});

    const r = await cli(['stop', NAME, '--wait'], {
      clients: aws.clients,
      now: () => new Date(T0 + minutes * 60_000),
      sleep: async () => {
        minutes += 1;
      },
    });

    expect(r.code).toBe(EXIT.FAILED);
    expect(minutes).toBe(11);
    expect(r.stderr).toContain(`error: ${NAME} did not settle within 10m 00s: task RUNNING; the lock still held by it`);
    expect(r.stderr).toContain('fix: look with: batch-runner status xml-articles.');
  });

  test.each([
    [
      'an execution that has ended',
      () => ({ status: 'SUCCEEDED', stopDate: new Date(T0 + 60_000) }),
      NAME,
      /nothing to stop: execution cli-xml-articles-\S+ is SUCCEEDED/,
      /batch-runner rerun/,
    ],
    [
      'a batch with nothing running',
      () => ({ status: 'FAILED' }),
      'xml-articles',
      /nothing runs: no execution of xml-articles is RUNNING/,
      /batch-runner history xml-articles/,
    ],
  ])('refuses %s (exit 7) and stops nothing', async (_label, describe, ref, problem, fix) => {
    scriptExecution({ describe: describe as any, history: runningHistory() });

    const r = await cli(['stop', ref], { clients: aws.clients });

    expect(r.code).toBe(EXIT.REFUSED);
    expect(r.stderr).toMatch(new RegExp(`^error: ${problem.source}`, 'm'));
    expect(r.stderr).toMatch(new RegExp(`^fix: .*${fix.source}`, 'm'));
    expect(aws.mocks.sfn).not.toHaveReceivedCommand(StopExecutionCommand);
  });

  test.each([
    [['stop', 'xml-articles', '--reason', ''], /--reason "" is empty/],
    [['stop', 'xml-articles', '--reason', 'x'.repeat(501)], /--reason "x{57}\.\.\." is 501 characters long/],
    [['stop', 'xml-articles', '--reason', 'a\u0007b'], /contains control characters/],
  ])('%j: a bad --reason is refused (exit 2) before any AWS call', async (argv, problem) => {
    const r = await cli(argv, { clients: aws.clients });

    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(problem);
    expect(r.stderr).toContain('fix: give --reason a plain-text reason of 1 to 500 characters');
    expect(r.stderr).toContain('Nothing was stopped.');
    expect(aws.mocks.sfn.calls()).toHaveLength(0);
  });

  test('two RUNNING executions of a batch (overlap policy wait): names them and asks for one, stops nothing', async () => {
    const other = 'cli-xml-articles-20261121T230100Z-1e1e1e';
    aws.mocks.sfn.on(ListExecutionsCommand).resolves({
      executions: [NAME, other].map((n) => ({
        executionArn: execArn('xml-articles', n),
        stateMachineArn: smArn('xml-articles'),
        name: n,
        status: 'RUNNING',
        startDate: new Date(T0),
      })),
    });
    aws.mocks.sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING', input: '{}' });
    aws.mocks.sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });

    const r = await cli(['stop', 'xml-articles'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain(`2 executions of xml-articles are RUNNING`);
    expect(r.stderr).toContain(`${NAME}, ${other}`);
    expect(aws.mocks.sfn).not.toHaveReceivedCommand(StopExecutionCommand);
  });

  test('an unknown execution name or a foreign ARN: exit 2, says where it looked and how to find one', async () => {
    scriptExecution({ describe: () => ({ status: 'RUNNING' }), history: runningHistory() });

    const unknown = await cli(['stop', 'cli-xml-articles-nope'], { clients: aws.clients });
    expect(unknown.code).toBe(EXIT.USAGE);
    expect(unknown.stderr).toContain(
      'error: no execution "cli-xml-articles-nope" of a batch\'s state machine (prefix "batch-runner")',
    );
    expect(unknown.stderr).toContain('fix: give an execution name or ARN as batch-runner history <batch> lists them');
    // The name carries its batch: that batch's state machine is asked first.
    expect(aws.mocks.sfn.commandCalls(DescribeExecutionCommand)[0].args[0].input.executionArn).toBe(
      execArn('xml-articles', 'cli-xml-articles-nope'),
    );

    const foreign = await cli(['stop', ARN.replace('batch-runner-xml-articles', 'someone-elses-machine')], {
      clients: aws.clients,
    });
    expect(foreign.code).toBe(EXIT.USAGE);
    const local = await cli(['stop', 'arn:aws:states:local:000000000000:execution:batch-runner-xml-articles:x'], {
      clients: aws.clients,
    });
    expect(local.stderr).toContain('fix: add --local');
    expect(aws.mocks.sfn).not.toHaveReceivedCommand(StopExecutionCommand);
  });
});

describe('watch <batch|execution> (AWS)', () => {
  test('re-attaches to the running execution: its states so far, then its end; exits with its code', async () => {
    let ended = false;
    const history = runningHistory();
    scriptExecution({
      describe: () =>
        ended
          ? {
              status: 'FAILED',
              error: 'BatchRunner.TaskFailed',
              cause: 'The batch container exited non-zero.',
              stopDate: new Date(T0 + 90_000),
            }
          : { status: 'RUNNING' },
      history,
      taskStatus: () => ({ lastStatus: 'RUNNING' }),
    });

    const r = await cli(['watch', 'xml-articles'], {
      clients: aws.clients,
      // The run fails while the watcher waits between two polls.
      sleep: async () => {
        if (ended) return;
        ended = true;
        history.push(
          entered('ReleaseLockAfterFailure', 'Task', {}, 88),
          runFailed({ details: { task: { taskArn: TASK, exitCode: 1, logUrl: 'https://logs.example/9' } } }, 89),
        );
      },
    });

    expect(r.code).toBe(EXIT.FAILED);
    expect(r.stderr).toContain(`watching ${NAME}`);
    const order = [
      'AcquireLock: acquiring the lock',
      `task ${TASK.split('/').pop()} started`,
      'ReleaseLockAfterFailure',
    ];
    const positions = order.map((t) => r.stderr.indexOf(t));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(r.stdout).toMatch(/^failed \(BatchRunner\.TaskFailed\): The batch container exited non-zero\./);
    expect(r.stdout).toContain(`task       ${TASK} (exit code 1)`);
  });

  test('an execution that has already ended is reported at once with its exit code (timed out: 3)', async () => {
    scriptExecution({
      describe: () => ({ status: 'TIMED_OUT', stopDate: new Date(T0 + 7_200_000) }),
      history: runningHistory(),
    });
    let slept = 0;
    const r = await cli(['watch', NAME, '--json'], {
      clients: aws.clients,
      sleep: async () => {
        slept += 1;
      },
    });

    expect(r.code).toBe(EXIT.TIMED_OUT);
    expect(slept).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ executionArn: ARN, outcome: 'timed_out', exitStatus: EXIT.TIMED_OUT });
  });

  test('a batch with nothing running: exit 7, points at its history', async () => {
    scriptExecution({ describe: () => ({ status: 'SUCCEEDED' }), history: [] });
    const r = await cli(['watch', 'xml-articles'], { clients: aws.clients });
    expect(r.code).toBe(EXIT.REFUSED);
    expect(r.stderr).toContain('fix: see its last runs: batch-runner history xml-articles');
  });
});

describe('show <execution> (AWS)', () => {
  const failedHistory = () => [
    ...runningHistory(),
    exited('WaitForTaskToStop', 'Task', {}, 63),
    entered('RecordTaskFailure', 'Pass', {}, 63),
    entered('ReleaseLockAfterFailure', 'Task', {}, 64),
    entered('PublishFailureAlert', 'Task', {}, 64),
    runFailed(
      {
        details: {
          task: {
            taskArn: TASK,
            exitCode: 2,
            stoppedReason: 'Essential container in task exited',
            logUrl: 'https://logs.example/xml',
          },
        },
      },
      65,
    ),
  ];

  test('a failed execution: outcome, trigger, timings, task, exit code, stop reason, links and the timeline', async () => {
    scriptExecution({
      describe: () => ({
        status: 'FAILED',
        error: 'BatchRunner.TaskFailed',
        cause: 'The batch container exited non-zero.',
        stopDate: new Date(T0 + 65_000),
      }),
      history: failedHistory(),
    });

    const r = await cli(['show', NAME], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`${NAME}  FAILED  failed (BatchRunner.TaskFailed, exit 2)`);
    expect(r.stdout).toContain('  trigger    cli by bob@ops ("feed re-export")');
    expect(r.stdout).toContain('  ended      2026-11-21 23:01:05Z (took 1m 05s)');
    expect(r.stdout).toContain('  result     BatchRunner.TaskFailed: The batch container exited non-zero.');
    expect(r.stdout).toContain(`  task       ${TASK} (no longer known to ECS, exit code 2)`);
    expect(r.stdout).toContain('  stopped    Essential container in task exited');
    expect(r.stdout).toContain('  logs       https://logs.example/xml');
    expect(r.stdout).toContain(
      `  console    https://ap-northeast-1.console.aws.amazon.com/states/home?region=ap-northeast-1#/v2/executions/details/${ARN}`,
    );
    expect(r.stdout).toMatch(/\n {2}\+3\.0s +WaitForTaskToStop +1m 00s +task running: waiting for it to stop\n/);
    expect(r.stdout).toMatch(/\n {2}\+1m 05s +RunFailed +… +failed\n/);
    expect(r.stdout).toContain(`batch-runner rerun ${NAME}`);
    expect(aws.mocks.ecs).toHaveReceivedCommandWith(DescribeTasksCommand, { cluster: CLUSTER_ARN, tasks: [TASK] });
  });

  test('--json: one object with the states, the task and the links; an ARN needs no search', async () => {
    scriptExecution({
      describe: () => ({ status: 'RUNNING' }),
      history: runningHistory(),
      taskStatus: () => ({ lastStatus: 'RUNNING' }),
    });

    const r = await cli(['show', ARN, '--json'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    const shown = JSON.parse(r.stdout);
    expect(shown).toMatchObject({
      batch: 'xml-articles',
      name: NAME,
      status: 'RUNNING',
      currentState: 'WaitForTaskToStop',
      input: INPUT,
      task: { taskArn: TASK, lastStatus: 'RUNNING' },
    });
    // A running task's log link is made as the runner makes it (group, prefix/container/task id).
    expect(shown.task.logUrl).toContain(
      'log-group/$252Fbatch-runner$252Ftasks$252Fxml-articles/log-events/batch$252Fapp$252F',
    );
    expect(shown.states.map((s: any) => [s.name, s.enteredAt, s.exitedAt ?? null])).toEqual([
      ['RouteInput', '2026-11-21T23:00:00.000Z', '2026-11-21T23:00:00.000Z'],
      ['ValidateManualInput', '2026-11-21T23:00:00.000Z', '2026-11-21T23:00:01.000Z'],
      ['AcquireLock', '2026-11-21T23:00:01.000Z', '2026-11-21T23:00:01.000Z'],
      ['StartBatchTask', '2026-11-21T23:00:01.000Z', '2026-11-21T23:00:03.000Z'],
      ['WaitForTaskToStop', '2026-11-21T23:00:03.000Z', null],
    ]);
    expect(aws.mocks.sfn).not.toHaveReceivedCommand(ListExecutionsCommand);
  });

  test('a batch name shows its newest execution; a batch without executions says how to start one', async () => {
    scriptExecution({ describe: () => ({ status: 'SUCCEEDED', output: '{"outcome":"succeeded"}' }), history: [] });
    const newest = await cli(['show', 'xml-articles'], { clients: aws.clients });
    expect(newest.code).toBe(EXIT.SUCCESS);
    expect(newest.stdout.split('\n')[0]).toBe(`${NAME}  SUCCEEDED  succeeded`);

    aws.mocks.sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    const none = await cli(['show', 'sitemap-refresh'], { clients: aws.clients });
    expect(none.code).toBe(EXIT.USAGE);
    expect(none.stderr).toContain('error: sitemap-refresh has no executions yet');
    expect(none.stderr).toContain('fix: start one: batch-runner run sitemap-refresh');
  });
});

describe('rerun <execution> (AWS)', () => {
  const NEW = execArn('xml-articles', 'cli-xml-articles-20261121T233000Z-a1b2c3');
  const startedInput = () => JSON.parse(aws.mocks.sfn.commandCalls(StartExecutionCommand)[0].args[0].input.input!);

  test('starts the same batch with the same overrides, as this operator, and prints the new execution', async () => {
    scriptExecution({ describe: () => ({ status: 'FAILED', error: 'BatchRunner.TaskFailed' }), history: [] });
    aws.mocks.sfn.on(StartExecutionCommand).resolves({ executionArn: NEW, startDate: new Date(T0) });

    const r = await cli(['rerun', NAME], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(aws.mocks.sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: smArn('xml-articles'),
      name: 'cli-xml-articles-20261121T233000Z-a1b2c3',
    });
    expect(startedInput()).toEqual({
      trigger: 'cli',
      reason: `rerun of ${NAME}: feed re-export`,
      requestedBy: 'alice@ops-laptop',
      overrides: { environment: { ARTICLE_LIMIT: '100' } },
    });
    expect(r.stderr).toContain(
      `rerun of ${NAME} (FAILED, failed): xml-articles with overrides {"environment":{"ARTICLE_LIMIT":"100"}}`,
    );
    expect(r.stdout).toContain('started cli-xml-articles-20261121T233000Z-a1b2c3');
  });

  test('a scheduled execution reruns as a manual start (its slot has run): no scheduledTime; --reason is used', async () => {
    const scheduled = { trigger: 'schedule', scheduledTime: '2026-11-21T22:00:00Z' };
    scriptExecution({ describe: () => ({ status: 'FAILED', input: JSON.stringify(scheduled) }), history: [] });
    aws.mocks.sfn.on(StartExecutionCommand).resolves({ executionArn: NEW, startDate: new Date(T0) });

    const r = await cli(['rerun', ARN, '--reason', 'after the API fix'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(startedInput()).toEqual({ trigger: 'cli', reason: 'after the API fix', requestedBy: 'alice@ops-laptop' });
  });

  test('--wait follows the new run and exits with its outcome (skipped: 4)', async () => {
    scriptExecution({ describe: () => ({ status: 'ABORTED' }), history: [] });
    aws.mocks.sfn.on(StartExecutionCommand).resolves({ executionArn: NEW, startDate: new Date(T0) });
    aws.mocks.sfn.on(DescribeExecutionCommand, { executionArn: NEW }).resolves({
      executionArn: NEW,
      status: 'SUCCEEDED',
      output: JSON.stringify({ outcome: 'skipped', reason: 'Another run holds the lock.' }),
    });

    const r = await cli(['rerun', NAME, '--wait'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SKIPPED);
    expect(r.stdout).toContain('skipped: Another run holds the lock.');
  });

  test.each([
    [
      'an override the batch no longer allows',
      { ...INPUT, overrides: { environment: { FEED_URL: 'http://x' } } },
      /overrides\.environment\.FEED_URL is not allowed for batch xml-articles/,
      /allows: ARTICLE_LIMIT/,
    ],
    ['an input the validator refused then', { foo: 1 }, /foo/, /Nothing was started/],
  ])('%s: refused again (exit 2), nothing starts', async (_label, input, problem, fix) => {
    scriptExecution({ describe: () => ({ status: 'FAILED', input: JSON.stringify(input) }), history: [] });

    const r = await cli(['rerun', NAME], { clients: aws.clients });

    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(problem);
    expect(r.stderr).toMatch(fix);
    expect(aws.mocks.sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  test('a batch name is not an execution: exit 2, points at history', async () => {
    const r = await cli(['rerun', 'xml-articles'], { clients: aws.clients });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('error: "xml-articles" is a batch; this command needs one of its executions');
    expect(r.stderr).toContain('fix: find it with: batch-runner history xml-articles');
    expect(aws.mocks.sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});

test('--help of every new command shows examples', async () => {
  for (const command of ['stop', 'watch', 'show', 'rerun']) {
    const r = await cli([command, '--help']);
    expect(r.code).toBe(EXIT.SUCCESS);
    expect(r.stdout).toMatch(new RegExp(`Examples:\\n  batch-runner ${command} `));
  }
});

test.each(['stop', 'watch', 'show', 'rerun'])(
  '%s about a batch whose entry does not validate: its validation message, not "no execution"',
  async (command) => {
    const bad = { ...BATCHES[1], retries: 3 } as BatchConfig;
    const batches = [BATCHES[0], bad, ...BATCHES.slice(2)];
    const r = await cli([command, bad.name], { clients: aws.clients, batches, localBatches: batches });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain(`error: batch "${bad.name}": retries = 3 is invalid`);
    expect(aws.mocks.sfn).not.toHaveReceivedCommand(StopExecutionCommand);
    expect(aws.mocks.sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  },
);
