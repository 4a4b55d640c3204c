import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { BatchConfig } from '../../config/batch-config';
import type { EmbeddedDynamoDb } from '../../local/lock-store';
import { FAMILY, newTaskArn } from '../fixtures/ecs-payloads';
import {
  executionArn,
  holdLock,
  LOCK_TABLE,
  runScenario,
  type Scenario,
  scheduledInput,
  ScriptedAws,
  startLockStore,
} from '../support/asl-harness';

/**
 * Every way a start is skipped honours the batch's `skipNotification`: `none` publishes nothing,
 * `alert` publishes the one skip message at alert severity, and the lock and the task are left as
 * they were. (Mutation testing found a skip path that would notify although the batch said `none`:
 * each skip state must go through ShouldNotifySkip.)
 */

let db: EmbeddedDynamoDb;
let aws: ScriptedAws;

beforeAll(async () => {
  db = await startLockStore();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  aws = new ScriptedAws();
  await db.client.send(new DeleteItemCommand({ TableName: LOCK_TABLE, Key: { batch: { S: FAMILY } } }));
});

/** How each skip is reached: what the world looks like, and the runs before the one that skips. */
const SKIPS: ReadonlyArray<[state: string, setup: () => Promise<{ before?: Scenario[]; run: Scenario }>]> = [
  [
    'RecordSkipLockHeld',
    async () => {
      aws.executions.set(executionArn('LiveHolder'), 'RUNNING');
      await holdLock(db, executionArn('LiveHolder'));
      return { run: {} };
    },
  ],
  [
    'RecordSkipLockHeldSinceUnknown',
    async () => {
      // A lock item written by hand, without acquiredAt.
      aws.executions.set(executionArn('HandWritten'), 'RUNNING');
      await db.client.send(
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
      aws.listTasksAnswers = [[newTaskArn()]];
      return { run: {} };
    },
  ],
  [
    'RecordSkipPreviousTaskStopping',
    async () => {
      const stale = executionArn('CrashedWithItsTask');
      aws.executions.set(stale, 'FAILED');
      await holdLock(db, stale);
      const orphan = newTaskArn();
      aws.taskStartedBy.set(orphan, 'CrashedWithItsTask');
      aws.listTasksAnswers = [[orphan]];
      aws.describeCallsUntilStopped = Number.POSITIVE_INFINITY;
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
    for (const earlier of before) await runScenario(db, aws, { ...earlier, batch });
    const published = aws.published.length;
    const r = await runScenario(db, aws, { ...run, batch });
    // Skip messages only: a crashed lock owner still gets its own one alert from the reconciler.
    const skipMessages = aws.published
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
