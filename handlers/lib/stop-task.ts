import { DescribeTasksCommand, type ECSClient, StopTaskCommand, type Task } from '@aws-sdk/client-ecs';

export type StopStatus =
  /** ECS reported the task STOPPED before the handler asked it to stop. */
  | 'already stopped'
  /** ECS no longer knows the task (MISSING): it is not running. */
  | 'not found'
  /** StopTask was called and ECS then reported STOPPED within the bound. */
  | 'stopped'
  /** StopTask was called (or failed) and STOPPED was not seen within the bound: the task may still run. */
  | 'stop not confirmed';

export interface StopResult {
  readonly status: StopStatus;
  readonly lastStatus: string;
  readonly stoppedReason: string | null;
  readonly error?: string;
}

export interface StopOptions {
  readonly clusterArn: string;
  readonly taskArn: string;
  /** StopTask reason (shown in the console and in the ECS STOPPED event); at most 255 characters. */
  readonly reason: string;
  /** How long to wait for STOPPED after StopTask. */
  readonly confirmWithinMs: number;
  readonly pollIntervalMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function describe(ecs: ECSClient, clusterArn: string, taskArn: string): Promise<Task | undefined> {
  const res = await ecs.send(new DescribeTasksCommand({ cluster: clusterArn, tasks: [taskArn] }));
  return res.tasks?.find((t) => t.taskArn === taskArn);
}

/**
 * Stops a task by ARN unless it already stopped, then waits (bounded) until ECS reports it STOPPED.
 * A failed StopTask does not throw: the result says the task may still run, so the caller still
 * releases the lock and alerts (the next start's running-task check refuses while the task lives).
 */
export async function stopTaskAndConfirm(ecs: ECSClient, o: StopOptions): Promise<StopResult> {
  const sleep = o.sleep ?? defaultSleep;
  const now = o.now ?? Date.now;
  const before = await describe(ecs, o.clusterArn, o.taskArn);
  if (before === undefined) return { status: 'not found', lastStatus: 'MISSING', stoppedReason: null };
  if (before.lastStatus === 'STOPPED') {
    return { status: 'already stopped', lastStatus: 'STOPPED', stoppedReason: before.stoppedReason ?? null };
  }
  try {
    await ecs.send(new StopTaskCommand({ cluster: o.clusterArn, task: o.taskArn, reason: o.reason.slice(0, 255) }));
  } catch (err) {
    const e = err as Error;
    return {
      status: 'stop not confirmed',
      lastStatus: before.lastStatus ?? 'UNKNOWN',
      stoppedReason: null,
      error: `${e.name}: ${e.message}`,
    };
  }
  const deadline = now() + o.confirmWithinMs;
  let last = before;
  while (now() < deadline) {
    await sleep(o.pollIntervalMs);
    const current = await describe(ecs, o.clusterArn, o.taskArn);
    if (current === undefined) return { status: 'stopped', lastStatus: 'MISSING', stoppedReason: null };
    last = current;
    if (current.lastStatus === 'STOPPED')
      return { status: 'stopped', lastStatus: 'STOPPED', stoppedReason: current.stoppedReason ?? null };
  }
  return {
    status: 'stop not confirmed',
    lastStatus: last.lastStatus ?? 'UNKNOWN',
    stoppedReason: last.stoppedReason ?? null,
  };
}
