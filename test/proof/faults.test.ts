import 'aws-sdk-client-mock-jest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeTasksCommand, ECSClient, ListTasksCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { LOCAL_BATCHES } from '../../examples/demo-batches';
import { type ReconcilerDeps, type ExecutionStatusChangeEvent, handleReconcilerEvent } from '../../handlers/cleanup';
import { awsWorld } from '../../handlers/lib/aws-world';
import { readLock as readLockItem } from '../../handlers/lib/lock-item';
import type { BatchReconcileReport } from '../../handlers/lib/reconcile';
import { handleTaskWatcherEvent, type WatchOutcome } from '../../handlers/task-watcher';
import { ExecutionRegistry, LocalSfn } from '../../local/execution-registry';
import { LocalEcs } from '../../local/local-ecs';
import { type LocalRunResult, LocalRuntime } from '../../local/local-runtime';
import type { EmbeddedDynamoDb } from '../../local/lock-store';
import { type LocalExecutionResult, runLocalExecution } from '../../local/run-execution';
import { type LocalServices, ServiceError } from '../../local/task-resources';
import { renderDefinition, substitutionsFor } from '../../state-machines/definition';
import { ACCOUNT, CLUSTER_ARN, FAMILY, REGION } from '../fixtures/ecs-payloads';
import { sdkTask, stateEntered, stateExited } from '../handlers/fixtures/events';
import { alertsOf, cleanUpStateDir, isAlive, localTasks, tempStateDir, waitFor } from '../local/support';
import {
  executionArn,
  LOCK_TABLE,
  runScenario,
  scheduledInput,
  STATE_MACHINE_ARN,
  ScriptedAws,
  startLockStore,
  TEST_BATCH,
  TEST_BINDINGS,
  TOPIC_ARN,
  RECONCILER_ARN,
  WATCHER_ARN,
} from '../support/asl-harness';

/**
 * Faults beyond the per-state fault matrix (issue 5, item 2). For each scenario: nothing is left
 * running, no lock stays held by a dead owner (or the next start reclaims it), exactly one alert.
 *
 * AWS side: the real ASL in aws-local-stepfunctions, the lock in dynalite, the real task-watcher
 * Lambda registering the task on the lock item, the real cleanup Lambda on the "Step Functions
 * Execution Status Change" event; ECS, Step Functions and SNS answered by aws-sdk-client-mock over
 * one consistent fake ECS (a task runs until someone calls StopTask on it).
 * Local side: the local mode with real child processes (local ECS, execution registry, local cleanup).
 */

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const ecs = new ECSClient({ region: REGION, credentials });
const sfn = new SFNClient({ region: REGION, credentials });
const sns = new SNSClient({ region: REGION, credentials });
const ecsMock = mockClient(ecs);
const sfnMock = mockClient(sfn);
const snsMock = mockClient(sns);

let db: EmbeddedDynamoDb;
const accounts: FakeAccount[] = [];
afterEach(() => {
  for (const account of accounts.splice(0)) account.settleOpenWaits();
});

beforeAll(async () => {
  // The handlers log one JSON line per step (CloudWatch); keep the test output readable.
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  db = await startLockStore();
});
afterAll(async () => {
  await db.close();
});

const lockOf = () => readLockItem(db.client, LOCK_TABLE, FAMILY);
const clearLock = () => db.client.send(new DeleteItemCommand({ TableName: LOCK_TABLE, Key: { batch: { S: FAMILY } } }));

/**
 * The AWS account of a scenario: ECS as one fake cluster (a started task RUNS until StopTask is
 * called on it), seen identically by the state machine (ScriptedAws) and by the Lambdas (SDK mocks);
 * the task-watcher Lambda is the real handler; everything else as ScriptedAws scripts it.
 */
class FakeAccount extends ScriptedAws {
  /** taskArn -> StopTask reason, for tasks someone stopped. */
  readonly stopped = new Map<string, string>();
  readonly watcherOutcomes: WatchOutcome[] = [];
  /** Token waits still open when the execution ended (settled after the test, see afterEach). */
  private readonly openWaits: Array<(err: Error) => void> = [];
  private watching?: () => void;
  /** Resolves when the watcher Lambda has registered the task and the execution waits for its token. */
  readonly watchingTask = new Promise<void>((resolve) => {
    this.watching = resolve;
  });

