import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { RunAlert } from './alert';
import { clusterArnOfTask } from './ecs-task';
import { type LockItem, readLock, releaseLockIfOwner, notePendingStop } from './lock-item';
import { deliverOwedAlerts, type DeliveryReport, oweAndDeliver, type PublishAlert } from './owed-alerts';
import { stuckStatus } from './start-timeout';
import { type DescribedTask, tokenAnswerForStoppedTask } from './task-outcome';
import type { TokenAnswer, TokenAnswerResult } from './task-token';

/**
 * The reconciler: one level-triggered rule that brings a batch back to a safe state from what the
 * services report now (the lock item, the owner execution's status, ECS's view of the batch's
 * tasks), never from an event having arrived. Kubernetes controllers work the same way: a lost event
 * costs latency, never correctness.
 *
 * The rule, per batch:
 * 1. A runner task of the batch that may still run (ECS last status not STOPPED) is *supervised*
 *    only while its execution holds the lock, that execution is RUNNING, and the run's deadline has
 *    not passed. Every other such task is stopped (StopTask by ARN). A task past its deadline first
 *    has its owner's wait token answered `BatchRunner.DeadlineReached`, so the state machine records
 *    the timeout itself.
 * 2. The lock of an owner that is no longer RUNNING is released only once none of the batch's
 *    runner tasks may still run (ECS reports them STOPPED or no longer knows them). Until then the
 *    lock stays held, with the tasks being stopped noted on it, and the next pass looks again.
 * 3. The watched task of a live owner that has already stopped gets its token answered (a lost ECS
 *    STOPPED event costs one reconciler interval, not a wait chunk).
 * 4. An owner that ended FAILED, TIMED_OUT or ABORTED owes one alert; owed alerts are delivered.
 *
 * Entry points: the scheduled pass over all batches, the Execution Status Change event (cleanup),
 * and the state machine itself (settling a stale lock before taking it over; finishing its own run
 * before releasing its lock). The local mode runs the same code against local services.
 */

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

/** An ECS task as the reconciler sees it. */
export interface ObservedTask {
  readonly taskArn: string;
  readonly clusterArn: string;
  readonly lastStatus: string;
  readonly desiredStatus: string;
  /** `batch-runner:batch` tag; undefined for a task the runner did not start. */
  readonly batch?: string;
  /** Execution name from the `batch-runner:execution-name-base64` tag. */
  readonly executionName?: string;
  /** Epoch milliseconds ECS created the task. */
  readonly createdAt?: number;
  /** `batch-runner:hard-timeout-seconds` tag: with createdAt, the deadline ECS itself can tell. */
  readonly hardTimeoutSeconds?: number;
  /** The task in the PascalCase shape the outcome evaluation reads. */
  readonly described: DescribedTask;
}

/** The services the reconciler reads and acts on: AWS SDK clients in Lambda, local stand-ins offline. */
export interface ReconcileWorld {
  /** The runner's tasks on a cluster whose desired status is RUNNING, described with their tags. */
  listRunnerTasks(clusterArn: string): Promise<ObservedTask[]>;
  /** Describes tasks by ARN (with tags); tasks ECS no longer knows are left out. */
  describeTasks(clusterArn: string, taskArns: readonly string[]): Promise<ObservedTask[]>;
  stopTask(clusterArn: string, taskArn: string, reason: string): Promise<void>;
  /** The execution's status and when it ended, or 'MISSING' when Step Functions does not know it. */
  describeExecution(executionArn: string): Promise<ExecutionView>;
  answerToken(taskToken: string, answer: TokenAnswer): Promise<TokenAnswerResult>;
  publish: PublishAlert;
  /** Names of the runner's state machines (`<prefix>-<batch>`), for the sweep of ended executions. */
  listStateMachines(namePrefix: string): Promise<Array<{ readonly name: string; readonly arn: string }>>;
  /** Executions of a state machine that ended FAILED, TIMED_OUT or ABORTED since `sinceMs`. */
  listEndedExecutions(stateMachineArn: string, sinceMs: number): Promise<EndedExecution[]>;
  /**
   * The most recent executions of a state machine, newest first, whatever their status (at most
   * `limit`), for `pauseAfterConsecutiveFailures`. Absent where no schedule exists (the local mode).
   */
  listRecentExecutions?(stateMachineArn: string, limit: number): Promise<RecentExecution[]>;
  /** The batches' EventBridge Scheduler schedules. Absent where no schedule exists (the local mode). */
  readonly schedules?: ScheduleSwitch;
}

