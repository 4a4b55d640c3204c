import { DeleteItemCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { EmbeddedDynamoDb } from '../../local/lock-store';
import { parseResource, ServiceError, taskStatesOf } from '../../local/task-resources';
import {
  BATCH_RUNNER_ASL_PATH,
  readDefinitionTemplate,
  renderDefinition,
  substitutionsFor,
} from '../../state-machines/definition';
import { FAMILY, newTaskArn } from '../fixtures/ecs-payloads';
import {
  executionArn,
  holdLock,
  LOCK_TABLE,
  runScenario,
  type Scenario,
  type ScenarioResult,
  ScriptedAws,
  startLockStore,
  TEST_BATCH,
  TEST_BINDINGS,
} from '../support/asl-harness';
import { dilateTimers } from '../support/time-dilation';

/**
 * Fault matrix: for every Task state of the ASL file (enumerated from the file, so a new state is
 * covered automatically), a service error injected on every attempt must still end the execution
 * with the lock not held by it, no task it started left running unannounced, and exactly one alert
 * (or skip notice) attempted.
 */

interface BaseScenario {
  readonly label: string;
  readonly setup: (db: EmbeddedDynamoDb, aws: ScriptedAws) => Promise<Scenario>;
}

const held = (status: string) => async (db: EmbeddedDynamoDb, aws: ScriptedAws) => {
  const holder = executionArn(`Holder${status}`);
  aws.executions.set(holder, status);
  await holdLock(db, holder);
  return {};
};

/** Ordinary paths; together they enter every Task state. */
const BASE_SCENARIOS: readonly BaseScenario[] = [
  { label: 'scheduled happy path', setup: async () => ({}) },
  { label: 'console start', setup: async () => ({ input: {} }) },
  {
    label: 'success faster than durationGuards.minDurationSeconds',
    setup: async () => ({ batch: { durationGuards: { minDurationSeconds: 60 } } }),
  },
  { label: 'lock held by a live run', setup: held('RUNNING') },
  { label: 'stale lock', setup: held('FAILED') },
  {
    label: 'replace a running copy (and a copy started outside the runner)',
    setup: async (db, aws) => {
      await held('RUNNING')(db, aws);
      // The reconciler's two lists (desired RUNNING, then desired STOPPED) while it settles the replaced
      // owner, then CheckRunningTasks: an untagged copy, gone at the next check.
      aws.listTasksAnswers = [[], [], [newTaskArn()], []];
      return { batch: { overlapPolicy: 'replace' } };
    },
  },
  {
    label: 'tasks of the family stopped lately',
    setup: async (_db, aws) => {
      aws.listTasksAnswers = [[], [newTaskArn()]];
      return {};
    },
  },
  {
    label: 'task of the family running',
    setup: async (_db, aws) => {
      aws.listTasksAnswers = [[newTaskArn()]];
      return {};
    },
  },
  {
    label: 'non-zero exit',
    setup: async (_db, aws) => {
      aws.watch = { exitCode: 2 };
      return {};
    },
  },
  {
    label: 'hard timeout',
    setup: async (_db, aws) => {
      aws.watch = 'hang';
      return { substitutions: { WaitChunkSeconds: '1', WaitChunkCount: '1' } };
    },
  },
  { label: 'redriven execution', setup: async () => ({ redriveCount: 1 }) },
  { label: 'Fargate Spot', setup: async () => ({ batch: { capacity: { spot: {} } } }) },
  {
    label: 'a capacity provider strategy',
    setup: async () => ({ batch: { capacity: { capacityProviderStrategy: [{ capacityProvider: 'nightly-asg' }] } } }),
  },
  { label: 'launch type EC2', setup: async () => ({ batch: { capacity: { launchType: 'EC2' } } }) },
];

/**
 * States whose failure the run tolerates by design: the run goes on and ends as it would have, with
 * no alert (the slot claim fails open: the lock still prevents overlap; a duration notice is
 * information about a run that succeeded, after its lock is released).
 */
const FAIL_OPEN_STATES = ['ClaimScheduledSlot', 'NotifyDuration'];
/** Lifecycle events (events:putEvents): a failed put is caught and the run ends exactly as without it. */
const isEventState = (resource: string) => parseResource(resource).service === 'events';

const SERVICE_ERROR_PREFIX: Record<string, string> = {
  dynamodb: 'DynamoDB',
  ecs: 'Ecs',
  sfn: 'Sfn',
  sns: 'SNS',
  lambda: 'Lambda',
  events: 'EventBridge',
};
const RELEASE_STATES = ['ReleaseLock', 'ReleaseLockAfterFailure', 'ReleaseLockAfterSkip'];

const definition = JSON.parse(renderDefinition(substitutionsFor(TEST_BATCH, TEST_BINDINGS), readDefinitionTemplate()));
const TASK_STATES = taskStatesOf(definition);
/**
 * The Task states of the committed file (state-machines/batch-runner.asl.json), whose retry and catch
 * policies the matrix proves; the runs use the definition under test, which differs only when
 * BATCH_RUNNER_ASL_TEMPLATE points at a mutant (npm run mutate:asl): a dropped Retry or caught error then
 * fails its test instead of dropping the test.
 */
const TASK_STATES_OF_COMMITTED_FILE = taskStatesOf(
  JSON.parse(
    renderDefinition(substitutionsFor(TEST_BATCH, TEST_BINDINGS), readDefinitionTemplate(BATCH_RUNNER_ASL_PATH)),
  ),
);

let db: EmbeddedDynamoDb;
const clearLock = () => db.client.send(new DeleteItemCommand({ TableName: LOCK_TABLE, Key: { batch: { S: FAMILY } } }));

beforeAll(async () => {
  db = await startLockStore();
});
afterAll(async () => {
  await db.close();
});

/** Which base scenario reaches each Task state, found by running them without faults (once per file). */
let reachingOnce: Promise<Map<string, BaseScenario>> | undefined;
function reachingScenarios(): Promise<Map<string, BaseScenario>> {
  reachingOnce ??= findReachingScenarios();
  return reachingOnce;
}

async function findReachingScenarios(): Promise<Map<string, BaseScenario>> {
  const reaching = new Map<string, BaseScenario>();
  for (const base of BASE_SCENARIOS) {
    await clearLock();
    const aws = new ScriptedAws();
    const r = await runScenario(db, aws, await base.setup(db, aws));
    for (const call of r.calls) if (!reaching.has(call.state)) reaching.set(call.state, base);
  }
  return reaching;
}

test('the ASL has Task states to cover', () => {
  expect(TASK_STATES.length).toBeGreaterThanOrEqual(15);
});

describe('a service error in any Task state', () => {
  let reaching: Map<string, BaseScenario>;
  beforeAll(async () => {
    reaching = await reachingScenarios();
  });

  test.each(TASK_STATES.map((s) => [s.name, s.resource]))('%s (%s)', async (stateName, resource) => {
    const base = reaching.get(stateName);
    if (!base) throw new Error(`No base scenario reaches Task state ${stateName}: add one to BASE_SCENARIOS.`);
    await clearLock();
    const aws = new ScriptedAws();
    const scenario = await base.setup(db, aws);
    const errorName = `${SERVICE_ERROR_PREFIX[parseResource(resource).service]}.InjectedFailure`;

    const r: ScenarioResult = await runScenario(db, aws, {
      ...scenario,
      inject: (call) =>
        call.state === stateName ? new ServiceError(errorName, `injected into ${stateName}`) : undefined,
    });

    // The fault really happened, and the execution ended by itself.
    expect(r.calls.some((c) => c.state === stateName && c.error?.name === errorName)).toBe(true);
    expect(['SUCCEEDED', 'FAILED']).toContain(r.status);

    // Exactly one alert (or skip notice) attempted; retries of one publish count once.
    const alertStates = r.statesEntered.filter((s) => s === 'PublishFailureAlert' || s === 'NotifySkipped');
    if (isEventState(resource)) {
      await clearLock();
      const clean = new ScriptedAws();
      const without = await runScenario(db, clean, await base.setup(db, clean));
      const ending = (x: ScenarioResult, a: ScriptedAws) => ({
        status: x.status,
        outcome: x.output?.outcome,
        error: x.error,
        alerts: a.published.map((p) => p.Subject),
        tasks: a.startedTasks.length,
        lockHeld: x.lockItem !== undefined,
      });
      expect(ending(r, aws)).toEqual(ending(without, clean));
      return;
    }
    if (FAIL_OPEN_STATES.includes(stateName)) {
      expect([r.status, alertStates]).toEqual(['SUCCEEDED', []]);
      expect(r.output.outcome).toBe('succeeded');
      return;
    }
    expect(alertStates).toHaveLength(1);
    const alertMessage =
      (r.calls.find((c) => c.state === 'PublishFailureAlert')?.params.Message as string | undefined) ?? '';

    // No task was started unless this execution held the lock at that moment.
    for (const taskArn of aws.startedTasks) expect(aws.lockOwnerAtStart.get(taskArn)).toBe(r.executionArn);

    // No task this execution started is left running unannounced.
    const watcher = r.calls.filter((c) => c.state === 'WaitForTaskToStop');
    for (const taskArn of aws.startedTasks) {
      const endedByItself = watcher.some((c) => c.result !== undefined || c.error?.name === 'BatchRunner.TaskFailed');
      const stoppedByRunner = aws.stopRequests.some((s) => s.task === taskArn);
      const announced = alertMessage.includes('Task may still run: true');
      // The release step's reconciler looked the task up in ECS and found it STOPPED.
      const confirmedStopped = aws.reconcilerCalls.some(
        (c, i) =>
          c.action === 'finish' &&
          c.start?.Tasks?.[0]?.TaskArn === taskArn &&
          (aws.reconcilerAnswers[i] as { taskMayStillRun?: boolean }).taskMayStillRun === false,
      );
      expect(endedByItself || stoppedByRunner || announced || confirmedStopped).toBe(true);
    }

    // The lock is not held by this execution; where releasing is what failed, the next start reclaims it.
    if (!RELEASE_STATES.includes(stateName)) {
      expect(r.lockItem?.owner.S).not.toBe(r.executionArn);
    } else {
      // The one message is the failure alert that says the lock is kept, also after a skip (not a skip notice).
      expect(alertMessage).toMatch(/The lock could not be released|Lock: kept/);
      if (r.statesEntered.includes('RecordReleaseError')) expect(r.error).toBe('BatchRunner.LockReleaseFailed');
      expect(r.lockItem?.owner.S).toBe(r.executionArn);
      const next = new ScriptedAws();
      next.executions.set(r.executionArn, r.status);
      const nextRun = await runScenario(db, next);
      expect(nextRun.statesEntered).toContain('SettleStaleLock');
      expect(nextRun.output.outcome).toBe('succeeded');
    }
  });
});

/** What a user sees of a run: its outcome, who holds the lock, the messages, the tasks started and stopped. */
async function observed(aws: ScriptedAws, r: ScenarioResult) {
  return {
    status: r.status,
    outcome: r.output?.outcome ?? r.error,
    lock: r.lockItem === undefined ? 'free' : r.lockItem.owner.S === r.executionArn ? 'held by this run' : 'held',
    messages: aws.published.map((p) => `${p.MessageAttributes?.severity?.StringValue}: ${p.Subject}`),
    tasksStarted: aws.startedTasks.length,
    tasksStartedWithoutTheLock: aws.startedTasks.filter((t) => aws.lockOwnerAtStart.get(t) !== r.executionArn).length,
    tasksStopped: aws.stopRequests.length,
    // Who stopped them, as the task's stoppedReason tells (ECS console, alert): the runner at its
    // deadline, or the reconciler cleaning up after it (the execution's name cut off).
    stoppedBy: aws.stopRequests.map((s) => s.reason.split(/[:(]/)[0]),
    // The run's alert record: one left `owed` after its alert was sent is sent again by the reconciler.
    alertRecord: await alertRecordState(r.executionArn),
  };
}

async function alertRecordState(arn: string): Promise<string | undefined> {
  const { Item } = await db.client.send(
    new GetItemCommand({ TableName: LOCK_TABLE, Key: { batch: { S: `alert#${arn}` } }, ConsistentRead: true }),
  );
  return Item?.state?.S;
}

/**
 * Transient errors: for every Retry of every Task state (enumerated from the file), the first error it
 * names, raised once, is retried and changes nothing a user sees: the same outcome, lock, messages and
 * tasks as the same run without it.
 */
describe('a transient error in any retried Task state', () => {
  let reaching: Map<string, BaseScenario>;
  beforeAll(async () => {
    reaching = await reachingScenarios();
  });

  /** What each base scenario shows without a fault (once per base scenario). */
  const calm = new Map<string, Awaited<ReturnType<typeof observed>>>();
  async function calmRun(base: BaseScenario) {
    if (!calm.has(base.label)) {
      await clearLock();
      const aws = new ScriptedAws();
      calm.set(base.label, await observed(aws, await runScenario(db, aws, await base.setup(db, aws))));
    }
    return calm.get(base.label)!;
  }

  const RETRIERS = TASK_STATES_OF_COMMITTED_FILE.flatMap((s) =>
    ((s.state.Retry ?? []) as Array<{ ErrorEquals: string[] }>).map((r, i) => [s.name, i, r.ErrorEquals[0]] as const),
  );

  test('the ASL has retried Task states to cover', () => {
    expect(RETRIERS.length).toBeGreaterThanOrEqual(15);
  });

  test.each(RETRIERS)('%s Retry[%i] (%s once)', async (stateName, _index, errorName) => {
    const base = reaching.get(stateName);
    if (!base) throw new Error(`No base scenario reaches Task state ${stateName}: add one to BASE_SCENARIOS.`);
    const expected = await calmRun(base);

    await clearLock();
    const aws = new ScriptedAws();
    const scenario = await base.setup(db, aws);
    const r = await runScenario(db, aws, {
      ...scenario,
      inject: (call, attempt) =>
        call.state === stateName && attempt === 0 ? new ServiceError(errorName, `transient ${errorName}`) : undefined,
    });

    const calls = r.calls.filter((c) => c.state === stateName);
    expect(calls[0].error?.name).toBe(errorName);
    // Retried: the next call of the state is the retry, and it is answered.
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls[1].error).toBeUndefined();
    expect(await observed(aws, r)).toEqual(expected);
  });
});

/**
 * Every error a Catch names leads where its first one does: raised on every call of the state (so that
 * retries, if any, run out), each later error of the committed file's Catch lists ends the run as the
 * first does: the same outcome, lock, messages and tasks. A Catch that lost one of its errors would let
 * that error fall through to a later Catch (or none) and end the run differently.
 */
describe('each error a Catch names, in any Task state', () => {
  let reaching: Map<string, BaseScenario>;
  beforeAll(async () => {
    reaching = await reachingScenarios();
  });

  /** How often the committed file's state retries an error (the first Retry that names it, or States.ALL). */
  const retriesOf = (stateName: string, errorName: string): number => {
    const state = TASK_STATES_OF_COMMITTED_FILE.find((s) => s.name === stateName)!.state;
    const retrier = ((state.Retry ?? []) as Array<{ ErrorEquals: string[]; MaxAttempts?: number }>).find(
      (r) => r.ErrorEquals.includes(errorName) || r.ErrorEquals.includes('States.ALL'),
    );
    return retrier === undefined ? 0 : (retrier.MaxAttempts ?? 3);
  };

  const ALTERNATIVES = TASK_STATES_OF_COMMITTED_FILE.flatMap((s) =>
    ((s.state.Catch ?? []) as Array<{ ErrorEquals: string[] }>).flatMap((c, i) =>
      c.ErrorEquals.slice(1).map((other) => [s.name, i, c.ErrorEquals[0], other] as const),
    ),
  );

  test.each(ALTERNATIVES)('%s Catch[%i]: %s and %s end the run alike', async (stateName, _index, first, other) => {
    const base = reaching.get(stateName);
    if (!base) throw new Error(`No base scenario reaches Task state ${stateName}: add one to BASE_SCENARIOS.`);
    const endingWith = async (errorName: string) => {
      await clearLock();
      const aws = new ScriptedAws();
      const scenario = await base.setup(db, aws);
      // The first call and every retry of it fail; a later visit of the state (after a lock wait) is calm.
      const failingCalls = 1 + retriesOf(stateName, errorName);
      const r = await runScenario(db, aws, {
        ...scenario,
        inject: (call, attempt) =>
          call.state === stateName && attempt < failingCalls
            ? new ServiceError(errorName, `injected ${errorName}`)
            : undefined,
      });
      return observed(aws, r);
    };
    expect(await endingWith(other)).toEqual(await endingWith(first));
  });
});

/**
 * Runs the base scenario that reaches `stateName` twice: calm, and with `fault` on the state's first
 * call only. Returns what a user sees of each and the faulted first call.
 */
async function onceAgainstCalm(reaching: Map<string, BaseScenario>, stateName: string, fault: Error | 'hang') {
  const base = reaching.get(stateName);
  if (!base) throw new Error(`No base scenario reaches Task state ${stateName}: add one to BASE_SCENARIOS.`);
  await clearLock();
  const calmAws = new ScriptedAws();
  const calm = await observed(calmAws, await runScenario(db, calmAws, await base.setup(db, calmAws)));
  await clearLock();
  const aws = new ScriptedAws();
  const scenario = await base.setup(db, aws);
  const r = await runScenario(db, aws, {
    ...scenario,
    inject: (call, attempt) => (call.state === stateName && attempt === 0 ? fault : undefined),
  });
  return { calm, seen: await observed(aws, r), first: r.calls.find((c) => c.state === stateName) };
}

/**
 * Calls that do not answer, timers 1000 times faster (test/support/time-dilation.ts), so a state whose
 * TimeoutSeconds became days hangs the run and the test fails by its timeout.
 * - Once: for every Task state that retries States.Timeout (and the watcher, whose timeout ends one wait
 *   chunk), a call that hangs once is abandoned after the state's TimeoutSeconds and the run goes on as if
 *   it had answered: the same outcome, lock, messages and tasks.
 * - Never: for every Task state, a call that hangs on every attempt is abandoned at the state's
 *   TimeoutSeconds (after its retries) and the run ends by itself: the execution is over, and the lock is
 *   not left to this run unless releasing it is what hung (the next start reclaims it then).
 */
describe('a call that does not answer, in any Task state', () => {
  let reaching: Map<string, BaseScenario>;
  let restore: () => void;
  beforeAll(async () => {
    reaching = await reachingScenarios();
    restore = dilateTimers(1000);
  });
  afterAll(() => restore());

  const retriesTimeout = (s: { name: string; state: any }) =>
    s.name === 'WaitForTaskToStop' ||
    ((s.state.Retry ?? []) as Array<{ ErrorEquals: string[] }>).some((r) => r.ErrorEquals.includes('States.Timeout'));
  const HANGERS = TASK_STATES.filter(retriesTimeout).map((s) => s.name);

  test('most Task states retry a call that did not answer', () => {
    expect(HANGERS.length).toBeGreaterThanOrEqual(TASK_STATES.length - 5);
  });

  test.each(HANGERS)('hangs once, where States.Timeout is retried or chunked: %s', async (stateName) => {
    const { first, seen, calm } = await onceAgainstCalm(reaching, stateName, 'hang');
    expect(first?.error?.name).toBe('States.Timeout');
    expect(seen).toEqual(calm);
  });

  test.each(TASK_STATES.map((s) => s.name))('never answers: %s', async (stateName) => {
    const base = reaching.get(stateName);
    if (!base) throw new Error(`No base scenario reaches Task state ${stateName}: add one to BASE_SCENARIOS.`);
    await clearLock();
    const aws = new ScriptedAws();
    const scenario = await base.setup(db, aws);
    const r = await runScenario(db, aws, {
      ...scenario,
      inject: (call) => (call.state === stateName ? 'hang' : undefined),
    });

    expect(r.calls.find((c) => c.state === stateName)?.error?.name).toBe('States.Timeout');
    expect(['SUCCEEDED', 'FAILED']).toContain(r.status);
    if (!RELEASE_STATES.includes(stateName)) expect(r.lockItem?.owner.S).not.toBe(r.executionArn);
    for (const taskArn of aws.startedTasks) expect(aws.lockOwnerAtStart.get(taskArn)).toBe(r.executionArn);
  });
});

/**
 * Throttling, named by the service and not read from the definition: every Task state rides out one
 * throttling answer of the service it calls (a state whose Retry was dropped or emptied would take its
 * Catch instead, and the run would end differently). Modeled names where the service has one; for ECS
 * and Step Functions, whose models have no throttling exception, the name the SDK integration reports
 * for an unmodeled error (`<Service>.<Service>Exception`, Step Functions developer guide).
 */
const THROTTLED: Record<string, string> = {
  dynamodb: 'DynamoDB.ThrottlingException',
  ecs: 'Ecs.EcsException',
  sfn: 'Sfn.SfnException',
  sns: 'SNS.ThrottledException',
  lambda: 'Lambda.TooManyRequestsException',
  events: 'EventBridge.InternalException',
};

describe('a throttling answer of its service, once, in any Task state', () => {
  let reaching: Map<string, BaseScenario>;
  beforeAll(async () => {
    reaching = await reachingScenarios();
  });

  test.each(TASK_STATES.map((s) => [s.name, s.resource]))('%s (%s)', async (stateName, resource) => {
    const errorName = THROTTLED[parseResource(resource).service];
    const { first, seen, calm } = await onceAgainstCalm(
      reaching,
      stateName,
      new ServiceError(errorName, 'Rate exceeded'),
    );
    expect(first?.error?.name).toBe(errorName);
    expect(seen).toEqual(calm);
  });
});
