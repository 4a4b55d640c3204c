import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { readLock, registerTaskWatch, notePendingStop, releaseLockIfOwner } from '../../../handlers/lib/lock-item';
import { type EmbeddedDynamoDb, ensureLockTable, startEmbeddedDynamoDb } from '../../../local/lock-store';
import { BATCH, CLUSTER_ARN, executionArn, taskArn } from '../fixtures/events';

// The lock logic against dynalite (real DynamoDB conditional semantics), not a mock.
let db: EmbeddedDynamoDb;
let table: string;
let n = 0;

beforeAll(async () => {
  db = await startEmbeddedDynamoDb();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  n += 1;
  table = `locks-${n}`;
  await ensureLockTable(db.client, table);
});

/** The item AcquireLock writes (state-machines/batch-runner.asl.json). */
async function acquire(owner: string, batch = BATCH): Promise<void> {
  await db.client.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        batch: { S: batch },
        owner: { S: owner },
        acquiredAt: { S: '2026-11-12T23:00:00.000Z' },
        trigger: { S: 'schedule' },
        requestedBy: { S: 'EventBridge Scheduler' },
        reason: { S: 'scheduled run' },
      },
    }),
  );
}

const registration = (owner: string, task: string) => ({
  batch: BATCH,
  owner,
  taskArn: task,
  taskToken: 'AQCEAAAAKgAAAAMAAAAAAAAAAR1token',
  clusterArn: CLUSTER_ARN,
  containerName: 'app',
  logGroupName: '/batch-runner/tasks/missing-images',
  logStreamPrefix: 'batch',
  expiresAt: 1794600000,
  deadlineAt: 1794000000,
  registeredAt: 1793996400,
});

