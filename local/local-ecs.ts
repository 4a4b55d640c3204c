import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, type ProcessRef, processRef, REPO_ROOT, readJson, writeJsonAtomic } from './state-dir';
import type { EcsService } from './task-resources';
import { ServiceError } from './task-resources';

/** The local stand-in of a task definition: what runs as the container. */
export interface LocalTaskDefinition {
  readonly family: string;
  readonly containerName: string;
  readonly command: readonly string[];
  readonly stopGraceSeconds: number;
}

/** Something the local ECS did, for the CLI's progress and the demo timeline. */
export type LocalEcsEvent =
  | {
      readonly type: 'task-started';
      readonly taskArn: string;
      readonly family: string;
      readonly command: readonly string[];
      readonly tags: ReadonlyArray<{ Key: string; Value: string }>;
      readonly at: number;
    }
  | {
      readonly type: 'task-output';
      readonly taskArn: string;
      readonly family: string;
      readonly line: string;
      readonly at: number;
    }
  | {
      readonly type: 'task-stop-requested';
      readonly taskArn: string;
      readonly family: string;
      readonly reason: string;
      readonly stopGraceSeconds: number;
      readonly at: number;
    }
  | {
      readonly type: 'task-stopped';
      readonly taskArn: string;
      readonly family: string;
      readonly task: DescribedLocalTask;
      readonly at: number;
    };

/** What runTask writes before the agent starts (`tasks/<id>/spec.json`). */
/**
 * Where ECS places a task RunTask starts, as its answer and DescribeTasks say: the launch type and,
 * with a capacity provider strategy, the provider that placed it (here the first one; a task on
 * `FARGATE` or `FARGATE_SPOT` has launch type FARGATE, one on an Auto Scaling group provider EC2).
 */
export function placementOfRunTask(params: {
  readonly LaunchType?: unknown;
  readonly CapacityProviderStrategy?: unknown;
}): { launchType?: string; capacityProviderName?: string } {
  const strategy = params.CapacityProviderStrategy as ReadonlyArray<{ CapacityProvider?: string }> | undefined;
  const provider = strategy?.[0]?.CapacityProvider;
  if (provider === undefined) return { launchType: params.LaunchType as string | undefined };
  const fargate = provider === 'FARGATE' || provider === 'FARGATE_SPOT';
  return { launchType: fargate ? 'FARGATE' : 'EC2', capacityProviderName: provider };
}

interface TaskSpec {
  readonly taskArn: string;
  readonly taskId: string;
  readonly clusterArn: string;
  readonly taskDefinitionArn: string;
  readonly family: string;
  readonly containerName: string;
  readonly group?: string;
  readonly startedBy?: string;
  readonly launchType?: string;
  readonly capacityProviderName?: string;
  readonly command: readonly string[];
  readonly environment: Record<string, string>;
  readonly overrides: unknown;
  readonly tags: ReadonlyArray<{ Key: string; Value: string }>;
  readonly clientToken?: string;
  readonly cwd: string;
  readonly stopGraceSeconds: number;
  readonly logPath: string;
  readonly createdAt: number;
  readonly agent?: ProcessRef;
}

/** What the agent writes (`tasks/<id>/state.json`, see task-agent.js). */
interface AgentState {
  readonly agentPid: number;
  readonly agentStartTicks?: string;
  readonly lastStatus: 'PENDING' | 'RUNNING' | 'STOPPED';
  readonly desiredStatus: 'RUNNING' | 'STOPPED';
  readonly childPid?: number;
  readonly childStartTicks?: string;
  readonly startedAt?: number;
  readonly stoppingAt?: number;
  readonly stoppedAt?: number;
  readonly exitCode?: number | null;
  readonly signal?: string;
  readonly stopCode?: string;
  readonly stoppedReason?: string;
  readonly stopRequestedReason?: string;
  readonly containerReason?: string;
}

