import 'aws-sdk-client-mock-jest';
import { DeleteItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeTasksCommand, ListTasksCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { CreateScheduleCommand, DeleteScheduleCommand, GetScheduleCommand } from '@aws-sdk/client-scheduler';
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SCHEDULER_INPUT_TEMPLATE } from '../../cli/commands/selftest';
import { EXIT } from '../../cli/exit-codes';
import { BATCHES } from '../../config/batches';
import { lockTableName, stateMachineName, TASK_LOG_STREAM_PREFIX, taskLogGroupName } from '../../config/naming';
import { SELFTEST_BATCH, SELFTEST_ENV } from '../../config/selftest-batch';
import { renderDefinition, substitutionsFor } from '../../state-machines/definition';
import { ACCOUNT, CLUSTER_ARN, cli, execArn, mockAws, NOW, REGION, smArn, taskArn } from './support';

/**
 * `batch-runner selftest` against AWS, offline: the SDK clients are mocked with aws-sdk-client-mock
 * and answer as a small account would (executions that end after a poll with the outcome the
 * canary's input asks for, one lock, ECS tasks, alert records, a schedule that fires once and deletes
 * itself). The checks' real behaviour on the real definition is exercised by the local-mode test
 * (test/local/selftest.test.ts); only an AWS account proves the rest (README, "What is verified").
 */

const CANARY = SELFTEST_BATCH.name;
const CANARY_ROLE = `arn:aws:iam::${ACCOUNT}:role/BatchRunner-Batches-1-selftestcanarySchedulerRole1A2B3C`;
const DLQ = `arn:aws:sqs:${REGION}:${ACCOUNT}:batch-runner-schedule-dlq`;
const OWN_SCHEDULE = `batch-runner-${CANARY}`;

interface FakeExecution {
  readonly arn: string;
  readonly input: any;
  readonly startDate: Date;
  status: string;
  describes: number;
  readonly skippedBy?: string;
  readonly taskArn: string;
  output?: string;
  error?: string;
  cause?: string;
  exitCode?: number;
}

interface Misbehaviour {
  /** The task exits 0 whatever SELFTEST_EXIT_CODE says. */
  ignoreExitCode?: boolean;
  /** The scheduled run's lock is left held (stale) after its execution ended. */
  leaveLockAfterScheduledRun?: boolean;
  /** The one-off schedule never starts anything. */
  scheduleNeverFires?: boolean;
  /** Executions never end by themselves (only StopExecution ends them). */
  neverEnd?: boolean;
}

