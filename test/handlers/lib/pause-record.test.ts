import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  countsFrom,
  pausedByFailures,
  pauseKey,
  readPauseRecord,
  recordPause,
  recordResume,
} from '../../../handlers/lib/pause-record';
import { type EmbeddedDynamoDb, ensureLockTable, startEmbeddedDynamoDb } from '../../../local/lock-store';

/** The pause item on the lock table (handlers/lib/pause-record.ts), against the real table in dynalite. */

let db: EmbeddedDynamoDb;
const TABLE = 'pause-record';
beforeAll(async () => {
  db = await startEmbeddedDynamoDb();
  await ensureLockTable(db.client, TABLE);
});
afterAll(async () => {
  await db.close();
});

describe('the pause item of a batch', () => {
  test('never paused nor resumed: no record, not paused, every run counts', async () => {
    const record = await readPauseRecord(db.client, TABLE, 'never-paused');
    expect(record).toBeUndefined();
    expect(pausedByFailures(record)).toBe(false);
    expect(countsFrom(record)).toBe(0);
  });

  test('a pause, then a resume: each kept beside the other; paused only until the resume', async () => {
    const executions = ['arn:aws:states:x:execution:nightly:3', 'arn:aws:states:x:execution:nightly:2'];
    await recordPause(db.client, TABLE, 'nightly', { pausedAtMs: 1_000, failures: 2, executions });
    const paused = await readPauseRecord(db.client, TABLE, 'nightly');
    expect(paused).toEqual({ pausedAtMs: 1_000, failures: 2, executions, resumedAtMs: undefined });
    expect(pausedByFailures(paused)).toBe(true);
    expect(countsFrom(paused)).toBe(1_000);

    await recordResume(db.client, TABLE, 'nightly', 2_000);
    const resumed = await readPauseRecord(db.client, TABLE, 'nightly');
    expect(resumed).toEqual({ pausedAtMs: 1_000, failures: 2, executions, resumedAtMs: 2_000 });
    expect(pausedByFailures(resumed)).toBe(false);
    expect(countsFrom(resumed)).toBe(2_000);

    // Paused again after the resume: paused, and runs count from the new pause.
    await recordPause(db.client, TABLE, 'nightly', { pausedAtMs: 3_000, failures: 1, executions: [executions[0]] });
    const again = await readPauseRecord(db.client, TABLE, 'nightly');
    expect(pausedByFailures(again)).toBe(true);
    expect(countsFrom(again)).toBe(3_000);
  });

  test('a resume without a pause (an operator`s own pause lifted): not paused by failures, runs count from the resume', async () => {
    await recordResume(db.client, TABLE, 'hand-paused', 5_000);
    const record = await readPauseRecord(db.client, TABLE, 'hand-paused');
    expect(record).toEqual({ pausedAtMs: undefined, failures: undefined, executions: undefined, resumedAtMs: 5_000 });
    expect(pausedByFailures(record)).toBe(false);
    expect(countsFrom(record)).toBe(5_000);
  });

  test('a pause and a resume in the same millisecond: the resume wins', () => {
    expect(pausedByFailures({ pausedAtMs: 7_000, resumedAtMs: 7_000 })).toBe(false);
  });

  test('an item written by hand with empty or non-string entries in its executions list keeps only the ARNs', async () => {
    await db.client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: {
          batch: { S: pauseKey('hand-written') },
          pausedAtMs: { N: '9000' },
          executions: { L: [{ S: 'arn:aws:states:x:execution:nightly:9' }, { S: '' }, { N: '4' }] },
        },
      }),
    );
    expect((await readPauseRecord(db.client, TABLE, 'hand-written'))?.executions).toEqual([
      'arn:aws:states:x:execution:nightly:9',
    ]);
  });
});
