import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  ALERT_RECORD_TTL_SECONDS,
  alertKey,
  DELIVERY_LEASE_SECONDS,
  deliverOwedAlerts,
  deliverRecorded,
  type OwedNotice,
  type PublishAlert,
  RECORDER_GRACE_SECONDS,
  recordNotice,
} from '../../../handlers/lib/owed-alerts';
import { type EmbeddedDynamoDb, ensureLockTable, startEmbeddedDynamoDb } from '../../../local/lock-store';
import { executionArn } from '../fixtures/events';

/**
 * The owed-alert records (handlers/lib/owed-alerts.ts) in a real lock table (dynalite): how a notice
 * is recorded once, and how a delivery pass publishes what is owed and due, one batch at a time if
 * asked, at most once across deliverers, and reports what is left.
 */

const NOW = 1_796_160_000; // 2026-12-01T21:20:00Z, in epoch seconds
let db: EmbeddedDynamoDb;
let table: string;
let n = 0;
let sent: Array<Parameters<PublishAlert>[0]>;
const publish: PublishAlert = async (alert) => {
  sent.push(alert);
};

const notice = (id: string, batch = 'missing-images'): OwedNotice => ({
  id,
  batch,
  outcome: 'failed',
  trigger: 'schedule',
  source: 'reconciler',
  subject: `[batch-runner] ${batch} failed`,
  message: `Batch ${batch}: failed (${id})`,
});
const item = async (id: string) =>
  (
    await db.client.send(
      new GetItemCommand({ TableName: table, Key: { batch: { S: alertKey(id) } }, ConsistentRead: true }),
    )
  ).Item;
/** A record as the state machine's RecordOwedAlert writes it: no epoch seconds. */
const putAsStateMachine = (id: string, state: 'owed' | 'delivered') =>
  db.client.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        batch: { S: alertKey(id) },
        state: { S: state },
        batchName: { S: 'missing-images' },
        outcome: { S: 'failed' },
        trigger: { S: 'schedule' },
        source: { S: 'state-machine' },
        subject: { S: '[batch-runner] missing-images failed' },
        message: { S: 'Batch missing-images: failed' },
      },
    }),
  );

beforeAll(async () => {
  db = await startEmbeddedDynamoDb();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  n += 1;
  table = `owed-${n}`;
  await ensureLockTable(db.client, table);
  sent = [];
});

describe('recording a notice', () => {
  test('once per id: the record is owed, due now, kept a week; a second record of the id changes nothing', async () => {
    const id = executionArn('run-1');
    expect(await recordNotice(db.client, table, notice(id), NOW)).toBe(true);
    expect(await item(id)).toMatchObject({
      state: { S: 'owed' },
      owedAt: { N: String(NOW) },
      attempts: { N: '0' },
      nextAttemptAt: { N: String(NOW) },
      expiresAt: { N: String(NOW + ALERT_RECORD_TTL_SECONDS) },
    });
    expect(await recordNotice(db.client, table, { ...notice(id), message: 'another' }, NOW + 60)).toBe(false);
    expect((await item(id))?.message).toEqual({ S: `Batch missing-images: failed (${id})` });
  });

  test('a failure that is not "already recorded" is not taken for one: it is thrown', async () => {
    await expect(recordNotice(db.client, 'no-such-table', notice(executionArn('run-1')), NOW)).rejects.toThrow(
      expect.objectContaining({ name: 'ResourceNotFoundException' }),
    );
  });

  test('a failed publish keeps the notice owed with its error (cut to 1000 characters) and a backoff', async () => {
    const id = executionArn('run-2');
    await recordNotice(db.client, table, notice(id), NOW);
    const refusing: PublishAlert = async () => {
      throw Object.assign(new Error('x'.repeat(2000)), { name: 'AuthorizationErrorException' });
    };
    expect(await deliverRecorded(db.client, table, refusing, notice(id), {}, NOW)).toBe('owed: publish failed');
    const record = await item(id);
    expect(record?.state).toEqual({ S: 'owed' });
    expect(record?.attempts).toEqual({ N: '1' });
    expect(record?.lastError?.S).toHaveLength(1000);
    expect(record?.lastError?.S?.startsWith('AuthorizationErrorException: xxx')).toBe(true);
  });
});

