import { type PauseRecord, readPauseRecord } from '../handlers/lib/pause-record';
import { pathToFileURL } from 'node:url';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeTasksCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { GetScheduleCommand } from '@aws-sdk/client-scheduler';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionStatus,
  type HistoryEvent,
  ListExecutionsCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { BatchConfig } from '../config/batch-config';
import { releaseLockIfOwner } from '../handlers/lib/lock-item';
import { taskLogUrl } from '../handlers/lib/task-outcome';
import { scheduleGroupName, scheduleName, stateMachineName } from '../config/naming';
import type { ExecutionRecord, LocalRuntime } from '../local/local-runtime';
import type { AwsClients } from './aws-clients';
import { type DeploymentResolver, executionConsoleUrl } from './deployment';
import { currentStateOf, enteredState, failureSummaryOf, historyEvents, startedTaskArnOf } from './execution-history';
import { outcomeOf, type RunOutcome, triggerOfInput } from './outcome';

/** A batch's lock item and whether its owner still runs. */
export interface LockInfo {
  readonly owner: string;
  readonly acquiredAt?: string;
  readonly trigger?: string;
  readonly requestedBy?: string;
  readonly reason?: string;
  readonly reclaimedFrom?: string;
  /** The owner execution's status: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, or DOES_NOT_EXIST. */
  readonly ownerStatus: string;
  /** True only if the owner is RUNNING: otherwise the lock is stale and the next start reclaims it. */
  readonly ownerRunning: boolean;
}

export interface TaskInfo {
  readonly taskArn: string;
  readonly lastStatus: string;
  readonly desiredStatus?: string;
  readonly startedAt?: string;
  readonly group?: string;
  readonly startedBy?: string;
}

export interface ExecutionInfo {
  readonly executionArn: string;
  readonly name: string;
  readonly status: string;
  readonly startDate?: string;
  readonly stopDate?: string;
  readonly durationMs?: number;
  readonly trigger: string;
  readonly requestedBy?: string;
  readonly inputReason?: string;
  /** RUNNING executions: the state they are in. */
  readonly currentState?: string;
  readonly outcome: RunOutcome;
}

export type ScheduleState = 'ENABLED' | 'DISABLED' | 'NOT_FOUND' | 'LOCAL';

/** One state of an execution's timeline: when it was entered and (once it has) left. */
export interface StateEntry {
  readonly name: string;
  readonly enteredAt?: string;
  readonly exitedAt?: string;
}

/** The task an execution started, as ECS (or the local stand-in) reports it now. */
export interface ExecutionTask {
  readonly taskArn: string;
  /** Undefined when ECS no longer knows the task (stopped tasks are kept for about an hour). */
  readonly lastStatus?: string;
  readonly exitCode?: number | null;
  readonly stoppedReason?: string;
  readonly logUrl?: string;
}

/** One execution in full (`show`, `watch`, `stop --wait`, `rerun`). */
export interface ExecutionDetail extends ExecutionInfo {
  readonly batch: string;
  /** The execution input as started (parsed JSON). */
  readonly input: unknown;
  readonly states: readonly StateEntry[];
  readonly task?: ExecutionTask;
  /** Step Functions console (AWS only). */
  readonly consoleUrl?: string;
}

/** An execution named on the command line, with the batch it belongs to. */
export interface FoundExecution {
  readonly batch: BatchConfig;
  readonly executionArn: string;
}

