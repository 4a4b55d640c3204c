import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeTasksCommand, ListTasksCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  type GetScheduleCommandOutput,
} from '@aws-sdk/client-scheduler';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ListExecutionsCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { type BatchConfig, forLocalMode } from '../../config/batch-config';
import { manualExecutionName, scheduleGroupName, scheduleName } from '../../config/naming';
import { SELFTEST_BATCH, SELFTEST_ENV } from '../../config/selftest-batch';
import { deriveTimings } from '../../config/timings';
import { releaseLockIfOwner } from '../../handlers/lib/lock-item';
import { alertKey } from '../../handlers/lib/owed-alerts';
import { LOCAL_CLUSTER_ARN, type LocalRunResult, type LocalRuntime } from '../../local/local-runtime';
import { readAlerts } from '../../local/local-sns';
import { timelineOf } from '../backend';
import type { CliContext } from '../context';
import { type Deployment, executionConsoleUrl } from '../deployment';
import { UserError } from '../errors';
import { failureSummaryOf, historyEvents, startedTaskArnOf } from '../execution-history';
import { EXIT, type ExitCode } from '../exit-codes';
import { duration, json } from '../format';
import { outcomeOf, type RunOutcome } from '../outcome';
import { sleepUnlessInterrupted } from '../watch';
import { checkedInput } from './run';

/**
 * `batch-runner selftest`: proves the runner's guarantees on the account it is pointed at (or in the
 * local mode), with the canary batch the CDK app adds when asked (config/selftest-batch.ts). Each
 * check starts the canary through its real state machine and judges the execution as it ended; every
 * check also requires the lock free and no canary task running afterwards. Whatever happens
 * (a failed check, Ctrl-C, the time budget), a finally path stops what it started, deletes its
 * schedule, releases a lock its runs left, and reports what it could not remove.
 */

export interface SelftestOptions {
  readonly local?: boolean;
  readonly json?: boolean;
}

/** The input shape EventBridge Scheduler sends (infra/scheduled-batch.ts SCHEDULE_INPUT). */
export const SCHEDULER_INPUT_TEMPLATE = { trigger: 'schedule', scheduledTime: '<aws.scheduler.scheduled-time>' };

/** How long the whole selftest may take on AWS (the issue's promise) and in the local mode. */
export const SELFTEST_BUDGET_MS = { aws: 15 * 60_000, local: 3 * 60_000 } as const;
/** How long cleanup may wait for a stopped run's task to be STOPPED and its lock released. */
const CLEANUP_WAIT_MS = { aws: 4 * 60_000, local: 30_000 } as const;
/** Lead time of the one-off schedule: Scheduler fires `at()` schedules at minute precision. */
const SCHEDULE_LEAD_MS = 60_000;
/** How long after its time the scheduled start may take to appear (Scheduler's own delivery). */
const SCHEDULE_DELIVERY_MS = 3 * 60_000;

/** What one execution of the canary ended as. */
export interface CanaryEnd {
  readonly executionArn: string;
  readonly consoleUrl?: string;
  readonly status: string;
  readonly input: unknown;
  readonly outcome: RunOutcome;
  /** States entered, in order. */
  readonly states: readonly string[];
  readonly task?: {
    readonly taskArn: string;
    readonly lastStatus?: string;
    readonly exitCode?: number | null;
    readonly createdAt?: number;
    readonly stoppedAt?: number;
  };
}

export interface CheckReport {
  readonly id: string;
  readonly guarantee: string;
  readonly result: 'PASS' | 'FAIL';
  readonly detail: string;
  readonly executions: ReadonlyArray<{ executionArn: string; consoleUrl?: string; outcome: string }>;
}

/** The selftest against one target: AWS (the deployed canary) or the local mode. */
interface SelftestDriver {
  readonly mode: 'aws' | 'local';
  readonly header: string;
  /** Canary sleeps for short runs and for the two starts at once, in seconds. */
  readonly sleeps: { readonly short: string; readonly overlap: string };
  /** Upper bound from RunTask to STOPPED for a task killed at the hard timeout (seconds). */
  readonly stopBoundSeconds: number;
  /** Starts one execution per input at once, and waits until every one has ended. */
  runAll(check: string, inputs: ReadonlyArray<Record<string, unknown>>): Promise<CanaryEnd[]>;
  /** One start through the scheduler; `problems` are what went wrong around it (e.g. the schedule stayed). */
  runScheduled(): Promise<{ end?: CanaryEnd; problems: string[]; note: string }>;
  /** Alerts recorded for an execution and whether they were delivered. */
  alertsOf(executionArn: string): Promise<{ count: number; delivered: boolean }>;
  lockOwner(): Promise<string | undefined>;
  /** Canary tasks that are not STOPPED (ARNs). */
  liveTasks(): Promise<string[]>;
  /** Stops, deletes and releases what the selftest left; returns what it did and what remains. */
  cleanUp(): Promise<{ actions: string[]; leftovers: string[] }>;
  close(): Promise<void>;
}

/** Thrown when the operator interrupts (Ctrl-C) or the budget is spent: the checks stop, cleanup runs. */
class SelftestStop extends Error {
  constructor(
    message: string,
    readonly interrupted: boolean,
  ) {
    super(message);
  }
}

