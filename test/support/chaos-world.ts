import type { BatchConfig } from '../../config/batch-config';
import { BATCH_TAG_KEY, EXECUTION_TAG_KEY } from '../../config/naming';
import type { DescribedLocalTask } from '../../local/local-ecs';
import { type EcsService, ServiceError, type SfnService, type SnsService } from '../../local/task-resources';
import { CLUSTER_ARN, FAMILY, REGION } from '../fixtures/ecs-payloads';

/**
 * The AWS side of the chaos suite (test/proof/chaos.test.ts): a seeded, stateful ECS account and Step
 * Functions / SNS registries, answering in the shapes Step Functions uses, with the faults the
 * issue lists: answers lost after the call took effect, RunTask requests still in flight when their
 * execution is stopped, StopTask taking effect in two steps (desired status at once, STOPPED after a
 * random stop grace), tasks that exit by themselves or run past their deadline, SNS outages. It also
 * watches the one promise that must hold at every instant: never two tasks of the batch running.
 */

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

export interface ChaosFaults {
  /** A RunTask that took effect but whose answer is lost. */
  readonly runTaskAnswerLost: number;
  /** Milliseconds a RunTask request is in flight before ECS creates the task (the execution may be stopped meanwhile). */
  readonly runTaskInFlightMs: readonly [number, number];
  /** Milliseconds between StopTask and STOPPED (the container's stop grace). */
  readonly stopGraceMs: readonly [number, number];
  /** Milliseconds a task runs if nobody stops it. */
  readonly taskRunMs: readonly [number, number];
  /** A task that exits non-zero by itself. */
  readonly nonZeroExit: number;
  /** An SNS publish that fails. */
  readonly snsOutage: number;
}

interface FakeTask {
  readonly arn: string;
  readonly createdAt: number;
  readonly tags: Array<{ Key: string; Value: string }>;
  lastStatus: 'PROVISIONING' | 'RUNNING' | 'STOPPED';
  desiredStatus: 'RUNNING' | 'STOPPED';
  stoppedAt?: number;
  exitCode?: number;
  stopCode?: string;
  stoppedReason?: string;
  readonly stopGraceMs: number;
  readonly waiters: Array<(t: DescribedLocalTask) => void>;
}

export interface ChaosExecution {
  readonly arn: string;
  readonly name: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  stopDate?: number;
  readonly abort: AbortController;
}

export class ChaosAccount {
  readonly tasks: FakeTask[] = [];
  readonly violations: string[] = [];
  readonly published: Array<Record<string, any>> = [];
  readonly executions = new Map<string, ChaosExecution>();
  private readonly tokens = new Map<string, FakeTask>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private serial = 0;

  constructor(
    private readonly rng: Rng,
    private readonly faults: ChaosFaults,
    private readonly batch: BatchConfig,
  ) {}

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  /** RunTask requests in flight: each takes effect at its due time. */
  private readonly flights: { due: number; land: () => void }[] = [];

