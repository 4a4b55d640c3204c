import { publishAlert, type RunAlert } from './lib/alert';
import { defaultClients, type RunnerClients, requiredEnv } from './lib/aws-clients';
import { clusterArnOfTask } from './lib/ecs-task';
import { type ExecutionFacts, readExecutionFacts } from './lib/execution-history';
import { claimAlert, type LockItem, readLock, releaseLockIfOwner, unclaimAlert } from './lib/lock-item';
import { logEvent } from './lib/log';
import { type StopResult, stopTaskAndConfirm } from './lib/stop-task';

/**
 * Cleanup Lambda: the safety net for executions that ended outside their own failure path, from
 * the EventBridge rule on "Step Functions Execution Status Change" FAILED / TIMED_OUT / ABORTED for
 * the runner's state machines. An ABORTED execution (stopped by hand, by the CLI, or replaced by
 * another run) and one that hit its own TimeoutSeconds run none of their Catch states.
 *
 * 1. Stops the execution's ECS task if it still runs (task ARN from the lock item when this
 *    execution still owns it, else from the `StartBatchTask` output in the execution history) and
 *    waits, bounded, until ECS reports it STOPPED.
 * 2. Releases the lock only if this execution still owns it (conditional delete), after step 1.
 * 3. Sends one alert, unless the execution's own `PublishFailureAlert` already did (FAILED runs that
 *    went through the normal failure path). A marker item makes duplicate events and retries silent.
 */

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

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

export interface CleanupConfig {
  readonly lockTableName: string;
  readonly alertTopicArn: string;
  /** Deployment prefix: state machines are named `<prefix>-<batch>` (config/naming.ts). */
  readonly namePrefix: string;
  /** Bound for the wait until ECS reports the task STOPPED (stop grace is at most 120 s on Fargate). */
  readonly stopConfirmSeconds: number;
  readonly pollIntervalMs: number;
}

