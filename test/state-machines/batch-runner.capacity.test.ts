import type { BatchConfig } from '../../config/batch-config';
import { capacityFailure, FAMILY } from '../fixtures/ecs-payloads';
import { runScenario, type ScenarioResult, useScenarioWorld } from '../support/asl-harness';

/**
 * Where the task runs (issue 11, capacity; config/capacity.ts): the WhereToStartTask region of
 * state-machines/batch-runner.asl.json, run by aws-local-stepfunctions with the lock in dynalite and
 * ECS answered with realistic payloads. What is asserted is what ECS is asked (RunTask's launch
 * type, capacity provider strategy and platform version: ECS refuses a launch type beside a strategy,
 * and a platform version for EC2 capacity) and what the run reports.
 */

const world = useScenarioWorld();

const START_STATES = [
  'StartBatchTask',
  'StartBatchTaskOnSpot',
  'StartBatchTaskOnCapacityProviders',
  'StartBatchTaskOnEc2',
];
const starts = (r: ScenarioResult) => r.calls.filter((c) => START_STATES.includes(c.state));
const alerts = () => world.aws.published.filter((p) => p.MessageAttributes.severity.StringValue === 'alert');
/** ECS's answer when Fargate Spot has no capacity (RunTask 200 with failures[] and no task). */
const NO_SPOT_CAPACITY =
  'Capacity is unavailable at this time. Please try again later or in a different availability zone';
const spotInterruption = {
  exitCode: 143,
  stopCode: 'SpotInterruption',
  stoppedReason: 'Your Spot Task was interrupted.',
};
const ON_SPOT: Partial<BatchConfig> = { capacity: { spot: {}, platformVersion: '1.4.0' } };
const SPOT_STRATEGY = [{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }];

test('by default RunTask asks for on-demand Fargate (launch type FARGATE) on platform version LATEST', async () => {
  const r = await runScenario(world.db, world.aws, {});

  expect(r.status).toBe('SUCCEEDED');
  expect(starts(r).map((c) => c.state)).toEqual(['StartBatchTask']);
  expect(starts(r)[0].params).toMatchObject({ LaunchType: 'FARGATE', PlatformVersion: 'LATEST' });
  expect(starts(r)[0].params.CapacityProviderStrategy).toBeUndefined();
  expect(r.output.task.capacity).toBe('FARGATE');
});

