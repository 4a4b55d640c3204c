import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { BatchConfig } from '../../config/batch-config';
import { FAMILY, newTaskArn } from '../fixtures/ecs-payloads';
import {
  executionArn,
  holdLock,
  LOCK_TABLE,
  runScenario,
  type Scenario,
  scheduledInput,
  useScenarioWorld,
} from '../support/asl-harness';

/**
 * Every way a start is skipped honours the batch's `skipNotification`: `none` publishes nothing,
 * `alert` publishes the one skip message at alert severity, and the lock and the task are left as
 * they were. (Mutation testing found a skip path that would notify although the batch said `none`:
 * each skip state must go through ShouldNotifySkip.)
 */

const world = useScenarioWorld();

/** How each skip is reached: what the world looks like, and the runs before the one that skips. */
const SKIPS: ReadonlyArray<[state: string, setup: () => Promise<{ before?: Scenario[]; run: Scenario }>]> = [
  [
    'RecordSkipLockHeld',
    async () => {
      world.aws.executions.set(executionArn('LiveHolder'), 'RUNNING');
      await holdLock(world.db, executionArn('LiveHolder'));
      return { run: {} };
    },
  ],
  [
    'RecordSkipLockHeldSinceUnknown',
    async () => {
      // A lock item written by hand, without acquiredAt.
      world.aws.executions.set(executionArn('HandWritten'), 'RUNNING');
      await world.db.client.send(
        new PutItemCommand({
          TableName: LOCK_TABLE,
          Item: { batch: { S: FAMILY }, owner: { S: executionArn('HandWritten') } },
        }),
      );
      return { run: {} };
    },
  ],
  [
    'RecordSkipTaskRunning',
    async () => {
      world.aws.listTasksAnswers = [[newTaskArn()]];
      return { run: {} };
    },
  ],
  [
    'RecordSkipPreviousTaskStopping',
    async () => {
      const stale = executionArn('CrashedWithItsTask');
      world.aws.executions.set(stale, 'FAILED');
      await holdLock(world.db, stale);
      const orphan = newTaskArn();
      world.aws.taskStartedBy.set(orphan, 'CrashedWithItsTask');
      world.aws.listTasksAnswers = [[orphan]];
      world.aws.describeCallsUntilStopped = Number.POSITIVE_INFINITY;
      return { run: {} };
    },
  ],
  [
    'RecordSkipDuplicateSlot',
    async () => ({
      before: [{ input: scheduledInput('2026-12-05T21:00:00Z') }],
      run: { input: scheduledInput('2026-12-05T21:00:00Z') },
    }),
  ],
  [
    'RecordSkipSlotAlreadyClaimed',
    async () => ({
      before: [{ input: scheduledInput('2026-12-06T21:00:00Z') }],
      run: { input: { trigger: 'cli', slot: '2026-12-06T21:00:00Z' } },
    }),
  ],
];

describe.each(SKIPS)('%s', (state, setup) => {
  const skipOnce = async (skipNotification: BatchConfig['skipNotification']) => {
    const { before = [], run } = await setup();
    const batch = { skipNotification };
    for (const earlier of before) await runScenario(world.db, world.aws, { ...earlier, batch });
    const published = world.aws.published.length;
    const [started, stops] = [world.aws.startedTasks.length, world.aws.stopRequests.length];
    const r = await runScenario(world.db, world.aws, { ...run, batch });
    // A skip leaves the work of others alone: it starts nothing, and stops only a task the reconciler
    // found orphaned by a dead lock owner (never one started by hand or by a live run).
    expect(world.aws.startedTasks.length).toBe(started);
    for (const { task } of world.aws.stopRequests.slice(stops)) {
      const owner = world.aws.taskStartedBy.get(task);
      expect({ task, ownerStatus: owner && world.aws.executions.get(executionArn(owner)) }).toEqual({
        task,
        ownerStatus: 'FAILED',
      });
    }
    // Skip messages only: a crashed lock owner still gets its own one alert from the reconciler.
    const skipMessages = world.aws.published
      .slice(published)
      .filter((p) => p.MessageAttributes.outcome.StringValue === 'skipped');
    return { r, published: skipMessages };
  };

  test('skipNotification "none": skipped, nothing published', async () => {
    const { r, published } = await skipOnce('none');
    expect(r.statesEntered).toContain(state);
    expect(r.output.outcome).toBe('skipped');
    expect(published).toEqual([]);
  });

  test('skipNotification "alert": one skip message at alert severity', async () => {
    const { r, published } = await skipOnce('alert');
    expect(r.statesEntered).toContain(state);
    expect(
      published.map((p) => [p.MessageAttributes.outcome.StringValue, p.MessageAttributes.severity.StringValue]),
    ).toEqual([['skipped', 'alert']]);
  });
});