/** What the read commands and `unlock` need, against AWS or the local mode. */
export interface BatchBackend {
  readonly mode: 'aws' | 'local';
  lock(batch: BatchConfig): Promise<LockInfo | undefined>;
  /** Deletes the lock only if `owner` still holds it; false if it did not. */
  releaseLock(batch: BatchConfig, owner: string): Promise<boolean>;
  runningTasks(batch: BatchConfig): Promise<TaskInfo[]>;
  executions(batch: BatchConfig, options: { limit: number; runningOnly?: boolean }): Promise<ExecutionInfo[]>;
  scheduleState(batch: BatchConfig): Promise<ScheduleState>;
  /**
   * The batch's pause item (`pauseAfterConsecutiveFailures`); absent where schedules do not exist (local).
   */
  pauseRecord?(batch: BatchConfig): Promise<PauseRecord | undefined>;
  /** An execution by name or ARN among the executions of `batches`; undefined if there is none. */
  findExecution(ref: string, batches: readonly BatchConfig[]): Promise<FoundExecution | undefined>;
  /** One execution with its states, task and links; undefined if it does not exist. */
  describeExecution(batch: BatchConfig, executionArn: string): Promise<ExecutionDetail | undefined>;
  /** StopExecution with an error and cause, as the console's stop does; the reconciler does the rest. */
  stopExecution(batch: BatchConfig, executionArn: string, error: string, cause: string): Promise<void>;
  close(): Promise<void>;
}

/** States entered and exited, in order, from history events (any order). */
export function timelineOf(events: readonly HistoryEvent[]): StateEntry[] {
  const states: Array<{ name: string; enteredAt?: string; exitedAt?: string }> = [];
  for (const e of [...events].sort((a, b) => (a.id ?? 0) - (b.id ?? 0))) {
    const entered = enteredState(e);
    if (entered) states.push({ name: entered, enteredAt: iso(e.timestamp) });
    else if (e.type?.endsWith('StateExited')) {
      const name = e.stateExitedEventDetails?.name;
      const open = [...states].reverse().find((s) => s.name === name && !s.exitedAt);
      if (open) open.exitedAt = iso(e.timestamp);
    }
  }
  return states;
}

