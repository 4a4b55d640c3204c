import 'aws-sdk-client-mock-jest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { DescribeExecutionCommand, type ExecutionStatus, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { awsWorld } from '../../../handlers/lib/aws-world';
import { currentFailureStreak, pauseNotice } from '../../../handlers/lib/pause-on-failure';
import type { ReconcileContext } from '../../../handlers/lib/reconcile';
import { ACCOUNT, executionArn, REGION, STATE_MACHINE_ARN } from '../fixtures/events';

/**
 * How the reconciler reads a batch's failure streak (currentFailureStreak) from the history Step
 * Functions gives: ListExecutions (newest first, status and start date only) and DescribeExecution
 * (input, output, error) for each run that has ended, in their wire shapes (aws-sdk-client-mock).
 * Also the pause alert a full streak leads to (pauseNotice). What the streak then does to the schedule
 * is test/handlers/pause-on-failure.test.ts.
 */

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const sfn = new SFNClient({ region: REGION, credentials });
const sfnMock = mockClient(sfn);
const world = awsWorld(
  {
    sfn,
    ecs: new ECSClient({ region: REGION, credentials }),
    sns: new SNSClient({ region: REGION, credentials }),
  },
  `arn:aws:sns:${REGION}:${ACCOUNT}:batch-runner-alerts`,
);
const ctx: ReconcileContext = {
  world,
  dynamodb: new DynamoDBClient({ region: REGION, credentials }),
  lockTableName: 'unused',
};
const NOW = Date.parse('2026-12-01T21:00:00.000Z');
const HOUR = 3_600_000;

interface Run {
  readonly name: string;
  readonly status: ExecutionStatus;
  /** The run's input; null: started without one. */
  readonly input: Record<string, unknown> | null;
  readonly hoursAgo: number;
  readonly outcome?: string;
}
const scheduled = (name: string, hoursAgo: number, status: ExecutionStatus, pauseAfter?: number): Run => ({
  name,
  status,
  input: { trigger: 'schedule', scheduledTime: '2026-12-01T21:00:00Z', ...(pauseAfter ? { pauseAfter } : {}) },
  hoursAgo,
  outcome: status === 'SUCCEEDED' ? 'succeeded' : undefined,
});

function history(runs: Run[]): void {
  sfnMock.reset();
  sfnMock.on(ListExecutionsCommand).resolves({
    executions: runs.map((r) => ({
      executionArn: executionArn(r.name),
      stateMachineArn: STATE_MACHINE_ARN,
      name: r.name,
      status: r.status,
      startDate: new Date(NOW - r.hoursAgo * HOUR),
      ...(r.status !== 'RUNNING' ? { stopDate: new Date(NOW - r.hoursAgo * HOUR + 600_000) } : {}),
    })),
  });
  sfnMock.on(DescribeExecutionCommand).callsFake((input) => {
    const r = runs.find((x) => executionArn(x.name) === input.executionArn);
    if (!r) throw Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' });
    return {
      executionArn: input.executionArn,
      stateMachineArn: STATE_MACHINE_ARN,
      status: r.status,
      startDate: new Date(NOW - r.hoursAgo * HOUR),
      ...(r.input !== null ? { input: JSON.stringify(r.input) } : {}),
      ...(r.outcome ? { output: JSON.stringify({ outcome: r.outcome }) } : {}),
      ...(r.status === 'FAILED' ? { error: 'BatchRunner.TaskFailed', cause: 'exit code 1' } : {}),
    };
  });
}
const streak = (sinceMs = NOW - 7 * 24 * HOUR) => currentFailureStreak(ctx, STATE_MACHINE_ARN, sinceMs);
const failedNames = async (sinceMs?: number) => (await streak(sinceMs)).failures.map((f) => f.executionArn);
const described = () => sfnMock.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input.executionArn);

test('N failures in a row: the N newest, newest first; the history further back is not read', async () => {
  history([
    scheduled('f3', 1, 'FAILED', 2),
    scheduled('f2', 25, 'TIMED_OUT', 2),
    scheduled('f1', 49, 'FAILED', 2),
    scheduled('s0', 73, 'SUCCEEDED', 2),
  ]);
  expect(await streak()).toEqual({
    threshold: 2,
    decided: true,
    failures: [
      { executionArn: executionArn('f3'), status: 'FAILED', startDate: NOW - HOUR },
      { executionArn: executionArn('f2'), status: 'TIMED_OUT', startDate: NOW - 25 * HOUR },
    ],
  });
  expect(described()).toEqual([executionArn('f3'), executionArn('f2')]);
});