/** One execution in a newest-first listing (ListExecutions). */
export interface RecentExecution {
  readonly executionArn: string;
  readonly status: ExecutionStatus;
  /** Epoch ms. */
  readonly startDate: number;
}

/** A batch's schedule as the reconciler may change it (handlers/lib/schedule-state.ts on AWS). */
export interface ScheduleSwitch {
  /** The schedule's state, or NOT_FOUND when the batch has no schedule. */
  state(batch: string): Promise<'ENABLED' | 'DISABLED' | 'NOT_FOUND'>;
  /** Disables the schedule, every other field unchanged. */
  disable(batch: string): Promise<void>;
  /** How messages name the schedule, e.g. `batch-runner-nightly (group batch-runner)`. */
  nameOf(batch: string): string;
}

/** What the reconciler reads of an execution (DescribeExecution). */
export interface ExecutionView {
  readonly status: ExecutionStatus | 'MISSING';
  /** Epoch milliseconds the execution ended (absent while it runs, or when unknown). */
  readonly stoppedAt?: number;
  /** The execution's input, output and error as DescribeExecution gives them (where the world knows them). */
  readonly input?: string | null;
  readonly output?: string | null;
  readonly error?: string | null;
}

/** One batch as the reconciler needs to know it. */
export interface BatchTarget {
  readonly name: string;
  readonly clusterArn: string;
  readonly stateMachineArn: string;
}

export interface ReconcileContext {
  readonly world: ReconcileWorld;
  readonly dynamodb: DynamoDBClient;
  readonly lockTableName: string;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Poll interval while waiting for STOPPED. */
  readonly pollIntervalMs?: number;
  /**
   * How long after its owner ended a lock is still kept, in case a RunTask the owner sent just before
   * it was stopped has not yet surfaced as a task in ECS. @default IN_FLIGHT_GRACE_MS
   */
  readonly inFlightGraceMs?: number;
}

export interface ReconcileRequest {
  /**
   * How long to wait for tasks this pass stopped to reach STOPPED before deciding about the lock.
   * 0 for the scheduled pass (the next pass looks again); the stop grace plus a margin when the
   * state machine waits for the answer.
   */
  readonly confirmWithinMs?: number;
  /** The lock owner is ending its own run and asks for the lock to be settled (no alert: it sends its own). */
  readonly finishing?: string;
  /** An execution that ended (from the status event): owes an alert even if it no longer holds the lock. */
  readonly ended?: EndedExecution;
  /** Deliver this batch's owed alerts in this pass (default true). */
  readonly deliverAlerts?: boolean;
  /** Tasks the caller knows of (e.g. the state machine's started task, which may be stopping already). */
  readonly knownTaskArns?: readonly string[];
  /** How to list again after waiting out the in-flight grace (default: the batch's own cluster). */
  readonly relist?: () => Promise<TaskListing>;
  /** Runner tasks listed already (the all-batches pass lists each cluster once), and when. */
  readonly listing?: TaskListing;
}

/** Runner tasks as ECS listed them, with the time the listing began. */
export interface TaskListing {
  readonly tasks: readonly ObservedTask[];
  /**
   * Epoch ms taken before the list call was sent. The in-flight grace is measured to this moment,
   * not to when the decision is made: a RunTask that took effect after the listing began may be
   * missing from it, however long the lock read and DescribeExecution that follow take.
   */
  readonly listedAt: number;
}

/** Lists with the time the listing began (see {@link TaskListing.listedAt}). */
export async function listTasksAt(
  now: () => number,
  list: () => Promise<readonly ObservedTask[]>,
): Promise<TaskListing> {
  const listedAt = now();
  return { tasks: await list(), listedAt };
}

export interface EndedExecution {
  readonly executionArn: string;
  readonly status: ExecutionStatus;
  readonly error?: string | null;
  readonly cause?: string | null;
  readonly input?: string | null;
  readonly startDate?: number | null;
  readonly stopDate?: number | null;
}

export type LockVerdict =
  | 'free'
  | 'held by a live owner'
  | 'released'
  | 'held until its task is confirmed STOPPED'
  | 'held: its owner ended moments ago'
  | 'free, but a task may still run'
  | 'held by another owner';

