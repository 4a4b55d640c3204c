import { type AttributeValue, type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { LOCK_KEY } from './lock-item';

/**
 * The durable trace of `pauseAfterConsecutiveFailures` on the lock table, one item per batch under
 * `pause#<batch>` (batch names are `[a-z0-9-]`, so a key with `#` is never a lock): when the
 * reconciler last paused the batch's schedule and for which failed runs, and when an operator last
 * resumed it (`batch-runner resume`). Runs started before the later of the two never count towards a
 * new streak: a pause ends a streak, and a resume forgives the failures before it (also those of a
 * schedule an operator paused by hand).
 */

export const PAUSE_KEY_PREFIX = 'pause#';
export const pauseKey = (batch: string) => `${PAUSE_KEY_PREFIX}${batch}`;

/** The pause item of one batch. */
export interface PauseRecord {
  /** Epoch ms the reconciler disabled the schedule. */
  readonly pausedAtMs?: number;
  /** The streak length that paused it (the batch's `pauseAfterConsecutiveFailures` then). */
  readonly failures?: number;
  /** The failed executions of that streak, newest first. */
  readonly executions?: readonly string[];
  /** Epoch ms an operator last ran `batch-runner resume`. */
  readonly resumedAtMs?: number;
}

const num = (v: AttributeValue | undefined) => (v?.N === undefined ? undefined : Number(v.N));

/** The pause item, or undefined when the batch was never paused nor resumed. */
export async function readPauseRecord(
  ddb: DynamoDBClient,
  tableName: string,
  batch: string,
): Promise<PauseRecord | undefined> {
  const { Item } = await ddb.send(
    new GetItemCommand({ TableName: tableName, Key: { [LOCK_KEY]: { S: pauseKey(batch) } }, ConsistentRead: true }),
  );
  if (!Item) return undefined;
  return {
    pausedAtMs: num(Item.pausedAtMs),
    failures: num(Item.failures),
    executions: Item.executions?.L?.map((e) => e.S ?? '').filter((e) => e !== ''),
    resumedAtMs: num(Item.resumedAtMs),
  };
}

/** Whether the last word on the schedule was the reconciler's pause (not yet resumed through the CLI). */
export const pausedByFailures = (r: PauseRecord | undefined): boolean =>
  r?.pausedAtMs !== undefined && (r.resumedAtMs ?? 0) < r.pausedAtMs;

/** Epoch ms from which runs count towards a streak (0: all of them). */
export const countsFrom = (r: PauseRecord | undefined): number => Math.max(r?.pausedAtMs ?? 0, r?.resumedAtMs ?? 0);

/** Records a pause (keeps `resumedAtMs`). */
export async function recordPause(
  ddb: DynamoDBClient,
  tableName: string,
  batch: string,
  pause: { readonly pausedAtMs: number; readonly failures: number; readonly executions: readonly string[] },
): Promise<void> {
  await ddb.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { [LOCK_KEY]: { S: pauseKey(batch) } },
      UpdateExpression: 'SET pausedAtMs = :at, failures = :n, executions = :executions',
      ExpressionAttributeValues: {
        ':at': { N: String(pause.pausedAtMs) },
        ':n': { N: String(pause.failures) },
        ':executions': { L: pause.executions.map((e) => ({ S: e })) },
      },
    }),
  );
}

/** Records a resume (keeps the last pause for the record): failures before it no longer count. */
export async function recordResume(
  ddb: DynamoDBClient,
  tableName: string,
  batch: string,
  resumedAtMs: number,
): Promise<void> {
  await ddb.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { [LOCK_KEY]: { S: pauseKey(batch) } },
      UpdateExpression: 'SET resumedAtMs = :at',
      ExpressionAttributeValues: { ':at': { N: String(resumedAtMs) } },
    }),
  );
}