function env(values: Partial<Record<keyof typeof SELFTEST_ENV, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [SELFTEST_ENV[k as keyof typeof SELFTEST_ENV], v]));
}

/** Sleeps `ms`, or throws SelftestStop when interrupted or past `deadline`. */
async function pauseOrStop(ctx: CliContext, ms: number, deadline: number): Promise<void> {
  const interrupted = () => new SelftestStop('interrupted (Ctrl-C)', true);
  if (ctx.signal?.aborted) throw interrupted();
  if (ctx.now().getTime() > deadline) throw new SelftestStop('over the time budget', false);
  await sleepUnlessInterrupted(ctx, ms, interrupted);
}

const parseJson = (text: unknown): unknown => {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

class AwsSelftest implements SelftestDriver {
  readonly mode = 'aws';
  readonly sleeps = { short: '5', overlap: '10' };
  readonly stopBoundSeconds: number;
  readonly header: string;
  private readonly started = new Set<string>();
  private readonly schedules = new Set<string>();

  constructor(
    private readonly ctx: CliContext,
    private readonly d: Deployment,
    private readonly canary: BatchConfig,
    private readonly deadline: number,
  ) {
    const t = deriveTimings({ ...canary, hardTimeoutSeconds: d.hardTimeoutSeconds });
    // RunTask to STOPPED: hard timeout, stop latency bound, stop grace, and 60 s for ECS to report.
    this.stopBoundSeconds = t.hardTimeoutSeconds + t.stopLatencyBoundSeconds + t.stopGraceSeconds + 60;
    this.header = `batch-runner selftest on AWS (account ${d.account}, region ${d.region}): canary batch ${canary.name}, state machine ${d.stateMachineName}`;
  }

  private get aws() {
    return this.ctx.aws();
  }

  async runAll(check: string, inputs: ReadonlyArray<Record<string, unknown>>): Promise<CanaryEnd[]> {
    const now = this.ctx.now();
    const random = this.ctx.random();
    const arns = await Promise.all(
      inputs.map(async (input, i) => {
        const name = manualExecutionName(
          'cli',
          this.canary.name,
          now,
          `${random}-${check}${inputs.length > 1 ? `-${i + 1}` : ''}`,
        );
        const started = await this.aws.sfn.send(
          new StartExecutionCommand({ stateMachineArn: this.d.stateMachineArn, name, input: JSON.stringify(input) }),
        );
        this.started.add(started.executionArn!);
        return started.executionArn!;
      }),
    );
    for (const arn of arns)
      this.ctx.output.err(`  started ${arn}\n    console: ${executionConsoleUrl(this.d.region, arn)}`);
    return this.waitForEnds(check, arns);
  }

  private async waitForEnds(check: string, arns: readonly string[]): Promise<CanaryEnd[]> {
    const ends = new Map<string, CanaryEnd>();
    const since = this.ctx.now().getTime();
    let lastProgress = since;
    for (;;) {
      for (const arn of arns.filter((a) => !ends.has(a))) {
        const described = await this.aws.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
        if (described.status !== 'RUNNING') ends.set(arn, await this.ended(arn, described));
      }
      if (ends.size === arns.length) return arns.map((a) => ends.get(a)!);
      const now = this.ctx.now().getTime();
      if (now - lastProgress >= this.ctx.progressEveryMs) {
        lastProgress = now;
        this.ctx.output.err(
          `    ${check}: ${arns.length - ends.size} execution(s) still RUNNING after ${duration(now - since)}`,
        );
      }
      await pauseOrStop(this.ctx, this.ctx.pollMs, this.deadline);
    }
  }

  private async ended(executionArn: string, described: DescribeExecutionCommandOutput): Promise<CanaryEnd> {
    const events = await historyEvents(this.aws.sfn, executionArn, { reverse: false, max: 1000 });
    const status = described.status ?? 'UNKNOWN';
    const outcome = outcomeOf({
      status,
      output: described.output,
      error: described.error,
      cause: described.cause,
      failureSummary: status === 'FAILED' ? failureSummaryOf(events) : undefined,
    });
    const taskArn = outcome.taskArn ?? startedTaskArnOf(events);
    let task: CanaryEnd['task'];
    if (taskArn && this.d.clusterArn) {
      const { tasks } = await this.aws.ecs.send(
        new DescribeTasksCommand({ cluster: this.d.clusterArn, tasks: [taskArn] }),
      );
      const t = tasks?.[0];
      const container = t?.containers?.find((c) => c.name === this.d.containerName);
      task = {
        taskArn,
        lastStatus: t?.lastStatus,
        exitCode: container?.exitCode ?? outcome.exitCode,
        createdAt: t?.createdAt?.getTime(),
        stoppedAt: t?.stoppedAt?.getTime(),
      };
    } else if (taskArn) task = { taskArn, exitCode: outcome.exitCode };
    return {
      executionArn,
      consoleUrl: executionConsoleUrl(this.d.region, executionArn),
      status,
      input: parseJson(described.input),
      outcome,
      states: timelineOf(events).map((s) => s.name),
      task,
    };
  }

  async runScheduled(): Promise<{ end?: CanaryEnd; problems: string[]; note: string }> {
    const GroupName = scheduleGroupName(this.ctx.prefix);
    // The canary's own (disabled) schedule names the role and dead-letter queue the CDK app gave it:
    // the one-off schedule uses the same, so it proves that role.
    let own: GetScheduleCommandOutput;
    try {
      own = await this.aws.scheduler.send(
        new GetScheduleCommand({ Name: scheduleName(this.canary.name, this.ctx.prefix), GroupName }),
      );
    } catch (err) {
      if ((err as Error).name !== 'ResourceNotFoundException') throw err;
      return {
        problems: [
          `the canary's schedule ${scheduleName(this.canary.name, this.ctx.prefix)} (group ${GroupName}) was not found: deploy with -c batchRunner:selftest=true`,
        ],
        note: '',
      };
    }
    const roleArn = own.Target?.RoleArn;
    if (!roleArn || own.Target?.Arn !== this.d.stateMachineArn)
      return {
        problems: [`the canary's schedule does not target ${this.d.stateMachineArn} with a role`],
        note: '',
      };
    const now = this.ctx.now().getTime();
    const at = new Date(Math.ceil((now + SCHEDULE_LEAD_MS) / 60_000) * 60_000);
    const stamp = at.toISOString().replace(/\.\d{3}Z$/, '');
    const Name = `${this.ctx.prefix}-selftest-${stamp.replace(/[-:]/g, '').toLowerCase()}-${this.ctx.random()}`.slice(
      0,
      64,
    );
    await this.aws.scheduler.send(
      new CreateScheduleCommand({
        Name,
        GroupName,
        Description: `batch-runner selftest: one start of ${this.d.stateMachineName} through Scheduler; deletes itself after it fires.`,
        ScheduleExpression: `at(${stamp})`,
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        State: 'ENABLED',
        Target: {
          Arn: this.d.stateMachineArn,
          RoleArn: roleArn,
          Input: JSON.stringify(SCHEDULER_INPUT_TEMPLATE),
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
          ...(own.Target?.DeadLetterConfig ? { DeadLetterConfig: own.Target.DeadLetterConfig } : {}),
        },
      }),
    );
    this.schedules.add(Name);
    this.ctx.output.err(`  created schedule ${Name} (group ${GroupName}): at(${stamp}) UTC, role ${roleArn}`);
    const problems: string[] = [];
    const arn = await this.findScheduledExecution(at.getTime());
    if (!arn) {
      problems.push(
        `no execution started by schedule ${Name} within ${duration(SCHEDULE_DELIVERY_MS)} of ${at.toISOString()} (see the schedules' dead-letter queue: the role or its trust may be wrong)`,
      );
      return { problems, note: `schedule ${Name}` };
    }
    this.started.add(arn);
    this.ctx.output.err(`  the schedule started ${arn}\n    console: ${executionConsoleUrl(this.d.region, arn)}`);
    const [end] = await this.waitForEnds('scheduler', [arn]);
    // ActionAfterCompletion DELETE: Scheduler deletes the schedule once it has fired.
    if (await this.waitUntilScheduleGone(Name, 60_000)) this.schedules.delete(Name);
    else problems.push(`schedule ${Name} did not delete itself after it fired (ActionAfterCompletion DELETE)`);
    return { end, problems, note: `schedule ${Name}` };
  }

  private async findScheduledExecution(atMs: number): Promise<string | undefined> {
    const giveUp = atMs + SCHEDULE_DELIVERY_MS;
    let lastProgress = this.ctx.now().getTime();
    const seen = new Set<string>();
    for (;;) {
      const page = await this.aws.sfn.send(
        new ListExecutionsCommand({ stateMachineArn: this.d.stateMachineArn, maxResults: 20 }),
      );
      for (const e of page.executions ?? []) {
        if (!e.executionArn || seen.has(e.executionArn) || this.started.has(e.executionArn)) continue;
        if (e.startDate && e.startDate.getTime() < atMs - 5_000) {
          seen.add(e.executionArn);
          continue;
        }
        const described = await this.aws.sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
        seen.add(e.executionArn);
        const input = parseJson(described.input) as Record<string, unknown> | undefined;
        if (input?.trigger === 'schedule') return e.executionArn;
      }
      const now = this.ctx.now().getTime();
      if (now > giveUp) return undefined;
      if (now - lastProgress >= this.ctx.progressEveryMs) {
        lastProgress = now;
        this.ctx.output.err(
          `    scheduler: waiting for the schedule to fire (at ${new Date(atMs).toISOString()}, ${duration(Math.max(0, atMs - now))} to go)`,
        );
      }
      await pauseOrStop(this.ctx, Math.max(this.ctx.pollMs, 1), this.deadline);
    }
  }

  private async scheduleExists(Name: string): Promise<boolean> {
    try {
      await this.aws.scheduler.send(new GetScheduleCommand({ Name, GroupName: scheduleGroupName(this.ctx.prefix) }));
      return true;
    } catch (err) {
      if ((err as Error).name === 'ResourceNotFoundException') return false;
      throw err;
    }
  }

  private async waitUntilScheduleGone(Name: string, withinMs: number): Promise<boolean> {
    const until = this.ctx.now().getTime() + withinMs;
    for (;;) {
      if (!(await this.scheduleExists(Name))) return true;
      if (this.ctx.now().getTime() > until) return false;
      await this.ctx.sleep(Math.max(this.ctx.pollMs, 1));
    }
  }

  async alertsOf(executionArn: string): Promise<{ count: number; delivered: boolean }> {
    const { Item } = await this.aws.dynamodb.send(
      new GetItemCommand({
        TableName: this.d.lockTableName,
        Key: { batch: { S: alertKey(executionArn) } },
        ConsistentRead: true,
      }),
    );
    // One record per execution (a conditional put): it exists once, or not at all.
    return { count: Item ? 1 : 0, delivered: Item?.state?.S === 'delivered' };
  }

  async lockOwner(): Promise<string | undefined> {
    const { Item } = await this.aws.dynamodb.send(
      new GetItemCommand({
        TableName: this.d.lockTableName,
        Key: { batch: { S: this.canary.name } },
        ConsistentRead: true,
      }),
    );
    return Item?.owner?.S;
  }

  async liveTasks(): Promise<string[]> {
    if (!this.d.clusterArn) return [];
    const arns = new Set<string>();
    for (const desiredStatus of ['RUNNING', 'STOPPED'] as const) {
      const { taskArns } = await this.aws.ecs.send(
        new ListTasksCommand({ cluster: this.d.clusterArn, family: this.d.family, desiredStatus }),
      );
      for (const a of taskArns ?? []) arns.add(a);
    }
    if (arns.size === 0) return [];
    const { tasks } = await this.aws.ecs.send(
      new DescribeTasksCommand({ cluster: this.d.clusterArn, tasks: [...arns].slice(0, 100) }),
    );
    return (tasks ?? []).filter((t) => t.lastStatus !== 'STOPPED').map((t) => t.taskArn!);
  }

  private async executionStatus(executionArn: string): Promise<string> {
    try {
      return (await this.aws.sfn.send(new DescribeExecutionCommand({ executionArn }))).status ?? 'UNKNOWN';
    } catch (err) {
      if (['ExecutionDoesNotExist', 'InvalidArn'].includes((err as Error).name)) return 'DOES_NOT_EXIST';
      throw err;
    }
  }

  async cleanUp(): Promise<{ actions: string[]; leftovers: string[] }> {
    const actions: string[] = [];
    for (const Name of [...this.schedules]) {
      try {
        await this.aws.scheduler.send(
          new DeleteScheduleCommand({ Name, GroupName: scheduleGroupName(this.ctx.prefix) }),
        );
        actions.push(`deleted schedule ${Name}`);
      } catch (err) {
        if ((err as Error).name !== 'ResourceNotFoundException') throw err;
      }
      this.schedules.delete(Name);
    }
    const stopped: string[] = [];
    for (const arn of this.started) {
      if ((await this.executionStatus(arn)) !== 'RUNNING') continue;
      await this.aws.sfn.send(
        new StopExecutionCommand({
          executionArn: arn,
          error: 'BatchRunner.SelftestCleanup',
          cause: 'batch-runner selftest stopped its own run (interrupted, or over its time budget).',
        }),
      );
      stopped.push(arn);
      actions.push(`stopped execution ${arn} (the reconciler stops its task and releases the lock)`);
    }
    // The reconciler stops a stopped execution's task and releases its lock once ECS reports STOPPED.
    const until = this.ctx.now().getTime() + (stopped.length > 0 ? CLEANUP_WAIT_MS.aws : 0);
    for (;;) {
      const owner = await this.lockOwner();
      const tasks = await this.liveTasks();
      if ((!owner && tasks.length === 0) || this.ctx.now().getTime() >= until) break;
      this.ctx.output.err(
        `    cleanup: waiting for the runner to release the canary (${owner ? `lock held by ${owner}` : 'lock free'}, ${tasks.length} task(s) not STOPPED)`,
      );
      await this.ctx.sleep(Math.max(this.ctx.pollMs, 1));
    }
    const leftovers: string[] = [];
    const owner = await this.lockOwner();
    if (owner) {
      const status = await this.executionStatus(owner);
      if (status !== 'RUNNING' && this.started.has(owner)) {
        const released = await releaseLockIfOwner(this.aws.dynamodb, this.d.lockTableName, this.canary.name, owner);
        if (released === 'released') actions.push(`released the lock its run ${owner} left (${status})`);
        else leftovers.push(`lock of ${this.canary.name} held by ${owner} (${status})`);
      } else leftovers.push(`lock of ${this.canary.name} held by ${owner} (${status})`);
    }
    for (const task of await this.liveTasks()) {
      if (this.d.clusterArn)
        await this.aws.ecs.send(
          new StopTaskCommand({
            cluster: this.d.clusterArn,
            task,
            reason: 'batch-runner selftest cleanup: a canary task outlived its execution',
          }),
        );
      actions.push(`asked ECS to stop canary task ${task}`);
      leftovers.push(`canary task ${task} (stopping)`);
    }
    for (const Name of this.schedules) if (await this.scheduleExists(Name)) leftovers.push(`schedule ${Name}`);
    return { actions, leftovers };
  }

  async close(): Promise<void> {}
}

class LocalSelftest implements SelftestDriver {
  readonly mode = 'local';
  readonly sleeps = { short: '1', overlap: '2' };
  readonly stopBoundSeconds: number;
  readonly header: string;
  private readonly runs = new Map<string, Promise<LocalRunResult>>();
  private readonly local: BatchConfig;

  constructor(
    private readonly ctx: CliContext,
    private readonly runtime: LocalRuntime,
    canary: BatchConfig,
  ) {
    this.local = forLocalMode(canary);
    const grace = this.local.stopGraceSeconds ?? 30;
    this.stopBoundSeconds = this.local.hardTimeoutSeconds + grace + 5;
    this.header = `batch-runner selftest in the local mode (state in ${ctx.stateDir}): canary batch ${canary.name}, hard timeout ${this.local.hardTimeoutSeconds} s, stop grace ${grace} s`;
  }

  async runAll(check: string, inputs: ReadonlyArray<Record<string, unknown>>): Promise<CanaryEnd[]> {
    const now = this.ctx.now();
    const random = this.ctx.random();
    const runs = inputs.map((input, i) => {
      const name = manualExecutionName(
        'cli',
        this.local.name,
        now,
        `${random}-${check}${inputs.length > 1 ? `-${i + 1}` : ''}`,
      );
      const run = this.runtime.start(this.local.name, input, { name });
      this.runs.set(name, run);
      return run;
    });
    const results = await this.settle(runs);
    return results.map((r) => this.ended(r));
  }

  /** Waits for local runs; on Ctrl-C stops them (they end ABORTED after the local cleanup) and throws. */
  private async settle(runs: Array<Promise<LocalRunResult>>): Promise<LocalRunResult[]> {
    const all = Promise.all(runs);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        this.runtime.stopAll('BatchRunner.Interrupted', 'batch-runner selftest was interrupted (Ctrl-C).');
        reject(new SelftestStop('interrupted (Ctrl-C)', true));
      };
      if (this.ctx.signal?.aborted) onAbort();
      else this.ctx.signal?.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      return await Promise.race([all, aborted]);
    } finally {
      if (onAbort) this.ctx.signal?.removeEventListener('abort', onAbort);
    }
  }

  private ended(r: LocalRunResult): CanaryEnd {
    const outcome = outcomeOf({ status: r.status, output: r.output, error: r.error, cause: r.cause });
    const described = r.taskArn ? this.runtime.ecs.describe(r.taskArn) : undefined;
    return {
      executionArn: r.executionArn,
      status: r.status,
      input: this.runtime.registry.get(r.executionArn)?.input,
      outcome: { ...outcome, taskArn: outcome.taskArn ?? r.taskArn },
      states: r.statesEntered,
      task: r.taskArn
        ? {
            taskArn: r.taskArn,
            lastStatus: described?.LastStatus,
            exitCode: described?.Containers[0]?.ExitCode ?? outcome.exitCode,
            createdAt: described?.CreatedAt,
            stoppedAt: described?.StoppedAt,
          }
        : undefined,
    };
  }

  async runScheduled(): Promise<{ end?: CanaryEnd; problems: string[]; note: string }> {
    // No Scheduler locally: a start with exactly the input Scheduler sends, its time filled in.
    const input = {
      ...SCHEDULER_INPUT_TEMPLATE,
      scheduledTime: this.ctx
        .now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
    };
    const name = manualExecutionName('schedule', this.local.name, this.ctx.now(), `${this.ctx.random()}-scheduler`);
    const run = this.runtime.start(this.local.name, input, { name });
    this.runs.set(name, run);
    const [result] = await this.settle([run]);
    return {
      end: this.ended(result),
      problems: [],
      note: `local mode: no Scheduler; started with the scheduler's exact input ${JSON.stringify(SCHEDULER_INPUT_TEMPLATE)} (only AWS proves the scheduler role)`,
    };
  }

  async alertsOf(executionArn: string): Promise<{ count: number; delivered: boolean }> {
    const count = readAlerts(this.runtime.alertsPath).filter((a) =>
      a.message.split('\n').includes(`Execution: ${executionArn}`),
    ).length;
    return { count, delivered: count > 0 };
  }

  async lockOwner(): Promise<string | undefined> {
    return (await this.runtime.lockItem(this.local.name))?.owner || undefined;
  }

  async liveTasks(): Promise<string[]> {
    const known = [...this.runs.keys()]
      .map((name) => this.runtime.registry.get(name)?.taskArn)
      .filter((a): a is string => a !== undefined);
    const running = this.runtime.ecs.runningTasksOf(this.local.name).map((t) => t.TaskArn);
    return [...new Set([...known, ...running])].filter((a) => this.runtime.ecs.describe(a)?.LastStatus !== 'STOPPED');
  }

  async cleanUp(): Promise<{ actions: string[]; leftovers: string[] }> {
    const actions: string[] = [];
    const pending = [...this.runs.entries()].filter(([name]) => this.runtime.registry.get(name)?.status === 'RUNNING');
    if (pending.length > 0) {
      this.runtime.stopAll('BatchRunner.SelftestCleanup', 'batch-runner selftest stopped its own run.');
      // Each stopped run ends ABORTED after the local cleanup (the reconciler's code) stopped its task.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled(pending.map(([, run]) => run)),
        new Promise((resolve) => {
          timer = setTimeout(resolve, CLEANUP_WAIT_MS.local);
        }),
      ]);
      clearTimeout(timer);
      for (const [name] of pending) actions.push(`stopped execution ${name}`);
    }
    const leftovers: string[] = [];
    const owner = await this.lockOwner();
    if (owner) {
      const status = this.runtime.registry.get(owner)?.status ?? 'DOES_NOT_EXIST';
      if (status !== 'RUNNING' && (await this.runtime.releaseLock(this.local.name, owner)))
        actions.push(`released the lock its run ${owner} left (${status})`);
      else leftovers.push(`lock of ${this.local.name} held by ${owner} (${status})`);
    }
    for (const task of await this.liveTasks()) {
      await this.runtime.ecs.stopTask({
        Cluster: LOCAL_CLUSTER_ARN,
        Task: task,
        Reason: 'batch-runner selftest cleanup: a canary task outlived its execution',
      });
      actions.push(`stopped canary task ${task}`);
      leftovers.push(`canary task ${task} (stopping)`);
    }
    return { actions, leftovers };
  }

  async close(): Promise<void> {
    await this.runtime.close();
  }
}

