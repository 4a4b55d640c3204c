import { DescribeTasksCommand, type DescribeTasksCommandOutput } from '@aws-sdk/client-ecs';
import { defaultClients, type RunnerClients, requiredEnv } from './lib/aws-clients';
import { type CamelCaseTask, type EcsTaskStateChangeEvent, toDescribedTask } from './lib/ecs-task';
import { type LockItem, readLock, registerTaskWatch } from './lib/lock-item';
import { logEvent, tokenFingerprint } from './lib/log';
import {
  type DescribedTask,
  type StartResult,
  startedTaskArn,
  startFailureCause,
  tokenAnswerForStoppedTask,
} from './lib/task-outcome';
import { START_TIMED_OUT, stuckStatus } from './lib/start-timeout';
import { answerTaskToken, type TokenAnswer, type TokenAnswerResult } from './lib/task-token';

/**
 * Task watcher Lambda: turns "the batch's ECS task stopped" into the answer of the state machine's
 * `WaitForTaskToStop` task token, so that no state transitions happen while the batch runs.
 *
 * Two entry modes:
 * 1. From the state machine (`lambda:invoke.waitForTaskToken`), once per wait chunk: stores the
 *    chunk's token on the lock item (only while this execution owns the lock) and checks whether
 *    the task already stopped, which covers a lost ECS event and a task that stopped between chunks.
 * 2. From the EventBridge rule on ECS "Task State Change" (lastStatus STOPPED, group
 *    `batch-runner:<batch>`): finds the token on the batch's lock item and answers it.
 *
 * Answers: SendTaskSuccess with the task summary when the batch container exited 0, otherwise
 * SendTaskFailure `BatchRunner.TaskFailed` with the summary as JSON cause (the state machine parses
 * it with States.StringToJson). `BatchRunner.TaskNotStarted` when RunTask started no task (capacity
 * failures), `BatchRunner.LockLost` when another execution owns the lock.
 */

/** Payload of the `WaitForTaskToStop` state (see state-machines/batch-runner.asl.json). */
export interface WatchRequest {
  readonly taskToken: string;
  readonly executionArn: string;
  readonly batch: {
    readonly name: string;
    readonly lockTableName: string;
    readonly clusterArn: string;
    readonly containerName: string;
    readonly logGroupName: string;
    readonly logStreamPrefix: string;
    readonly hardTimeoutSeconds: number;
    /** Length of one wait chunk: the deadline tolerance is at most half of it. */
    readonly waitChunkSeconds?: number;
  };
  readonly start: StartResult;
  /** The batch's attempt options (`$.attempts.policy`): carries `startTimeoutSeconds` when set. */
  readonly policy?: { readonly startTimeoutSeconds?: number };
}

export type TaskWatcherEvent = WatchRequest | EcsTaskStateChangeEvent;

/** What the invocation did (returned for logs and tests; the state machine ignores it). */
export type WatchOutcome =
  | {
      readonly action: 'answered';
      readonly answer: TokenAnswer['kind'];
      readonly error?: string;
      readonly token: TokenAnswerResult;
    }
  | { readonly action: 'waiting'; readonly taskArn: string; readonly lastStatus: string }
  | { readonly action: 'ignored'; readonly why: string };

export interface TaskWatcherDeps {
  readonly clients: Pick<RunnerClients, 'dynamodb' | 'ecs' | 'sfn'>;
  /** Lock table for the ECS event path (the state machine path carries it in the payload). */
  readonly lockTableName: string;
  readonly now?: () => number;
}

/** ECS task group prefix the runner sets on RunTask (`Group: batch-runner:<batch>`). */
export const TASK_GROUP_PREFIX = 'batch-runner:';
/**
 * Margin added to the hard timeout for the lock item's TTL. Every chunk refreshes it, and the
 * execution ends long before it passes; TTL only tidies items an ended execution left behind.
 */
export const LOCK_TTL_MARGIN_SECONDS = 24 * 60 * 60;

