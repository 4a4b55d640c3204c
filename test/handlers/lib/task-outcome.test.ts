import { stuckStatus } from '../../../handlers/lib/start-timeout';
import {
  durationSecondsOf,
  evaluateStoppedTask,
  startFailureCause,
  tokenAnswerForStoppedTask,
} from '../../../handlers/lib/task-outcome';
import { taskArn } from '../fixtures/events';

/**
 * The verdict on a STOPPED task and the text the run reports of it (handlers/lib/task-outcome.ts), and
 * the start timeout rule (handlers/lib/start-timeout.ts): both the task watcher and the reconciler use
 * them, on tasks described by the SDK (Date or epoch timestamps) or carried by an ECS event (ISO text).
 */

describe('the run time of a stopped task', () => {
  test.each([
    ['2026-11-12T23:00:00.000Z', '2026-11-12T23:31:45.400Z', 1905],
    ['2026-11-12T23:00:00.000Z', '2026-11-12T23:00:00.000Z', 0],
    ['2026-11-12T23:00:00.000Z', '2026-11-12T23:00:00.600Z', 1],
    [null, '2026-11-12T23:00:00.000Z', null],
    ['2026-11-12T23:00:00.000Z', null, null],
    ['2026-11-12T23:00:01.000Z', '2026-11-12T23:00:00.000Z', null],
    ['not a time', '2026-11-12T23:00:00.000Z', null],
  ])('from %s to %s: %s s', (startedAt, stoppedAt, seconds) => {
    expect(durationSecondsOf(startedAt, stoppedAt)).toBe(seconds);
  });

  test('timestamps as epoch seconds (the SDK`s JSON), epoch milliseconds or ISO text give the same summary', () => {
    const described = (startedAt: string | number, stoppedAt: string | number) =>
      evaluateStoppedTask(
        { TaskArn: taskArn('t1'), LastStatus: 'STOPPED', StartedAt: startedAt, StoppedAt: stoppedAt },
        'app',
        null,
      ).summary;
    const iso = described('2026-11-12T23:00:00.000Z', '2026-11-12T23:00:33.000Z');
    expect(iso).toMatchObject({
      startedAt: '2026-11-12T23:00:00.000Z',
      stoppedAt: '2026-11-12T23:00:33.000Z',
      durationSeconds: 33,
    });
    const at = Date.parse('2026-11-12T23:00:00.000Z');
    expect(described(at / 1000, at / 1000 + 33)).toEqual(iso);
    expect(described(at, at + 33_000)).toEqual(iso);
  });

  test('a task ECS reports without StartedAt or StoppedAt has no run time (null), and says so', () => {
    const { summary } = evaluateStoppedTask({ TaskArn: taskArn('t1'), LastStatus: 'STOPPED' }, 'app', null);
    expect(summary).toMatchObject({ startedAt: null, stoppedAt: null, durationSeconds: null, capacity: null });
  });
});

describe('the verdict', () => {
  test('the containers as ECS reports them, each with its exit code and reason (null when ECS gives none)', () => {
    const { summary } = evaluateStoppedTask(
      {
        TaskArn: taskArn('t1'),
        LastStatus: 'STOPPED',
        LaunchType: 'FARGATE',
        Containers: [
          { Name: 'app', ExitCode: 0 },
          { Name: 'log-router', Reason: 'OutOfMemoryError: Container killed due to memory usage' },
        ],
      },
      'app',
      null,
    );
    expect(summary.capacity).toBe('FARGATE');
    expect(summary.containers).toEqual([
      { name: 'app', exitCode: 0, reason: null },
      { name: 'log-router', exitCode: null, reason: 'OutOfMemoryError: Container killed due to memory usage' },
    ]);
  });

  test('the capacity provider is named rather than the launch type when the task ran on one (Spot)', () => {
    const { summary } = evaluateStoppedTask(
      { TaskArn: taskArn('t1'), LastStatus: 'STOPPED', LaunchType: 'FARGATE', CapacityProviderName: 'FARGATE_SPOT' },
      'app',
      null,
    );
    expect(summary.capacity).toBe('FARGATE_SPOT');
  });

  test('the answer on the token carries the log link when the lock names the log group and prefix, and none otherwise', () => {
    const task = {
      TaskArn: `arn:aws:ecs:eu-west-1:123456789012:task/batch-runner/0f9e8d`,
      LastStatus: 'STOPPED',
      Containers: [{ Name: 'app', ExitCode: 0 }],
    };
    const lock = { owner: 'x', containerName: 'app', logGroupName: '/ecs/nightly', logStreamPrefix: 'batch' };
    const withLogs = tokenAnswerForStoppedTask(task, lock as never);
    expect(withLogs).toMatchObject({ kind: 'success', output: { exitCode: 0 } });
    expect((withLogs as { output: { logUrl: string } }).output.logUrl).toBe(
      'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Fecs$252Fnightly/log-events/batch$252Fapp$252F0f9e8d',
    );
    for (const partial of [
      { ...lock, logGroupName: undefined },
      { ...lock, logStreamPrefix: undefined },
    ])
      expect(tokenAnswerForStoppedTask(task, partial as never)).toMatchObject({ output: { logUrl: null } });
  });
});

