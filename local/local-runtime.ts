import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { type BatchConfig, BatchConfigError, findBatch, forLocalMode } from '../config/batch-config';
import { executionNameFromTags } from '../config/naming';
import {
  alertTopicName,
  cleanupFunctionName,
  DEFAULT_PREFIX,
  lockTableName,
  manualExecutionName,
  stateMachineName,
  TASK_LOG_STREAM_PREFIX,
  taskLogGroupName,
  validatorFunctionName,
  watcherFunctionName,
} from '../config/naming';
import { handleReconcilerEvent, type ReconcilerEvent, type ReconcilerResult } from '../handlers/cleanup';
import { releaseLockIfOwner } from '../handlers/lib/lock-item';
import type { BatchReconcileReport } from '../handlers/lib/reconcile';
import { handler as validateManualInput } from '../handlers/validate-manual-input';
import {
  type DeploymentBindings,
  isStartTaskState,
  renderDefinition,
  substitutionsFor,
} from '../state-machines/definition';
import { dependencyInputFrom, RUN_EVENT_DETAIL_TYPES, RUN_EVENT_SOURCE } from '../state-machines/run-events';
import { type ExecutionRecord, ExecutionRegistry, type LocalExecutionStatus, LocalSfn } from './execution-registry';
import { LocalEcs, type LocalEcsEvent, type LocalTaskDefinition } from './local-ecs';
import { LocalEvents, readBusEvents } from './local-events';
import { type LocalAlert, LocalSns } from './local-sns';
import { ensureLockTable } from './lock-store';
import { type LocalExecutionResult, runLocalExecution } from './run-execution';
import { connectSharedDynamoDb, type LocalDynamoDb, startMemoryDynamoDb } from './shared-dynamodb';
import type { LocalServices } from './task-resources';
import { localReconcileWorld } from './reconcile-world';
import { localTaskWatcher } from './task-watcher';

export const LOCAL_REGION = 'local';
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_CLUSTER_ARN = `arn:aws:ecs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:cluster/local`;
export const LOCAL_VALIDATOR_ARN = `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${validatorFunctionName()}`;
export const LOCAL_WATCHER_ARN = `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${watcherFunctionName()}`;
export const LOCAL_RECONCILER_ARN = `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${cleanupFunctionName()}`;
/** How long the local reconciler waits for a stopped task to reach STOPPED (local stop graces are short). */
const LOCAL_STOP_CONFIRM_SECONDS = 40;
export const LOCAL_TOPIC_ARN = `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${alertTopicName()}`;
export const localStateMachineArn = (batch: string) =>
  `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${stateMachineName(batch)}`;
export const localExecutionArn = (batch: string, name: string) =>
  `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${stateMachineName(batch)}:${name}`;
/** How long finished executions and stopped tasks stay in the state directory. */
export const RETENTION_MS = 7 * 24 * 3600 * 1000;
const localTaskDefinitionArn = (batch: string) =>
  `arn:aws:ecs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:task-definition/${batch}:1`;

/** Everything the local mode reports while it runs, in order. */
export type LocalRuntimeEvent =
  | LocalEcsEvent
  | {
      readonly type: 'execution-started';
      readonly executionArn: string;
      readonly name: string;
      readonly batch: string;
      readonly input: unknown;
      readonly at: number;
    }
  | {
      readonly type: 'state-entered';
      readonly executionArn: string;
      readonly name: string;
      readonly batch: string;
      readonly state: string;
      readonly at: number;
    }
  | { readonly type: 'alert'; readonly alert: LocalAlert; readonly at: number }
  | {
      readonly type: 'cleanup';
      readonly executionArn: string;
      readonly batch: string;
      readonly actions: readonly string[];
      readonly at: number;
    }
  | {
      readonly type: 'execution-ended';
      readonly executionArn: string;
      readonly name: string;
      readonly batch: string;
      readonly status: LocalExecutionStatus;
      readonly output?: any;
      readonly error?: string;
      readonly cause?: string;
      readonly at: number;
    };