export { NOT_STARTED_STATUSES, START_TIMED_OUT, stuckStatus } from './lib/start-timeout';

export const handler = async (event: TaskWatcherEvent): Promise<WatchOutcome> =>
  handleTaskWatcherEvent(event, { clients: defaultClients(), lockTableName: requiredEnv('LOCK_TABLE_NAME') });

/**
 * Error name the state machine's WaitForTaskToStop retries: an AWS call of the watcher failed for a
 * reason that says nothing about the batch (throttling, a timeout), so the batch must not be stopped.
 */
export const WATCHER_UNAVAILABLE = 'BatchRunner.WatcherUnavailable';

/**
 * When the task was created, from RunTask's answer (`CreatedAt`; the SDK integration's timestamp format
 * is not documented, so epoch seconds, epoch milliseconds and ISO text are all read), else now. The
 * deadline counts from there, so a first registration delayed by an outage does not move it later.
 */
export function startedAtSeconds(start: StartResult, nowSeconds: number): number {
  const raw = (start.Tasks?.[0] as { CreatedAt?: unknown } | undefined)?.CreatedAt;
  const ms =
    typeof raw === 'number' ? (raw < 1e12 ? raw * 1000 : raw) : typeof raw === 'string' ? Date.parse(raw) : NaN;
  const seconds = Math.floor(ms / 1000);
  return Number.isFinite(seconds) && seconds <= nowSeconds ? seconds : nowSeconds;
}

/** Error name the state machine's WaitForTaskToStop routes to RecordHardTimeout. */
export const DEADLINE_REACHED = 'BatchRunner.DeadlineReached';
/**
 * A registration this close to the deadline counts as at the deadline: the next wait chunk would
 * overshoot it by up to a whole chunk, while stopping now costs the batch at most these seconds.
 * (Chunk boundaries drift from the first registration by Lambda latencies of a second or so.)
 */
export const DEADLINE_TOLERANCE_SECONDS = 30;

/** The tolerance for a batch: at most half a chunk, so a registration mid-run is never mistaken for the deadline. */
export function deadlineToleranceSeconds(waitChunkSeconds: number | undefined): number {
  return waitChunkSeconds === undefined
    ? DEADLINE_TOLERANCE_SECONDS
    : Math.min(DEADLINE_TOLERANCE_SECONDS, waitChunkSeconds / 2);
}

export class WatcherUnavailableError extends Error {
  constructor(cause: Error) {
    super(`task-watcher could not register the wait (${cause.name}: ${cause.message}); the state machine retries.`);
    this.name = WATCHER_UNAVAILABLE;
  }
}

export async function handleTaskWatcherEvent(event: TaskWatcherEvent, deps: TaskWatcherDeps): Promise<WatchOutcome> {
  if ('taskToken' in event) {
    try {
      return await registerWatch(event, deps);
    } catch (err) {
      throw new WatcherUnavailableError(err as Error);
    }
  }
  if (event.source === 'aws.ecs' && event['detail-type'] === 'ECS Task State Change')
    return onTaskStateChange(event, deps);
  throw new Error(
    `task-watcher: unexpected event ${JSON.stringify(event).slice(0, 200)}: expected a WaitForTaskToStop payload or an ECS Task State Change event.`,
  );
}