describe('what RunTask`s failures[] say when it started nothing', () => {
  test('each failure`s reason and detail, in order', () => {
    expect(
      JSON.parse(
        startFailureCause({
          Failures: [
            { Arn: 'arn:aws:ecs:eu-west-1:123456789012:container-instance/x', Reason: 'RESOURCE:MEMORY' },
            { Reason: 'AGENT', Detail: 'agent disconnected' },
            {},
          ],
        }),
      ),
    ).toEqual({
      message: 'RunTask started no task: RESOURCE:MEMORY; AGENT (agent disconnected); unknown',
      failures: [
        { Arn: 'arn:aws:ecs:eu-west-1:123456789012:container-instance/x', Reason: 'RESOURCE:MEMORY' },
        { Reason: 'AGENT', Detail: 'agent disconnected' },
        {},
      ],
    });
  });

  test('no failures listed at all', () => {
    expect(JSON.parse(startFailureCause({}))).toEqual({
      message: 'RunTask started no task: no failures reported',
      failures: [],
    });
  });
});

describe('the start timeout rule', () => {
  const created = Date.parse('2026-11-12T23:00:00.000Z') / 1000;
  const pending = { lastStatus: 'PENDING', createdAt: new Date(created * 1000) };

  test('stuck from the second createdAt + startTimeoutSeconds is reached, not before', () => {
    expect(stuckStatus(pending, 0, 300, created + 299)).toBeUndefined();
    expect(stuckStatus(pending, 0, 300, created + 300)).toEqual({ status: 'PENDING', createdAtSeconds: created });
  });

  test.each(['PROVISIONING', 'PENDING', 'ACTIVATING'])('%s counts as not started', (lastStatus) => {
    expect(stuckStatus({ ...pending, lastStatus }, 0, 300, created + 400)?.status).toBe(lastStatus);
  });

  test.each([
    ['RUNNING', { lastStatus: 'RUNNING', createdAt: pending.createdAt }, 300],
    ['started (startedAt set)', { ...pending, startedAt: new Date() }, 300],
    ['no status', { createdAt: pending.createdAt }, 300],
    ['no task', undefined, 300],
    ['no start timeout configured', pending, undefined],
  ])('%s: never stuck', (_label, task, timeout) => {
    expect(stuckStatus(task, 0, timeout, created + 10_000)).toBeUndefined();
  });

  test('createdAt as epoch seconds, ISO text, or missing (the fallback) give the same rule', () => {
    expect(stuckStatus({ lastStatus: 'PENDING', createdAt: created }, 0, 300, created + 300)?.createdAtSeconds).toBe(
      created,
    );
    expect(
      stuckStatus({ lastStatus: 'PENDING', createdAt: '2026-11-12T23:00:00.000Z' }, 0, 300, created + 300)
        ?.createdAtSeconds,
    ).toBe(created);
    expect(stuckStatus({ lastStatus: 'PENDING' }, created - 5, 300, created + 295)?.createdAtSeconds).toBe(created - 5);
  });
});