describe('Fargate Spot with a fallback to on-demand Fargate', () => {
  test('the first attempt runs on FARGATE_SPOT with the pinned platform version; success there uses no fallback', async () => {
    const r = await runScenario(world.db, world.aws, { batch: ON_SPOT });

    expect(r.status).toBe('SUCCEEDED');
    expect(starts(r).map((c) => c.state)).toEqual(['StartBatchTaskOnSpot']);
    const params = starts(r)[0].params;
    expect(params.CapacityProviderStrategy).toEqual(SPOT_STRATEGY);
    expect(params.PlatformVersion).toBe('1.4.0');
    expect(params.LaunchType).toBeUndefined();
    expect(r.output.task.capacity).toBe('FARGATE_SPOT');
  });

  test.each([
    ['with the run`s context', {}, {}],
    [
      'with an allowed command override',
      { overrides: { environment: ['DRY_RUN'], command: true } },
      { command: ['node', 'backfill.js'] },
    ],
    ['with the operator`s overrides only', { runContextEnvironment: false }, { environment: { DRY_RUN: 'true' } }],
  ])('a manual run %s starts on FARGATE_SPOT too', async (_label, batch, overrides) => {
    const r = await runScenario(world.db, world.aws, {
      batch: { ...ON_SPOT, ...batch },
      input: { trigger: 'cli', overrides },
    });

    expect(r.status).toBe('SUCCEEDED');
    expect(starts(r).map((c) => [c.state, c.params.CapacityProviderStrategy])).toEqual([
      ['StartBatchTaskOnSpot', SPOT_STRATEGY],
    ]);
  });

  test('a Spot interruption is retried without a retry policy, on on-demand Fargate (fallbackAfter 1): success, no alert, the attempt says FARGATE_SPOT', async () => {
    world.aws.watchPerTask = [spotInterruption, { exitCode: 0 }];
    const r = await runScenario(world.db, world.aws, { batch: ON_SPOT });

    expect(r.status).toBe('SUCCEEDED');
    expect(starts(r).map((c) => c.state)).toEqual(['StartBatchTaskOnSpot', 'StartBatchTask']);
    expect(starts(r)[1].params).toMatchObject({ LaunchType: 'FARGATE', PlatformVersion: '1.4.0' });
    expect(starts(r)[1].params.CapacityProviderStrategy).toBeUndefined();
    // Each attempt has its own ClientToken: ECS would otherwise answer the first (Spot) task again.
    expect(starts(r)[1].params.ClientToken).not.toBe(starts(r)[0].params.ClientToken);
    expect(r.output).toMatchObject({
      outcome: 'succeeded',
      task: { taskArn: world.aws.startedTasks[1], capacity: 'FARGATE' },
      attempts: {
        number: 2,
        earlier: `attempt 1: task ${world.aws.startedTasks[0]} on FARGATE_SPOT, exit code 143, stop code SpotInterruption: retried (stop code SpotInterruption is in retry.on.stopCodes, not counted in retry.attempts); `,
      },
    });
    expect(alerts()).toEqual([]);
    expect(r.lockItem).toBeUndefined();
  });

  test('fallbackAfter 2: no Spot capacity is the first setback (Spot again), an interruption the second (on-demand)', async () => {
    world.aws.runTaskAnswers = [capacityFailure(NO_SPOT_CAPACITY)];
    world.aws.watchPerTask = [spotInterruption, { exitCode: 0 }];
    const r = await runScenario(world.db, world.aws, { batch: { capacity: { spot: { fallbackAfter: 2 } } } });

    expect(r.status).toBe('SUCCEEDED');
    expect(starts(r).map((c) => c.state)).toEqual(['StartBatchTaskOnSpot', 'StartBatchTaskOnSpot', 'StartBatchTask']);
    expect(starts(r).map((c) => c.params.PlatformVersion)).toEqual(['LATEST', 'LATEST', 'LATEST']);
    expect(world.aws.startedTasks).toHaveLength(2);
    expect(r.output.task.capacity).toBe('FARGATE');
  });

  test('a Spot interruption beyond retry.infrastructureAttempts ends the run failed: one alert naming the Spot attempt', async () => {
    world.aws.watchPerTask = [spotInterruption, spotInterruption];
    const r = await runScenario(world.db, world.aws, {
      batch: {
        capacity: { spot: { fallbackAfter: 5 } },
        retry: { attempts: 1, infrastructureAttempts: 1, on: { stopCodes: ['SpotInterruption'] } },
      },
    });

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.TaskFailed');
    expect(starts(r).map((c) => c.state)).toEqual(['StartBatchTaskOnSpot', 'StartBatchTaskOnSpot']);
    expect(alerts()).toHaveLength(1);
    const details = JSON.parse(alerts()[0].Message.split('\nDetails: ')[1]);
    expect(details.task).toMatchObject({ taskArn: world.aws.startedTasks[1], capacity: 'FARGATE_SPOT' });
    expect(details.attempts.earlier).toContain(`task ${world.aws.startedTasks[0]} on FARGATE_SPOT`);
    expect(r.lockItem).toBeUndefined();
  });
});