export interface LocalRuntimeOptions {
  /** Where the lock, executions, tasks and alerts live (see state-dir.ts). */
  readonly stateDir: string;
  /** Batches that may run; only those with a `local` command can. */
  readonly batches: readonly BatchConfig[];
  /**
   * `shared`: the state directory's dynalite server, shared with other processes (the CLI);
   * `memory`: an in-process dynalite, gone with this process (the demo, tests).
   * @default 'shared'
   */
  readonly store?: 'shared' | 'memory';
  readonly onEvent?: (event: LocalRuntimeEvent) => void;
  /** Extra environment for every task. */
  readonly taskEnvironment?: Record<string, string>;
  /**
   * Working directory of the tasks' local commands (`local.command` paths are relative to it).
   * @default - the repository root (the batches of config/batches.ts and the demo)
   */
  readonly taskCwd?: string;
  /**
   * Milliseconds of the `WaitForLock` and `BackOffBeforeRetryingStart` waits in local mode (30 s and
   * 10 s+ on AWS), so that overlap policy `wait` and start retries take seconds when trying things out.
   * @default 1000
   */
  readonly localWaitMs?: number;
}

export interface StartOptions {
  /** Execution name. @default `<trigger>-<batch>-<timestamp>-<random>` */
  readonly name?: string;
  readonly abortSignal?: AbortSignal;
}

export interface LocalRunResult extends LocalExecutionResult {
  readonly executionArn: string;
  readonly name: string;
  readonly batch: string;
  readonly taskArn?: string;
  /** What the local cleanup did for an execution that ended outside its own Catch (ABORTED, TIMED_OUT). */
  readonly cleanup?: readonly string[];
}

/**
 * The local mode: the real ASL file in aws-local-stepfunctions, every Task state served by a local
 * stand-in (lock in dynalite through the real DynamoDB client, ECS as child processes, Step Functions
 * from the execution registry, SNS to a file, the manual-input validator in-process). One runtime can
 * run many executions at once; several processes on one state directory share lock, executions and
 * tasks.
 */
export class LocalRuntime {
  readonly registry: ExecutionRegistry;
  readonly ecs: LocalEcs;
  readonly sns: LocalSns;
  /** The event bus: lifecycle events appended to `events.jsonl` in the state directory. */
  readonly events: LocalEvents;
  readonly services: LocalServices;
  readonly lockTableName = lockTableName();
  private readonly batches: readonly BatchConfig[];
  private readonly running = new Map<
    string,
    { name: string; abort: AbortController; stop?: { error: string; cause: string } }
  >();
  private readonly definitions = new Map<string, string>();
  private stopPoll?: NodeJS.Timeout;

  private constructor(
    readonly options: LocalRuntimeOptions,
    readonly dynamodb: LocalDynamoDb,
  ) {
    this.batches = options.batches;
    this.registry = new ExecutionRegistry(options.stateDir);
    this.ecs = new LocalEcs({
      stateDir: options.stateDir,
      clusterArn: LOCAL_CLUSTER_ARN,
      taskDefinition: (arn) => this.taskDefinition(arn),
      onEvent: (event) => {
        // The task carries its execution's name as a tag (StartBatchTask): record it at once, so that
        // status and history know the task even if this runner is killed before the execution ends.
        if (event.type === 'task-started') {
          const execution = executionNameFromTags(event.tags);
          if (execution) this.registry.update(execution, { taskArn: event.taskArn });
        }
        // A task's output and its stop are reported at once: LocalEcs reports them before the waiting
        // state learns of the stop, so they come before the run's next states (ReleaseLock, ...).
        if (event.type === 'task-output' || event.type === 'task-stopped') this.emit(event);
        else this.emitLater(event);
      },
      environment: options.taskEnvironment,
      cwd: options.taskCwd,
    });
    this.sns = new LocalSns(join(options.stateDir, 'alerts.jsonl'), (alert) =>
      this.emitLater({ type: 'alert', alert, at: Date.now() }),
    );
    this.events = new LocalEvents(join(options.stateDir, 'events.jsonl'));
    this.services = {
      dynamodb: dynamodb.client,
      ecs: this.ecs,
      sfn: new LocalSfn(this.registry, (arn, error, cause) => this.stopInProcess(arn, error, cause)),
      sns: this.sns,
      events: this.events,
      functions: {
        [LOCAL_VALIDATOR_ARN]: async (payload) => validateManualInput(payload as any),
        [LOCAL_WATCHER_ARN]: localTaskWatcher(this.ecs),
        [LOCAL_RECONCILER_ARN]: async (payload) => this.reconcileEvent(payload as ReconcilerEvent),
      },
    };
  }