describe('a delivery pass', () => {
  const due = NOW + RECORDER_GRACE_SECONDS;

  test('publishes each due alert with its subject, message and filter attributes, and marks it delivered', async () => {
    const id = executionArn('run-1');
    await recordNotice(db.client, table, notice(id), NOW);
    const report = await deliverOwedAlerts(db.client, table, publish, due);
    expect(report).toEqual({ delivered: [id], failed: [], waiting: [], oldestUndeliveredSeconds: 0 });
    expect(sent).toEqual([
      {
        subject: '[batch-runner] missing-images failed',
        message: `Batch missing-images: failed (${id})`,
        attributes: {
          batch: { DataType: 'String', StringValue: 'missing-images' },
          outcome: { DataType: 'String', StringValue: 'failed' },
          severity: { DataType: 'String', StringValue: 'alert' },
          trigger: { DataType: 'String', StringValue: 'schedule' },
          source: { DataType: 'String', StringValue: 'reconciler' },
        },
      },
    ]);
    expect((await item(id))?.state).toEqual({ S: 'delivered' });
    // Delivered: a later pass has nothing to do.
    expect(await deliverOwedAlerts(db.client, table, publish, due + 600)).toEqual({
      delivered: [],
      failed: [],
      waiting: [],
      oldestUndeliveredSeconds: 0,
    });
    expect(sent).toHaveLength(1);
  });

  test('for one batch only: another batch`s owed alert is left as it is', async () => {
    const ours = executionArn('run-1');
    const theirs = executionArn('run-1', 'xml-articles');
    await recordNotice(db.client, table, notice(ours), NOW);
    await recordNotice(db.client, table, notice(theirs, 'xml-articles'), NOW);
    const report = await deliverOwedAlerts(db.client, table, publish, due, { onlyBatch: 'missing-images' });
    expect(report.delivered).toEqual([ours]);
    expect(sent.map((a) => a.subject)).toEqual(['[batch-runner] missing-images failed']);
    expect((await item(theirs))?.state).toEqual({ S: 'owed' });
  });

  test('records the state machine wrote are stamped when first seen; an owed one waits its grace, a delivered one is only stamped', async () => {
    const owed = executionArn('owed-by-state-machine');
    const delivered = executionArn('delivered-by-state-machine');
    await putAsStateMachine(owed, 'owed');
    await putAsStateMachine(delivered, 'delivered');
    const report = await deliverOwedAlerts(db.client, table, publish, NOW);
    expect(report).toEqual({ delivered: [], failed: [], waiting: [owed], oldestUndeliveredSeconds: 0 });
    for (const id of [owed, delivered])
      expect(await item(id)).toMatchObject({
        owedAt: { N: String(NOW) },
        expiresAt: { N: String(NOW + ALERT_RECORD_TTL_SECONDS) },
      });
    expect((await item(delivered))?.state).toEqual({ S: 'delivered' });
    expect(sent).toEqual([]);
  });

  test('what waits is reported with the age of the oldest, the alarm`s metric', async () => {
    await recordNotice(db.client, table, notice(executionArn('older')), NOW - 90);
    await recordNotice(db.client, table, notice(executionArn('newer')), NOW - 30);
    const report = await deliverOwedAlerts(db.client, table, publish, NOW);
    expect(report.waiting.sort()).toEqual([executionArn('newer'), executionArn('older')].sort());
    expect(report.oldestUndeliveredSeconds).toBe(90);
    expect(sent).toEqual([]);
  });

  test('two deliverers at once: the second finds the first one`s lease and waits; the lease lasts DELIVERY_LEASE_SECONDS', async () => {
    const id = executionArn('run-1');
    await recordNotice(db.client, table, notice(id), NOW);
    let release: () => void = () => undefined;
    const slow: PublishAlert = (alert) =>
      new Promise<void>((resolve) => {
        sent.push(alert);
        release = resolve;
      });
    const first = deliverOwedAlerts(db.client, table, slow, due);
    for (let i = 0; i < 400 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(sent).toHaveLength(1);
    expect((await item(id))?.nextAttemptAt).toEqual({ N: String(due + DELIVERY_LEASE_SECONDS) });
    const second = await deliverOwedAlerts(db.client, table, publish, due + 1);
    expect(second).toMatchObject({ delivered: [], waiting: [id] });
    release();
    expect((await first).delivered).toEqual([id]);
    expect(sent).toHaveLength(1);
  });
});