/** A task as DescribeTasks answers through Step Functions (PascalCase, epoch-millisecond times). */
export interface DescribedLocalTask {
  readonly TaskArn: string;
  readonly ClusterArn: string;
  readonly TaskDefinitionArn: string;
  readonly Group?: string;
  readonly StartedBy?: string;
  readonly LaunchType?: string;
  readonly CapacityProviderName?: string;
  readonly LastStatus: string;
  readonly DesiredStatus: string;
  readonly CreatedAt: number;
  readonly StartedAt?: number;
  readonly StoppingAt?: number;
  readonly StoppedAt?: number;
  readonly StopCode?: string;
  readonly StoppedReason?: string;
  readonly Overrides?: unknown;
  readonly Tags?: ReadonlyArray<{ Key: string; Value: string }>;
  readonly Containers: ReadonlyArray<{
    readonly Name: string;
    readonly LastStatus: string;
    readonly ExitCode?: number;
    readonly Reason?: string;
    readonly RuntimeId?: string;
  }>;
}

export interface LocalEcsOptions {
  /** Tasks live in `<stateDir>/tasks/`. */
  readonly stateDir: string;
  readonly clusterArn: string;
  /** The local task definition behind a task definition ARN (undefined: unknown). */
  readonly taskDefinition: (taskDefinitionArn: string) => LocalTaskDefinition | undefined;
  readonly onEvent?: (event: LocalEcsEvent) => void;
  /** Extra environment for every task (the process environment is inherited). */
  readonly environment?: Record<string, string>;
  /** Working directory of the tasks' commands. @default REPO_ROOT */
  readonly cwd?: string;
  /** Poll interval for task state and output. @default 100 */
  readonly pollMs?: number;
}

const AGENT_SCRIPT = join(__dirname, 'task-agent.js');
const TERMINAL = 'STOPPED';

/**
 * ECS for the local mode: a task is a child process (through task-agent.js), tasks are files under
 * `<state-dir>/tasks/` shared by every CLI process, and the answers have the shapes and error names
 * Step Functions gives ECS's (`Ecs.ClientException`, `Ecs.InvalidParameterException`, ...).
 */
