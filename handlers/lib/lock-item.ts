import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

// Errors are matched by name, not class: DynamoDB-compatible servers and test doubles throw plain
// errors named like the SDK's.

/**
 * The lock item of one batch as the handlers read and change it. The state machine writes `batch`,
 * `owner` (its execution ARN), `acquiredAt`, `trigger`, `requestedBy`, `reason` (AcquireLock);
 * the task watcher adds what the ECS event path needs to answer the task token without the state
 * machine's payload (taskArn, taskToken, clusterArn, containerName, log location) and `expiresAt`
 * (epoch seconds, the table's TTL attribute: tidying only, never part of a lock decision).
 */
export interface LockItem {
  readonly batch: string;
  readonly owner?: string;
  readonly acquiredAt?: string;
  readonly trigger?: string;
  readonly requestedBy?: string;
  readonly reason?: string;
  readonly taskArn?: string;
  readonly taskToken?: string;
  readonly clusterArn?: string;
  readonly containerName?: string;
  readonly logGroupName?: string;
  readonly logStreamPrefix?: string;
  readonly expiresAt?: number;
  /**
   * The run's deadline (epoch seconds), fixed once when the watcher first registers the task:
   * start + hard timeout. Every "is time up" decision compares against it, not against chunk counts.
   */
  readonly deadlineAt?: number;
  /** Epoch seconds the watcher first registered the task (how long ECS has had to show it). */
  readonly registeredAt?: number;
  /** The batch's start timeout, stored by the watcher so the reconciler's scheduled pass enforces it too. */
  readonly startTimeoutSeconds?: number;
  /** Tasks the reconciler asked to stop and has not yet seen STOPPED; the lock stays held until it has. */
  readonly pendingStopTaskArns?: readonly string[];
}

/** Partition key attribute of the lock table (one item per batch). */
export const LOCK_KEY = 'batch';
/** TTL attribute of the lock table. */
export const EXPIRES_AT = 'expiresAt';

const STRING_FIELDS = [
  'batch',
  'owner',
  'acquiredAt',
  'trigger',
  'requestedBy',
  'reason',
  'taskArn',
  'taskToken',
  'clusterArn',
  'containerName',
  'logGroupName',
  'logStreamPrefix',
] as const;

function fromAttributes(item: Record<string, AttributeValue>): LockItem {
  const out: Record<string, string | number> = {};
  for (const field of STRING_FIELDS) {
    const value = item[field]?.S;
    if (value !== undefined) out[field] = value;
  }
  const expires = item[EXPIRES_AT]?.N;
  if (expires !== undefined) out[EXPIRES_AT] = Number(expires);
  const deadline = item.deadlineAt?.N;
  if (deadline !== undefined) out.deadlineAt = Number(deadline);
  const registered = item.registeredAt?.N;
  if (registered !== undefined) out.registeredAt = Number(registered);
  const startTimeout = item.startTimeoutSeconds?.N;
  if (startTimeout !== undefined) out.startTimeoutSeconds = Number(startTimeout);
  const pending = item.pendingStopTaskArns?.SS;
  return (pending ? { ...out, pendingStopTaskArns: pending } : out) as unknown as LockItem;
}

/** Reads a batch's lock item with a strongly consistent read; undefined when nobody holds the lock. */
export async function readLock(ddb: DynamoDBClient, tableName: string, batch: string): Promise<LockItem | undefined> {
  const res = await ddb.send(
    new GetItemCommand({ TableName: tableName, Key: { [LOCK_KEY]: { S: batch } }, ConsistentRead: true }),
  );
  return res.Item ? fromAttributes(res.Item) : undefined;
}

export interface TaskWatchRegistration {
  readonly batch: string;
  /** Execution ARN that must still own the lock. */
  readonly owner: string;
  readonly taskArn: string;
  readonly taskToken: string;
  readonly clusterArn: string;
  readonly containerName: string;
  readonly logGroupName: string;
  readonly logStreamPrefix: string;
  /** Epoch seconds for the TTL attribute. */
  readonly expiresAt: number;
  /** Epoch seconds: the run's deadline. Stored on the first registration only (later chunks keep it). */
  readonly deadlineAt: number;
  /** Epoch seconds of this registration (stored on the first only). */
  readonly registeredAt: number;
  /** The batch's start timeout, when it has one (the reconciler enforces it from the lock item). */
  readonly startTimeoutSeconds?: number;
}

export type RegistrationResult =
  | { readonly registered: true; readonly previousTaskArn?: string; readonly deadlineAt: number }
  | { readonly registered: false; readonly currentOwner?: string };