export interface TaskAction {
  readonly taskArn: string;
  readonly execution: string | null;
  readonly action: 'supervised' | 'stopped' | 'stop requested, not yet STOPPED' | 'stop failed';
  readonly why: string;
  readonly error?: string;
}

export interface BatchReconcileReport {
  readonly batch: string;
  readonly lockOwner: string | null;
  readonly ownerStatus: ExecutionStatus | 'MISSING' | 'ENDING' | null;
  readonly lock: LockVerdict;
  readonly tasks: readonly TaskAction[];
  /** Runner tasks of the batch that may still run after this pass (ARNs). */
  readonly mayStillRun: readonly string[];
  readonly tokenAnswered: string | null;
  readonly alert: 'sent' | 'already recorded' | 'owed: publish failed' | 'none owed';
  readonly alerts: DeliveryReport | null;
}

/**
 * A run stopped while its RunTask request was in flight may have its task appear in ECS a moment
 * after the execution ended. StartBatchTask gives one call 60 s; a lock is not handed on before that.
 */
export const IN_FLIGHT_GRACE_MS = 60_000;

/** How long after the lock was taken its task must be visible in ECS before "not found" means it is gone. */
export const WATCHED_TASK_VISIBLE_AFTER_MS = 10 * 60 * 1000;

const ENDED_ALERT_STATUSES: readonly string[] = ['FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'];

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Describes tasks on the cluster each one belongs to (from its ARN): ECS leaves out a task asked for
 * on the wrong cluster, and a task left out would look as if it had stopped.
 */
async function describeOnTheirClusters(
  world: ReconcileWorld,
  taskArns: readonly string[],
  fallbackCluster: string,
): Promise<ObservedTask[]> {
  const byCluster = new Map<string, string[]>();
  for (const arn of taskArns) {
    const cluster = clusterArnOfTask(arn) ?? fallbackCluster;
    byCluster.set(cluster, [...(byCluster.get(cluster) ?? []), arn]);
  }
  const out: ObservedTask[] = [];
  for (const [cluster, arns] of byCluster) out.push(...(await world.describeTasks(cluster, arns)));
  return out;
}

/** `arn:...:stateMachine:<name>` + execution name -> `arn:...:execution:<name>:<execution>`. */
export function executionArnOf(stateMachineArn: string, executionName: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
}

const executionNameOf = (executionArn: string) => executionArn.split(':').pop() ?? executionArn;

/** The run's deadline in epoch ms: the earlier of the one stored with the lock and the one the task's own tags and creation time give. */
export function deadlineOf(task: ObservedTask, lock: LockItem | undefined, ownerOfTask: boolean): number | undefined {
  // The earliest of the two: a registration delayed by an outage must not move the deadline later.
  const stored = ownerOfTask && lock?.deadlineAt !== undefined ? lock.deadlineAt * 1000 : undefined;
  const fromTags =
    task.createdAt !== undefined && task.hardTimeoutSeconds !== undefined
      ? task.createdAt + task.hardTimeoutSeconds * 1000
      : undefined;
  const candidates = [stored, fromTags].filter((d): d is number => d !== undefined);
  return candidates.length === 0 ? undefined : Math.min(...candidates);
}