  static async open(options: LocalRuntimeOptions): Promise<LocalRuntime> {
    const dynamodb =
      options.store === 'memory' ? await startMemoryDynamoDb() : await connectSharedDynamoDb(options.stateDir);
    try {
      await ensureLockTable(dynamodb.client, lockTableName());
    } catch (err) {
      // Two processes creating the table at once: the other one won, which is all we need.
      if ((err as Error).name !== 'ResourceInUseException') throw err;
    }
    const runtime = new LocalRuntime(options, dynamodb);
    // Keep the state directory small: finished executions and stopped tasks go after a week.
    runtime.registry.prune(RETENTION_MS);
    runtime.ecs.prune(RETENTION_MS);
    return runtime;
  }

  get alertsPath(): string {
    return this.sns.path;
  }

  /** The batch as the local mode runs it (local timeouts); throws a BatchConfigError naming the fix. */
  localBatch(name: string): BatchConfig {
    const batch = findBatch(this.batches, name);
    if (!batch.local) {
      throw new BatchConfigError(
        `batch "${name}" has no local command: add local: { command: [...] } to its config to run it in local mode.`,
      );
    }
    return forLocalMode(batch);
  }

  bindingsFor(batch: BatchConfig): DeploymentBindings {
    return {
      region: LOCAL_REGION,
      lockTableName: this.lockTableName,
      alertTopicArn: LOCAL_TOPIC_ARN,
      clusterArn: LOCAL_CLUSTER_ARN,
      taskDefinitionArn: localTaskDefinitionArn(batch.name),
      taskFamily: batch.name,
      subnetIds: [],
      securityGroupIds: [],
      logGroupName: taskLogGroupName(batch.name),
      logStreamPrefix: TASK_LOG_STREAM_PREFIX,
      manualInputValidatorFunctionArn: LOCAL_VALIDATOR_ARN,
      taskWatcherFunctionArn: LOCAL_WATCHER_ARN,
      reconcilerFunctionArn: LOCAL_RECONCILER_ARN,
    };
  }

  definitionFor(batchName: string): string {
    let definition = this.definitions.get(batchName);
    if (!definition) {
      const batch = this.localBatch(batchName);
      definition = renderDefinition(substitutionsFor(batch, this.bindingsFor(batch)));
      this.definitions.set(batchName, definition);
    }
    return definition;
  }

  /** Runs one execution of a batch to its end, with the given execution input. */
  async start(batchName: string, input: unknown, options: StartOptions = {}): Promise<LocalRunResult> {
    const batch = this.localBatch(batchName);
    const definition = this.definitionFor(batch.name);
    const trigger = triggerOf(input);
    const name = options.name ?? manualExecutionName(trigger, batch.name, new Date(), randomBytes(3).toString('hex'));
    const executionArn = localExecutionArn(batch.name, name);
    const startTime = new Date();
    this.registry.create({
      executionArn,
      stateMachineArn: localStateMachineArn(batch.name),
      name,
      batch: batch.name,
      input,
      startDate: startTime.toISOString(),
    });
    const abort = new AbortController();
    const entry: { name: string; abort: AbortController; stop?: { error: string; cause: string } } = { name, abort };
    this.running.set(executionArn, entry);
    options.abortSignal?.addEventListener(
      'abort',
      () => this.stopInProcess(executionArn, 'BatchRunner.Interrupted', 'Interrupted in the terminal that ran it.'),
      {
        once: true,
      },
    );
    this.ensureStopPolling();
    const states: Array<{ name: string; at: number }> = [];
    this.emit({ type: 'execution-started', executionArn, name, batch: batch.name, input, at: Date.now() });
    let result: LocalExecutionResult;
    try {
      result = await runLocalExecution({
        definition,
        input,
        executionArn,
        startTime,
        services: this.services,
        abortSignal: abort.signal,
        waitTimeOverrides: {
          WaitForLock: this.options.localWaitMs ?? 1000,
          BackOffBeforeRetryingStart: this.options.localWaitMs ?? 1000,
        },
        onStateEntered: (state, at) => {
          states.push({ name: state, at });
          this.registry.update(name, { currentState: state, states: [...states] });
          this.emit({ type: 'state-entered', executionArn, name, batch: batch.name, state, at });
        },
      });
    } finally {
      this.running.delete(executionArn);
      if (this.running.size === 0 && this.stopPoll) {
        clearInterval(this.stopPoll);
        this.stopPoll = undefined;
      }
    }
    const taskArn = startedTaskOf(result);
    const error = result.error ?? entry.stop?.error;
    const cause = result.cause ?? entry.stop?.cause;
    this.registry.update(name, {
      status: result.status,
      stopDate: new Date(result.stoppedAt).toISOString(),
      currentState: undefined,
      taskArn,
      output: result.output,
      error,
      cause,
      statesEntered: result.statesEntered,
    });
    let cleanup: string[] | undefined;
    // On AWS the reconciler (EventBridge "Execution Status Change" rule, and its scheduled pass) does
    // this for executions that ended outside their own Catch; an ABORTED execution runs none of its
    // own states. It runs after the registry says the execution ended, as DescribeExecution would.
    if (result.status !== 'SUCCEEDED' && !result.statesEntered.includes('RecordOwedAlert')) {
      cleanup = await this.cleanUpAfter(batch, executionArn, name, input, result.status, error, cause);
    }
    this.registry.clearStopRequest(name);
    await new Promise((resolve) => setImmediate(resolve));
    this.emit({
      type: 'execution-ended',
      executionArn,
      name,
      batch: batch.name,
      status: result.status,
      output: result.output,
      error,
      cause,
      at: Date.now(),
    });
    return { ...result, error, cause, executionArn, name, batch: batch.name, taskArn, cleanup };
  }

