import { pathToFileURL } from 'node:url';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeTasksCommand, ListTasksCommand } from '@aws-sdk/client-ecs';
import { GetScheduleCommand } from '@aws-sdk/client-scheduler';
import { DescribeExecutionCommand, type ExecutionStatus, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import type { BatchConfig } from '../config/batch-config';
import { releaseLockIfOwner } from '../handlers/lib/lock-item';
import { scheduleGroupName, scheduleName } from '../config/naming';
import type { LocalRuntime } from '../local/local-runtime';
import type { AwsClients } from './aws-clients';
import type { DeploymentResolver } from './deployment';
import { currentStateOf, failureSummaryOf, historyEvents } from './execution-history';
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

/** What the read commands and `unlock` need, against AWS or the local mode. */
export interface BatchBackend {
  readonly mode: 'aws' | 'local';
  lock(batch: BatchConfig): Promise<LockInfo | undefined>;
  /** Deletes the lock only if `owner` still holds it; false if it did not. */
  releaseLock(batch: BatchConfig, owner: string): Promise<boolean>;
  runningTasks(batch: BatchConfig): Promise<TaskInfo[]>;
  executions(batch: BatchConfig, options: { limit: number; runningOnly?: boolean }): Promise<ExecutionInfo[]>;
  scheduleState(batch: BatchConfig): Promise<ScheduleState>;
  close(): Promise<void>;
}

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
      const arn = item.executionArn!;
      const described = await this.clients.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
      const status = described.status ?? item.status ?? 'UNKNOWN';
      let failureSummary: any;
      let currentState: string | undefined;
      if (status === 'FAILED')
        failureSummary = failureSummaryOf(await historyEvents(this.clients.sfn, arn, { reverse: true, max: 5 }));
      if (status === 'RUNNING')
        currentState = currentStateOf(await historyEvents(this.clients.sfn, arn, { reverse: true, max: 10 }))?.name;
      const startDate = iso(described.startDate ?? item.startDate);
      const stopDate = iso(described.stopDate ?? item.stopDate);
      const input = triggerOfInput(described.input);
      infos.push({
        executionArn: arn,
        name: described.name ?? item.name ?? arn.split(':').pop()!,
        status,
        startDate,
        stopDate,
        durationMs: durationOf(startDate, stopDate, this.now().getTime()),
        trigger: input.trigger,
        requestedBy: input.requestedBy,
        inputReason: input.reason,
        currentState,
        outcome: outcomeOf({
          status,
          output: described.output,
          error: described.error,
          cause: described.cause,
          failureSummary,
        }),
      });
    }
    return infos;
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
      .map((r) => {
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
      });
  }

  async scheduleState(): Promise<ScheduleState> {
    return 'LOCAL';
  }

  async close(): Promise<void> {
    await this.runtime.close();
  }
}