const parseInput = (text: unknown): unknown => {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

const iso = (d: Date | string | number | undefined): string | undefined =>
  d === undefined ? undefined : new Date(d).toISOString();
const durationOf = (start?: string, stop?: string, now = Date.now()) =>
  start ? (stop ? Date.parse(stop) : now) - Date.parse(start) : undefined;

function lockInfoFrom(item: Record<string, string>, ownerStatus: string): LockInfo {
  return {
    owner: item.owner,
    acquiredAt: item.acquiredAt,
    trigger: item.trigger,
    requestedBy: item.requestedBy,
    reason: item.reason,
    reclaimedFrom: item.reclaimedFrom,
    ownerStatus,
    ownerRunning: ownerStatus === 'RUNNING',
  };
}

export class AwsBackend implements BatchBackend {
  readonly mode = 'aws';

  constructor(
    private readonly clients: AwsClients,
    private readonly resolver: DeploymentResolver,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async executionStatus(executionArn: string): Promise<string> {
    try {
      const d = await this.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
      return d.status ?? 'UNKNOWN';
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'ExecutionDoesNotExist' || name === 'InvalidArn') return 'DOES_NOT_EXIST';
      throw err;
    }
  }

  async lock(batch: BatchConfig): Promise<LockInfo | undefined> {
    const d = await this.resolver.resolve(batch);
    const { Item } = await this.clients.dynamodb.send(
      new GetItemCommand({ TableName: d.lockTableName, Key: { batch: { S: batch.name } }, ConsistentRead: true }),
    );
    if (!Item?.owner?.S) return undefined;
    const item = Object.fromEntries(Object.entries(Item).map(([k, v]) => [k, String(v.S ?? v.N ?? '')]));
    return lockInfoFrom(item, await this.executionStatus(item.owner));
  }

  async releaseLock(batch: BatchConfig, owner: string): Promise<boolean> {
    const d = await this.resolver.resolve(batch);
    return (await releaseLockIfOwner(this.clients.dynamodb, d.lockTableName, batch.name, owner)) === 'released';
  }

  async runningTasks(batch: BatchConfig): Promise<TaskInfo[]> {
    const d = await this.resolver.resolve(batch);
    if (!d.clusterArn) return [];
    const { taskArns } = await this.clients.ecs.send(
      new ListTasksCommand({ cluster: d.clusterArn, family: d.family, desiredStatus: 'RUNNING' }),
    );
    if (!taskArns || taskArns.length === 0) return [];
    const { tasks } = await this.clients.ecs.send(
      new DescribeTasksCommand({ cluster: d.clusterArn, tasks: taskArns.slice(0, 100) }),
    );
    return (tasks ?? []).map((t) => ({
      taskArn: t.taskArn ?? '?',
      lastStatus: t.lastStatus ?? 'UNKNOWN',
      desiredStatus: t.desiredStatus,
      startedAt: iso(t.startedAt),
      group: t.group,
      startedBy: t.startedBy,
    }));
  }

  async executions(batch: BatchConfig, options: { limit: number; runningOnly?: boolean }): Promise<ExecutionInfo[]> {
    const d = await this.resolver.resolve(batch);
    const listed = await this.clients.sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: d.stateMachineArn,
        maxResults: options.limit,
        ...(options.runningOnly ? { statusFilter: 'RUNNING' as ExecutionStatus } : {}),
      }),
    );
    const infos: ExecutionInfo[] = [];
    for (const item of (listed.executions ?? []).slice(0, options.limit)) {
      const described = await this.clients.sfn.send(new DescribeExecutionCommand({ executionArn: item.executionArn! }));
      const status = described.status ?? item.status ?? 'UNKNOWN';
      let events: HistoryEvent[] = [];
      if (status === 'FAILED')
        events = await historyEvents(this.clients.sfn, item.executionArn!, { reverse: true, max: 5 });
      if (status === 'RUNNING')
        events = await historyEvents(this.clients.sfn, item.executionArn!, { reverse: true, max: 10 });
      infos.push(
        this.toInfo(
          {
            ...described,
            executionArn: item.executionArn,
            name: described.name ?? item.name,
            status: status as ExecutionStatus,
            startDate: described.startDate ?? item.startDate,
            stopDate: described.stopDate ?? item.stopDate,
          },
          events,
        ),
      );
    }
    return infos;
  }

  private toInfo(described: Omit<DescribeExecutionCommandOutput, '$metadata'>, events: HistoryEvent[]): ExecutionInfo {
    const arn = described.executionArn!;
    const status = described.status ?? 'UNKNOWN';
    const startDate = iso(described.startDate);
    const stopDate = iso(described.stopDate);
    const input = triggerOfInput(described.input);
    return {
      executionArn: arn,
      name: described.name ?? arn.split(':').pop()!,
      status,
      startDate,
      stopDate,
      durationMs: durationOf(startDate, stopDate, this.now().getTime()),
      trigger: input.trigger,
      requestedBy: input.requestedBy,
      inputReason: input.reason,
      currentState: status === 'RUNNING' ? currentStateOf(events)?.name : undefined,
      outcome: outcomeOf({
        status,
        output: described.output,
        error: described.error,
        cause: described.cause,
        failureSummary: status === 'FAILED' ? failureSummaryOf(events) : undefined,
      }),
    };
  }

  async findExecution(ref: string, batches: readonly BatchConfig[]): Promise<FoundExecution | undefined> {
    if (ref.startsWith('arn:')) {
      const parts = ref.split(':');
      const batch = batches.find((b) => stateMachineName(b.name, this.resolver.prefix) === parts[6]);
      if (parts[5] !== 'execution' || !batch) return undefined;
      return (await this.executionStatus(ref)) === 'DOES_NOT_EXIST' ? undefined : { batch, executionArn: ref };
    }
    // Names carry their batch (`cli-<batch>-<time>-<random>`, the scheduler's too); console names may
    // not: those batches are asked last, longest batch name first so "a-b" wins over "a".
    const candidates = [...batches].sort(
      (a, b) => Number(ref.includes(b.name)) - Number(ref.includes(a.name)) || b.name.length - a.name.length,
    );
    for (const batch of candidates) {
      const machine = await this.resolver.stateMachineArn(batch.name);
      if (!machine) continue;
      const executionArn = `${machine.replace(':stateMachine:', ':execution:')}:${ref}`;
      if ((await this.executionStatus(executionArn)) !== 'DOES_NOT_EXIST') return { batch, executionArn };
    }
    return undefined;
  }

  async describeExecution(batch: BatchConfig, executionArn: string): Promise<ExecutionDetail | undefined> {
    const d = await this.resolver.resolve(batch);
    let described: DescribeExecutionCommandOutput;
    try {
      described = await this.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
    } catch (err) {
      if (['ExecutionDoesNotExist', 'InvalidArn'].includes((err as Error).name)) return undefined;
      throw err;
    }
    const events = await historyEvents(this.clients.sfn, executionArn, { reverse: false, max: 5000 });
    const info = this.toInfo(described, events);
    const taskArn = info.outcome.taskArn ?? startedTaskArnOf(events);
    let task: ExecutionTask | undefined;
    if (taskArn) {
      let described: Record<string, any> | undefined;
      if (d.clusterArn) {
        const { tasks } = await this.clients.ecs.send(
          new DescribeTasksCommand({ cluster: d.clusterArn, tasks: [taskArn] }),
        );
        described = tasks?.[0];
      }
      const container = (described?.containers ?? []).find((c: any) => c.name === d.containerName);
      task = {
        taskArn,
        lastStatus: described?.lastStatus,
        exitCode: info.outcome.exitCode ?? container?.exitCode,
        stoppedReason: info.outcome.stoppedReason ?? described?.stoppedReason,
        logUrl:
          info.outcome.logUrl ?? taskLogUrl(d.region, d.logGroupName, d.logStreamPrefix, d.containerName, taskArn),
      };
    }
    return {
      ...info,
      batch: batch.name,
      input: parseInput(described.input),
      states: timelineOf(events),
      task,
      consoleUrl: executionConsoleUrl(d.region, executionArn),
    };
  }

  async stopExecution(_batch: BatchConfig, executionArn: string, error: string, cause: string): Promise<void> {
    await this.clients.sfn.send(new StopExecutionCommand({ executionArn, error, cause }));
  }

  async pauseRecord(batch: BatchConfig): Promise<PauseRecord | undefined> {
    const d = await this.resolver.resolve(batch);
    return readPauseRecord(this.clients.dynamodb, d.lockTableName, batch.name);
  }

  async scheduleState(batch: BatchConfig): Promise<ScheduleState> {
    try {
      const s = await this.clients.scheduler.send(
        new GetScheduleCommand({
          Name: scheduleName(batch.name, this.resolver.prefix),
          GroupName: scheduleGroupName(this.resolver.prefix),
        }),
      );
      return s.State === 'DISABLED' ? 'DISABLED' : 'ENABLED';
    } catch (err) {
      if ((err as Error).name === 'ResourceNotFoundException') return 'NOT_FOUND';
      throw err;
    }
  }

  async close(): Promise<void> {}
}