async function registerWatch(req: WatchRequest, deps: TaskWatcherDeps): Promise<WatchOutcome> {
  const { batch } = req;
  const taskArn = startedTaskArn(req.start);
  if (taskArn === undefined) {
    const cause = startFailureCause(req.start);
    logEvent('RunTask started no task', { batch: batch.name, executionArn: req.executionArn, cause });
    return answered(
      await answerTaskToken(deps.clients.sfn, req.taskToken, {
        kind: 'failure',
        error: 'BatchRunner.TaskNotStarted',
        cause,
      }),
      {
        kind: 'failure',
        error: 'BatchRunner.TaskNotStarted',
      },
    );
  }
  const nowSeconds = Math.floor((deps.now ?? Date.now)() / 1000);
  const registration = await registerTaskWatch(deps.clients.dynamodb, batch.lockTableName, {
    batch: batch.name,
    owner: req.executionArn,
    taskArn,
    taskToken: req.taskToken,
    clusterArn: batch.clusterArn,
    containerName: batch.containerName,
    logGroupName: batch.logGroupName,
    logStreamPrefix: batch.logStreamPrefix,
    expiresAt: nowSeconds + batch.hardTimeoutSeconds + LOCK_TTL_MARGIN_SECONDS,
    deadlineAt: startedAtSeconds(req.start, nowSeconds) + batch.hardTimeoutSeconds,
    registeredAt: nowSeconds,
    ...(req.policy?.startTimeoutSeconds === undefined ? {} : { startTimeoutSeconds: req.policy.startTimeoutSeconds }),
  });
  if (!registration.registered) {
    const cause = JSON.stringify({
      message: `The lock of batch ${batch.name} is no longer held by this execution (current owner: ${registration.currentOwner ?? 'nobody'}); the runner stops its task rather than let two copies run.`,
      taskArn,
      currentOwner: registration.currentOwner ?? null,
    });
    logEvent('lock lost while the task runs', {
      batch: batch.name,
      executionArn: req.executionArn,
      taskArn,
      currentOwner: registration.currentOwner ?? null,
    });
    return answered(
      await answerTaskToken(deps.clients.sfn, req.taskToken, { kind: 'failure', error: 'BatchRunner.LockLost', cause }),
      {
        kind: 'failure',
        error: 'BatchRunner.LockLost',
      },
    );
  }
  logEvent('waiting for the task to stop', {
    batch: batch.name,
    taskArn,
    token: tokenFingerprint(req.taskToken),
    reRegistration: registration.previousTaskArn === taskArn,
  });

  // The task may have stopped before this chunk's token was stored (lost or early event): look. If the
  // look fails, the token is stored already: the STOPPED event or the next chunk answers it.
  const deadlineReached = nowSeconds >= registration.deadlineAt - deadlineToleranceSeconds(batch.waitChunkSeconds);
  let described: DescribeTasksCommandOutput;
  try {
    described = await deps.clients.ecs.send(new DescribeTasksCommand({ cluster: batch.clusterArn, tasks: [taskArn] }));
  } catch (err) {
    if (deadlineReached) return answerDeadlineReached(deps, req.taskToken, taskArn, registration.deadlineAt);
    logEvent('DescribeTasks failed after registering; waiting for the event', { taskArn, error: (err as Error).name });
    return { action: 'waiting', taskArn, lastStatus: 'UNKNOWN' };
  }
  const task = described.tasks?.find((t) => t.taskArn === taskArn);
  const lock: LockItem = {
    batch: batch.name,
    containerName: batch.containerName,
    logGroupName: batch.logGroupName,
    logStreamPrefix: batch.logStreamPrefix,
  };
  if (task?.lastStatus === 'STOPPED') {
    return answerStoppedTask(deps, req.taskToken, toDescribedTask({ ...(task as CamelCaseTask), taskArn }), lock);
  }
  if (task === undefined && registration.previousTaskArn === taskArn) {
    // ECS keeps stopped tasks visible for about an hour. A task this execution has watched before and
    // ECS no longer knows stopped long ago and its event was lost: fail rather than wait to the deadline.
    // (On the first registration MISSING is normal eventual consistency right after RunTask.)
    const vanished: DescribedTask = {
      TaskArn: taskArn,
      LastStatus: 'MISSING',
      StoppedReason: `ECS no longer knows the task (${described.failures?.map((f) => f.reason).join(', ') || 'no failure reason'}); its STOPPED event was not received.`,
    };
    return answerStoppedTask(deps, req.taskToken, vanished, lock);
  }
  const stuck = stuckStatus(task, startedAtSeconds(req.start, nowSeconds), req.policy?.startTimeoutSeconds, nowSeconds);
  if (stuck !== undefined) {
    const startTimeoutSeconds = req.policy?.startTimeoutSeconds ?? 0;
    const cause = `Task ${taskArn} stayed ${stuck.status} for ${nowSeconds - stuck.createdAtSeconds} s since it was created at ${new Date(stuck.createdAtSeconds * 1000).toISOString()}, longer than the start timeout of ${startTimeoutSeconds} s (last status ${stuck.status}${task?.pullStartedAt !== undefined ? ', image pull started' : ''}).`;
    logEvent('start timed out', { batch: batch.name, taskArn, lastStatus: stuck.status, startTimeoutSeconds });
    const answer: TokenAnswer = { kind: 'failure', error: START_TIMED_OUT, cause };
    return answered(await answerTaskToken(deps.clients.sfn, req.taskToken, answer), answer);
  }
  if (deadlineReached) return answerDeadlineReached(deps, req.taskToken, taskArn, registration.deadlineAt);
  return { action: 'waiting', taskArn, lastStatus: task?.lastStatus ?? 'MISSING' };
}