/** Applies the rule to one batch. Safe to run twice or concurrently: every write is conditional. */
export async function reconcileBatch(
  ctx: ReconcileContext,
  target: BatchTarget,
  request: ReconcileRequest = {},
): Promise<BatchReconcileReport> {
  const { world } = ctx;
  const now = ctx.now ?? Date.now;

  // Order matters: tasks first, then the lock. A task that exists when listed was started by an
  // execution that held the lock, and that lock is released only after the task stopped, so a lock
  // read afterwards names the task's owner. (Read the other way round, a run starting in between
  // would look like an orphan.)
  const listing = request.listing ?? (await listTasksAt(now, () => world.listRunnerTasks(target.clusterArn)));
  const listed = listing.tasks.filter((t) => t.batch === target.name);
  const lock = await readLock(ctx.dynamodb, ctx.lockTableName, target.name);
  const owner = lock?.owner;
  const known = [
    ...new Set([lock?.taskArn, ...(lock?.pendingStopTaskArns ?? []), ...(request.knownTaskArns ?? [])]),
  ].filter((arn): arn is string => arn !== undefined && !listed.some((t) => t.taskArn === arn));
  const described = await describeOnTheirClusters(world, known, lock?.clusterArn ?? target.clusterArn);
  const observed = [...listed, ...described];
  const mayRun = observed.filter((t) => t.lastStatus !== 'STOPPED');

  const ownerView: ExecutionView | undefined =
    owner === undefined || owner === request.finishing ? undefined : await world.describeExecution(owner);
  const ownerStatus: BatchReconcileReport['ownerStatus'] =
    owner === undefined ? null : owner === request.finishing ? 'ENDING' : (ownerView?.status ?? 'MISSING');
  const ownerLive = ownerStatus === 'RUNNING';
  const nowMs = now();
  // The owner ended moments ago: a RunTask it sent may still surface. A caller that can wait (the
  // state machine's settle, the status event) waits the rest of the grace and looks again; the
  // scheduled pass keeps the lock until a later pass.
  const graceMs = ctx.inFlightGraceMs ?? IN_FLIGHT_GRACE_MS;
  // Measured to the listing: only a listing that began a whole grace after the owner ended shows
  // every task the owner's in-flight RunTask could have created.
  const endedMsAgo = ownerView?.stoppedAt === undefined ? Infinity : listing.listedAt - ownerView.stoppedAt;
  // (An owner that is ending its run itself was not described: its endedMsAgo is Infinity.)
  const ownerJustEnded = !ownerLive && endedMsAgo < graceMs;
  const confirmBudgetMs = request.confirmWithinMs ?? 0;
  if (ownerJustEnded && confirmBudgetMs >= graceMs - endedMsAgo) {
    await (ctx.sleep ?? defaultSleep)(graceMs - endedMsAgo);
    return reconcileBatch(ctx, target, {
      ...request,
      listing: request.relist ? await request.relist() : undefined,
      confirmWithinMs: confirmBudgetMs - (graceMs - endedMsAgo),
    });
  }

  // 3. The live owner's watched task already stopped: answer its token (a lost STOPPED event).
  let tokenAnswered: string | null = null;
  const watched = lock?.taskArn ? observed.find((t) => t.taskArn === lock.taskArn) : undefined;
  // ECS keeps stopped tasks visible for about an hour; right after RunTask a new task may not be
  // visible yet, so "unknown to ECS" counts only well after the task was registered with the lock.
  const registeredAgeMs = lock?.registeredAt !== undefined ? nowMs - lock.registeredAt * 1000 : 0;
  const watchedGone =
    lock?.taskArn !== undefined && watched === undefined && registeredAgeMs > WATCHED_TASK_VISIBLE_AFTER_MS;
  if (ownerLive && lock?.taskToken && lock.taskArn && (watched?.lastStatus === 'STOPPED' || watchedGone)) {
    const task: DescribedTask = watched?.described ?? {
      TaskArn: lock.taskArn,
      LastStatus: 'MISSING',
      StoppedReason: 'ECS no longer knows the task; its STOPPED event was not received.',
    };
    const result = await world.answerToken(lock.taskToken, tokenAnswerForStoppedTask(task, lock));
    tokenAnswered = `${result}: task ${lock.taskArn} stopped`;
  }

  // 1. Every task that may still run is supervised or stopped.
  const actions: TaskAction[] = [];
  for (const task of mayRun) {
    // The execution that started the task, from its tags; the lock's own registered task belongs to
    // the lock's owner even without them (tasks started before the tags existed).
    const execution = task.executionName
      ? executionArnOf(target.stateMachineArn, task.executionName)
      : task.taskArn === lock?.taskArn
        ? (owner ?? null)
        : null;
    const ownersTask = execution !== null && execution === owner;
    const deadline = deadlineOf(task, lock, ownersTask);
    // Past the deadline, not at it: the reconciler answers the owner's token and stops the task at once.
    const pastDeadline = deadline !== undefined && nowMs > deadline;
    if (ownersTask && ownerLive && !pastDeadline) {
      // The start timeout, as ground truth every scheduled pass (the watcher checks it only per chunk):
      // the state machine stops the task on this answer; a lost answer is repeated by the next pass.
      const stuck =
        lock?.taskToken && lock.taskArn === task.taskArn
          ? stuckStatus(
              {
                lastStatus: task.lastStatus,
                createdAt: task.createdAt === undefined ? undefined : new Date(task.createdAt),
              },
              Math.floor(nowMs / 1000),
              lock.startTimeoutSeconds,
              Math.floor(nowMs / 1000),
            )
          : undefined;
      if (stuck !== undefined && lock?.taskToken) {
        const waited = Math.floor(nowMs / 1000) - stuck.createdAtSeconds;
        const result = await world.answerToken(lock.taskToken, {
          kind: 'failure',
          error: 'BatchRunner.StartTimedOut',
          cause: `Task ${task.taskArn} stayed ${stuck.status} for ${waited} s since it was created at ${new Date(stuck.createdAtSeconds * 1000).toISOString()}, longer than the start timeout of ${lock.startTimeoutSeconds} s (seen by the reconciler).`,
        });
        tokenAnswered = `${result}: start timed out (${stuck.status})`;
      }
      actions.push({
        taskArn: task.taskArn,
        execution,
        action: 'supervised',
        why: 'its execution holds the lock and runs',
      });
      continue;
    }
    let why: string;
    if (ownersTask && ownerLive) {
      why = `hard timeout: the run's deadline ${new Date(deadline ?? 0).toISOString()} has passed`;
      if (lock?.taskToken && lock.taskArn === task.taskArn) {
        const result = await world.answerToken(lock.taskToken, {
          kind: 'failure',
          error: 'BatchRunner.DeadlineReached',
          cause: JSON.stringify({ message: `${why}; the reconciler stops the task.`, taskArn: task.taskArn }),
        });
        tokenAnswered = `${result}: deadline reached`;
      }
    } else if (ownersTask) {
      why =
        ownerStatus === 'ENDING'
          ? `its execution ${executionNameOf(execution)} is ending its run`
          : `its execution ${executionNameOf(execution)} is ${ownerStatus}`;
    } else {
      why = execution
        ? `its execution ${executionNameOf(execution)} does not hold the lock`
        : 'it carries no execution tag of the runner';
    }
    const reason = `batch-runner reconciler: ${why}`.slice(0, 255);
    try {
      // Noted on the lock before StopTask: a task asked to stop leaves ECS's RUNNING list at once, and
      // whoever comes next must still find it until it is STOPPED.
      if (owner !== undefined)
        await notePendingStop(ctx.dynamodb, ctx.lockTableName, target.name, owner, [task.taskArn]);
      await world.stopTask(task.clusterArn, task.taskArn, reason);
      actions.push({ taskArn: task.taskArn, execution, action: 'stop requested, not yet STOPPED', why });
    } catch (err) {
      const e = err as Error;
      actions.push({ taskArn: task.taskArn, execution, action: 'stop failed', why, error: `${e.name}: ${e.message}` });
    }
  }

  // Wait (bounded) for what this pass stopped.
  let stillRunning = new Set(mayRun.filter((t) => !isSupervised(actions, t.taskArn)).map((t) => t.taskArn));
  // Without a budget (the scheduled pass) nothing is waited for: the next pass looks again.
  const until = now() + (request.confirmWithinMs ?? 0);
  while (stillRunning.size > 0 && now() < until) {
    await (ctx.sleep ?? defaultSleep)(ctx.pollIntervalMs ?? 5000);
    const current = await describeOnTheirClusters(world, [...stillRunning], target.clusterArn);
    stillRunning = new Set(current.filter((t) => t.lastStatus !== 'STOPPED').map((t) => t.taskArn));
  }
  const finalActions = actions.map((a) =>
    a.action === 'stop requested, not yet STOPPED' && !stillRunning.has(a.taskArn)
      ? { ...a, action: 'stopped' as const }
      : a,
  );
  const mayStillRun = mayRun
    .filter((t) => stillRunning.has(t.taskArn) || isSupervised(actions, t.taskArn))
    .map((t) => t.taskArn);

  // 2. The lock of an owner that no longer runs: released once no task of the batch may still run.
  let lockVerdict: LockVerdict;
  if (owner === undefined) lockVerdict = stillRunning.size === 0 ? 'free' : 'free, but a task may still run';
  else if (ownerLive) lockVerdict = 'held by a live owner';
  else if (ownerJustEnded) lockVerdict = 'held: its owner ended moments ago';
  else if (stillRunning.size === 0) {
    lockVerdict =
      (await releaseLockIfOwner(ctx.dynamodb, ctx.lockTableName, target.name, owner)) === 'released'
        ? 'released'
        : 'held by another owner';
  } else {
    await notePendingStop(ctx.dynamodb, ctx.lockTableName, target.name, owner, [...stillRunning]);
    lockVerdict = 'held until its task is confirmed STOPPED';
  }

  // 4. Alerts: the ended owner (or the ended execution of the event) owes one; deliver what is owed.
  const endedOwner =
    owner !== undefined && ownerStatus !== null && ENDED_ALERT_STATUSES.includes(ownerStatus)
      ? { executionArn: owner, status: ownerStatus as ExecutionStatus }
      : undefined;
  const ended = request.ended ?? endedOwner;
  let alert: BatchReconcileReport['alert'] = 'none owed';
  if (ended && ENDED_ALERT_STATUSES.includes(ended.status)) {
    const endedTasks = finalActions.filter((a) => a.execution === ended.executionArn);
    alert = await oweAndDeliver(
      ctx.dynamodb,
      ctx.lockTableName,
      world.publish,
      endedRunAlert(target.name, ended, owner === ended.executionArn ? lock : undefined, endedTasks, lockVerdict),
      Math.floor(nowMs / 1000),
    );
  }
  const alerts =
    request.deliverAlerts === false
      ? null
      : await deliverOwedAlerts(ctx.dynamodb, ctx.lockTableName, world.publish, Math.floor(nowMs / 1000), {
          onlyBatch: target.name,
        });

  return {
    batch: target.name,
    lockOwner: owner ?? null,
    ownerStatus,
    lock: lockVerdict,
    tasks: finalActions,
    mayStillRun,
    tokenAnswered,
    alert,
    alerts,
  };
}