describe('lock item (dynalite)', () => {
  test('readLock returns undefined when nobody holds the lock, the item when someone does', async () => {
    expect(await readLock(db.client, table, BATCH)).toBeUndefined();
    await acquire(executionArn('e1'));
    expect(await readLock(db.client, table, BATCH)).toEqual({
      batch: BATCH,
      owner: executionArn('e1'),
      acquiredAt: '2026-11-12T23:00:00.000Z',
      trigger: 'schedule',
      requestedBy: 'EventBridge Scheduler',
      reason: 'scheduled run',
    });
  });

  test('the owner registers its task token; the fields the event path needs are stored', async () => {
    await acquire(executionArn('e1'));
    const r = await registerTaskWatch(db.client, table, registration(executionArn('e1'), taskArn('t1')));
    expect(r).toEqual({ registered: true, deadlineAt: 1794000000 });
    const item = await readLock(db.client, table, BATCH);
    expect(item).toMatchObject({
      owner: executionArn('e1'),
      taskArn: taskArn('t1'),
      taskToken: 'AQCEAAAAKgAAAAMAAAAAAAAAAR1token',
      clusterArn: CLUSTER_ARN,
      containerName: 'app',
      logGroupName: '/batch-runner/tasks/missing-images',
      logStreamPrefix: 'batch',
      expiresAt: 1794600000,
      deadlineAt: 1794000000,
      registeredAt: 1793996400,
      trigger: 'schedule',
    });
  });

  test('a re-registration (next wait chunk) reports the task ARN registered before', async () => {
    await acquire(executionArn('e1'));
    await registerTaskWatch(db.client, table, registration(executionArn('e1'), taskArn('t1')));
    const again = await registerTaskWatch(db.client, table, {
      ...registration(executionArn('e1'), taskArn('t1')),
      taskToken: 'second-chunk-token',
    });
    expect(again).toEqual({ registered: true, previousTaskArn: taskArn('t1'), deadlineAt: 1794000000 });
    expect((await readLock(db.client, table, BATCH))?.taskToken).toBe('second-chunk-token');
  });

  test('the deadline is fixed by the first registration: a later chunk (or a retried one) cannot move it', async () => {
    await acquire(executionArn('e1'));
    await registerTaskWatch(db.client, table, registration(executionArn('e1'), taskArn('t1')));
    // A watcher retried after an outage computes a later deadline from its own clock; the stored one wins.
    const later = await registerTaskWatch(db.client, table, {
      ...registration(executionArn('e1'), taskArn('t1')),
      deadlineAt: 1794000187,
    });
    expect(later).toMatchObject({ registered: true, deadlineAt: 1794000000 });
    expect((await readLock(db.client, table, BATCH))?.deadlineAt).toBe(1794000000);
  });

  test('a retried attempt (a new task of the same run) keeps the run`s one deadline (issue 11 retries)', async () => {
    await acquire(executionArn('e1'));
    await registerTaskWatch(db.client, table, registration(executionArn('e1'), taskArn('t1')));
    // The second attempt's task was created later: its own CreatedAt + hard timeout would be later.
    const second = await registerTaskWatch(db.client, table, {
      ...registration(executionArn('e1'), taskArn('t2')),
      deadlineAt: 1794000900,
    });
    expect(second).toEqual({ registered: true, previousTaskArn: taskArn('t1'), deadlineAt: 1794000000 });
    expect(await readLock(db.client, table, BATCH)).toMatchObject({ taskArn: taskArn('t2'), deadlineAt: 1794000000 });
  });

  test("a pending stop is noted only on the named owner's lock", async () => {
    await acquire(executionArn('owner'));
    await notePendingStop(db.client, table, BATCH, executionArn('other'), [taskArn('t1')]);
    expect((await readLock(db.client, table, BATCH))?.pendingStopTaskArns).toBeUndefined();
    await notePendingStop(db.client, table, BATCH, executionArn('owner'), [taskArn('t1')]);
    await notePendingStop(db.client, table, BATCH, executionArn('owner'), [taskArn('t1'), taskArn('t2')]);
    expect((await readLock(db.client, table, BATCH))?.pendingStopTaskArns).toEqual([taskArn('t1'), taskArn('t2')]);
  });

  test("registration fails for a non-owner and leaves the owner's item untouched", async () => {
    await acquire(executionArn('owner'));
    const r = await registerTaskWatch(db.client, table, registration(executionArn('intruder'), taskArn('t9')));
    expect(r).toEqual({ registered: false, currentOwner: executionArn('owner') });
    const item = await readLock(db.client, table, BATCH);
    expect(item?.owner).toBe(executionArn('owner'));
    expect(item?.taskArn).toBeUndefined();
  });

  test('registration fails without creating an item when nobody holds the lock', async () => {
    const r = await registerTaskWatch(db.client, table, registration(executionArn('e1'), taskArn('t1')));
    expect(r).toEqual({ registered: false });
    expect(await readLock(db.client, table, BATCH)).toBeUndefined();
  });

  test("release deletes only the owner's lock", async () => {
    await acquire(executionArn('owner'));
    expect(await releaseLockIfOwner(db.client, table, BATCH, executionArn('other'))).toBe('not held by this execution');
    expect((await readLock(db.client, table, BATCH))?.owner).toBe(executionArn('owner'));
    expect(await releaseLockIfOwner(db.client, table, BATCH, executionArn('owner'))).toBe('released');
    expect(await readLock(db.client, table, BATCH)).toBeUndefined();
    expect(await releaseLockIfOwner(db.client, table, BATCH, executionArn('owner'))).toBe('not held by this execution');
  });
});

describe('failures that are not "the condition did not hold" are thrown, not taken for an answer', () => {
  const missing = 'no-such-table';
  const notFound = expect.objectContaining({ name: 'ResourceNotFoundException' });

  test('registering a watch, releasing, noting a pending stop on a table that does not exist', async () => {
    await expect(
      registerTaskWatch(db.client, missing, registration(executionArn('e1'), taskArn('t1'))),
    ).rejects.toThrow(notFound);
    await expect(releaseLockIfOwner(db.client, missing, BATCH, executionArn('e1'))).rejects.toThrow(notFound);
    await expect(notePendingStop(db.client, missing, BATCH, executionArn('e1'), [taskArn('t1')])).rejects.toThrow(
      notFound,
    );
  });

  test('noting no tasks writes nothing (DynamoDB refuses an empty set)', async () => {
    await acquire(executionArn('e1'));
    await notePendingStop(db.client, table, BATCH, executionArn('e1'), []);
    expect((await readLock(db.client, table, BATCH))?.pendingStopTaskArns).toBeUndefined();
    await expect(notePendingStop(db.client, missing, BATCH, executionArn('e1'), [])).resolves.toBeUndefined();
  });
});