/** One guarantee: what it starts and what must hold when its executions have ended. */
interface Check {
  readonly id: string;
  readonly guarantee: string;
  run(
    d: SelftestDriver,
    input: (reason: string, values?: Record<string, string>) => Record<string, unknown>,
  ): Promise<{
    problems: string[];
    detail: string;
    ends: CanaryEnd[];
  }>;
}

const describeOutcome = (e: CanaryEnd) =>
  `${e.outcome.outcome}${e.outcome.error ? ` (${e.outcome.error})` : ''}${e.task?.exitCode !== undefined && e.task?.exitCode !== null ? `, exit code ${e.task.exitCode}` : ''}`;

async function expectOneAlert(d: SelftestDriver, e: CanaryEnd, problems: string[]): Promise<void> {
  const alerts = await d.alertsOf(e.executionArn);
  if (alerts.count !== 1) problems.push(`expected exactly one alert for ${e.executionArn}, found ${alerts.count}`);
  else if (!alerts.delivered) problems.push(`the alert of ${e.executionArn} is recorded but not delivered yet (SNS)`);
}

const CHECKS: readonly Check[] = [
  {
    id: 'success',
    guarantee: 'a run whose task exits 0 succeeds',
    async run(d, input) {
      const [e] = await d.runAll('success', [input('success', env({ sleepSeconds: d.sleeps.short, exitCode: '0' }))]);
      const problems: string[] = [];
      if (e.outcome.outcome !== 'succeeded' || e.task?.exitCode !== 0)
        problems.push(`expected succeeded with exit code 0, got ${describeOutcome(e)}: ${e.outcome.reason ?? ''}`);
      return { problems, detail: describeOutcome(e), ends: [e] };
    },
  },
  {
    id: 'non-zero-exit',
    guarantee: 'a non-zero exit fails the run with its exit code and one alert',
    async run(d, input) {
      const [e] = await d.runAll('exit', [
        input('non-zero exit', env({ sleepSeconds: d.sleeps.short, exitCode: '3' })),
      ]);
      const problems: string[] = [];
      if (e.outcome.outcome !== 'failed' || e.outcome.error !== 'BatchRunner.TaskFailed' || e.task?.exitCode !== 3)
        problems.push(`expected failed (BatchRunner.TaskFailed), exit code 3, got ${describeOutcome(e)}`);
      await expectOneAlert(d, e, problems);
      return { problems, detail: `${describeOutcome(e)}, one alert`, ends: [e] };
    },
  },
  {
    id: 'hard-timeout',
    guarantee: 'the runner stops a task at its hard timeout, also one that ignores SIGTERM, and alerts once',
    async run(d, input) {
      const [e] = await d.runAll('timeout', [
        input('hard timeout, SIGTERM ignored', env({ sleepSeconds: '3600', ignoreSigterm: 'true' })),
      ]);
      const problems: string[] = [];
      if (e.outcome.outcome !== 'timed_out' || e.outcome.error !== 'BatchRunner.TimedOut')
        problems.push(
          `expected timed_out (BatchRunner.TimedOut), got ${describeOutcome(e)}: ${e.outcome.reason ?? ''}`,
        );
      if (!e.task) problems.push('no task was started');
      else {
        if (e.task.lastStatus !== undefined && e.task.lastStatus !== 'STOPPED')
          problems.push(`task ${e.task.taskArn} is ${e.task.lastStatus}, not STOPPED`);
        // SIGTERM was ignored: only SIGKILL after the stop grace ends the container (137).
        if (e.task.exitCode !== undefined && e.task.exitCode !== null && e.task.exitCode !== 137)
          problems.push(`the task exited ${e.task.exitCode}, not 137 (SIGKILL after the stop grace)`);
        if (e.task.createdAt !== undefined && e.task.stoppedAt !== undefined) {
          const seconds = (e.task.stoppedAt - e.task.createdAt) / 1000;
          if (seconds > d.stopBoundSeconds)
            problems.push(
              `the task stopped ${seconds.toFixed(0)} s after RunTask, over the bound of ${d.stopBoundSeconds} s`,
            );
        }
      }
      await expectOneAlert(d, e, problems);
      const ran =
        e.task?.createdAt !== undefined && e.task?.stoppedAt !== undefined
          ? `, stopped ${((e.task.stoppedAt - e.task.createdAt) / 1000).toFixed(0)} s after RunTask (bound ${d.stopBoundSeconds} s)`
          : '';
      return { problems, detail: `${describeOutcome(e)}${ran}, one alert`, ends: [e] };
    },
  },
  {
    id: 'two-at-once',
    guarantee: 'two starts at once: one runs, the other skips naming why',
    async run(d, input) {
      const values = env({ sleepSeconds: d.sleeps.overlap, exitCode: '0' });
      const ends = await d.runAll('overlap', [input('two at once (1)', values), input('two at once (2)', values)]);
      const outcomes = ends.map((e) => e.outcome.outcome).sort();
      const problems: string[] = [];
      if (outcomes.join(',') !== 'skipped,succeeded')
        problems.push(`expected one succeeded and one skipped, got ${ends.map(describeOutcome).join(' and ')}`);
      const skipped = ends.find((e) => e.outcome.outcome === 'skipped');
      if (skipped && !skipped.outcome.reason) problems.push(`the skipped run ${skipped.executionArn} gives no reason`);
      return {
        problems,
        detail: skipped ? `one succeeded; one skipped: ${skipped.outcome.reason ?? ''}` : outcomes.join(', '),
        ends,
      };
    },
  },
  {
    id: 'console-input',
    guarantee: 'console-style {} input is validated and runs',
    async run(d) {
      const [e] = await d.runAll('console', [{}]);
      const problems: string[] = [];
      if (e.outcome.outcome !== 'succeeded') problems.push(`expected succeeded, got ${describeOutcome(e)}`);
      if (!e.states.includes('ValidateManualInput')) problems.push('the run did not pass ValidateManualInput');
      return { problems, detail: `${describeOutcome(e)} through ValidateManualInput`, ends: [e] };
    },
  },
  {
    id: 'scheduler',
    guarantee: 'a start through EventBridge Scheduler (one-off at() schedule that deletes itself) runs',
    async run(d) {
      const { end, problems, note } = await d.runScheduled();
      if (end) {
        const input = end.input as Record<string, unknown> | undefined;
        if (end.outcome.outcome !== 'succeeded') problems.push(`expected succeeded, got ${describeOutcome(end)}`);
        if (
          input?.trigger !== 'schedule' ||
          typeof input?.scheduledTime !== 'string' ||
          input.scheduledTime.startsWith('<')
        )
          problems.push(`the input is not the scheduler's: ${JSON.stringify(input)}`);
        if (!end.states.includes('ClaimScheduledSlot') || end.states.includes('ValidateManualInput'))
          problems.push('the run did not take the scheduled route (ClaimScheduledSlot, no validation)');
      }
      return {
        problems,
        detail: `${end ? describeOutcome(end) : 'no run'}; ${note}`,
        ends: end ? [end] : [],
      };
    },
  },
];