function isSupervised(actions: readonly TaskAction[], taskArn: string): boolean {
  return actions.some((a) => a.taskArn === taskArn && a.action === 'supervised');
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
    explain: 'The execution failed outside its own failure handling.',
  },
  PENDING_REDRIVE: {
    outcome: 'failed',
    explain: 'The execution failed and waits for a redrive; none of its own cleanup states ran.',
  },
};

function runOf(ended: EndedExecution, lock: LockItem | undefined): { trigger: string; requestedBy: string } {
  if (lock?.trigger) return { trigger: lock.trigger, requestedBy: lock.requestedBy ?? 'unknown' };
  let input: any;
  try {
    input = JSON.parse(ended.input ?? 'null');
  } catch {
    input = undefined;
  }
  if (input?.trigger === 'schedule' && typeof input.scheduledTime === 'string')
    return { trigger: 'schedule', requestedBy: 'EventBridge Scheduler' };
  const trigger =
    typeof input?.trigger === 'string' ? input.trigger : input && typeof input === 'object' ? 'console' : 'unknown';
  return { trigger, requestedBy: typeof input?.requestedBy === 'string' ? input.requestedBy : 'unknown' };
}

/** The alert for a run that ended outside its own failure path (stopped, timed out, failed at run time). */
export function endedRunAlert(
  batch: string,
  ended: EndedExecution,
  lock: LockItem | undefined,
  tasks: readonly TaskAction[],
  lockVerdict: LockVerdict,
): RunAlert {
  const kind = OUTCOMES[ended.status] ?? { outcome: 'failed', explain: `The execution ended ${ended.status}.` };
  // One full stop after the error text, also when the cause ends with its own (AWS's usually do).
  const errorText = ended.error
    ? ` Error: ${ended.error}${ended.cause ? `: ${ended.cause.replace(/\.$/, '')}` : ''}.`
    : '';
  const task = tasks[0];
  const taskMayStillRun = tasks.some((t) => t.action !== 'stopped');
  const taskText = task
    ? taskMayStillRun
      ? ` The reconciler asked ECS to stop task ${task.taskArn} (${task.why}) and has not yet seen it STOPPED: the lock stays held until it is, and the reconciler keeps checking.`
      : ` Task ${task.taskArn} was stopped by the reconciler (${task.why}).`
    : lock?.taskArn
      ? ` Its task ${lock.taskArn} had already stopped.`
      : ' No task of this execution was running.';
  const lockStatus =
    lockVerdict === 'held until its task is confirmed STOPPED'
      ? 'held until the task is confirmed STOPPED'
      : lockVerdict === 'held: its owner ended moments ago'
        ? 'held for a moment (a task start may still be in flight), then released by the reconciler'
        : lockVerdict === 'released'
          ? 'released'
          : 'not held by this execution';
  return {
    batch,
    outcome: kind.outcome,
    reason: `${kind.explain}${errorText}${taskText}`,
    ...runOf(ended, lock),
    executionArn: ended.executionArn,
    taskArn: task?.taskArn ?? lock?.taskArn ?? null,
    stopReason: task ? `batch-runner reconciler: ${task.why}` : null,
    taskMayStillRun,
    lockStatus,
    details: {
      status: ended.status,
      error: ended.error ?? null,
      cause: ended.cause ?? null,
      startDate: ended.startDate ?? null,
      stopDate: ended.stopDate ?? null,
      tasks,
    },
    source: 'reconciler',
  };
}