/**
 * Stores the current wait chunk's task token on the lock item, only while `owner` still holds the
 * lock (condition `owner = :owner`). Returns the task ARN registered before, so the caller can tell
 * a first registration from a re-registration of a later chunk.
 */
export async function registerTaskWatch(
  ddb: DynamoDBClient,
  tableName: string,
  r: TaskWatchRegistration,
): Promise<RegistrationResult> {
  try {
    const res = await ddb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [LOCK_KEY]: { S: r.batch } },
        UpdateExpression:
          'SET #taskArn = :taskArn, #taskToken = :taskToken, #clusterArn = :clusterArn, #containerName = :containerName, #logGroupName = :logGroupName, #logStreamPrefix = :logStreamPrefix, #expiresAt = :expiresAt, #deadlineAt = if_not_exists(#deadlineAt, :deadlineAt), #registeredAt = if_not_exists(#registeredAt, :registeredAt)' +
          (r.startTimeoutSeconds === undefined ? '' : ', #startTimeoutSeconds = :startTimeoutSeconds'),
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: {
          '#owner': 'owner',
          '#taskArn': 'taskArn',
          '#taskToken': 'taskToken',
          '#clusterArn': 'clusterArn',
          '#containerName': 'containerName',
          '#logGroupName': 'logGroupName',
          '#logStreamPrefix': 'logStreamPrefix',
          '#expiresAt': EXPIRES_AT,
          '#deadlineAt': 'deadlineAt',
          '#registeredAt': 'registeredAt',
          ...(r.startTimeoutSeconds === undefined ? {} : { '#startTimeoutSeconds': 'startTimeoutSeconds' }),
        },
        ExpressionAttributeValues: {
          ':owner': { S: r.owner },
          ':taskArn': { S: r.taskArn },
          ':taskToken': { S: r.taskToken },
          ':clusterArn': { S: r.clusterArn },
          ':containerName': { S: r.containerName },
          ':logGroupName': { S: r.logGroupName },
          ':logStreamPrefix': { S: r.logStreamPrefix },
          ':expiresAt': { N: String(r.expiresAt) },
          ':deadlineAt': { N: String(r.deadlineAt) },
          ':registeredAt': { N: String(r.registeredAt) },
          ...(r.startTimeoutSeconds === undefined
            ? {}
            : { ':startTimeoutSeconds': { N: String(r.startTimeoutSeconds) } }),
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const before = res.Attributes ? fromAttributes(res.Attributes) : undefined;
    const deadlineAt = before?.deadlineAt ?? r.deadlineAt;
    return before?.taskArn === undefined
      ? { registered: true, deadlineAt }
      : { registered: true, deadlineAt, previousTaskArn: before.taskArn };
  } catch (err) {
    if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
    const current = await readLock(ddb, tableName, r.batch);
    return current?.owner === undefined ? { registered: false } : { registered: false, currentOwner: current.owner };
  }
}

export type LockReleaseStatus = 'released' | 'not held by this execution';

/** Deletes the lock only while `owner` holds it (the same condition as the state machine's release). */
export async function releaseLockIfOwner(
  ddb: DynamoDBClient,
  tableName: string,
  batch: string,
  owner: string,
): Promise<LockReleaseStatus> {
  try {
    await ddb.send(
      new DeleteItemCommand({
        TableName: tableName,
        Key: { [LOCK_KEY]: { S: batch } },
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': { S: owner } },
      }),
    );
    return 'released';
  } catch (err) {
    if ((err as Error).name === 'ConditionalCheckFailedException') return 'not held by this execution';
    throw err;
  }
}

/**
 * Notes on the lock of an owner that has ended which of its batch's tasks are still being stopped:
 * the lock stays held, and whoever comes next (a start, the cleanup, the reconciler) looks at these
 * tasks by ARN until ECS reports them STOPPED.
 */
export async function notePendingStop(
  ddb: DynamoDBClient,
  tableName: string,
  batch: string,
  owner: string,
  taskArns: readonly string[],
): Promise<void> {
  if (taskArns.length === 0) return;
  try {
    await ddb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [LOCK_KEY]: { S: batch } },
        UpdateExpression: 'ADD #pending :arns',
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner', '#pending': 'pendingStopTaskArns' },
        ExpressionAttributeValues: { ':owner': { S: owner }, ':arns': { SS: [...taskArns] } },
      }),
    );
  } catch (err) {
    if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
  }
}