/** An error an AWS service answered (it carries the SDK's `$metadata`), as opposed to a bug here. */
const isAwsError = (err: unknown): boolean => typeof err === 'object' && err !== null && '$metadata' in err;

function awsErrorText(err: unknown): string {
  const e = err as Error;
  const text = `${e.name}: ${e.message}`;
  return /AccessDenied|not authorized/i.test(text)
    ? `${text} (the operator running selftest needs the permissions listed in cli/README.md, "selftest")`
    : text;
}

/** Opens the target: the deployed canary on AWS, or the local mode with the canary's local command. */
async function openDriver(ctx: CliContext, local: boolean, deadline: number): Promise<SelftestDriver> {
  if (local) {
    const canary = ctx.localBatches.find((b) => b.name === SELFTEST_BATCH.name) ?? SELFTEST_BATCH;
    const runtime = await ctx.openLocal({ batches: [canary], store: 'memory' });
    return new LocalSelftest(ctx, runtime, canary);
  }
  const canary = SELFTEST_BATCH;
  let deployment: Deployment;
  try {
    deployment = await ctx.resolver().resolve(canary);
  } catch (err) {
    if (err instanceof UserError && err.exitCode === EXIT.ENVIRONMENT && /was not found/.test(err.message))
      throw new UserError(
        `${err.message}: the selftest canary is not deployed`,
        `deploy it with "npx cdk deploy --all -c batchRunner:selftest=true" (check --region, --profile and --prefix, now "${ctx.prefix}"). To try the selftest without AWS: batch-runner selftest --local`,
        EXIT.ENVIRONMENT,
      );
    throw err;
  }
  return new AwsSelftest(ctx, deployment, canary, deadline);
}

