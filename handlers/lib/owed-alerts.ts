import {
  type AttributeValue,
  type DynamoDBClient,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { MessageAttributeValue } from '@aws-sdk/client-sns';
import { alertAttributes, alertMessage, alertSubject, type RunAlert } from './alert';
import { EXPIRES_AT, LOCK_KEY } from './lock-item';

/**
 * Alerts are obligations, not fire-and-forget publishes. Every non-success outcome first records its
 * alert on the lock table under `alert#<executionArn>` (a conditional put: one record per execution,
 * whoever records it first — the state machine's own failure path, the cleanup event, or the
 * reconciler), then publishes it, then marks it delivered. A publish that fails leaves the record
 * `owed`; the reconciler publishes owed alerts again with backoff until they are delivered, so an SNS
 * outage delays an alert but never loses it, and a second recorder finds the record and sends nothing.
 *
 * The partition key attribute is `batch` (the lock table's), so the batch name is kept in `batchName`.
 * The state machine writes the same item shape (`RecordOwedAlert`, `MarkAlertDelivered` in
 * state-machines/batch-runner.asl.json).
 */

/** Key prefix of alert records. Batch names are `[a-z0-9-]`, so a key with `#` is never a lock. */
export const ALERT_KEY_PREFIX = 'alert#';
/** Alert records are kept a week (TTL): long enough to keep retrying for more than 24 hours. */
export const ALERT_RECORD_TTL_SECONDS = 7 * 24 * 60 * 60;
/**
 * A freshly recorded alert is left to its recorder for this long before the reconciler publishes it:
 * the recorder normally publishes within a second, but the state machine's PublishFailureAlert may
 * retry for about four minutes (4 attempts of up to 60 s), and publishing beside it would send two.
 */
export const RECORDER_GRACE_SECONDS = 300;
/** How long a delivery attempt holds its lease: no second deliverer publishes the alert meanwhile. */
export const DELIVERY_LEASE_SECONDS = 120;
/** Backoff between delivery attempts: doubling from 1 minute, at most 30 minutes. */
export function nextAttemptDelaySeconds(attempts: number): number {
  return Math.min(60 * 2 ** Math.max(0, attempts - 1), 30 * 60);
}

export type AlertState = 'owed' | 'delivered';

/** An alert record as stored. */
export interface OwedAlert {
  readonly executionArn: string;
  readonly state: AlertState;
  readonly batch: string;
  readonly outcome: string;
  readonly trigger: string;
  readonly subject: string;
  readonly message: string;
  /**
   * Epoch seconds the alert was recorded. The state machine cannot tell epoch seconds, so its records
   * have none until the reconciler first sees them and stamps the time (its grace counts from then).
   */
  readonly owedAt: number | undefined;
  readonly expiresAt: number | undefined;
  readonly attempts: number;
  /** Epoch seconds before which the reconciler does not try again. */
  readonly nextAttemptAt: number;
  readonly source: string;
}

export const alertKey = (executionArn: string) => `${ALERT_KEY_PREFIX}${executionArn}`;

const s = (v: string): AttributeValue => ({ S: v });
const n = (v: number): AttributeValue => ({ N: String(v) });

/**
 * An alert already rendered, with the id its record is kept under (`alert#<id>`): a run's alert uses
 * its execution ARN; other alerts (the pause on repeated failure) an id of their own, so that they
 * are owed, retried and deduplicated exactly like a run's.
 */
export interface OwedNotice {
  readonly id: string;
  readonly batch: string;
  readonly outcome: string;
  readonly trigger: string;
  readonly source: string;
  readonly subject: string;
  readonly message: string;
}

/** A run's alert as a notice kept under its execution ARN. */
export const noticeOf = (alert: RunAlert): OwedNotice => ({
  id: alert.executionArn,
  batch: alert.batch,
  outcome: alert.outcome,
  trigger: alert.trigger,
  source: alert.source,
  subject: alertSubject(alert),
  message: alertMessage(alert),
});

/**
 * Records an alert for an execution unless one is recorded already. Returns true when this call
 * recorded it (and so must publish it), false when the execution's alert exists (sent or owed).
 */
export async function recordAlert(
  ddb: DynamoDBClient,
  tableName: string,
  alert: RunAlert,
  nowSeconds: number,
): Promise<boolean> {
  return recordNotice(ddb, tableName, noticeOf(alert), nowSeconds);
}

/** Records a notice unless its id is recorded already; true when this call recorded it. */
export async function recordNotice(
  ddb: DynamoDBClient,
  tableName: string,
  notice: OwedNotice,
  nowSeconds: number,
): Promise<boolean> {
  try {
    await ddb.send(
      new PutItemCommand({
        TableName: tableName,
        Item: {
          [LOCK_KEY]: s(alertKey(notice.id)),
          state: s('owed'),
          batchName: s(notice.batch),
          outcome: s(notice.outcome),
          trigger: s(notice.trigger),
          source: s(notice.source),
          subject: s(notice.subject),
          message: s(notice.message),
          owedAt: n(nowSeconds),
          attempts: n(0),
          nextAttemptAt: n(nowSeconds),
          [EXPIRES_AT]: n(nowSeconds + ALERT_RECORD_TTL_SECONDS),
        },
        ConditionExpression: 'attribute_not_exists(#key)',
        ExpressionAttributeNames: { '#key': LOCK_KEY },
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error).name === 'ConditionalCheckFailedException') return false;
    throw err;
  }
}

/** Marks an alert delivered (idempotent). */
export async function markDelivered(ddb: DynamoDBClient, tableName: string, executionArn: string): Promise<void> {
  await ddb.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { [LOCK_KEY]: s(alertKey(executionArn)) },
      UpdateExpression: 'SET #state = :delivered',
      ConditionExpression: 'attribute_exists(#key)',
      ExpressionAttributeNames: { '#state': 'state', '#key': LOCK_KEY },
      ExpressionAttributeValues: { ':delivered': s('delivered') },
    }),
  );
}

