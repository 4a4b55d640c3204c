import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { defaultClients, requiredEnv } from './lib/aws-clients';
import { awsWorld } from './lib/aws-world';
import { EXPIRES_AT, LOCK_KEY } from './lib/lock-item';
import { deliverOwedAlerts, type DeliveryReport } from './lib/owed-alerts';
import { type PauseCheck, pauseOnRepeatedFailure, thresholdOf } from './lib/pause-on-failure';
import {
  type BatchReconcileReport,
  type BatchTarget,
  type ExecutionStatus,
  listTasksAt,
  reconcileAll,
  reconcileBatch,
  type ReconcileContext,
  sweepEndedExecutions,
  type ReconcileWorld,
  type TaskListing,
} from './lib/reconcile';
import { ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { type StartResult, startedTaskArn } from './lib/task-outcome';
import { RECONCILER_INTERVAL_SECONDS } from '../config/timings';

/**
 * The reconciler Lambda (deployed as the runner's cleanup function): every entry point applies the one
 * rule of handlers/lib/reconcile.ts.
 *
 * 1. EventBridge "Step Functions Execution Status Change" FAILED / TIMED_OUT / ABORTED for the runner's
 *    state machines (best effort: it only makes the cleanup fast). The batch is reconciled at once and
 *    the ended execution owes one alert (recorded durably; never a second one).
 * 2. An EventBridge schedule (every few minutes): every batch with a held lock or a running runner task
 *    is reconciled, and owed alerts are delivered. Nothing depends on an event having arrived.
 * 3. The state machine itself (`lambda:invoke`):
 *    - `settle`: a start found the lock held by an owner that is no longer RUNNING; stop that owner's
 *      task if needed, confirm STOPPED, and release the lock, so that the start can take it.
 *    - `finish`: a run that ends on a failure path asks to release its own lock; its tasks are found by
 *      what ECS reports (tags), stopped and confirmed first, so a lost RunTask answer or an unconfirmed
 *      stop keeps the lock held instead of freeing it beside a running task.
 */

export type { ExecutionStatus };

export interface ExecutionStatusChangeEvent {
  readonly version?: string;
  readonly id?: string;
  readonly 'detail-type': 'Step Functions Execution Status Change';
  readonly source: 'aws.states';
  readonly account?: string;
  readonly time?: string;
  readonly region?: string;
  readonly resources?: readonly string[];
  readonly detail: {
    readonly executionArn: string;
    readonly stateMachineArn: string;
    readonly name?: string;
    readonly status: ExecutionStatus;
    readonly startDate?: number;
    readonly stopDate?: number | null;
    readonly input?: string | null;
    readonly output?: string | null;
    readonly error?: string | null;
    readonly cause?: string | null;
  };
}

export interface ScheduledEvent {
  readonly 'detail-type': 'Scheduled Event';
  readonly source: 'aws.events';
  readonly time?: string;
}

/** Payload of the state machine's `SettleStaleLock` and `ReleaseLockAfterFailure` states. */
export interface SettleRequest {
  readonly action: 'settle' | 'finish';
  /** The calling execution. */
  readonly executionArn: string;
  readonly batch: { readonly name: string; readonly clusterArn: string };
  /** The caller's RunTask answer (`$.start`; `{}` before RunTask): its task is checked even if ECS no longer lists it. */
  readonly start?: StartResult;
}

export type ReconcilerEvent = ExecutionStatusChangeEvent | ScheduledEvent | SettleRequest;

export interface ReconcilerConfig {
  readonly lockTableName: string;
  /** Deployment prefix: state machines are named `<prefix>-<batch>` (config/naming.ts). */
  readonly namePrefix: string;
  /** Clusters the runner's batches run on (the scheduled pass lists runner tasks on each). */
  readonly clusterArns: readonly string[];
  /** Bound for the wait until ECS reports a stopped task STOPPED (stop grace is at most 120 s on Fargate). */
  readonly stopConfirmSeconds: number;
  readonly pollIntervalMs: number;
  /** @default IN_FLIGHT_GRACE_MS (handlers/lib/reconcile.ts) */
  readonly inFlightGraceMs?: number;
}

export interface ReconcilerDeps {
  readonly world: ReconcileWorld;
  readonly dynamodb: DynamoDBClient;
  readonly config: ReconcilerConfig;
  /**
   * Where the reconciler's JSON log lines and embedded metrics go. @default stdout (CloudWatch Logs in
   * Lambda); the local mode keeps them off the CLI's output.
   */
  readonly writeLine?: (line: string) => void;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What the state machine reads from a settle/finish answer (`$.Payload`). */
export interface SettleAnswer {
  /** `released` or `free`: the lock can be taken (settle) / was let go (finish). */
  readonly lock: BatchReconcileReport['lock'];
  /** For the alert text: released, or why not. */
  readonly status: string;
  readonly taskMayStillRun: boolean;
  readonly mayStillRun: readonly string[];
  readonly tasks: BatchReconcileReport['tasks'];
}

export type ReconcilerResult =
  | BatchReconcileReport
  | (BatchReconcileReport & { readonly pause: PauseCheck | { readonly result: 'error'; readonly error: string } })
  | SettleAnswer
  | { readonly ignored: string }
  | {
      readonly reports: BatchReconcileReport[];
      readonly errors: { batch: string; error: string }[];
      readonly alerts: DeliveryReport;
      /** The sweep of ended executions: the state machines it read, the executions it owed an alert. */
      readonly sweep: { readonly swept: string[]; readonly owed: string[]; readonly failedBatches: string[] };
      /** `pauseAfterConsecutiveFailures` checks of the swept batches with a failed run, by batch. */
      readonly pauses?: Readonly<Record<string, unknown>>;
    };

/**
 * Error name the state machine's SettleStaleLock and ReleaseLockAfterFailure retry: one of the
 * reconciler's AWS calls failed for a reason that says nothing about the batch.
 */
export const RECONCILER_UNAVAILABLE = 'BatchRunner.ReconcilerUnavailable';

export class ReconcilerUnavailableError extends Error {
  constructor(cause: Error) {
    super(`the reconciler could not finish (${cause.name}: ${cause.message}); the state machine retries.`);
    this.name = RECONCILER_UNAVAILABLE;
  }
}

/** Statuses the event entry acts on (the rule filters on the same list). */
export const CLEANUP_STATUSES: readonly ExecutionStatus[] = ['FAILED', 'TIMED_OUT', 'ABORTED'];

let scheduler: SchedulerClient | undefined;

export const handler = async (event: ReconcilerEvent): Promise<ReconcilerResult> => {
  const clients = defaultClients();
  const namePrefix = requiredEnv('NAME_PREFIX');
  // Used only for a batch whose scheduled runs carry pauseAfter (the deployment then grants it Scheduler).
  scheduler ??= new SchedulerClient({});
  return handleReconcilerEvent(event, {
    world: awsWorld({ ...clients, scheduler }, requiredEnv('ALERT_TOPIC_ARN'), namePrefix),
    dynamodb: clients.dynamodb,
    config: {
      lockTableName: requiredEnv('LOCK_TABLE_NAME'),
      namePrefix,
      clusterArns: requiredEnv('CLUSTER_ARNS').split(','),
      stopConfirmSeconds: positiveNumber(process.env.STOP_CONFIRM_SECONDS, 180),
      pollIntervalMs: 5000,
    },
  });
};

/**
 * Whether an ended run may complete a streak of `pauseAfterConsecutiveFailures`: a scheduled run whose
 * input carries N (the batch sets it). A dependent batch's runs never do: it has no schedule to pause.
 */
export function mayCompleteStreak(input: string | null | undefined): boolean {
  let parsed: any;
  try {
    parsed = JSON.parse(input ?? 'null');
  } catch {
    return false;
  }
  return parsed?.trigger === 'schedule' && thresholdOf(input) !== undefined;
}

/** Checks one batch for `pauseAfterConsecutiveFailures`; a failure is logged and reported, never thrown. */
async function checkPause(
  ctx: ReconcileContext,
  deps: ReconcilerDeps,
  target: { readonly name: string; readonly stateMachineArn: string },
): Promise<PauseCheck | { readonly result: 'error'; readonly error: string }> {
  try {
    const check = await pauseOnRepeatedFailure(ctx, target);
    if (check.result === 'no scheduler')
      loggerOf(deps)('pauseAfterConsecutiveFailures: no schedule to pause here (local mode); nothing done', {
        batch: target.name,
      });
    else if (check.result === 'paused')
      loggerOf(deps)('schedule paused after repeated failures', { batch: target.name, ...check });
    return check;
  } catch (err) {
    const e = err as Error;
    return { result: 'error', error: `${e.name}: ${e.message}` };
  }
}

/** A positive number from an environment variable's text; the fallback when it is unset or not one. */
export function positiveNumber(text: string | undefined, fallback: number): number {
  const n = Number(text); // NaN for undefined
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** `arn:...:stateMachine:<prefix>-<batch>` -> `<batch>`, or undefined for someone else's state machine. */
export function batchOfStateMachine(stateMachineArn: string, namePrefix: string): string | undefined {
  const name = stateMachineArn.split(':')[6] ?? '';
  return name.startsWith(`${namePrefix}-`) ? name.slice(namePrefix.length + 1) : undefined;
}

/** `arn:aws:states:<r>:<a>:execution:<sm>:<name>` -> `arn:aws:states:<r>:<a>:stateMachine:<sm>`. */
export function stateMachineOfExecution(executionArn: string): string {
  const parts = executionArn.split(':');
  return [...parts.slice(0, 5), 'stateMachine', parts[6]].join(':');
}

/** The state machine ARN of a batch, in the region and account of a cluster ARN. */
function stateMachineArnFor(clusterArn: string, namePrefix: string, batch: string): string {
  const [, partition, , region, account] = clusterArn.split(':');
  return `arn:${partition}:states:${region}:${account}:stateMachine:${namePrefix}-${batch}`;
}

export async function handleReconcilerEvent(event: ReconcilerEvent, deps: ReconcilerDeps): Promise<ReconcilerResult> {
  const logEvent = loggerOf(deps);
  const ctx: ReconcileContext = {
    world: deps.world,
    dynamodb: deps.dynamodb,
    lockTableName: deps.config.lockTableName,
    now: deps.now,
    sleep: deps.sleep,
    pollIntervalMs: deps.config.pollIntervalMs,
    inFlightGraceMs: deps.config.inFlightGraceMs,
  };
  const confirmWithinMs = deps.config.stopConfirmSeconds * 1000;

  if ('action' in event) {
    const target: BatchTarget = {
      name: event.batch.name,
      clusterArn: event.batch.clusterArn,
      stateMachineArn: stateMachineOfExecution(event.executionArn),
    };
    let report: BatchReconcileReport;
    try {
      report = await reconcileBatch(ctx, target, {
        confirmWithinMs,
        finishing: event.action === 'finish' ? event.executionArn : undefined,
        knownTaskArns:
          event.action === 'finish' && event.start ? [startedTaskArn(event.start)].filter((a): a is string => !!a) : [],
        deliverAlerts: false,
      });
    } catch (err) {
      // An AWS call failed (throttling, an outage): nothing about the batch; the state machine retries.
      throw new ReconcilerUnavailableError(err as Error);
    }
    logEvent(`reconciler ${event.action}`, { ...report });
    return settleAnswer(report);
  }

  if (event.source === 'aws.states') {
    const { detail } = event;
    if (!CLEANUP_STATUSES.includes(detail.status)) return { ignored: `status ${detail.status} needs no cleanup` };
    const batch = batchOfStateMachine(detail.stateMachineArn, deps.config.namePrefix);
    if (batch === undefined)
      return { ignored: `state machine ${detail.stateMachineArn} is not a ${deps.config.namePrefix} state machine` };
    const listing = await listAll(deps);
    const listed = listing.tasks;
    const report = await reconcileBatch(
      ctx,
      {
        name: batch,
        clusterArn: listed.find((t) => t.batch === batch)?.clusterArn ?? deps.config.clusterArns[0],
        stateMachineArn: detail.stateMachineArn,
      },
      {
        confirmWithinMs,
        ended: {
          executionArn: detail.executionArn,
          status: detail.status,
          error: detail.error,
          cause: detail.cause,
          input: detail.input,
          startDate: detail.startDate,
          stopDate: detail.stopDate,
        },
        listing,
        relist: () => listAll(deps),
      },
    );
    const pause =
      detail.status !== 'ABORTED' && mayCompleteStreak(detail.input)
        ? await checkPause(ctx, deps, { name: batch, stateMachineArn: detail.stateMachineArn })
        : undefined;
    logEvent('reconciler: execution ended', { ...report, pause });
    return pause ? { ...report, pause } : report;
  }

  if (event.source === 'aws.events') return reconcilePass(ctx, deps);

  throw new Error(
    `reconciler: unexpected event ${JSON.stringify(event).slice(0, 200)}: expected an Execution Status Change event, a scheduled event, or a settle/finish request.`,
  );
}

/** Runner tasks of every cluster. Throws if any cluster cannot be listed: a partial list would make tasks look stopped. */
function listAll(deps: ReconcilerDeps): Promise<TaskListing> {
  return listTasksAt(deps.now ?? Date.now, async () =>
    (await Promise.all(deps.config.clusterArns.map((c) => deps.world.listRunnerTasks(c)))).flat(),
  );
}

/**
 * The scheduled pass: every batch with a held lock or a running runner task is reconciled (a batch
 * with neither needs nothing), then every owed alert is delivered.
 */
/** One JSON line per event (CloudWatch Logs Insights filters by field), to the deps' sink. */
function loggerOf(deps: ReconcilerDeps): (message: string, fields?: Record<string, unknown>) => void {
  const write = deps.writeLine ?? ((line: string) => console.log(line));
  return (message, fields = {}) => write(JSON.stringify({ message, ...fields }));
}

async function reconcilePass(ctx: ReconcileContext, deps: ReconcilerDeps) {
  const logEvent = loggerOf(deps);
  const write = deps.writeLine ?? ((line: string) => console.log(line));
  const errors: { batch: string; error: string }[] = [];
  let reports: BatchReconcileReport[] = [];
  let targets: BatchTarget[] = [];
  try {
    const listing = await listAll(deps);
    const listed = listing.tasks;
    const lockedBatches = await listLockedBatches(deps.dynamodb, deps.config.lockTableName);
    const names = new Set([...lockedBatches, ...listed.map((t) => t.batch).filter((b): b is string => !!b)]);
    const home = deps.config.clusterArns[0];
    targets = [...names].sort().map((name) => ({
      name,
      clusterArn: listed.find((t) => t.batch === name)?.clusterArn ?? home,
      stateMachineArn: stateMachineArnFor(home, deps.config.namePrefix, name),
    }));
    const result = await reconcileAll(ctx, targets, listing);
    reports = result.reports;
    errors.push(...result.errors);
  } catch (err) {
    // No batch is reconciled on a partial view (a task not listed would look stopped); alerts still go out.
    const e = err as Error;
    errors.push({ batch: '(listing)', error: `${e.name}: ${e.message}` });
  }
  // Executions that ended without a trace in the lock table (stopped while they held no lock, their
  // status event lost): a slice of the state machines per pass, in turn.
  const passIndex = Math.floor((deps.now ?? Date.now)() / (RECONCILER_INTERVAL_SECONDS * 1000));
  const sweep = await sweepEndedExecutions(ctx, deps.config.namePrefix, passIndex).catch((err: Error) => {
    errors.push({ batch: '(sweep)', error: `${err.name}: ${err.message}` });
    return { swept: [], owed: [], failedBatches: [] as string[] };
  });
  const pauses: Record<string, unknown> = {};
  for (const name of sweep.failedBatches) {
    const check = await checkPause(ctx, deps, {
      name,
      stateMachineArn: stateMachineArnFor(deps.config.clusterArns[0], deps.config.namePrefix, name),
    });
    if (check.result === 'error') errors.push({ batch: name, error: `(pause check) ${check.error}` });
    // A batch without the option, or a world without schedules (local mode): nothing to report.
    if (check.result !== 'not configured' && check.result !== 'no scheduler') pauses[name] = check;
  }
  const nowSeconds = Math.floor((deps.now ?? Date.now)() / 1000);
  const alerts = await deliverOwedAlerts(deps.dynamodb, deps.config.lockTableName, deps.world.publish, nowSeconds);
  await expireSlotClaims(deps.dynamodb, deps.config.lockTableName, nowSeconds).catch((err: Error) =>
    errors.push({ batch: '(slot claims)', error: `${err.name}: ${err.message}` }),
  );
  // Embedded metric (CloudWatch EMF): the undelivered-alerts alarm watches it.
  write(
    JSON.stringify({
      _aws: {
        Timestamp: (deps.now ?? Date.now)(),
        CloudWatchMetrics: [
          {
            Namespace: 'BatchRunner',
            Dimensions: [[]],
            Metrics: [
              { Name: 'OldestUndeliveredAlertSeconds', Unit: 'Seconds' },
              { Name: 'ReconcileErrors', Unit: 'Count' },
            ],
          },
        ],
      },
      OldestUndeliveredAlertSeconds: alerts.oldestUndeliveredSeconds,
      ReconcileErrors: errors.length,
    }),
  );
  logEvent('reconciler pass', { batches: targets.length, errors, alerts, sweep, pauses });
  return { reports, errors, alerts, sweep, pauses };
}

/**
 * Slot claims (`slot#<batch>#<scheduled time>`, ClaimScheduledSlot) are written by the state machine,
 * which cannot tell epoch seconds: the pass gives each a TTL when it first sees it. Scheduler gives up
 * on an event after at most 24 hours, so a week is far beyond any late delivery.
 */
export const SLOT_CLAIM_TTL_SECONDS = 7 * 24 * 60 * 60;

async function expireSlotClaims(ddb: DynamoDBClient, tableName: string, nowSeconds: number): Promise<void> {
  let startKey: Record<string, any> | undefined;
  do {
    const page = await ddb.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: '#key',
        FilterExpression: 'begins_with(#key, :slot) AND attribute_not_exists(#expiresAt)',
        ExpressionAttributeNames: { '#key': LOCK_KEY, '#expiresAt': EXPIRES_AT },
        ExpressionAttributeValues: { ':slot': { S: 'slot#' } },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      await ddb.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { [LOCK_KEY]: item[LOCK_KEY] },
          UpdateExpression: 'SET #expiresAt = if_not_exists(#expiresAt, :expires)',
          ConditionExpression: 'attribute_exists(#key)',
          ExpressionAttributeNames: { '#key': LOCK_KEY, '#expiresAt': EXPIRES_AT },
          ExpressionAttributeValues: { ':expires': { N: String(nowSeconds + SLOT_CLAIM_TTL_SECONDS) } },
        }),
      );
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

async function listLockedBatches(ddb: DynamoDBClient, tableName: string): Promise<string[]> {
  const names: string[] = [];
  let startKey: Record<string, any> | undefined;
  do {
    const page = await ddb.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        ProjectionExpression: '#key',
        FilterExpression: 'attribute_exists(#owner)',
        ExpressionAttributeNames: { '#key': LOCK_KEY, '#owner': 'owner' },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) if (item[LOCK_KEY]?.S) names.push(item[LOCK_KEY].S);
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return names;
}

/** The lock's fate in the words of the state machine's alert (`Lock: …`). */
const LOCK_STATUS: Record<BatchReconcileReport['lock'], string> = {
  released: 'released',
  free: 'not held',
  'held by a live owner': 'not held by this execution',
  'held by another owner': 'not held by this execution',
  'held until its task is confirmed STOPPED':
    'kept until the task is confirmed STOPPED (the reconciler releases it then)',
  'held: its owner ended moments ago':
    'kept for a moment: a task start may still be in flight (the reconciler releases it then)',
  'free, but a task may still run': 'not held, but a task of the batch is still stopping',
};

function settleAnswer(report: BatchReconcileReport): SettleAnswer {
  return {
    lock: report.lock,
    status: LOCK_STATUS[report.lock],
    taskMayStillRun: report.mayStillRun.length > 0,
    mayStillRun: report.mayStillRun,
    tasks: report.tasks,
  };
}