/**
 * The all-batches pass over tasks listed once for every cluster: each batch reconciled on its own (one
 * batch's failure is reported, not thrown), owed alerts left to one delivery after the pass.
 */
export async function reconcileAll(
  ctx: ReconcileContext,
  targets: readonly BatchTarget[],
  listing: TaskListing,
): Promise<{ reports: BatchReconcileReport[]; errors: { batch: string; error: string }[] }> {
  const reports: BatchReconcileReport[] = [];
  const errors: { batch: string; error: string }[] = [];
  for (const target of targets) {
    try {
      reports.push(await reconcileBatch(ctx, target, { listing, deliverAlerts: false }));
    } catch (err) {
      const e = err as Error;
      errors.push({ batch: target.name, error: `${e.name}: ${e.message}` });
    }
  }
  return { reports, errors };
}

/** How far back the sweep looks for ended executions that owe an alert (longer than a full sweep cycle). */
export const SWEEP_LOOKBACK_MS = 24 * 60 * 60 * 1000;
/** State machines swept per pass, in turn, so that a pass stays small with 200 batches. */
export const SWEEP_STATE_MACHINES_PER_PASS = 20;

/**
 * The sweep: an execution that ended FAILED, TIMED_OUT or ABORTED while it held no lock (stopped by hand
 * while it waited or skipped, say) leaves no trace in the lock table, so if its status event is lost
 * only Step Functions' own list knows it. Each pass reads the ended executions of a slice of the
 * runner's state machines, in turn, and owes an alert for every one that has none recorded (the alert
 * record is the deduplication: an execution already alerted for records nothing new). It also names
 * the swept batches with a FAILED or TIMED_OUT run, for the check of `pauseAfterConsecutiveFailures`.
 */