  /**
   * Resolves when the request takes effect: at its due time, or earlier in the event loop if ECS is
   * asked about its tasks after that time (a loaded machine may run the timer late, and a listing
   * made after the due time must show the task, as ECS's would).
   */
  private inFlight(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const flight = { due: Date.now() + ms, land: () => undefined as void };
      flight.land = () => {
        const i = this.flights.indexOf(flight);
        if (i < 0) return;
        this.flights.splice(i, 1);
        resolve();
      };
      this.flights.push(flight);
      this.later(ms, flight.land);
    });
  }

  /** Lands every request due by now, and lets their continuations create their tasks. */
  private async landDueFlights(): Promise<void> {
    const now = Date.now();
    const due = this.flights.filter((f) => f.due <= now);
    if (due.length === 0) return;
    for (const f of due) f.land();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Stops every timer (teardown), also when a seed fails half-way. */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** Tasks whose last status is not STOPPED: they may be running. */
  running(): FakeTask[] {
    return this.tasks.filter((t) => t.lastStatus !== 'STOPPED');
  }

  private checkOneAtATime(moment: string): void {
    const live = this.running();
    if (live.length > 1)
      this.violations.push(`${moment}: ${live.length} tasks may run at once: ${live.map((t) => t.arn).join(', ')}`);
  }

  private describeTask(t: FakeTask): DescribedLocalTask {
    return {
      TaskArn: t.arn,
      ClusterArn: CLUSTER_ARN,
      TaskDefinitionArn: `arn:aws:ecs:${REGION}:123456789012:task-definition/${FAMILY}:1`,
      Group: `batch-runner:${this.batch.name}`,
      StartedBy: 'batch-runner',
      LaunchType: 'FARGATE',
      LastStatus: t.lastStatus,
      DesiredStatus: t.desiredStatus,
      CreatedAt: t.createdAt,
      ...(t.stoppedAt !== undefined
        ? { StoppedAt: t.stoppedAt, StopCode: t.stopCode, StoppedReason: t.stoppedReason }
        : {}),
      Tags: t.tags,
      Containers: [
        {
          Name: this.batch.containerName,
          LastStatus: t.lastStatus,
          ...(t.exitCode !== undefined ? { ExitCode: t.exitCode } : {}),
        },
      ],
    };
  }

  private finish(t: FakeTask, exitCode: number, stopCode: string, reason: string): void {
    if (t.lastStatus === 'STOPPED') return;
    Object.assign(t, { lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stoppedAt: Date.now(), exitCode, stopCode });
    t.stoppedReason ??= reason;
    for (const w of t.waiters.splice(0)) w(this.describeTask(t));
  }

  readonly ecs: EcsService & {
    describe(arn: string): DescribedLocalTask | undefined;
    whenStopped(arn: string): Promise<DescribedLocalTask>;
    logPathOf(arn: string): string;
  } = {
    runTask: async (p) => {
      const token = String(p.ClientToken ?? '');
      const known = this.tokens.get(token);
      if (known) return { Tasks: [this.describeTask(known)], Failures: [] };
      // The request is in flight: its execution may be stopped before ECS creates the task.
      await this.inFlight(this.rng.int(...this.faults.runTaskInFlightMs));
      this.serial += 1;
      const t: FakeTask = {
        arn: `arn:aws:ecs:${REGION}:123456789012:task/batch-runner/chaos${String(this.serial).padStart(8, '0')}`,
        createdAt: Date.now(),
        tags: (p.Tags ?? []) as FakeTask['tags'],
        lastStatus: 'PROVISIONING',
        desiredStatus: 'RUNNING',
        stopGraceMs: this.rng.int(...this.faults.stopGraceMs),
        waiters: [],
      };
      this.tasks.push(t);
      this.tokens.set(token, t);
      this.checkOneAtATime(`RunTask created ${t.arn}`);
      this.later(10, () => {
        if (t.lastStatus === 'PROVISIONING') t.lastStatus = 'RUNNING';
      });
      const exitCode = this.rng.chance(this.faults.nonZeroExit) ? 1 : 0;
      this.later(this.rng.int(...this.faults.taskRunMs), () =>
        this.finish(t, exitCode, 'EssentialContainerExited', 'Essential container in task exited'),
      );
      if (this.rng.chance(this.faults.runTaskAnswerLost))
        throw new ServiceError('Ecs.ServerException', 'the call took effect; its answer was lost');
      return { Tasks: [this.describeTask(t)], Failures: [] };
    },
    listTasks: async (p) => {
      await this.landDueFlights();
      return {
        TaskArns: this.tasks
          .filter((t) => (p.DesiredStatus ?? 'RUNNING') === t.desiredStatus)
          .filter(() => p.StartedBy === undefined || p.StartedBy === 'batch-runner')
          .map((t) => t.arn),
      };
    },
    describeTasks: async (p) => {
      const found = this.tasks.filter((t) => (p.Tasks as string[]).includes(t.arn));
      return {
        Tasks: found.map((t) => this.describeTask(t)),
        Failures: (p.Tasks as string[])
          .filter((a) => !found.some((t) => t.arn === a))
          .map((a) => ({ Arn: a, Reason: 'MISSING' })),
      };
    },
    stopTask: async (p) => {
      const t = this.tasks.find((x) => x.arn === p.Task);
      if (!t) throw new ServiceError('Ecs.InvalidParameterException', 'The referenced task was not found.');
      if (t.desiredStatus === 'RUNNING') {
        t.desiredStatus = 'STOPPED';
        t.stoppedReason = String(p.Reason ?? 'Task stopped by user');
        // SIGTERM now, STOPPED after the container's stop grace.
        this.later(t.stopGraceMs, () => this.finish(t, 143, 'UserInitiated', t.stoppedReason ?? ''));
      }
      return { Task: this.describeTask(t) };
    },
    describe: (arn) => {
      const t = this.tasks.find((x) => x.arn === arn);
      return t && this.describeTask(t);
    },
    whenStopped: (arn) => {
      const t = this.tasks.find((x) => x.arn === arn);
      if (!t) return Promise.reject(new Error(`unknown task ${arn}`));
      if (t.lastStatus === 'STOPPED') return Promise.resolve(this.describeTask(t));
      return new Promise((resolve) => t.waiters.push(resolve));
    },
    logPathOf: () => '/dev/null',
  };

  readonly sfn: SfnService = {
    describeExecution: async (p) => {
      const e = this.executions.get(String(p.ExecutionArn));
      if (!e)
        throw new ServiceError('Sfn.ExecutionDoesNotExistException', `Execution Does Not Exist: '${p.ExecutionArn}'`);
      return { ExecutionArn: e.arn, Status: e.status, StartDate: new Date().toISOString() };
    },
    stopExecution: async (p) => {
      this.executions.get(String(p.ExecutionArn))?.abort.abort();
      return { StopDate: new Date().toISOString() };
    },
  };

  readonly sns: SnsService = {
    publish: async (p) => {
      if (this.rng.chance(this.faults.snsOutage))
        throw new ServiceError('SNS.InternalErrorException', 'SNS is unavailable');
      this.published.push(p);
      return { MessageId: `chaos-${this.published.length}` };
    },
  };

  /** The task's execution name (base64 tag), for reports. */
  executionOf(taskArn: string): string | undefined {
    const tag = this.tasks.find((t) => t.arn === taskArn)?.tags.find((x) => x.Key === EXECUTION_TAG_KEY)?.Value;
    return tag === undefined ? undefined : Buffer.from(tag, 'base64').toString('utf8');
  }

  /** Tasks that carry the runner's batch tag (all of them here: nothing else runs on the fake cluster). */
  runnerTasks(): FakeTask[] {
    return this.tasks.filter((t) => t.tags.some((x) => x.Key === BATCH_TAG_KEY));
  }
}