test('N is what the newest scheduled run carries, not an older run`s', async () => {
  history([
    scheduled('f3', 1, 'FAILED', 2),
    scheduled('f2', 25, 'FAILED', 5),
    scheduled('f1', 49, 'FAILED', 5),
    scheduled('f0', 73, 'FAILED', 5),
  ]);
  expect(await streak()).toMatchObject({ threshold: 2, failures: [{}, {}] });
});

test('the newest scheduled run without N: the batch no longer pauses; no failures are returned', async () => {
  history([scheduled('f2', 1, 'FAILED'), scheduled('f1', 25, 'FAILED', 1)]);
  expect(await streak()).toEqual({ threshold: undefined, decided: true, failures: [] });
  expect(described()).toEqual([executionArn('f2')]);
});

test('running and aborted runs are passed over without a DescribeExecution; a run without input weighs nothing', async () => {
  history([
    scheduled('running', 0, 'RUNNING', 3),
    scheduled('aborted', 1, 'ABORTED', 3),
    { name: 'console', status: 'FAILED', input: null, hoursAgo: 2 },
    scheduled('f1', 25, 'FAILED', 3),
  ]);
  expect(await failedNames()).toEqual([executionArn('f1')]);
  expect(described()).toEqual([executionArn('console'), executionArn('f1')]);
});

test('only manual runs since the start of the window: nothing decided, no failures', async () => {
  history([{ name: 'manual', status: 'FAILED', input: { trigger: 'manual', requestedBy: 'alice' }, hoursAgo: 1 }]);
  expect(await streak()).toEqual({ threshold: undefined, decided: false, failures: [] });
});

test('a run started at the start of the window itself is not read: the window begins after it', async () => {
  history([scheduled('f2', 1, 'FAILED', 3), scheduled('f1', 25, 'FAILED', 3)]);
  expect(await failedNames(NOW - 25 * HOUR)).toEqual([executionArn('f2')]);
  expect(await failedNames(NOW - 25 * HOUR - 1)).toEqual([executionArn('f2'), executionArn('f1')]);
});

test('a world without a history (the local mode) has no streak', async () => {
  const { listRecentExecutions: _omitted, ...withoutHistory } = world;
  expect(await currentFailureStreak({ ...ctx, world: withoutHistory }, STATE_MACHINE_ARN, 0)).toEqual({
    threshold: undefined,
    decided: false,
    failures: [],
  });
});

test('the pause alert the streak leads to: its record id, subject, attributes and the whole message', () => {
  const runs = [
    { executionArn: executionArn('f2'), status: 'FAILED' as const, startDate: NOW - HOUR },
    { executionArn: executionArn('f1'), status: 'TIMED_OUT' as const, startDate: NOW - 25 * HOUR },
  ];
  expect(pauseNotice('missing-images', 2, 'batch-runner-missing-images (group batch-runner)', runs)).toEqual({
    id: `pause#missing-images#${executionArn('f2')}`,
    batch: 'missing-images',
    outcome: 'paused',
    trigger: 'schedule',
    source: 'reconciler',
    subject: '[batch-runner] missing-images paused',
    message: [
      'Batch missing-images: schedule paused after 2 failed runs in a row',
      '',
      'The last 2 runs started by the schedule failed, so the reconciler disabled the schedule batch-runner-missing-images (group batch-runner) (pauseAfterConsecutiveFailures: 2). No scheduled run starts until it is resumed; manual runs still work.',
      '',
      'Failed runs, newest first:',
      `  ${executionArn('f2')} (FAILED, started 2026-12-01T20:00:00.000Z)`,
      `  ${executionArn('f1')} (TIMED_OUT, started 2026-11-30T20:00:00.000Z)`,
      '',
      'To resume once the cause is fixed: npx batch-runner resume missing-images',
      'Runs before the resume no longer count. A cdk deploy that changes the schedule also re-enables it.',
    ].join('\n'),
  });
});