describe('imported clusters: a capacity provider strategy, or the EC2 launch type', () => {
  test('the batch`s strategy goes to RunTask as given, with no launch type and no platform version', async () => {
    const r = await runScenario(world.db, world.aws, {
      batch: {
        capacity: {
          capacityProviderStrategy: [
            { capacityProvider: 'nightly-asg', weight: 3, base: 1 },
            { capacityProvider: 'FARGATE_SPOT' },
          ],
        },
      },
    });

    expect(r.status).toBe('SUCCEEDED');
    expect(starts(r).map((c) => c.state)).toEqual(['StartBatchTaskOnCapacityProviders']);
    const params = starts(r)[0].params;
    expect(params.CapacityProviderStrategy).toEqual([
      { CapacityProvider: 'nightly-asg', Weight: 3, Base: 1 },
      { CapacityProvider: 'FARGATE_SPOT', Weight: 1, Base: 0 },
    ]);
    expect(params).not.toHaveProperty('LaunchType');
    expect(params).not.toHaveProperty('PlatformVersion');
    expect(r.output.task.capacity).toBe('nightly-asg');
  });

  test('launch type EC2: RunTask asks for EC2 with the same network, tags and overrides, and no platform version', async () => {
    const r = await runScenario(world.db, world.aws, { batch: { capacity: { launchType: 'EC2' } } });

    expect(r.status).toBe('SUCCEEDED');
    expect(starts(r).map((c) => c.state)).toEqual(['StartBatchTaskOnEc2']);
    const params = starts(r)[0].params;
    expect(params).toMatchObject({
      LaunchType: 'EC2',
      Group: `batch-runner:${FAMILY}`,
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'DISABLED' } },
    });
    expect(params.Tags.map((t: { Key: string }) => t.Key)).toContain('batch-runner:execution-name-base64');
    expect(params).not.toHaveProperty('PlatformVersion');
    expect(r.output.task.capacity).toBe('EC2');
  });
});

/** Every RunTask state treats ECS the same way: a throttle is retried, a lost answer keeps the lock until ECS is asked. */
describe.each([
  ['StartBatchTaskOnSpot', ON_SPOT],
  [
    'StartBatchTaskOnCapacityProviders',
    { capacity: { capacityProviderStrategy: [{ capacityProvider: 'nightly-asg' }] } },
  ],
  ['StartBatchTaskOnEc2', { capacity: { launchType: 'EC2' as const } }],
] as const)('%s', (state, batch) => {
  test('a throttled RunTask is retried by the state, then the task runs', async () => {
    const r = await runScenario(world.db, world.aws, {
      batch,
      inject: (call, attempt) =>
        call.state === state && attempt < 1
          ? Object.assign(new Error('Rate exceeded'), { name: 'Ecs.EcsException' })
          : undefined,
    });
    expect(starts(r).map((c) => [c.state, c.error?.name])).toEqual([
      [state, 'Ecs.EcsException'],
      [state, undefined],
    ]);
    expect(r.output.outcome).toBe('succeeded');
  });

  test('ECS answers a server error on every retry: the task may have started, so it is an answer lost, not "could not start"', async () => {
    const r = await runScenario(world.db, world.aws, {
      batch,
      inject: (call) =>
        call.state === state
          ? Object.assign(new Error('Service unavailable'), { name: 'Ecs.ServerException' })
          : undefined,
    });
    expect(r.error).toBe('BatchRunner.StartAnswerLost');
    expect(r.statesEntered).toContain('NoteStartMayHaveRun');
    expect(r.statesEntered).not.toContain('RecordCouldNotStart');
    expect(world.aws.reconcilerCalls.at(-1)).toMatchObject({ action: 'finish', executionArn: r.executionArn });
    expect(alerts()).toHaveLength(1);
  });

  test('a lost RunTask answer: the reconciler looks the task up in ECS before the lock goes; could_not_start, one alert', async () => {
    const r = await runScenario(world.db, world.aws, {
      batch,
      inject: (call) =>
        call.state === state ? Object.assign(new Error('no answer'), { name: 'States.Timeout' }) : undefined,
    });
    expect(r.error).toBe('BatchRunner.StartAnswerLost');
    expect(world.aws.reconcilerCalls.at(-1)).toMatchObject({ action: 'finish', executionArn: r.executionArn });
    expect(r.lockItem).toBeUndefined();
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0].MessageAttributes.outcome.StringValue).toBe('could_not_start');
  });
});