  constructor() {
    super();
    accounts.push(this);
    ecsMock.reset();
    sfnMock.reset();
    snsMock.reset();
    snsMock.on(PublishCommand).resolves({ MessageId: '6f1c2d3e-4b5a-5c6d-8e7f-901a2b3c4d5e' });
    ecsMock.on(DescribeTasksCommand).callsFake((input: { tasks?: string[] }) => ({
      tasks: (input.tasks ?? []).filter((t) => this.startedTasks.includes(t)).map((t) => this.sdkTaskOf(t)),
      failures: (input.tasks ?? [])
        .filter((t) => !this.startedTasks.includes(t))
        .map((arn) => ({ arn, reason: 'MISSING' })),
    }));
    ecsMock.on(ListTasksCommand).callsFake(() => ({ taskArns: this.runningTasks }));
    sfnMock.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => {
      const status = this.executions.get(input.executionArn);
      if (status === undefined)
        throw Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' });
      return { executionArn: input.executionArn, status };
    });
    ecsMock.on(StopTaskCommand).callsFake((input: { task: string; reason?: string }) => {
      if (!this.stopped.has(input.task)) this.stopped.set(input.task, input.reason ?? 'Task stopped by user');
      return { task: this.sdkTaskOf(input.task) };
    });
  }

  /**
   * Settles the token waits of ended executions. aws-local-stepfunctions keeps a Task state's own
   * timer (here the 900 s wait chunk) until its handler settles, even after the execution was aborted
   * or timed out; the execution has ended, so this changes nothing but lets the test process exit.
   */
  settleOpenWaits(): void {
    for (const reject of this.openWaits.splice(0)) reject(new Error('execution ended; token abandoned'));
  }

  get runningTasks(): string[] {
    return this.startedTasks.filter((t) => !this.stopped.has(t));
  }

  private sdkTaskOf(taskArn: string) {
    const reason = this.stopped.get(taskArn);
    return reason === undefined
      ? sdkTask({ taskArn, lastStatus: 'RUNNING' })
      : {
          ...sdkTask({ taskArn, lastStatus: 'STOPPED', exitCode: 143, stoppedReason: reason }),
          stopCode: 'UserInitiated' as const,
        };
  }

  services(dynamodb: EmbeddedDynamoDb): LocalServices {
    const base = super.services(dynamodb);
    return {
      ...base,
      ecs: {
        ...base.ecs,
        // The running-task check sees what really runs on the fake cluster; a StopTask stops it there.
        listTasks: async () => ({ TaskArns: this.runningTasks }),
        stopTask: async (p) => {
          if (!this.stopped.has(p.Task)) this.stopped.set(p.Task, p.Reason);
          return base.ecs.stopTask(p);
        },
      },
      functions: {
        ...base.functions,
        // The real reconciler with the SDK clients of this fake account.
        [RECONCILER_ARN]: async (payload) => handleReconcilerEvent(payload as any, cleanupDeps()),
        [WATCHER_ARN]: async (payload) => {
          const outcome = await handleTaskWatcherEvent(payload as any, {
            clients: { dynamodb: dynamodb.client, ecs, sfn },
            lockTableName: LOCK_TABLE,
          });
          this.watcherOutcomes.push(outcome);
          if (outcome.action !== 'waiting') throw new Error(`unexpected watcher outcome ${JSON.stringify(outcome)}`);
          this.watching?.();
          // The token is answered by the ECS STOPPED event; in these scenarios the execution ends first.
          return new Promise((_, reject) => this.openWaits.push(reject));
        },
      },
    };
  }
}

interface AwsRun extends LocalExecutionResult {
  readonly executionArn: string;
  readonly name: string;
  readonly input: unknown;
}