  /** StopExecution for every execution this process runs (Ctrl-C). */
  /**
   * What the dependency rules do on AWS, for one finished run: when it succeeded, the batches that
   * run after it (`after`) are started one after another with the input the rule would send, built
   * from the run's own `Batch Run Succeeded` event in events.jsonl; and so on down the chain. A
   * dependent without a local command is not started (`notStarted`). Nothing starts when the run did
   * not succeed, or put no succeeded event.
   */
  async startDependents(
    upstream: LocalRunResult,
    options: { readonly onStart?: (batch: string, input: unknown) => void } = {},
  ): Promise<{ runs: LocalRunResult[]; notStarted: Array<{ batch: string; after: string }> }> {
    const runs: LocalRunResult[] = [];
    const notStarted: Array<{ batch: string; after: string }> = [];
    if (upstream.status !== 'SUCCEEDED') return { runs, notStarted };
    const succeeded = readBusEvents(this.events.path).find(
      (e) =>
        e.source === RUN_EVENT_SOURCE &&
        e.detailType === RUN_EVENT_DETAIL_TYPES.succeeded &&
        e.detail?.executionArn === upstream.executionArn,
    );
    if (!succeeded) return { runs, notStarted };
    for (const dependent of this.batches.filter((b) => b.after?.includes(upstream.batch))) {
      if (!dependent.local) {
        notStarted.push({ batch: dependent.name, after: upstream.batch });
        continue;
      }
      const input = dependencyInputFrom(succeeded.detail);
      options.onStart?.(dependent.name, input);
      const run = await this.start(dependent.name, input);
      runs.push(run);
      const further = await this.startDependents(run, options);
      runs.push(...further.runs);
      notStarted.push(...further.notStarted);
    }
    return { runs, notStarted };
  }

  stopAll(error: string, cause: string): void {
    for (const arn of [...this.running.keys()]) this.stopInProcess(arn, error, cause);
  }

  /** The lock item of a batch, if held. */
  async lockItem(batch: string): Promise<Record<string, string> | undefined> {
    const { Item } = await this.dynamodb.client.send(
      new GetItemCommand({ TableName: this.lockTableName, Key: { batch: { S: batch } }, ConsistentRead: true }),
    );
    if (!Item) return undefined;
    return Object.fromEntries(Object.entries(Item).map(([k, v]) => [k, String(v.S ?? v.N ?? '')]));
  }

  /** Deletes a batch's lock if (and only if) it is still held by `owner`; false if it was not. */
  async releaseLock(batch: string, owner: string): Promise<boolean> {
    return (await releaseLockIfOwner(this.dynamodb.client, this.lockTableName, batch, owner)) === 'released';
  }

  /** Stops polling and disconnects; tasks and the shared server live on. */
  async close(): Promise<void> {
    if (this.stopPoll) clearInterval(this.stopPoll);
    this.ecs.close();
    await this.dynamodb.close();
  }

  private emit(event: LocalRuntimeEvent): void {
    this.options.onEvent?.(event);
  }

  /**
   * Side effects of a Task state (a task started, an alert) are reported after the state-entered
   * events that led to them: aws-local-stepfunctions delivers its event log a few microtasks late.
   */
  private emitLater(event: LocalRuntimeEvent): void {
    if (this.options.onEvent) setImmediate(() => this.emit(event));
  }

