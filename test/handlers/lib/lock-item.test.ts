import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  ALERT_MARKER_PREFIX,
  claimAlert,
  readLock,
  registerTaskWatch,
  releaseLockIfOwner,
  unclaimAlert,
} from '../../../handlers/lib/lock-item';
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
    expect(r).toEqual({ registered: true });
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
    expect(again).toEqual({ registered: true, previousTaskArn: taskArn('t1') });
    expect((await readLock(db.client, table, BATCH))?.taskToken).toBe('second-chunk-token');
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

  test('an alert marker can be claimed once; unclaiming lets the next claim succeed', async () => {
    const exec = executionArn('e1');
    expect(await claimAlert(db.client, table, exec, 1794600000)).toBe(true);
    expect(await claimAlert(db.client, table, exec, 1794600000)).toBe(false);
    const marker = await db.client.send(
      new GetItemCommand({ TableName: table, Key: { batch: { S: `${ALERT_MARKER_PREFIX}${exec}` } } }),
    );
    expect(marker.Item?.expiresAt?.N).toBe('1794600000');
    await unclaimAlert(db.client, table, exec);
    expect(await claimAlert(db.client, table, exec, 1794600000)).toBe(true);
  });

  test('alert markers never collide with a batch lock', async () => {
    await acquire(executionArn('e1'));
    expect(await claimAlert(db.client, table, executionArn('e1'), 1)).toBe(true);
    expect((await readLock(db.client, table, BATCH))?.owner).toBe(executionArn('e1'));
  });
});