/** Runs the real ASL against the fake account; `stopWhenWatching` is StopExecution by hand once the task runs. */
async function runOnAws(
  account: FakeAccount,
  o: { name: string; substitutions?: Record<string, string>; stopWhenWatching?: boolean; input?: unknown },
): Promise<AwsRun> {
  const arn = executionArn(o.name);
  const input = o.input ?? scheduledInput();
  account.executions.set(arn, 'RUNNING');
  const definition = renderDefinition({ ...substitutionsFor(TEST_BATCH, TEST_BINDINGS), ...o.substitutions });
  const abort = new AbortController();
  if (o.stopWhenWatching) void account.watchingTask.then(() => abort.abort());
  const result = await runLocalExecution({
    definition,
    input,
    executionArn: arn,
    services: account.services(db),
    abortSignal: abort.signal,
  });
  account.executions.set(arn, result.status);
  return { ...result, executionArn: arn, name: o.name, input };
}

/** "Step Functions Execution Status Change" as EventBridge delivers it for an ended execution. */
function statusChangeEvent(run: AwsRun): ExecutionStatusChangeEvent {
  return {
    version: '0',
    id: 'a8b7c6d5-e4f3-4a2b-9c1d-0e9f8a7b6c5d',
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: ACCOUNT,
    time: new Date(run.stoppedAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: REGION,
    resources: [run.executionArn],
    detail: {
      executionArn: run.executionArn,
      stateMachineArn: STATE_MACHINE_ARN,
      name: run.name,
      status: run.status,
      startDate: run.startedAt,
      stopDate: run.stoppedAt,
      input: JSON.stringify(run.input),
      output: null,
      error: run.error ?? null,
      cause: run.cause ?? null,
    },
  };
}

/** The execution's history as GetExecutionHistory returns it (newest first), from the Task states it ran. */
function historyOf(run: AwsRun): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  for (const call of run.calls) {
    events.push(stateEntered(call.state));
    if (call.error) continue;
    const output =
      call.state === 'StartBatchTask'
        ? { start: call.result }
        : call.state === 'PublishFailureAlert'
          ? { summary: { outcome: 'failed' }, alert: call.result }
          : {};
    events.push(stateExited(call.state, output));
  }
  return events.reverse();
}

let clock = 0;
function cleanupDeps(): ReconcilerDeps {
  return {
    world: awsWorld({ ecs, sfn, sns }, TOPIC_ARN),
    dynamodb: db.client,
    config: {
      lockTableName: LOCK_TABLE,
      namePrefix: 'batch-runner',
      clusterArns: [CLUSTER_ARN],
      stopConfirmSeconds: 180,
      pollIntervalMs: 5000,
    },
    now: () => clock,
    // Virtual time for the bounded wait until STOPPED.
    sleep: async (ms: number) => {
      clock += ms;
    },
  };
}

/** Delivers the status event to the real cleanup handler (twice: EventBridge delivers at least once). */
async function deliverToCleanup(run: AwsRun): Promise<[BatchReconcileReport, BatchReconcileReport]> {
  clock = run.stoppedAt;
  sfnMock.on(GetExecutionHistoryCommand).resolves({ events: historyOf(run) });
  const event = statusChangeEvent(run);
  const first = (await handleReconcilerEvent(event, cleanupDeps())) as BatchReconcileReport;
  const second = (await handleReconcilerEvent(event, cleanupDeps())) as BatchReconcileReport;
  return [first, second];
}

const publishedByCleanup = () => snsMock.commandCalls(PublishCommand).map((c) => c.args[0].input);
const OWN_CLEANUP_STATES = ['ReleaseLock', 'ReleaseLockAfterFailure', 'StopBatchTask', 'PublishFailureAlert'];