  private stopInProcess(executionArn: string, error: string, cause: string): boolean {
    const entry = this.running.get(executionArn);
    if (!entry) return false;
    entry.stop ??= { error, cause };
    entry.abort.abort();
    return true;
  }

  /** Picks up StopExecution requests written by other processes (LocalSfn.stopExecution). */
  private ensureStopPolling(): void {
    if (this.stopPoll) return;
    this.stopPoll = setInterval(() => {
      for (const [arn, entry] of this.running) {
        const request = this.registry.stopRequest(entry.name);
        if (request) this.stopInProcess(arn, request.error, request.cause);
      }
    }, 250);
  }

  private taskDefinition(taskDefinitionArn: string): LocalTaskDefinition | undefined {
    const family = /task-definition\/([^:]+)/.exec(taskDefinitionArn)?.[1];
    const batch = this.batches.find((b) => b.name === family);
    if (!batch?.local) return undefined;
    const local = forLocalMode(batch);
    return {
      family: batch.name,
      containerName: batch.containerName,
      command: batch.local.command,
      stopGraceSeconds: local.stopGraceSeconds ?? 30,
    };
  }

  /**
   * The reconciler (handlers/cleanup.ts, the same code as on AWS) against the local stand-ins: the
   * state machine's settle/finish calls, the cleanup after an execution that ended outside its own
   * Catch, and the pass that finds orphans (a runner killed with SIGKILL leaves its execution ABORTED
   * in the registry, its task running and its lock held).
   */
  reconcileEvent(event: ReconcilerEvent): Promise<ReconcilerResult> {
    return handleReconcilerEvent(event, {
      world: localReconcileWorld(this.ecs, this.registry, this.sns, LOCAL_TOPIC_ARN),
      dynamodb: this.dynamodb.client,
      config: {
        lockTableName: this.lockTableName,
        namePrefix: DEFAULT_PREFIX,
        clusterArns: [LOCAL_CLUSTER_ARN],
        stopConfirmSeconds: LOCAL_STOP_CONFIRM_SECONDS,
        pollIntervalMs: 100,
        // Local RunTask runs inside the runner's own process: once its execution has ended, the call
        // has returned (or the process is gone with it, its task already on disk). Nothing is in flight.
        inFlightGraceMs: 0,
      },
      // The reconciler's JSON log lines are for CloudWatch; locally they would mix into the CLI's output.
      writeLine: () => undefined,
    });
  }

  /** One reconciler pass over every local batch (what the scheduled rule does on AWS). */
  async reconcile(): Promise<ReconcilerResult> {
    return this.reconcileEvent({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
  }

  /** After an execution ended outside its own failure path: the reconciler's event entry. */
  private async cleanUpAfter(
    batch: BatchConfig,
    executionArn: string,
    name: string,
    input: unknown,
    status: LocalExecutionStatus,
    error: string | undefined,
    cause: string | undefined,
  ): Promise<string[]> {
    const report = (await this.reconcileEvent({
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: {
        executionArn,
        stateMachineArn: localStateMachineArn(batch.name),
        name,
        status,
        input: JSON.stringify(input ?? null),
        error: error ?? null,
        cause: cause ?? null,
      },
    })) as BatchReconcileReport;
    const actions = [
      ...report.tasks.map((t) => `${t.action} task ${t.taskArn} (${t.why})`),
      `lock ${report.lock}`,
      report.alert === 'sent' ? 'sent one alert' : `alert ${report.alert}`,
    ];
    this.emit({ type: 'cleanup', executionArn, batch: batch.name, actions, at: Date.now() });
    return actions;
  }
}

/** The trigger an input claims (for the execution name); the validator decides what is accepted. */
export function triggerOf(input: unknown): string {
  const t = (input as { trigger?: unknown } | null)?.trigger;
  return typeof t === 'string' && /^(schedule|dependency|console|cli|manual)$/.test(t) ? t : 'console';
}

/** The task ARN the execution's StartBatchTask state got, if any. */
export function startedTaskOf(result: Pick<LocalExecutionResult, 'calls'>): string | undefined {
  const starts = result.calls.filter((c) => isStartTaskState(c.state) && c.result !== undefined);
  return (starts.at(-1)?.result as { Tasks?: Array<{ TaskArn?: string }> } | undefined)?.Tasks?.[0]?.TaskArn;
}

export type { ExecutionRecord };