/** The same questions answered from the local mode's state directory. */
export class LocalBackend implements BatchBackend {
  readonly mode = 'local';

  constructor(readonly runtime: LocalRuntime) {}

  async lock(batch: BatchConfig): Promise<LockInfo | undefined> {
    const item = await this.runtime.lockItem(batch.name);
    if (!item?.owner) return undefined;
    return lockInfoFrom(item, this.runtime.registry.get(item.owner)?.status ?? 'DOES_NOT_EXIST');
  }

  releaseLock(batch: BatchConfig, owner: string): Promise<boolean> {
    return this.runtime.releaseLock(batch.name, owner);
  }

  async runningTasks(batch: BatchConfig): Promise<TaskInfo[]> {
    return this.runtime.ecs.runningTasksOf(batch.name).map((t) => ({
      taskArn: t.TaskArn,
      lastStatus: t.LastStatus,
      desiredStatus: t.DesiredStatus,
      startedAt: iso(t.StartedAt),
      group: t.Group,
      startedBy: t.StartedBy,
    }));
  }

  async executions(batch: BatchConfig, options: { limit: number; runningOnly?: boolean }): Promise<ExecutionInfo[]> {
    return this.runtime.registry
      .list(batch.name)
      .filter((r) => !options.runningOnly || r.status === 'RUNNING')
      .slice(0, options.limit)
      .map((r) => this.toInfo(r));
  }