/** One execution stopped/timed out while its task runs, then the cleanup handler: the shared assertions. */
async function expectCleanedUpOnAws(
  account: FakeAccount,
  run: AwsRun,
  status: 'ABORTED' | 'TIMED_OUT',
  outcome: string,
): Promise<void> {
  // The execution ended while waiting for its running task, and ran none of its own cleanup.
  expect(run.status).toBe(status);
  expect(run.statesEntered.at(-1)).toBe('WaitForTaskToStop');
  expect(run.statesEntered.filter((s) => OWN_CLEANUP_STATES.includes(s))).toEqual([]);
  expect(account.startedTasks).toHaveLength(1);
  const [taskArn] = account.startedTasks;
  expect(account.runningTasks).toEqual([taskArn]);
  expect(account.watcherOutcomes).toEqual([{ action: 'waiting', taskArn, lastStatus: 'RUNNING' }]);
  // What it left behind: its lock, with the task the real watcher registered.
  expect(await lockOf()).toMatchObject({ owner: run.executionArn, taskArn, clusterArn: CLUSTER_ARN });
  expect(account.published).toEqual([]);

  const [first, second] = await deliverToCleanup(run);

  expect(first).toMatchObject({
    ownerStatus: status,
    lock: 'released',
    alert: 'sent',
    tasks: [{ taskArn, action: 'stopped' }],
  });
  expect(ecsMock).toHaveReceivedCommandTimes(StopTaskCommand, 1);
  expect(ecsMock).toHaveReceivedCommandWith(StopTaskCommand, {
    cluster: CLUSTER_ARN,
    task: taskArn,
    reason: `batch-runner reconciler: its execution ${run.name} is ${status}`,
  });
  expect(account.runningTasks).toEqual([]);
  expect(await lockOf()).toBeUndefined();
  // The duplicate delivery changes nothing and sends nothing.
  expect(second).toMatchObject({ lock: 'free', alert: 'already recorded', tasks: [] });
  const alerts = publishedByCleanup();
  expect(alerts).toHaveLength(1);
  expect(alerts[0].Subject).toBe(`[batch-runner] ${FAMILY} ${outcome}`);
  expect(alerts[0].Message).toContain(`Execution: ${run.executionArn}`);
  expect(alerts[0].Message).toContain(`Task: ${taskArn}`);
  expect(alerts[0].Message).toContain('Task may still run: false');
  expect(alerts[0].Message).toContain('Lock: released');
  expect(alerts[0].MessageAttributes?.outcome?.StringValue).toBe(outcome);

  // The next start finds the batch free and runs it.
  const next = await runScenario(db, new ScriptedAws(), { name: `${run.name}-next` });
  expect(next.status).toBe('SUCCEEDED');
  expect(next.output.outcome).toBe('succeeded');
  expect(next.statesEntered).not.toContain('ReadLockHolder');
  expect(next.lockItem).toBeUndefined();
}

// ---------------------------------------------------------------------------------------------------
// Local mode helpers
// ---------------------------------------------------------------------------------------------------

interface LocalSetup {
  readonly dir: string;
  readonly hold: string;
  readonly runtime: LocalRuntime;
}

/** A local runtime whose `sitemap-refresh` task runs until the hold file exists. */
async function localSetup(label: string): Promise<LocalSetup> {
  const dir = tempStateDir(`proof-${label}`);
  const hold = join(dir, 'hold');
  const runtime = await LocalRuntime.open({
    stateDir: dir,
    batches: LOCAL_BATCHES,
    store: 'memory',
    taskEnvironment: { EXAMPLE_STEP_MS: '5', EXAMPLE_HOLD_FILE: hold },
  });
  return { dir, hold, runtime };
}

async function closeLocal(s: LocalSetup | undefined): Promise<void> {
  if (!s) return;
  writeFileSync(s.hold, '');
  await s.runtime.close();
  await cleanUpStateDir(s.dir);
}

/** Waits until the run's container process is up; returns the task ARN and the container's pid. */
async function runningTask(s: LocalSetup): Promise<{ taskArn: string; childPid: number; agentPid: number }> {
  const task = await waitFor('the task to run', () =>
    localTasks(s.dir).find((t) => t.state?.lastStatus === 'RUNNING' && t.state.childPid !== undefined),
  );
  return {
    taskArn: s.runtime.ecs.taskArnFor(task.id),
    childPid: task.state!.childPid!,
    agentPid: task.state!.agentPid,
  };
}