/** The deployed canary's definition, as CloudFormation renders it. */
function canaryDefinition(): string {
  return renderDefinition(
    substitutionsFor(SELFTEST_BATCH, {
      region: REGION,
      lockTableName: lockTableName(),
      alertTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:batch-runner-alerts`,
      clusterArn: CLUSTER_ARN,
      taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/batch-runner-${CANARY}:1`,
      taskFamily: `batch-runner-${CANARY}`,
      subnetIds: ['subnet-0bcf5b43'],
      securityGroupIds: ['sg-0a1b2c3d4e5f'],
      logGroupName: taskLogGroupName(CANARY),
      logStreamPrefix: TASK_LOG_STREAM_PREFIX,
      manualInputValidatorFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:batch-runner-validate-manual-input`,
      taskWatcherFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:batch-runner-task-watcher`,
      reconcilerFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:batch-runner-cleanup`,
    }),
  );
}

/** Mocked AWS with the canary deployed, behaving as a healthy account unless told otherwise. */
function fakeAccount(misbehave: Misbehaviour = {}) {
  const aws = mockAws();
  let clock = NOW.getTime();
  const executions: FakeExecution[] = [];
  let lockOwner: string | undefined;
  const schedules = new Map<string, { at: number; fired: boolean }>();
  let n = 0;

  aws.mocks.sfn.on(ListStateMachinesCommand).resolves({
    stateMachines: [...BATCHES.map((b) => b.name), CANARY].map((name) => ({
      name: stateMachineName(name),
      stateMachineArn: smArn(name),
      type: 'STANDARD' as const,
      creationDate: new Date('2026-11-01T00:00:00Z'),
    })),
  });
  aws.mocks.sfn.on(DescribeStateMachineCommand, { stateMachineArn: smArn(CANARY) }).resolves({
    stateMachineArn: smArn(CANARY),
    name: stateMachineName(CANARY),
    definition: canaryDefinition(),
    roleArn: `arn:aws:iam::${ACCOUNT}:role/batch-runner-${CANARY}`,
    type: 'STANDARD',
    creationDate: new Date('2026-11-01T00:00:00Z'),
  });

  const start = (name: string, input: any, startDate = new Date(clock)): FakeExecution => {
    n += 1;
    const holder = executions.find((e) => e.status === 'RUNNING' && !e.skippedBy);
    const e: FakeExecution = {
      arn: execArn(CANARY, name),
      input,
      startDate,
      status: 'RUNNING',
      describes: 0,
      skippedBy: holder?.arn,
      taskArn: taskArn(`5e4f0a01c1d84f2e9b0a7e3d6c5b4a${String(n).padStart(2, '0')}`),
    };
    if (!holder) lockOwner = e.arn;
    executions.push(e);
    return e;
  };
  /** Ends an execution with the outcome its input asks the canary for. */
  const finish = (e: FakeExecution) => {
    const environment = e.input?.overrides?.environment ?? {};
    if (e.skippedBy) {
      e.status = 'SUCCEEDED';
      e.output = JSON.stringify({
        outcome: 'skipped',
        reason: `Another run holds the lock: execution ${e.skippedBy}.`,
        lockHolder: e.skippedBy,
      });
      return;
    }
    if (environment[SELFTEST_ENV.ignoreSigterm] === 'true') {
      e.status = 'FAILED';
      e.error = 'BatchRunner.TimedOut';
      e.cause = 'Hard timeout of 90 s reached; the runner stopped the task and confirmed it STOPPED.';
      e.exitCode = 137;
    } else {
      const code = misbehave.ignoreExitCode ? 0 : Number(environment[SELFTEST_ENV.exitCode] ?? '0');
      e.exitCode = code;
      if (code === 0) {
        e.status = 'SUCCEEDED';
        e.output = JSON.stringify({ outcome: 'succeeded', task: { taskArn: e.taskArn, exitCode: 0 } });
      } else {
        e.status = 'FAILED';
        e.error = 'BatchRunner.TaskFailed';
        e.cause = `The batch container exited with code ${code}.`;
      }
    }
    if (lockOwner === e.arn && !(misbehave.leaveLockAfterScheduledRun && e.input?.trigger === 'schedule'))
      lockOwner = undefined;
  };

  aws.mocks.sfn.on(StartExecutionCommand).callsFake((i) => {
    const e = start(i.name, JSON.parse(i.input));
    return { executionArn: e.arn, startDate: e.startDate };
  });
  aws.mocks.sfn.on(DescribeExecutionCommand).callsFake((i) => {
    const e = executions.find((x) => x.arn === i.executionArn);
    if (!e) throw Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' });
    e.describes += 1;
    // Ends at its second look: the selftest has to wait for it.
    if (e.status === 'RUNNING' && e.describes >= 2 && !misbehave.neverEnd) finish(e);
    return {
      executionArn: e.arn,
      stateMachineArn: smArn(CANARY),
      name: e.arn.split(':').pop(),
      status: e.status,
      startDate: e.startDate,
      input: JSON.stringify(e.input),
      output: e.output,
      error: e.error,
      cause: e.cause,
    };
  });
  aws.mocks.sfn.on(StopExecutionCommand).callsFake((i) => {
    const e = executions.find((x) => x.arn === i.executionArn)!;
    e.status = 'ABORTED';
    e.error = i.error;
    // The reconciler stops the task and releases the lock once it is STOPPED.
    if (lockOwner === e.arn) lockOwner = undefined;
    return { stopDate: new Date(clock) };
  });
  aws.mocks.sfn.on(GetExecutionHistoryCommand).callsFake((i) => {
    const e = executions.find((x) => x.arn === i.executionArn)!;
    const scheduled = e.input?.trigger === 'schedule';
    const states = [
      'RouteInput',
      ...(scheduled ? ['PrepareScheduledRun', 'ClaimScheduledSlot'] : ['ValidateManualInput']),
      'AcquireLock',
      ...(e.skippedBy ? ['ReleaseLockAfterSkip', 'NotifySkipped'] : ['CheckRunningTasks', 'StartBatchTask']),
    ];
    const events: HistoryEvent[] = states.map((name, k) => ({
      id: k + 1,
      timestamp: new Date(e.startDate.getTime() + k * 1000),
      type: 'TaskStateEntered',
      stateEnteredEventDetails: { name, input: '{}' },
    }));
    if (!e.skippedBy)
      events.push({
        id: events.length + 1,
        timestamp: new Date(e.startDate.getTime() + 10_000),
        type: 'TaskStateExited',
        stateExitedEventDetails: {
          name: 'StartBatchTask',
          output: JSON.stringify({ start: { Tasks: [{ TaskArn: e.taskArn }], Failures: [] } }),
        },
      });
    if (e.status === 'FAILED')
      events.push({
        id: events.length + 1,
        timestamp: new Date(e.startDate.getTime() + 100_000),
        type: 'FailStateEntered',
        stateEnteredEventDetails: {
          name: 'RunFailed',
          input: JSON.stringify({ summary: { details: { task: { taskArn: e.taskArn, exitCode: e.exitCode } } } }),
        },
      });
    return { events };
  });
  aws.mocks.sfn.on(ListExecutionsCommand).callsFake(() => {
    // Scheduler fires a one-off schedule whose time has come (the fake clock), once.
    for (const [name, s] of schedules)
      if (!s.fired && !misbehave.scheduleNeverFires && clock >= s.at - 60_000) {
        s.fired = true;
        start(`${name}-fired`, { trigger: 'schedule', scheduledTime: new Date(s.at).toISOString() }, new Date(s.at));
      }
    return {
      executions: [...executions].reverse().map((e) => ({
        executionArn: e.arn,
        stateMachineArn: smArn(CANARY),
        name: e.arn.split(':').pop(),
        status: e.status as any,
        startDate: e.startDate,
      })),
    };
  });

  aws.mocks.ecs.on(DescribeTasksCommand).callsFake((i) => ({
    tasks: i.tasks.map((arn: string) => {
      const e = executions.find((x) => x.taskArn === arn)!;
      return {
        taskArn: arn,
        lastStatus: 'STOPPED',
        desiredStatus: 'STOPPED',
        createdAt: e.startDate,
        stoppedAt: new Date(e.startDate.getTime() + (e.exitCode === 137 ? 110_000 : 40_000)),
        containers: [{ name: 'canary', exitCode: e.exitCode }],
      };
    }),
  }));
  aws.mocks.ecs.on(ListTasksCommand).resolves({ taskArns: [] });
  aws.mocks.dynamodb.on(GetItemCommand).callsFake((i) => {
    const key = i.Key.batch.S as string;
    if (key === CANARY) return lockOwner ? { Item: { batch: { S: CANARY }, owner: { S: lockOwner } } } : {};
    const e = executions.find((x) => `alert#${x.arn}` === key && x.status === 'FAILED');
    return e ? { Item: { batch: { S: key }, state: { S: 'delivered' } } } : {};
  });
  aws.mocks.dynamodb.on(DeleteItemCommand).callsFake((i) => {
    if (i.Key.batch.S === CANARY && i.ExpressionAttributeValues[':owner'].S === lockOwner) lockOwner = undefined;
    return {};
  });
  aws.mocks.scheduler.on(GetScheduleCommand).callsFake((i) => {
    if (i.Name === OWN_SCHEDULE)
      return {
        Name: OWN_SCHEDULE,
        GroupName: 'batch-runner',
        State: 'DISABLED',
        Target: { Arn: smArn(CANARY), RoleArn: CANARY_ROLE, DeadLetterConfig: { Arn: DLQ } },
      };
    const s = schedules.get(i.Name);
    // ActionAfterCompletion DELETE: gone once it fired.
    if (!s || s.fired) throw Object.assign(new Error('Schedule not found'), { name: 'ResourceNotFoundException' });
    return { Name: i.Name };
  });
  aws.mocks.scheduler.on(CreateScheduleCommand).callsFake((i) => {
    const at = Date.parse(`${/^at\((.*)\)$/.exec(i.ScheduleExpression)![1]}Z`);
    schedules.set(i.Name, { at, fired: false });
    return { ScheduleArn: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/batch-runner/${i.Name}` };
  });
  aws.mocks.scheduler.on(DeleteScheduleCommand).callsFake((i) => {
    schedules.delete(i.Name);
    return {};
  });

  const deps = {
    clients: aws.clients,
    now: () => new Date(clock),
    sleep: async (ms: number) => {
      clock += ms;
    },
    pollMs: 5000,
    progressEveryMs: 30_000,
  };
  return { aws, deps, executions, lock: () => lockOwner, schedules, elapsedMs: () => clock - NOW.getTime() };
}

const startedInputs = (aws: ReturnType<typeof mockAws>) =>
  aws.mocks.sfn.commandCalls(StartExecutionCommand).map((c) => JSON.parse(c.args[0].input.input!));

describe('selftest against AWS (aws-sdk-client-mock)', () => {
  test('--help lists selftest; selftest --help shows --local, --json and how to deploy the canary', async () => {
    expect((await cli(['--help'])).stdout).toMatch(/^ {2}selftest\b/m);
    const r = await cli(['selftest', '--help']);
    expect(r.code).toBe(EXIT.SUCCESS);
    expect(r.stdout).toContain('--local');
    expect(r.stdout).toContain('--json');
    expect(r.stdout).toContain('npx cdk deploy --all -c batchRunner:selftest=true');
  });

  test('a healthy account: PASS for each guarantee with its console link, exit 0, nothing left behind', async () => {
    const f = fakeAccount();
    const r = await cli(['selftest'], f.deps);

    expect(r.code).toBe(EXIT.SUCCESS);
    const verdicts = r.stdout.split('\n').filter((l) => /^(PASS|FAIL) /.test(l));
    expect(verdicts.map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual([
      'PASS success',
      'PASS non-zero-exit',
      'PASS hard-timeout',
      'PASS two-at-once',
      'PASS console-input',
      'PASS scheduler',
      'PASS leaves-nothing-behind',
    ]);
    expect(r.stdout).toMatch(/7 of 7 guarantees passed/);
    // Each check's executions, as console links.
    const links = r.stdout.match(/https:\/\/ap-northeast-1\.console\.aws\.amazon\.com\/states\/\S+/g) ?? [];
    expect(links).toHaveLength(7);
    expect(r.stdout).toMatch(
      /hard-timeout .*timed_out \(BatchRunner\.TimedOut\), exit code 137, stopped 110 s after RunTask/,
    );

    // The canary was told what to do through its allowed overrides, two starts at once, and {}.
    const inputs = startedInputs(f.aws);
    expect(inputs.map((i) => i.overrides?.environment ?? null)).toEqual([
      { SELFTEST_SLEEP_SECONDS: '5', SELFTEST_EXIT_CODE: '0' },
      { SELFTEST_SLEEP_SECONDS: '5', SELFTEST_EXIT_CODE: '3' },
      { SELFTEST_SLEEP_SECONDS: '3600', SELFTEST_IGNORE_SIGTERM: 'true' },
      { SELFTEST_SLEEP_SECONDS: '10', SELFTEST_EXIT_CODE: '0' },
      { SELFTEST_SLEEP_SECONDS: '10', SELFTEST_EXIT_CODE: '0' },
      null,
    ]);
    expect(inputs[5]).toEqual({});
    expect(inputs[0]).toMatchObject({ trigger: 'cli', requestedBy: 'alice@ops-laptop' });

    // One-off at() schedule in the runner's group, with the canary's scheduler role and the scheduler's input.
    expect(f.aws.mocks.scheduler).toHaveReceivedCommandTimes(CreateScheduleCommand, 1);
    const created = f.aws.mocks.scheduler.commandCalls(CreateScheduleCommand)[0].args[0].input;
    expect(created).toMatchObject({
      GroupName: 'batch-runner',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      State: 'ENABLED',
      Target: { Arn: smArn(CANARY), RoleArn: CANARY_ROLE, DeadLetterConfig: { Arn: DLQ } },
    });
    expect(created.ScheduleExpression).toMatch(/^at\(2026-11-21T23:\d\d:00\)$/);
    expect(Date.parse(`${created.ScheduleExpression!.slice(3, -1)}Z`)).toBeGreaterThanOrEqual(NOW.getTime() + 60_000);
    expect(created.Name!.length).toBeLessThanOrEqual(64);
    expect(JSON.parse(created.Target!.Input!)).toEqual(SCHEDULER_INPUT_TEMPLATE);
    // It deleted itself; nothing to stop, delete or release.
    expect(f.aws.mocks.scheduler).not.toHaveReceivedCommand(DeleteScheduleCommand);
    expect(f.aws.mocks.sfn).not.toHaveReceivedCommand(StopExecutionCommand);
    expect(f.aws.mocks.dynamodb).not.toHaveReceivedCommand(DeleteItemCommand);
    expect(f.lock()).toBeUndefined();
    expect(f.elapsedMs()).toBeLessThan(15 * 60_000);
  });

  test('--json: one report with every check, its executions and console links', async () => {
    const f = fakeAccount();
    const r = await cli(['selftest', '--json'], f.deps);

    expect(r.code).toBe(EXIT.SUCCESS);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ mode: 'aws', batch: CANARY, passed: true, leftovers: [], exitStatus: 0 });
    expect(report.checks.map((c: any) => `${c.id}:${c.result}`)).toEqual([
      'success:PASS',
      'non-zero-exit:PASS',
      'hard-timeout:PASS',
      'two-at-once:PASS',
      'console-input:PASS',
      'scheduler:PASS',
      'leaves-nothing-behind:PASS',
    ]);
    const overlap = report.checks.find((c: any) => c.id === 'two-at-once');
    expect(overlap.executions.map((e: any) => e.outcome).sort()).toEqual(['skipped', 'succeeded']);
    for (const e of overlap.executions) expect(e.consoleUrl).toContain(`#/v2/executions/details/${e.executionArn}`);
    // Progress goes to stderr, never into the JSON.
    expect(r.stderr).toContain('- scheduler:');
  });

  test('a guarantee broken on the account: FAIL naming what was expected, exit 1; a stale lock it left is released', async () => {
    const f = fakeAccount({ ignoreExitCode: true, leaveLockAfterScheduledRun: true });
    const r = await cli(['selftest'], f.deps);

    expect(r.code).toBe(EXIT.FAILED);
    expect(r.stdout).toMatch(
      /FAIL {2}non-zero-exit +expected failed \(BatchRunner\.TaskFailed\), exit code 3, got succeeded, exit code 0; expected exactly one alert .* found 0/,
    );
    expect(r.stdout).toMatch(/guarantee: a non-zero exit fails the run with its exit code and one alert/);
    // The other guarantees still hold, and say so.
    expect(r.stdout).toMatch(/PASS {2}hard-timeout /);
    const scheduled = f.executions.find((e) => e.input?.trigger === 'schedule')!;
    expect(r.stdout).toContain(`FAIL  scheduler              the lock is still held by ${scheduled.arn}`);
    // Cleanup released the lock its own run left (conditional on that owner), and says so.
    expect(f.aws.mocks.dynamodb).toHaveReceivedCommandWith(DeleteItemCommand, {
      Key: { batch: { S: CANARY } },
      ExpressionAttributeValues: { ':owner': { S: scheduled.arn } },
    });
    expect(r.stdout).toMatch(
      /PASS {2}leaves-nothing-behind +no lock, no task, no schedule left \(cleanup: released the lock its run .* left \(SUCCEEDED\)\)/,
    );
    expect(r.stdout).toMatch(/5 of 7 guarantees passed in .*: FAIL/);
    expect(f.lock()).toBeUndefined();
  });

  test('a schedule that never fires: FAIL after its delivery window with progress meanwhile; cleanup deletes it', async () => {
    const f = fakeAccount({ scheduleNeverFires: true });
    const r = await cli(['selftest', '--json'], f.deps);

    expect(r.code).toBe(EXIT.FAILED);
    const report = JSON.parse(r.stdout);
    const scheduler = report.checks.find((c: any) => c.id === 'scheduler');
    expect(scheduler.result).toBe('FAIL');
    expect(scheduler.detail).toMatch(
      /no execution started by schedule batch-runner-selftest-\S+ within 3m 00s of .*dead-letter queue/,
    );
    expect(r.stderr).toMatch(/scheduler: waiting for the schedule to fire \(at 2026-11-21T23:\d\d:00\.000Z/);
    const name = f.aws.mocks.scheduler.commandCalls(CreateScheduleCommand)[0].args[0].input.Name;
    expect(f.aws.mocks.scheduler).toHaveReceivedCommandWith(DeleteScheduleCommand, {
      Name: name,
      GroupName: 'batch-runner',
    });
    expect(f.schedules.size).toBe(0);
    expect(report.cleanup).toEqual([`deleted schedule ${name}`]);
    expect(report.checks.at(-1)).toMatchObject({ id: 'leaves-nothing-behind', result: 'PASS' });
  });

  test('Ctrl-C while a run is in progress: the run is stopped, the rest not run, cleanup reported, exit 130', async () => {
    const f = fakeAccount({ neverEnd: true });
    const interrupt = new AbortController();
    f.aws.mocks.sfn.on(StartExecutionCommand).callsFake((i) => {
      setImmediate(() => interrupt.abort());
      return { executionArn: execArn(CANARY, i.name), startDate: NOW };
    });
    f.aws.mocks.sfn.on(StopExecutionCommand).resolves({ stopDate: NOW });
    const arn = execArn(CANARY, 'cli-selftest-canary-20261121T233000Z-a1b2c3-success');
    f.aws.mocks.sfn.on(DescribeExecutionCommand).callsFake((i) => ({
      executionArn: i.executionArn,
      status: f.aws.mocks.sfn.commandCalls(StopExecutionCommand).length > 0 ? 'ABORTED' : 'RUNNING',
      startDate: NOW,
      input: '{}',
    }));
    const r = await cli(['selftest'], {
      ...f.deps,
      // Real pauses, so that the abort lands while the selftest waits.
      sleep: (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 5))),
      signal: interrupt.signal,
    });

    expect(r.code).toBe(EXIT.INTERRUPTED);
    expect(r.stdout).toMatch(/FAIL {2}success +not finished: interrupted \(Ctrl-C\)/);
    expect(r.stdout).toMatch(/FAIL {2}scheduler +not run: interrupted \(Ctrl-C\)/);
    expect(f.aws.mocks.sfn).toHaveReceivedCommandWith(StopExecutionCommand, {
      executionArn: arn,
      error: 'BatchRunner.SelftestCleanup',
    });
    expect(r.stdout).toMatch(/PASS {2}leaves-nothing-behind .*cleanup: stopped execution .*success/);
    expect(f.aws.mocks.scheduler).not.toHaveReceivedCommand(CreateScheduleCommand);
    expect(f.aws.mocks.ecs).not.toHaveReceivedCommand(StopTaskCommand);
  });

  test('an AWS error in one check (no iam:PassRole for the schedule): that check FAILs, the others run, exit 1', async () => {
    const f = fakeAccount();
    f.aws.mocks.scheduler.on(CreateScheduleCommand).rejects(
      Object.assign(
        new Error(
          `User: arn:aws:sts::${ACCOUNT}:assumed-role/ops/alice is not authorized to perform: iam:PassRole on resource: ${CANARY_ROLE}`,
        ),
        {
          name: 'AccessDeniedException',
          $metadata: { httpStatusCode: 400 },
        },
      ),
    );
    const r = await cli(['selftest'], f.deps);

    expect(r.code).toBe(EXIT.FAILED);
    expect(r.stdout).toMatch(
      /FAIL {2}scheduler +AccessDeniedException: .*not authorized to perform: iam:PassRole .*\(the operator running selftest needs the permissions listed in cli\/README\.md, "selftest"\)/,
    );
    expect(r.stdout.match(/^PASS /gm)).toHaveLength(6);
  });

  test('an AWS error while a run is in progress: the check FAILs and cleanup stops that run', async () => {
    const f = fakeAccount({ neverEnd: true });
    let looks = 0;
    f.aws.mocks.sfn.on(DescribeExecutionCommand).callsFake((i) => {
      looks += 1;
      if (looks === 2)
        throw Object.assign(new Error('Internal error'), {
          name: 'InternalServerError',
          $metadata: { httpStatusCode: 500 },
        });
      return {
        executionArn: i.executionArn,
        status: f.aws.mocks.sfn
          .commandCalls(StopExecutionCommand)
          .some((c) => c.args[0].input.executionArn === i.executionArn)
          ? 'ABORTED'
          : 'RUNNING',
        startDate: NOW,
        input: '{}',
      };
    });
    f.aws.mocks.sfn.on(StopExecutionCommand).resolves({ stopDate: NOW });
    const r = await cli(['selftest', '--json'], f.deps);

    const report = JSON.parse(r.stdout);
    expect(report.checks[0]).toMatchObject({
      id: 'success',
      result: 'FAIL',
      detail: 'InternalServerError: Internal error',
    });
    // The run the failed check started is stopped in the finally path (and every later check's too,
    // which never end in this account), and the report says so.
    const stopped = f.aws.mocks.sfn.commandCalls(StopExecutionCommand).map((c) => c.args[0].input.executionArn);
    expect(stopped[0]).toBe(execArn(CANARY, 'cli-selftest-canary-20261121T233000Z-a1b2c3-success'));
    expect(report.cleanup[0]).toMatch(
      /^stopped execution .*-success \(the reconciler stops its task and releases the lock\)$/,
    );
    expect(r.code).toBe(EXIT.FAILED);
  });

  test('the canary not deployed: exit 6 with the deploy command, nothing started', async () => {
    const aws = mockAws();
    const r = await cli(['selftest'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.ENVIRONMENT);
    expect(r.stderr).toMatch(
      /error: state machine "batch-runner-selftest-canary" .* was not found .*: the selftest canary is not deployed/,
    );
    expect(r.stderr).toMatch(/fix: deploy it with "npx cdk deploy --all -c batchRunner:selftest=true"/);
    expect(aws.mocks.sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});