  async findExecution(ref: string, batches: readonly BatchConfig[]): Promise<FoundExecution | undefined> {
    const record = this.runtime.registry.get(ref);
    const batch = batches.find((b) => b.name === record?.batch);
    return record && batch ? { batch, executionArn: record.executionArn } : undefined;
  }

  async describeExecution(batch: BatchConfig, executionArn: string): Promise<ExecutionDetail | undefined> {
    const r = this.runtime.registry.get(executionArn);
    if (!r || r.batch !== batch.name) return undefined;
    const info = this.toInfo(r);
    const described = r.taskArn ? this.runtime.ecs.describe(r.taskArn) : undefined;
    const at = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    const timed = r.states ?? (r.statesEntered ?? []).map((name) => ({ name, at: undefined }));
    return {
      ...info,
      batch: batch.name,
      input: r.input,
      // A state is left when the next one is entered; the last one when the execution stopped.
      states: timed.map((s, i) => ({
        name: s.name,
        enteredAt: at(s.at),
        exitedAt: i + 1 < timed.length ? at(timed[i + 1].at) : r.stopDate,
      })),
      task: r.taskArn
        ? {
            taskArn: r.taskArn,
            lastStatus: described?.LastStatus,
            exitCode: info.outcome.exitCode,
            stoppedReason: described?.StoppedReason,
            logUrl: info.outcome.logUrl,
          }
        : undefined,
    };
  }

  async stopExecution(_batch: BatchConfig, executionArn: string, error: string, cause: string): Promise<void> {
    // The state machine's own StopExecution path: the runner process (in-process, or through a stop
    // request it polls for) aborts the execution and runs the reconciler's cleanup.
    await this.runtime.services.sfn.stopExecution({ ExecutionArn: executionArn, Error: error, Cause: cause });
  }

  private toInfo(r: ExecutionRecord): ExecutionInfo {
    const base = outcomeOf({ status: r.status, output: r.output, error: r.error, cause: r.cause });
    // Locally the task itself is at hand: take exit code and log file from it for every outcome.
    const task = r.taskArn ? this.runtime.ecs.describe(r.taskArn) : undefined;
    const exitCode = task?.Containers[0]?.ExitCode;
    const outcome: RunOutcome = task
      ? {
          ...base,
          taskArn: r.taskArn,
          exitCode: exitCode ?? (task.LastStatus === 'STOPPED' ? null : undefined),
          logUrl: pathToFileURL(this.runtime.ecs.logPathOf(r.taskArn!)).href,
          stoppedReason: task.StoppedReason,
        }
      : base;
    const input = triggerOfInput(r.input);
    return {
      executionArn: r.executionArn,
      name: r.name,
      status: r.status,
      startDate: r.startDate,
      stopDate: r.stopDate,
      durationMs: r.stopDate || r.status === 'RUNNING' ? durationOf(r.startDate, r.stopDate) : undefined,
      trigger: input.trigger,
      requestedBy: input.requestedBy,
      inputReason: input.reason,
      currentState: r.status === 'RUNNING' ? r.currentState : undefined,
      outcome,
    };
  }

  async scheduleState(): Promise<ScheduleState> {
    return 'LOCAL';
  }

  async close(): Promise<void> {
    await this.runtime.close();
  }
}
