import type { LockItem } from './lock-item';
import { MAX_CAUSE_LENGTH, type TokenAnswer } from './task-token';

/**
 * How a stopped ECS task becomes a run outcome. Shared by the task-watcher Lambda (which answers the
 * state machine's WaitForTaskToStop token) and the local mode.
 *
 * Sidecars: only the batch container (the batch's `containerName`) decides. A sidecar exiting
 * non-zero (e.g. a log router SIGKILLed with 137 at shutdown) is reported in `containers` but does
 * not fail the run. This differs from `ecs:runTask.sync`, which fails on any non-zero container.
 */

/** ECS task as Step Functions' aws-sdk integration and ECS events describe it (PascalCase). */
export interface DescribedTask {
  readonly TaskArn: string;
  readonly LastStatus?: string;
  readonly StopCode?: string;
  readonly StoppedReason?: string;
  readonly StartedAt?: string | number;
  readonly StoppedAt?: string | number;
  readonly LaunchType?: string;
  readonly CapacityProviderName?: string;
  readonly Containers?: ReadonlyArray<{
    readonly Name?: string;
    readonly ExitCode?: number;
    readonly Reason?: string;
    readonly LastStatus?: string;
  }>;
}

/** What the runner reports for a stopped task (state machine output `task`, alert details). */
export interface TaskSummary {
  readonly taskArn: string;
  readonly lastStatus: string;
  readonly exitCode: number | null;
  readonly stopCode: string | null;
  readonly stoppedReason: string | null;
  readonly startedAt: string | null;
  readonly stoppedAt: string | null;
  /**
   * Seconds from startedAt to stoppedAt (rounded), null when either is unknown. The state machine
   * compares it with the batch's `durationGuards` on the success path.
   */
  readonly durationSeconds: number | null;
  /**
   * Where the task ran: its capacity provider (`FARGATE_SPOT`, an Auto Scaling group provider) when
   * one placed it, else its launch type (`FARGATE`, `EC2`); null when ECS did not say.
   */
  readonly capacity: string | null;
  readonly containers: ReadonlyArray<{ name: string; exitCode: number | null; reason: string | null }>;
  readonly logUrl: string | null;
}

export type TaskVerdict =
  | { readonly ok: true; readonly summary: TaskSummary }
  | { readonly ok: false; readonly error: 'BatchRunner.TaskFailed'; readonly summary: TaskSummary };

const iso = (t: string | number | undefined): string | null =>
  t === undefined ? null : typeof t === 'number' ? new Date(t < 1e12 ? t * 1000 : t).toISOString() : t;

/** Console link to the batch container's log stream for this task (awslogs: prefix/container/task-id). */
export function taskLogUrl(
  region: string,
  logGroupName: string,
  logStreamPrefix: string,
  containerName: string,
  taskArn: string,
): string {
  const enc = (v: string) => encodeURIComponent(v).replace(/%/g, '$25');
  const taskId = taskArn.split('/').pop() ?? taskArn;
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/${enc(logGroupName)}/log-events/${enc(`${logStreamPrefix}/${containerName}/${taskId}`)}`;
}

/** Whole seconds between two ISO timestamps, null when either is missing or unreadable. */
export function durationSecondsOf(startedAt: string | null, stoppedAt: string | null): number | null {
  if (startedAt === null || stoppedAt === null) return null;
  const ms = Date.parse(stoppedAt) - Date.parse(startedAt);
  return Number.isFinite(ms) && ms >= 0 ? Math.round(ms / 1000) : null;
}

export function evaluateStoppedTask(task: DescribedTask, containerName: string, logUrl: string | null): TaskVerdict {
  const containers = (task.Containers ?? []).map((c) => ({
    name: c.Name ?? '?',
    exitCode: c.ExitCode ?? null,
    reason: c.Reason ?? null,
  }));
  const batchContainer = containers.find((c) => c.name === containerName);
  const summary: TaskSummary = {
    taskArn: task.TaskArn,
    lastStatus: task.LastStatus ?? 'UNKNOWN',
    exitCode: batchContainer?.exitCode ?? null,
    stopCode: task.StopCode ?? null,
    stoppedReason: task.StoppedReason ?? null,
    startedAt: iso(task.StartedAt),
    stoppedAt: iso(task.StoppedAt),
    durationSeconds: durationSecondsOf(iso(task.StartedAt), iso(task.StoppedAt)),
    capacity: task.CapacityProviderName ?? task.LaunchType ?? null,
    containers,
    logUrl,
  };
  // No exit code means the container never ran (image pull failure, task failed to start): a failure.
  return summary.exitCode === 0 ? { ok: true, summary } : { ok: false, error: 'BatchRunner.TaskFailed', summary };
}

/** RunTask request-response output as the state machine stores it in `$.start`. */
export interface StartResult {
  readonly Tasks?: ReadonlyArray<{ readonly TaskArn?: string }>;
  readonly Failures?: ReadonlyArray<{ readonly Arn?: string; readonly Reason?: string; readonly Detail?: string }>;
}

/** The started task's ARN, or undefined when RunTask answered with failures[] (e.g. RESOURCE:MEMORY). */
export function startedTaskArn(start: StartResult): string | undefined {
  return start.Tasks?.[0]?.TaskArn;
}

export function startFailureCause(start: StartResult): string {
  const failures = (start.Failures ?? []).map((f) => `${f.Reason ?? 'unknown'}${f.Detail ? ` (${f.Detail})` : ''}`);
  return JSON.stringify({
    message: `RunTask started no task: ${failures.join('; ') || 'no failures reported'}`,
    failures: start.Failures ?? [],
  });
}

/** The answer for a watched task that stopped: success when the batch container exited 0. Shared by the task watcher and the reconciler. */
export function tokenAnswerForStoppedTask(task: DescribedTask, lock: LockItem): TokenAnswer {
  const containerName = lock.containerName ?? '';
  const region = task.TaskArn.split(':')[3] ?? '';
  const logUrl =
    lock.logGroupName && lock.logStreamPrefix
      ? taskLogUrl(region, lock.logGroupName, lock.logStreamPrefix, containerName, task.TaskArn)
      : null;
  const verdict = evaluateStoppedTask(task, containerName, logUrl);
  return verdict.ok
    ? { kind: 'success', output: verdict.summary }
    : { kind: 'failure', error: verdict.error, cause: summaryCause(verdict.summary) };
}

/**
 * The summary as JSON for SendTaskFailure's cause. The state machine parses it, so it must stay
 * valid JSON within the 32768-character limit: shrink by dropping detail, never by cutting text.
 */
export function summaryCause(summary: TaskSummary): string {
  const full = JSON.stringify(summary);
  if (full.length <= MAX_CAUSE_LENGTH) return full;
  const reasonless = {
    ...summary,
    containers: summary.containers.map((c) => ({ ...c, reason: c.reason?.slice(0, 200) ?? null })),
  };
  const shorter = JSON.stringify(reasonless);
  if (shorter.length <= MAX_CAUSE_LENGTH) return shorter;
  return JSON.stringify({ ...summary, containers: [], stoppedReason: summary.stoppedReason?.slice(0, 1000) ?? null });
}