/**
 * The task still runs and the run's deadline (stored once with the lock) has come: the state machine
 * records the hard timeout and stops the task. Checked after looking at the task, so a task that
 * exited by itself in the last chunk gets its own outcome, not `timed_out`.
 */
async function answerDeadlineReached(
  deps: TaskWatcherDeps,
  taskToken: string,
  taskArn: string,
  deadlineAt: number,
): Promise<WatchOutcome> {
  const cause = JSON.stringify({
    message: `The run's deadline ${new Date(deadlineAt * 1000).toISOString()} has come and task ${taskArn} still runs.`,
    taskArn,
    deadlineAt,
  });
  logEvent('deadline reached', { taskArn, deadlineAt });
  const answer: TokenAnswer = { kind: 'failure', error: DEADLINE_REACHED, cause };
  return answered(await answerTaskToken(deps.clients.sfn, taskToken, answer), answer);
}

async function onTaskStateChange(event: EcsTaskStateChangeEvent, deps: TaskWatcherDeps): Promise<WatchOutcome> {
  const { detail } = event;
  if (detail.lastStatus !== 'STOPPED')
    return { action: 'ignored', why: `lastStatus is ${detail.lastStatus}, not STOPPED` };
  if (!detail.group?.startsWith(TASK_GROUP_PREFIX))
    return { action: 'ignored', why: `group ${detail.group} is not a batch-runner group` };
  const batch = detail.group.slice(TASK_GROUP_PREFIX.length);
  const lock = await readLock(deps.clients.dynamodb, deps.lockTableName, batch);
  if (lock?.taskArn !== detail.taskArn || lock.taskToken === undefined) {
    // Not (or no longer) watched: started outside the runner, or the run already ended. The chunk
    // registration covers the race where this event arrives before the token is stored.
    logEvent('stopped task is not watched', { batch, taskArn: detail.taskArn, lockTaskArn: lock?.taskArn ?? null });
    return { action: 'ignored', why: `task ${detail.taskArn} is not the watched task of batch ${batch}` };
  }
  return answerStoppedTask(deps, lock.taskToken, toDescribedTask(detail), lock);
}

async function answerStoppedTask(
  deps: TaskWatcherDeps,
  taskToken: string,
  task: DescribedTask,
  lock: LockItem,
): Promise<WatchOutcome> {
  const answer = tokenAnswerForStoppedTask(task, lock);
  const token = await answerTaskToken(deps.clients.sfn, taskToken, answer);
  logEvent('task stopped', { batch: lock.batch, taskArn: task.TaskArn, ok: answer.kind === 'success', token });
  return answered(token, answer);
}

function answered(token: TokenAnswerResult, answer: Pick<TokenAnswer, 'kind'> & { error?: string }): WatchOutcome {
  return answer.error === undefined
    ? { action: 'answered', answer: answer.kind, token }
    : { action: 'answered', answer: answer.kind, error: answer.error, token };
}