/** `selftest`: runs every check, cleans up, prints PASS/FAIL per guarantee; exit 0 only if all pass. */
export async function selftestCommand(ctx: CliContext, options: SelftestOptions): Promise<ExitCode> {
  const local = options.local ?? false;
  const t0 = ctx.now().getTime();
  const deadline = t0 + SELFTEST_BUDGET_MS[local ? 'local' : 'aws'];
  const driver = await openDriver(ctx, local, deadline);
  const reports: CheckReport[] = [];
  const input = (reason: string, environment?: Record<string, string>) => {
    const canary = local
      ? (ctx.localBatches.find((b) => b.name === SELFTEST_BATCH.name) ?? SELFTEST_BATCH)
      : SELFTEST_BATCH;
    return checkedInput(ctx, canary, {
      trigger: 'cli',
      reason: `batch-runner selftest: ${reason}`,
      requestedBy: ctx.user,
      ...(environment ? { overrides: { environment } } : {}),
    });
  };
  const line = (r: CheckReport) => {
    if (options.json) return;
    const links = r.executions.map((e) => e.consoleUrl ?? e.executionArn);
    ctx.output.out(`${r.result}  ${r.id.padEnd(22)} ${r.detail}`);
    for (const l of links) ctx.output.out(`      ${l}`);
    if (r.result === 'FAIL') ctx.output.out(`      guarantee: ${r.guarantee}`);
  };
  let stop: SelftestStop | undefined;
  let cleanup: { actions: string[]; leftovers: string[] } | undefined;
  ctx.output.err(driver.header);
  try {
    for (const check of CHECKS) {
      if (stop) {
        const r: CheckReport = {
          id: check.id,
          guarantee: check.guarantee,
          result: 'FAIL',
          detail: `not run: ${stop.message}`,
          executions: [],
        };
        reports.push(r);
        line(r);
        continue;
      }
      ctx.output.err(`- ${check.id}: ${check.guarantee}`);
      let report: CheckReport;
      try {
        const { problems, detail, ends } = await check.run(driver, input);
        // Every path: the lock released and no canary task left running once the runs have ended.
        const owner = await driver.lockOwner();
        if (owner) problems.push(`the lock is still held by ${owner}`);
        const tasks = await driver.liveTasks();
        if (tasks.length > 0) problems.push(`canary task(s) not STOPPED: ${tasks.join(', ')}`);
        report = {
          id: check.id,
          guarantee: check.guarantee,
          result: problems.length === 0 ? 'PASS' : 'FAIL',
          detail: problems.length === 0 ? `${detail}; lock released` : problems.join('; '),
          executions: ends.map((e) => ({
            executionArn: e.executionArn,
            consoleUrl: e.consoleUrl,
            outcome: e.outcome.outcome,
          })),
        };
      } catch (err) {
        // Ctrl-C or the budget: stop here. An AWS error fails this check and the next one goes on
        // (a missing permission for one step, say); the cleanup below runs either way.
        if (err instanceof SelftestStop) stop = err;
        else if (!isAwsError(err)) throw err;
        report = {
          id: check.id,
          guarantee: check.guarantee,
          result: 'FAIL',
          detail: err instanceof SelftestStop ? `not finished: ${err.message}` : awsErrorText(err),
          executions: [],
        };
      }
      reports.push(report);
      line(report);
    }
  } finally {
    // Whatever happened above (also an AWS error or a bug): stop what was started, delete the
    // schedule, release a lock the runs left, and say what remains.
    ctx.output.err('- cleanup: nothing of the selftest may stay behind');
    try {
      cleanup = await driver.cleanUp();
    } finally {
      await driver.close();
    }
  }
  const { actions, leftovers } = cleanup ?? { actions: [], leftovers: [] };
  const nothingLeft: CheckReport = {
    id: 'leaves-nothing-behind',
    guarantee: 'no lock, no task, no schedule left',
    result: leftovers.length === 0 ? 'PASS' : 'FAIL',
    detail:
      leftovers.length === 0
        ? `no lock, no task, no schedule left${actions.length > 0 ? ` (cleanup: ${actions.join('; ')})` : ''}`
        : `left behind: ${leftovers.join('; ')}${actions.length > 0 ? ` (cleanup: ${actions.join('; ')})` : ''}`,
    executions: [],
  };
  reports.push(nothingLeft);
  line(nothingLeft);
  const passed = reports.filter((r) => r.result === 'PASS').length;
  const ok = passed === reports.length;
  const code: ExitCode = stop?.interrupted ? EXIT.INTERRUPTED : ok ? EXIT.SUCCESS : EXIT.FAILED;
  const elapsedMs = ctx.now().getTime() - t0;
  if (options.json) {
    ctx.output.out(
      json({
        mode: driver.mode,
        batch: SELFTEST_BATCH.name,
        passed: ok,
        checks: reports,
        cleanup: actions,
        leftovers,
        durationMs: elapsedMs,
        exitStatus: code,
      }),
    );
  } else {
    ctx.output.out(
      `${passed} of ${reports.length} guarantees passed in ${duration(elapsedMs)}${ok ? '' : `: FAIL${stop ? ` (${stop.message})` : ''}`}`,
    );
  }
  return code;
}