/**
 * Takes the delivery of one owed alert for DELIVERY_LEASE_SECONDS (conditional on nobody having moved
 * its next attempt since it was read), so that two deliverers running at once (the status event and
 * the scheduled pass) do not both publish it.
 */
async function takeLease(
  ddb: DynamoDBClient,
  tableName: string,
  alert: OwedAlert,
  nowSeconds: number,
): Promise<boolean> {
  try {
    await ddb.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [LOCK_KEY]: s(alertKey(alert.executionArn)) },
        UpdateExpression: 'SET nextAttemptAt = :lease',
        ConditionExpression: '#state = :owed AND nextAttemptAt = :seen',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':lease': n(nowSeconds + DELIVERY_LEASE_SECONDS),
          ':owed': s('owed'),
          ':seen': n(alert.nextAttemptAt),
        },
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error).name === 'ConditionalCheckFailedException') return false;
    throw err;
  }
}

/** Records a failed delivery attempt and when to try again. */
async function markAttemptFailed(
  ddb: DynamoDBClient,
  tableName: string,
  alert: Pick<OwedAlert, 'executionArn' | 'attempts'>,
  nowSeconds: number,
  error: string,
): Promise<void> {
  const attempts = alert.attempts + 1;
  await ddb.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { [LOCK_KEY]: s(alertKey(alert.executionArn)) },
      UpdateExpression: 'SET attempts = :attempts, nextAttemptAt = :next, lastError = :error',
      ConditionExpression: '#state = :owed',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':attempts': n(attempts),
        ':next': n(nowSeconds + nextAttemptDelaySeconds(attempts)),
        ':error': s(error.slice(0, 1000)),
        ':owed': s('owed'),
      },
    }),
  );
}

async function stampFirstSeen(ddb: DynamoDBClient, tableName: string, executionArn: string, nowSeconds: number) {
  await ddb.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { [LOCK_KEY]: s(alertKey(executionArn)) },
      UpdateExpression:
        'SET owedAt = if_not_exists(owedAt, :now), nextAttemptAt = if_not_exists(nextAttemptAt, :now), #expiresAt = if_not_exists(#expiresAt, :expires)',
      ConditionExpression: 'attribute_exists(#key)',
      ExpressionAttributeNames: { '#key': LOCK_KEY, '#expiresAt': EXPIRES_AT },
      ExpressionAttributeValues: { ':now': n(nowSeconds), ':expires': n(nowSeconds + ALERT_RECORD_TTL_SECONDS) },
    }),
  );
}

function fromItem(item: Record<string, AttributeValue>): OwedAlert | undefined {
  const key = item[LOCK_KEY]?.S ?? '';
  if (!key.startsWith(ALERT_KEY_PREFIX)) return undefined;
  const num = (name: string) => Number(item[name]?.N ?? 0);
  const str = (name: string) => item[name]?.S ?? '';
  return {
    executionArn: key.slice(ALERT_KEY_PREFIX.length),
    state: str('state') === 'delivered' ? 'delivered' : 'owed',
    batch: str('batchName'),
    outcome: str('outcome'),
    trigger: str('trigger'),
    subject: str('subject'),
    message: str('message'),
    source: str('source'),
    owedAt: item.owedAt?.N === undefined ? undefined : num('owedAt'),
    expiresAt: item[EXPIRES_AT]?.N === undefined ? undefined : num(EXPIRES_AT),
    attempts: num('attempts'),
    nextAttemptAt: num('nextAttemptAt'),
  };
}

/**
 * Every alert record still owed, and delivered ones the state machine wrote without a TTL (a scan:
 * the table holds one lock per batch and a week of alerts).
 */