/** Nothing of a local task left: agent and container processes are gone, ECS says STOPPED. */
async function expectNothingLeftRunning(s: LocalSetup, taskArn: string, pids: number[]): Promise<void> {
  expect(s.runtime.ecs.describe(taskArn)?.LastStatus).toBe('STOPPED');
  expect(s.runtime.ecs.runningTasksOf('sitemap-refresh')).toEqual([]);
  // The agent exits right after recording STOPPED.
  await waitFor('the task processes to be gone', () => pids.every((pid) => !isAlive({ pid })), 5000);
}

/** The next local start of the batch runs (no stale lock, no orphaned task in the way). */
async function expectNextLocalStartRuns(s: LocalSetup): Promise<void> {
  writeFileSync(s.hold, '');
  const next = await s.runtime.start('sitemap-refresh', { trigger: 'cli', reason: 'next run after the fault' });
  expect([next.status, next.output?.outcome]).toEqual(['SUCCEEDED', 'succeeded']);
  expect(next.statesEntered).not.toContain('ReadLockHolder');
  expect(await s.runtime.lockItem('sitemap-refresh')).toBeUndefined();
}

// ---------------------------------------------------------------------------------------------------
// a. Execution stopped by hand mid-run
// ---------------------------------------------------------------------------------------------------