export async function sweepEndedExecutions(
  ctx: ReconcileContext,
  namePrefix: string,
  passIndex: number,
): Promise<{ readonly swept: string[]; readonly owed: string[]; readonly failedBatches: string[] }> {
  const machines = (await ctx.world.listStateMachines(namePrefix)).sort((a, b) => a.name.localeCompare(b.name));
  if (machines.length === 0) return { swept: [], owed: [], failedBatches: [] };
  const perPass = Math.min(SWEEP_STATE_MACHINES_PER_PASS, machines.length);
  const start = (passIndex * perPass) % machines.length;
  const slice = Array.from({ length: perPass }, (_, i) => machines[(start + i) % machines.length]);
  const nowMs = (ctx.now ?? Date.now)();
  const owed: string[] = [];
  const failedBatches = new Set<string>();
  for (const machine of slice) {
    const batch = machine.name.slice(namePrefix.length + 1);
    for (const ended of await ctx.world.listEndedExecutions(machine.arn, nowMs - SWEEP_LOOKBACK_MS)) {
      // A run that failed may complete a streak of pauseAfterConsecutiveFailures (its status event may be lost).
      if (ended.status === 'FAILED' || ended.status === 'TIMED_OUT') failedBatches.add(batch);
      const result = await oweAndDeliver(
        ctx.dynamodb,
        ctx.lockTableName,
        ctx.world.publish,
        endedRunAlert(batch, ended, undefined, [], 'held by another owner'),
        Math.floor(nowMs / 1000),
      );
      if (result !== 'already recorded') owed.push(ended.executionArn);
    }
  }
  return { swept: slice.map((m) => m.name), owed, failedBatches: [...failedBatches] };
}