export async function listOwedAlerts(ddb: DynamoDBClient, tableName: string): Promise<OwedAlert[]> {
  const owed: OwedAlert[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await ddb.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        FilterExpression: 'begins_with(#key, :prefix) AND (#state = :owed OR attribute_not_exists(#expiresAt))',
        ExpressionAttributeNames: { '#key': LOCK_KEY, '#state': 'state', '#expiresAt': EXPIRES_AT },
        ExpressionAttributeValues: { ':prefix': s(ALERT_KEY_PREFIX), ':owed': s('owed') },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const alert = fromItem(item);
      if (alert) owed.push(alert);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return owed;
}

/** Publishes an alert body; the AWS and local worlds implement it (SNS, the local alert log). */
export type PublishAlert = (alert: {
  readonly subject: string;
  readonly message: string;
  readonly attributes: Record<string, MessageAttributeValue>;
}) => Promise<void>;

/** Records (if not yet recorded) and publishes one alert; returns what happened. */
export async function oweAndDeliver(
  ddb: DynamoDBClient,
  tableName: string,
  publish: PublishAlert,
  alert: RunAlert,
  nowSeconds: number,
): Promise<'sent' | 'already recorded' | 'owed: publish failed'> {
  if (!(await recordAlert(ddb, tableName, alert, nowSeconds))) return 'already recorded';
  return deliverRecorded(ddb, tableName, publish, noticeOf(alert), alertAttributes(alert), nowSeconds);
}

/**
 * Publishes a notice this caller has just recorded, and marks it delivered; a failed publish leaves
 * it owed (with its backoff) for the reconciler's next delivery.
 */
export async function deliverRecorded(
  ddb: DynamoDBClient,
  tableName: string,
  publish: PublishAlert,
  notice: OwedNotice,
  attributes: Record<string, MessageAttributeValue>,
  nowSeconds: number,
): Promise<'sent' | 'owed: publish failed'> {
  try {
    await publish({ subject: notice.subject, message: notice.message, attributes });
  } catch (err) {
    const e = err as Error;
    await markAttemptFailed(
      ddb,
      tableName,
      { executionArn: notice.id, attempts: 0 },
      nowSeconds,
      `${e.name}: ${e.message}`,
    );
    return 'owed: publish failed';
  }
  await markDelivered(ddb, tableName, notice.id);
  return 'sent';
}

export interface DeliveryReport {
  readonly delivered: string[];
  readonly failed: string[];
  /** Owed alerts not yet due (recorder grace or backoff). */
  readonly waiting: string[];
  /** Age in seconds of the oldest alert still owed after this pass (0 when none): the alarm's metric. */
  readonly oldestUndeliveredSeconds: number;
}

/** Publishes every owed alert that is due; each success is marked delivered, each failure backs off. */
export async function deliverOwedAlerts(
  ddb: DynamoDBClient,
  tableName: string,
  publish: PublishAlert,
  nowSeconds: number,
  options: { readonly onlyBatch?: string; readonly graceSeconds?: number } = {},
): Promise<DeliveryReport> {
  const grace = options.graceSeconds ?? RECORDER_GRACE_SECONDS;
  const report: DeliveryReport = { delivered: [], failed: [], waiting: [], oldestUndeliveredSeconds: 0 };
  let oldest = 0;
  for (const alert of await listOwedAlerts(ddb, tableName)) {
    if (options.onlyBatch !== undefined && alert.batch !== options.onlyBatch) continue;
    if (alert.owedAt === undefined || alert.expiresAt === undefined) {
      // Written by the state machine: stamp when it was first seen and when it may be tidied away.
      await stampFirstSeen(ddb, tableName, alert.executionArn, nowSeconds);
      if (alert.state === 'owed') report.waiting.push(alert.executionArn);
      continue;
    }
    if (alert.state !== 'owed') continue;
    const due = alert.owedAt + grace <= nowSeconds && alert.nextAttemptAt <= nowSeconds;
    if (!due || !(await takeLease(ddb, tableName, alert, nowSeconds))) {
      report.waiting.push(alert.executionArn);
      oldest = Math.max(oldest, nowSeconds - alert.owedAt);
      continue;
    }
    try {
      await publish({
        subject: alert.subject,
        message: alert.message,
        attributes: {
          batch: { DataType: 'String', StringValue: alert.batch || '-' },
          outcome: { DataType: 'String', StringValue: alert.outcome || '-' },
          severity: { DataType: 'String', StringValue: 'alert' },
          trigger: { DataType: 'String', StringValue: alert.trigger || '-' },
          source: { DataType: 'String', StringValue: 'reconciler' },
        },
      });
      await markDelivered(ddb, tableName, alert.executionArn);
      report.delivered.push(alert.executionArn);
    } catch (err) {
      const e = err as Error;
      await markAttemptFailed(ddb, tableName, alert, nowSeconds, `${e.name}: ${e.message}`);
      report.failed.push(alert.executionArn);
      oldest = Math.max(oldest, nowSeconds - alert.owedAt);
    }
  }
  return { ...report, oldestUndeliveredSeconds: oldest };
}