describe('a. an execution stopped by hand while its task runs', () => {
  beforeEach(clearLock);

  test('AWS: the cleanup handler on the ABORTED event stops the task, then releases the lock; one alert', async () => {
    const account = new FakeAccount();
    const run = await runOnAws(account, { name: 'stopped-by-hand', stopWhenWatching: true });
    await expectCleanedUpOnAws(account, run, 'ABORTED', 'aborted');
  });

  describe('local mode: StopExecution from another terminal, the local cleanup', () => {
    let s: LocalSetup | undefined;
    afterEach(() => closeLocal(s));

    test('stops the real task process (SIGTERM, exit 143), releases the lock, one alert; the next start runs', async () => {
      s = await localSetup('aborted');
      const running = s.runtime.start('sitemap-refresh', { trigger: 'cli', reason: 'will be stopped by hand' });
      const { taskArn, childPid, agentPid } = await runningTask(s);
      const [record] = s.runtime.registry.list('sitemap-refresh');
      expect(await s.runtime.lockItem('sitemap-refresh')).toMatchObject({ owner: record.executionArn });

      // Another process: its own registry handle, no in-process stop (the request goes through the state dir).
      const otherTerminal = new LocalSfn(new ExecutionRegistry(s.dir), () => false);
      await otherTerminal.stopExecution({
        ExecutionArn: record.executionArn,
        Error: 'Operator.Stopped',
        Cause: 'stopped by hand from another terminal',
      });
      const r: LocalRunResult = await running;

      expect(r.status).toBe('ABORTED');
      expect([r.error, r.cause]).toEqual(['Operator.Stopped', 'stopped by hand from another terminal']);
      expect(r.taskArn).toBe(taskArn);
      expect(r.statesEntered.filter((st) => OWN_CLEANUP_STATES.includes(st))).toEqual([]);
      expect(r.cleanup).toEqual([
        `stopped task ${taskArn} (its execution ${r.name} is ABORTED)`,
        'lock released',
        'sent one alert',
      ]);
      const task = s.runtime.ecs.describe(taskArn)!;
      expect(task.StopCode).toBe('UserInitiated');
      expect(task.StoppedReason).toBe(`batch-runner reconciler: its execution ${r.name} is ABORTED`);
      await expectNothingLeftRunning(s, taskArn, [childPid, agentPid]);
      expect(await s.runtime.lockItem('sitemap-refresh')).toBeUndefined();
      const alerts = alertsOf(s.dir, r.executionArn);
      expect(alerts).toHaveLength(1);
      expect(alerts[0].subject).toBe('[batch-runner] sitemap-refresh aborted');
      expect(alerts[0].attributes).toMatchObject({ outcome: 'aborted', severity: 'alert', trigger: 'cli' });
      expect(alerts[0].message).toContain('Operator.Stopped: stopped by hand from another terminal');
      expect(alerts[0].message).toContain('Task may still run: false');
      expect(s.runtime.registry.get(r.executionArn)?.status).toBe('ABORTED');

      await expectNextLocalStartRuns(s);
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// b. Execution-level timeout
// ---------------------------------------------------------------------------------------------------

describe('b. the execution runs into its own TimeoutSeconds (TIMED_OUT) while its task runs', () => {
  // The ASL's top-level TimeoutSeconds, substituted small (production: hard timeout + every budget + 5 min).
  const EXECUTION_TIMEOUT = '2';
  beforeEach(clearLock);

  test('AWS: the cleanup handler on the TIMED_OUT event stops the task, then releases the lock; one alert', async () => {
    const account = new FakeAccount();
    const run = await runOnAws(account, {
      name: 'execution-timeout',
      substitutions: { ExecutionTimeoutSeconds: EXECUTION_TIMEOUT },
    });
    expect(run.error).toBe('States.Timeout');
    await expectCleanedUpOnAws(account, run, 'TIMED_OUT', 'timed_out');
  });

  test('AWS, status event lost (best-effort delivery): the next start has the reconciler stop the orphaned task, confirm it STOPPED, then takes the lock and runs', async () => {
    const account = new FakeAccount();
    const run = await runOnAws(account, {
      name: 'timeout-event-lost',
      substitutions: { ExecutionTimeoutSeconds: EXECUTION_TIMEOUT },
    });
    expect(run.status).toBe('TIMED_OUT');
    const [orphan] = account.runningTasks;
    expect(await lockOf()).toMatchObject({ owner: run.executionArn });

    // What the next start's SettleStaleLock asks of the reconciler (the whole run is in the scenarios).
    const settled = await handleReconcilerEvent(
      { action: 'settle', executionArn: `${run.executionArn}-next`, batch: { name: FAMILY, clusterArn: CLUSTER_ARN } },
      cleanupDeps(),
    );
    expect(settled).toMatchObject({ lock: 'released', taskMayStillRun: false });
    expect(await lockOf()).toBeUndefined();
    // The orphan was stopped before the lock changed hands, and never ran beside the new task.
    expect(account.stopped.get(orphan)).toContain(
      'batch-runner reconciler: its execution timeout-event-lost is TIMED_OUT',
    );
    expect(account.runningTasks).toEqual([]);
    // The lost event cost nothing: the timed-out run's alert was owed and sent by the reconciler.
    expect(publishedByCleanup().map((p) => p.Subject)).toEqual([`[batch-runner] ${FAMILY} timed_out`]);
  });

  describe('local mode', () => {
    let s: LocalSetup | undefined;
    afterEach(() => closeLocal(s));

    test('the local engine times the execution out; the local cleanup stops the task, releases the lock, one alert', async () => {
      s = await localSetup('timed-out');
      const runtime = s.runtime;
      const batch = runtime.localBatch('sitemap-refresh');
      // Same definition as always, only the top-level TimeoutSeconds substituted small.
      runtime.definitionFor = () =>
        renderDefinition({ ...substitutionsFor(batch, runtime.bindingsFor(batch)), ExecutionTimeoutSeconds: '4' });
      const running = runtime.start('sitemap-refresh', { trigger: 'cli', reason: 'will time out' });
      const { taskArn, childPid, agentPid } = await runningTask(s);
      const r = await running;

      expect([r.status, r.error]).toEqual(['TIMED_OUT', 'States.Timeout']);
      expect(r.statesEntered.at(-1)).toBe('WaitForTaskToStop');
      expect(r.statesEntered.filter((st) => OWN_CLEANUP_STATES.includes(st))).toEqual([]);
      expect(r.cleanup).toEqual([
        `stopped task ${taskArn} (its execution ${r.name} is TIMED_OUT)`,
        'lock released',
        'sent one alert',
      ]);
      expect(s.runtime.ecs.describe(taskArn)!.StoppedReason).toBe(
        `batch-runner reconciler: its execution ${r.name} is TIMED_OUT`,
      );
      await expectNothingLeftRunning(s, taskArn, [childPid, agentPid]);
      expect(await runtime.lockItem('sitemap-refresh')).toBeUndefined();
      const alerts = alertsOf(s.dir, r.executionArn);
      expect(alerts).toHaveLength(1);
      expect(alerts[0].subject).toBe('[batch-runner] sitemap-refresh timed_out');
      expect(alerts[0].message).toContain('States.Timeout');
      expect(runtime.registry.get(r.executionArn)?.status).toBe('TIMED_OUT');

      await expectNextLocalStartRuns(s);
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// c. DynamoDB throttling on every lock call
// ---------------------------------------------------------------------------------------------------

describe('c. DynamoDB throttles every lock call', () => {
  const throttled = () =>
    new ServiceError(
      'DynamoDB.ProvisionedThroughputExceededException',
      'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
    );
  const isLockCall = (resource: string) => resource.startsWith('arn:aws:states:::dynamodb:');

  test('from the first call: FAILED after the retries, no task started, lock not held, exactly one alert', async () => {
    await clearLock();
    const aws = new ScriptedAws();
    const r = await runScenario(db, aws, {
      name: 'throttled-throughout',
      inject: (call) => (isLockCall(call.resource) ? throttled() : undefined),
    });

    const lockCalls = r.calls.filter((c) => isLockCall(c.resource));
    expect(lockCalls.length).toBeGreaterThan(0);
    expect(lockCalls.every((c) => c.error?.name === 'DynamoDB.ProvisionedThroughputExceededException')).toBe(true);
    // AcquireLock was retried (1 + 5 attempts) before giving up; no call past the lock.
    expect(r.calls.filter((c) => c.state === 'AcquireLock')).toHaveLength(6);
    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.InternalError');
    expect(r.cause).toContain('Could not acquire the lock (DynamoDB.ProvisionedThroughputExceededException');
    expect(r.calls.filter((c) => c.resource.includes(':ecs:'))).toEqual([]);
    expect(aws.startedTasks).toEqual([]);
    expect(r.lockItem).toBeUndefined();
    expect(aws.published).toHaveLength(1);
    expect(aws.published[0].Subject).toBe(`[batch-runner] ${FAMILY} failed`);
    expect(aws.published[0].Message).toContain('ProvisionedThroughputExceededException');
    expect(aws.published[0].Message).toContain('Task may still run: false');

    // Once DynamoDB answers again, the next start runs.
    const next = await runScenario(db, new ScriptedAws(), { name: 'after-throttling' });
    expect(next.output.outcome).toBe('succeeded');
  });

  describe('from the moment the lock is taken (the release is throttled too)', () => {
    let r: Awaited<ReturnType<typeof runScenario>>;

    beforeAll(async () => {
      await clearLock();
      // The task ends by itself with exit 0 (scripted watcher), so the run reaches its own release.
      r = await runScenario(db, new ScriptedAws(), {
        name: 'throttled-after-acquire',
        inject: (call) => (isLockCall(call.resource) && call.state !== 'AcquireLock' ? throttled() : undefined),
      });
    });

    test('FAILED LockReleaseFailed with exactly one alert; the lock is left to a dead owner', async () => {
      expect(r.status).toBe('FAILED');
      expect(r.error).toBe('BatchRunner.LockReleaseFailed');
      expect(r.calls.filter((c) => c.state === 'ReleaseLock')).toHaveLength(6);
      expect(r.statesEntered.filter((st) => st === 'PublishFailureAlert')).toHaveLength(1);
      expect(r.calls.filter((c) => c.state === 'PublishFailureAlert' && c.error === undefined)).toHaveLength(1);
      expect(r.lockItem?.owner?.S).toBe(r.executionArn);
    });

    test('the next start finds the owner ended and reclaims the lock without a person', async () => {
      const next = await runScenario(db, new ScriptedAws(), { name: 'reclaims-after-throttling' });
      expect(next.statesEntered).toEqual(expect.arrayContaining(['CheckLockHolderLiveness', 'SettleStaleLock']));
      expect(next.output.outcome).toBe('succeeded');
      expect(next.lockItem).toBeUndefined();
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// d. The ECS task stops by itself while the runner waits
// ---------------------------------------------------------------------------------------------------

describe('d. the task stops by itself while the runner waits for it (local mode, real processes)', () => {
  let s: LocalSetup | undefined;
  afterEach(() => closeLocal(s));

  test('container killed from outside (SIGKILL, exit 137): the watcher notices, outcome failed, lock released, one alert', async () => {
    s = await localSetup('killed');
    const running = s.runtime.start('sitemap-refresh', { trigger: 'cli', reason: 'container will be killed' });
    const { taskArn, childPid, agentPid } = await runningTask(s);
    process.kill(childPid, 'SIGKILL');
    const r = await running;

    expect([r.status, r.error]).toEqual(['FAILED', 'BatchRunner.TaskFailed']);
    expect(r.statesEntered).toEqual(expect.arrayContaining(['RecordTaskFailure', 'ReleaseLockAfterFailure']));
    // The runner did not stop it: the container ended on its own.
    expect(r.calls.filter((c) => c.state === 'StopBatchTask')).toEqual([]);
    expect(s.runtime.ecs.describe(taskArn)).toMatchObject({ StopCode: 'EssentialContainerExited' });
    expect(s.runtime.ecs.describe(taskArn)!.Containers[0].ExitCode).toBe(137);
    expect(r.cleanup).toBeUndefined();
    await expectNothingLeftRunning(s, taskArn, [childPid, agentPid]);
    expect(await s.runtime.lockItem('sitemap-refresh')).toBeUndefined();
    const alerts = alertsOf(s.dir, r.executionArn);
    expect(alerts).toHaveLength(1);
    expect(alerts[0].subject).toBe('[batch-runner] sitemap-refresh failed');
    expect(alerts[0].message).toContain(taskArn);
    expect(alerts[0].message).toContain('"exitCode":137');

    await expectNextLocalStartRuns(s);
  });

  test('task stopped from outside the runner (StopTask by someone else, exit 143): outcome failed, lock released, one alert', async () => {
    s = await localSetup('stopped-outside');
    const running = s.runtime.start('sitemap-refresh', { trigger: 'cli', reason: 'task will be stopped elsewhere' });
    const { taskArn, childPid, agentPid } = await runningTask(s);
    // Another process's ECS view of the same state directory (as `aws ecs stop-task` from a console).
    const elsewhere = new LocalEcs({
      stateDir: s.dir,
      clusterArn: 'arn:aws:ecs:local:000000000000:cluster/local',
      taskDefinition: () => undefined,
    });
    await elsewhere.stopTask({ Task: taskArn, Reason: 'stopped in the ECS console by an operator' });
    elsewhere.close();
    const r = await running;

    expect([r.status, r.error]).toEqual(['FAILED', 'BatchRunner.TaskFailed']);
    expect(r.calls.filter((c) => c.state === 'StopBatchTask')).toEqual([]);
    expect(s.runtime.ecs.describe(taskArn)).toMatchObject({
      StopCode: 'UserInitiated',
      StoppedReason: 'stopped in the ECS console by an operator',
    });
    await expectNothingLeftRunning(s, taskArn, [childPid, agentPid]);
    expect(await s.runtime.lockItem('sitemap-refresh')).toBeUndefined();
    const alerts = alertsOf(s.dir, r.executionArn);
    expect(alerts).toHaveLength(1);
    expect(alerts[0].message).toContain('stopped in the ECS console by an operator');
    expect(alerts[0].message).toContain('"exitCode":143');
  });

  test('task finishes by itself with exit 0: outcome succeeded, lock released, no alert', async () => {
    s = await localSetup('finishes');
    const running = s.runtime.start('sitemap-refresh', { trigger: 'cli', reason: 'ends by itself' });
    const { taskArn, childPid, agentPid } = await runningTask(s);
    writeFileSync(s.hold, '');
    const r = await running;

    expect([r.status, r.output?.outcome, r.output?.task?.exitCode]).toEqual(['SUCCEEDED', 'succeeded', 0]);
    await expectNothingLeftRunning(s, taskArn, [childPid, agentPid]);
    expect(await s.runtime.lockItem('sitemap-refresh')).toBeUndefined();
    expect(alertsOf(s.dir, r.executionArn)).toEqual([]);
  });
});