export interface CleanupDeps {
  readonly clients: Pick<RunnerClients, 'dynamodb' | 'ecs' | 'sfn' | 'sns'>;
  readonly config: CleanupConfig;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface CleanupReport {
  readonly batch: string;
  readonly executionArn: string;
  readonly status: ExecutionStatus;
  readonly task: { readonly taskArn: string; readonly source: 'lock' | 'history'; readonly stop: StopResult } | null;
  readonly lock: 'released' | 'not held by this execution';
  readonly alert: 'sent' | 'already sent by the execution' | 'already sent by an earlier cleanup';
}

export type CleanupResult = CleanupReport | { readonly ignored: string };

/** Statuses the handler acts on (the rule filters on the same list). */
export const CLEANUP_STATUSES: readonly ExecutionStatus[] = ['FAILED', 'TIMED_OUT', 'ABORTED'];
/** How long an "alert sent" marker stays (TTL); duplicate events arrive within minutes. */
export const ALERT_MARKER_TTL_SECONDS = 7 * 24 * 60 * 60;

export const handler = async (event: ExecutionStatusChangeEvent): Promise<CleanupResult> =>
  handleExecutionEnded(event, {
    clients: defaultClients(),
    config: {
      lockTableName: requiredEnv('LOCK_TABLE_NAME'),
      alertTopicArn: requiredEnv('ALERT_TOPIC_ARN'),
      namePrefix: requiredEnv('NAME_PREFIX'),
      stopConfirmSeconds: positiveNumber(process.env.STOP_CONFIRM_SECONDS, 180),
      pollIntervalMs: 5000,
    },
  });

function positiveNumber(text: string | undefined, fallback: number): number {
  const n = Number(text);
  return text !== undefined && Number.isFinite(n) && n > 0 ? n : fallback;
}

/** `arn:...:stateMachine:<prefix>-<batch>` -> `<batch>`, or undefined for someone else's state machine. */
export function batchOfStateMachine(stateMachineArn: string, namePrefix: string): string | undefined {
  const name = stateMachineArn.split(':')[6] ?? '';
  return name.startsWith(`${namePrefix}-`) ? name.slice(namePrefix.length + 1) : undefined;
}

export async function handleExecutionEnded(
  event: ExecutionStatusChangeEvent,
  deps: CleanupDeps,
): Promise<CleanupResult> {
  const { detail } = event;
  const { config, clients } = deps;
  if (!CLEANUP_STATUSES.includes(detail.status)) return { ignored: `status ${detail.status} needs no cleanup` };
  const batch = batchOfStateMachine(detail.stateMachineArn, config.namePrefix);
  if (batch === undefined)
    return { ignored: `state machine ${detail.stateMachineArn} is not a ${config.namePrefix} state machine` };
  const executionArn = detail.executionArn;
  const now = deps.now ?? Date.now;

  const lock = await readLock(clients.dynamodb, config.lockTableName, batch);
  const ownsLock = lock?.owner === executionArn;
  let facts: ExecutionFacts | undefined;
  const history = async () => {
    facts ??= await readExecutionFacts(clients.sfn, executionArn);
    return facts;
  };

  // 1. Stop the task if it still runs.
  let task: CleanupReport['task'] = null;
  const fromLock =
    ownsLock && lock?.taskArn
      ? { taskArn: lock.taskArn, clusterArn: lock.clusterArn, source: 'lock' as const }
      : undefined;
  const started =
    fromLock ??
    (await history().then((f) => (f.startedTask ? { ...f.startedTask, source: 'history' as const } : undefined)));
  if (started) {
    const clusterArn = started.clusterArn ?? clusterArnOfTask(started.taskArn);
    const executionName = detail.name ?? executionArn.split(':').pop();
    const stop: StopResult = clusterArn
      ? await stopTaskAndConfirm(clients.ecs, {
          clusterArn,
          taskArn: started.taskArn,
          reason: `batch-runner cleanup: execution ${executionName} ended ${detail.status}`,
          confirmWithinMs: config.stopConfirmSeconds * 1000,
          pollIntervalMs: config.pollIntervalMs,
          sleep: deps.sleep,
          now,
        })
      : {
          status: 'stop not confirmed',
          lastStatus: 'UNKNOWN',
          stoppedReason: null,
          error: `cannot tell the cluster of task ${started.taskArn}`,
        };
    task = { taskArn: started.taskArn, source: started.source, stop };
  }

  // 2. Release the lock, only if this execution still owns it (after the task stopped or could not be stopped).
  const lockStatus = ownsLock
    ? await releaseLockIfOwner(clients.dynamodb, config.lockTableName, batch, executionArn)
    : 'not held by this execution';

  // 3. One alert.
  const f = detail.status === 'FAILED' ? await history() : undefined;
  let alert: CleanupReport['alert'];
  if (f?.alertPublished) {
    alert = 'already sent by the execution';
  } else {
    const expiresAt = Math.floor(now() / 1000) + ALERT_MARKER_TTL_SECONDS;
    if (!(await claimAlert(clients.dynamodb, config.lockTableName, executionArn, expiresAt))) {
      alert = 'already sent by an earlier cleanup';
    } else {
      try {
        await publishAlert(
          clients.sns,
          config.alertTopicArn,
          buildAlert(event, batch, ownsLock ? lock : undefined, task, lockStatus),
        );
      } catch (err) {
        // Let the retry (Lambda async retries) send it: remove the marker, then fail the invocation.
        await unclaimAlert(clients.dynamodb, config.lockTableName, executionArn);
        throw err;
      }
      alert = 'sent';
    }
  }
  const report: CleanupReport = { batch, executionArn, status: detail.status, task, lock: lockStatus, alert };
  logEvent('cleanup done', { ...report });
  return report;
}

const OUTCOMES: Record<string, { outcome: string; explain: string }> = {
  ABORTED: {
    outcome: 'aborted',
    explain:
      'The execution was stopped before it finished (by hand, by the CLI, or replaced by a newer run); none of its own cleanup states ran.',
  },
  TIMED_OUT: {
    outcome: 'timed_out',
    explain: 'The execution ran into its own TimeoutSeconds; none of its own cleanup states ran.',
  },
  FAILED: {
    outcome: 'failed',
    explain: 'The execution failed outside its own failure handling, or its own alert could not be published.',
  },
};

function runOf(
  event: ExecutionStatusChangeEvent,
  lock: LockItem | undefined,
): { trigger: string; requestedBy: string } {
  if (lock?.trigger) return { trigger: lock.trigger, requestedBy: lock.requestedBy ?? 'unknown' };
  let input: any;
  try {
    input = JSON.parse(event.detail.input ?? '{}');
  } catch {
    input = undefined;
  }
  if (input?.trigger === 'schedule' && typeof input.scheduledTime === 'string')
    return { trigger: 'schedule', requestedBy: 'EventBridge Scheduler' };
  const trigger =
    typeof input?.trigger === 'string' ? input.trigger : input && typeof input === 'object' ? 'console' : 'unknown';
  return { trigger, requestedBy: typeof input?.requestedBy === 'string' ? input.requestedBy : 'unknown' };
}

function buildAlert(
  event: ExecutionStatusChangeEvent,
  batch: string,
  lock: LockItem | undefined,
  task: CleanupReport['task'],
  lockStatus: CleanupReport['lock'],
): RunAlert {
  const { detail } = event;
  const kind = OUTCOMES[detail.status];
  const errorText = detail.error ? ` Error: ${detail.error}${detail.cause ? ` (${detail.cause})` : ''}.` : '';
  const taskMayStillRun = task?.stop.status === 'stop not confirmed';
  const taskText = task
    ? taskMayStillRun
      ? ` The cleanup asked ECS to stop task ${task.taskArn} but could not confirm it stopped: the task may still run (the next start refuses to run while it does).`
      : ` Task ${task.taskArn}: ${task.stop.status}.`
    : ' No ECS task had been started.';
  return {
    batch,
    outcome: kind.outcome,
    reason: `${kind.explain}${errorText}${taskText}`,
    ...runOf(event, lock),
    executionArn: detail.executionArn,
    taskArn: task?.taskArn ?? null,
    stopReason: task?.stop.stoppedReason ?? task?.stop.error ?? null,
    taskMayStillRun,
    lockStatus,
    details: {
      status: detail.status,
      error: detail.error ?? null,
      cause: detail.cause ?? null,
      startDate: detail.startDate ?? null,
      stopDate: detail.stopDate ?? null,
      task: task ? { taskArn: task.taskArn, foundIn: task.source, ...task.stop } : null,
    },
    source: 'cleanup',
  };
}