export class LocalEcs implements EcsService {
  private readonly tasksDir: string;
  private readonly pollMs: number;
  private readonly stopWaiters = new Map<string, Promise<DescribedLocalTask>>();
  /** Per followed task: reads its output to the end and reports it stopped (once). */
  private readonly followers = new Map<string, (task: DescribedLocalTask) => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: LocalEcsOptions) {
    this.tasksDir = join(options.stateDir, 'tasks');
    this.pollMs = options.pollMs ?? 100;
    mkdirSync(this.tasksDir, { recursive: true });
  }

  /** The ARN of a task: long format, `task/<cluster>/<32 hex>`, like ECS. */
  taskArnFor(taskId: string): string {
    const [prefix, cluster] = this.options.clusterArn.split(':cluster/');
    return `${prefix}:task/${cluster}/${taskId}`;
  }

  logPathOf(taskArn: string): string {
    return join(this.tasksDir, taskIdOf(taskArn), 'output.log');
  }

  async runTask(
    params: Record<string, any>,
  ): Promise<{ Tasks: Record<string, any>[]; Failures: Record<string, any>[] }> {
    const definition = this.options.taskDefinition(String(params.TaskDefinition));
    if (!definition) {
      throw new ServiceError(
        'Ecs.ClientException',
        `Unable to find task definition '${params.TaskDefinition}' (no local batch has it).`,
      );
    }
    // ClientToken: a retried RunTask with the same token answers with the task the first call started.
    const token = typeof params.ClientToken === 'string' ? params.ClientToken : undefined;
    const earlier = token ? this.allTasks().find((t) => t.spec.clientToken === token) : undefined;
    if (earlier) return { Tasks: [this.describeFrom(earlier.spec, earlier.state) as any], Failures: [] };
    const taskId = randomBytes(16).toString('hex');
    const taskArn = this.taskArnFor(taskId);
    const dir = join(this.tasksDir, taskId);
    mkdirSync(dir, { recursive: true });
    const override = (params.Overrides?.ContainerOverrides ?? []).find((c: any) => c.Name === definition.containerName);
    const environment: Record<string, string> = {
      ...this.options.environment,
      ...Object.fromEntries(
        (override?.Environment ?? []).map((e: { Name: string; Value: string }) => [e.Name, e.Value]),
      ),
      BATCH_RUNNER_BATCH_FAMILY: definition.family,
      BATCH_RUNNER_TASK_ARN: taskArn,
      BATCH_RUNNER_OUTPUT_DIR: join(this.options.stateDir, 'out'),
      // Local only: a workload writes {"stopCode", "stoppedReason"} here before it exits to play an
      // infrastructure disruption (SpotInterruption, ...), which ECS reports as the task's StopCode.
      BATCH_RUNNER_LOCAL_SIMULATED_STOP_FILE: join(dir, 'simulated-stop.json'),
    };
    const spec: TaskSpec = {
      taskArn,
      taskId,
      clusterArn: this.options.clusterArn,
      taskDefinitionArn: String(params.TaskDefinition),
      family: definition.family,
      containerName: definition.containerName,
      group: params.Group,
      startedBy: params.StartedBy,
      ...placementOfRunTask(params),
      command: override?.Command ?? definition.command,
      environment,
      overrides: params.Overrides ?? {},
      tags: params.Tags ?? [],
      clientToken: token,
      cwd: this.options.cwd ?? REPO_ROOT,
      stopGraceSeconds: definition.stopGraceSeconds,
      logPath: join(dir, 'output.log'),
      createdAt: Date.now(),
    };
    writeJsonAtomic(join(dir, 'spec.json'), spec);
    const agentLog = openSync(join(dir, 'agent.log'), 'a');
    const agent = spawn(process.execPath, [AGENT_SCRIPT, dir], {
      detached: true,
      stdio: ['ignore', agentLog, agentLog],
      cwd: REPO_ROOT,
    });
    closeSync(agentLog);
    agent.unref();
    if (agent.pid === undefined) throw new ServiceError('Ecs.ServerException', 'could not start the local task agent');
    writeJsonAtomic(join(dir, 'spec.json'), { ...spec, agent: processRef(agent.pid) });
    this.emit({
      type: 'task-started',
      taskArn,
      family: definition.family,
      command: spec.command,
      tags: spec.tags,
      at: Date.now(),
    });
    if (this.options.onEvent) this.follow(taskArn, definition.family);
    return { Tasks: [this.describe(taskArn)!], Failures: [] };
  }

  async listTasks(params: Record<string, any>): Promise<{ TaskArns: string[] }> {
    const desired = params.DesiredStatus ?? 'RUNNING';
    const arns = this.allTasks()
      .filter((t) => params.Family === undefined || t.spec.family === params.Family)
      .filter(
        (t) =>
          params.Cluster === undefined ||
          t.spec.clusterArn === params.Cluster ||
          params.Cluster === clusterNameOf(t.spec.clusterArn),
      )
      .filter((t) => this.describeFrom(t.spec, t.state).DesiredStatus === desired)
      .map((t) => t.spec.taskArn);
    return { TaskArns: arns };
  }

  async describeTasks(
    params: Record<string, any>,
  ): Promise<{ Tasks: Record<string, any>[]; Failures: Record<string, any>[] }> {
    const tasks: Record<string, any>[] = [];
    const failures: Record<string, any>[] = [];
    for (const arn of (params.Tasks ?? []) as string[]) {
      const task = this.describe(arn);
      if (task) tasks.push(task as any);
      else failures.push({ Arn: arn, Reason: 'MISSING' });
    }
    return { Tasks: tasks, Failures: failures };
  }

  async stopTask(params: Record<string, any>): Promise<{ Task: Record<string, any> }> {
    const taskArn = String(params.Task);
    const spec = this.specOf(taskArn);
    if (!spec) throw new ServiceError('Ecs.InvalidParameterException', 'The referenced task was not found.');
    const before = this.describe(taskArn)!;
    if (before.LastStatus === TERMINAL || before.DesiredStatus === TERMINAL) return { Task: before as any };
    const reason = String(params.Reason ?? 'Task stopped by user');
    writeJsonAtomic(join(this.tasksDir, spec.taskId, 'stop.json'), { reason, requestedAt: Date.now() });
    const state = this.stateOf(spec.taskId);
    if (isAlive(spec.agent)) {
      process.kill(spec.agent!.pid, 'SIGTERM');
    } else if (state?.childPid && isAlive({ pid: state.childPid, startTicks: state.childStartTicks })) {
      // The agent died but its container lives on: do the agent's job from here.
      const pgid = state.childPid;
      signalGroup(pgid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), spec.stopGraceSeconds * 1000);
      timer.unref();
    }
    this.emit({
      type: 'task-stop-requested',
      taskArn,
      family: spec.family,
      reason,
      stopGraceSeconds: spec.stopGraceSeconds,
      at: Date.now(),
    });
    return { Task: { ...(before as any), DesiredStatus: 'STOPPED' } };
  }

  /** The task as DescribeTasks would answer, or undefined if unknown. */
  describe(taskArn: string): DescribedLocalTask | undefined {
    const spec = this.specOf(taskArn);
    return spec ? this.describeFrom(spec, this.stateOf(spec.taskId)) : undefined;
  }

  /** Resolves when the task is STOPPED (one poller per task, shared by every caller). */
  whenStopped(taskArn: string): Promise<DescribedLocalTask> {
    let waiter = this.stopWaiters.get(taskArn);
    if (!waiter) {
      waiter = new Promise<DescribedLocalTask>((resolve, reject) => {
        const check = () => {
          const task = this.describe(taskArn);
          if (!task) {
            reject(new ServiceError('Ecs.InvalidParameterException', `The referenced task was not found: ${taskArn}`));
            return;
          }
          if (task.LastStatus === TERMINAL) {
            // The task's last lines and its stop are reported before anyone acts on the stop (the
            // state machine's next states), so a run's output reads in the order things happened.
            this.followers.get(taskArn)?.(task);
            resolve(task);
            return;
          }
          if (!this.closed) this.schedule(check, this.pollMs);
        };
        check();
      });
      this.stopWaiters.set(taskArn, waiter);
    }
    return waiter;
  }

  /** Tasks of a family whose desired status is RUNNING, described. */
  runningTasksOf(family: string): DescribedLocalTask[] {
    return this.allTasks()
      .filter((t) => t.spec.family === family)
      .map((t) => this.describeFrom(t.spec, t.state))
      .filter((t) => t.DesiredStatus === 'RUNNING');
  }

  /** Deletes the files of tasks that stopped more than `maxAgeMs` ago; returns how many. */
  prune(maxAgeMs: number, now = Date.now()): number {
    let removed = 0;
    for (const { spec, state } of this.allTasks()) {
      const task = this.describeFrom(spec, state);
      if (task.LastStatus === TERMINAL && now - (task.StoppedAt ?? spec.createdAt) > maxAgeMs) {
        rmSync(join(this.tasksDir, spec.taskId), { recursive: true, force: true });
        removed += 1;
      }
    }
    return removed;
  }

  /** Stops polling (tasks keep running: they belong to their agents). */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private emit(event: LocalEcsEvent): void {
    this.options.onEvent?.(event);
  }

  /** Tails the task's output with its family as prefix, until the task stops. */
  private follow(taskArn: string, family: string): void {
    const path = this.logPathOf(taskArn);
    let offset = 0;
    let partial = '';
    const readNew = () => {
      if (!existsSync(path)) return;
      const size = statSync(path).size;
      if (size <= offset) return;
      const fd = openSync(path, 'r');
      const buffer = Buffer.alloc(size - offset);
      readSync(fd, buffer, 0, buffer.length, offset);
      closeSync(fd);
      offset = size;
      const lines = (partial + buffer.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.emit({ type: 'task-output', taskArn, family, line, at: Date.now() });
    };
    let done = false;
    const finish = (task: DescribedLocalTask) => {
      if (done) return;
      done = true;
      this.followers.delete(taskArn);
      readNew();
      if (partial) this.emit({ type: 'task-output', taskArn, family, line: partial, at: Date.now() });
      this.emit({ type: 'task-stopped', taskArn, family, task, at: Date.now() });
    };
    this.followers.set(taskArn, finish);
    const tick = () => {
      if (done) return;
      readNew();
      const task = this.describe(taskArn);
      if (task?.LastStatus === TERMINAL) {
        finish(task);
        return;
      }
      if (!this.closed) this.schedule(tick, this.pollMs);
    };
    tick();
  }

  private allTasks(): Array<{ spec: TaskSpec; state: AgentState | undefined }> {
    const found: Array<{ spec: TaskSpec; state: AgentState | undefined }> = [];
    for (const id of existsSync(this.tasksDir) ? readdirSync(this.tasksDir) : []) {
      const spec = readJson<TaskSpec>(join(this.tasksDir, id, 'spec.json'));
      if (spec) found.push({ spec, state: this.stateOf(id) });
    }
    return found.sort((a, b) => a.spec.createdAt - b.spec.createdAt);
  }

  private specOf(taskArn: string): TaskSpec | undefined {
    const id = taskIdOf(taskArn);
    if (!/^[0-9a-f]{32}$/.test(id)) return undefined;
    const spec = readJson<TaskSpec>(join(this.tasksDir, id, 'spec.json'));
    return spec?.taskArn === taskArn || spec?.taskId === taskArn ? spec : undefined;
  }

  private stateOf(taskId: string): AgentState | undefined {
    return readJson<AgentState>(join(this.tasksDir, taskId, 'state.json'));
  }

  private describeFrom(spec: TaskSpec, state: AgentState | undefined): DescribedLocalTask {
    const stopRequest = readJson<{ reason: string; requestedAt: number }>(
      join(this.tasksDir, spec.taskId, 'stop.json'),
    );
    const base = {
      TaskArn: spec.taskArn,
      ClusterArn: spec.clusterArn,
      TaskDefinitionArn: spec.taskDefinitionArn,
      Group: spec.group,
      StartedBy: spec.startedBy,
      LaunchType: spec.launchType,
      CapacityProviderName: spec.capacityProviderName,
      CreatedAt: spec.createdAt,
      Overrides: spec.overrides,
      Tags: spec.tags,
    };
    const agentAlive = isAlive(
      spec.agent ?? (state ? { pid: state.agentPid, startTicks: state.agentStartTicks } : undefined),
    );
    const runtimeId = state?.childPid !== undefined ? String(state.childPid) : undefined;
    if (state?.lastStatus === TERMINAL) {
      return {
        ...base,
        LastStatus: 'STOPPED',
        DesiredStatus: 'STOPPED',
        StartedAt: state.startedAt,
        StoppingAt: state.stoppingAt ?? state.stoppedAt,
        StoppedAt: state.stoppedAt,
        StopCode: state.stopCode,
        StoppedReason: state.stoppedReason ?? 'Essential container in task exited',
        Containers: [
          {
            Name: spec.containerName,
            LastStatus: 'STOPPED',
            ...(state.exitCode !== null && state.exitCode !== undefined ? { ExitCode: state.exitCode } : {}),
            ...(state.containerReason ? { Reason: state.containerReason } : {}),
            RuntimeId: runtimeId,
          },
        ],
      };
    }
    const desired = stopRequest || state?.desiredStatus === 'STOPPED' ? 'STOPPED' : 'RUNNING';
    if (!agentAlive && spec.agent !== undefined) {
      const childAlive =
        state?.childPid !== undefined && isAlive({ pid: state.childPid, startTicks: state.childStartTicks });
      if (childAlive) {
        // Agent gone, container still running: it is running, whatever else is known.
        return {
          ...base,
          LastStatus: 'RUNNING',
          DesiredStatus: desired,
          StartedAt: state?.startedAt,
          Containers: [{ Name: spec.containerName, LastStatus: 'RUNNING', RuntimeId: runtimeId }],
        };
      }
      return {
        ...base,
        LastStatus: 'STOPPED',
        DesiredStatus: 'STOPPED',
        StartedAt: state?.startedAt,
        StoppingAt: stopRequest?.requestedAt,
        StoppedAt: state?.startedAt ?? spec.createdAt,
        StopCode: stopRequest ? 'UserInitiated' : 'TaskFailedToStart',
        StoppedReason: stopRequest?.reason ?? 'The local task agent exited without recording how the container ended.',
        Containers: [
          { Name: spec.containerName, LastStatus: 'STOPPED', Reason: 'local task agent gone', RuntimeId: runtimeId },
        ],
      };
    }
    const lastStatus = state?.lastStatus === 'RUNNING' ? 'RUNNING' : state ? 'PENDING' : 'PROVISIONING';
    return {
      ...base,
      LastStatus: lastStatus,
      DesiredStatus: desired,
      StartedAt: state?.startedAt,
      StoppingAt: stopRequest?.requestedAt,
      Containers: [
        {
          Name: spec.containerName,
          LastStatus: lastStatus === 'PROVISIONING' ? 'PENDING' : lastStatus,
          RuntimeId: runtimeId,
        },
      ],
    };
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    try {
      process.kill(pgid, signal);
    } catch {}
  }
}

export const taskIdOf = (taskArn: string): string => taskArn.split('/').pop() ?? taskArn;
const clusterNameOf = (clusterArn: string): string => clusterArn.split('/').pop() ?? clusterArn;
