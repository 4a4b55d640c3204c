import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  type ExecutionStatusChangeEvent,
  handleReconcilerEvent,
  type ReconcilerDeps,
  type ReconcilerEvent,
} from '../../handlers/cleanup';
import { handler as validateManualInput } from '../../handlers/validate-manual-input';
import { type EmbeddedDynamoDb, ensureLockTable, startEmbeddedDynamoDb } from '../../local/lock-store';
import { type ExecutionsPort, servicesReconcileWorld } from '../../local/reconcile-world';
import { type LocalExecutionResult, runLocalExecution } from '../../local/run-execution';
import type { LocalServices } from '../../local/task-resources';
import { localTaskWatcher } from '../../local/task-watcher';
import { renderDefinition, substitutionsFor } from '../../state-machines/definition';
import { CLUSTER_ARN, FAMILY } from '../fixtures/ecs-payloads';
import {
  RECONCILER_ARN,
  STATE_MACHINE_ARN,
  TEST_BATCH,
  TEST_BINDINGS,
  TOPIC_ARN,
  VALIDATOR_ARN,
  WATCHER_ARN,
} from '../support/asl-harness';
import { type ChaosExecution, ChaosAccount, type ChaosFaults, Rng } from '../support/chaos-world';

/**
 * Chaos: seeded random interleavings of starts (scheduled slots and their duplicate deliveries,
 * console and CLI starts), StopExecution at random moments, status events lost, late or duplicated,
 * RunTask answers lost after the call took effect, RunTask requests still in flight when their
 * execution is stopped, stop graces of random length, tasks that run past the hard timeout, SNS
 * outages, and the reconciler's scheduled pass in between. Real parts: the ASL file in
 * aws-local-stepfunctions, the lock table in dynalite, the manual-input validator, the watcher's
 * deadline logic and the reconciler itself. Checked all along: never two tasks of the batch running
 * at once; never a free lock while a task it guarded may run. Checked once everything has ended and
 * the reconciler has had its passes: no task running, no lock held, exactly one alert per execution
 * that did not succeed and none for one that did, every task stopped within the hard timeout plus
 * its stop grace, and a reported success only for a task that exited 0 by itself.
 *
 * A failure names its seed; replay it alone with `CHAOS_SEED=<seed> npx jest test/proof/chaos`.
 * `CHAOS_SEEDS=<n>` runs more seeds than the CI default.
 */

const SEEDS = process.env.CHAOS_SEED
  ? [Number(process.env.CHAOS_SEED)]
  : Array.from({ length: Number(process.env.CHAOS_SEEDS ?? 8) }, (_, i) => 1000 + i);

const HARD_TIMEOUT_MS = 2000;
const FAULTS: ChaosFaults = {
  runTaskAnswerLost: 0.2,
  runTaskInFlightMs: [0, 80],
  stopGraceMs: [20, 300],
  taskRunMs: [150, 3200],
  nonZeroExit: 0.25,
  snsOutage: 0.15,
};
/** The reconciler's pass interval, scaled down from 60 s. */
const PASS_EVERY_MS = 300;
/** More than the longest RunTask flight above. */
const IN_FLIGHT_GRACE_MS = 400;
const EXECUTIONS_PER_SEED = 6;

let db: EmbeddedDynamoDb;
beforeAll(async () => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  db = await startEmbeddedDynamoDb();
});
afterAll(async () => {
  await db.close();
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const executionArnOf = (name: string) => `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;

interface SeedRun {
  readonly seed: number;
  readonly account: ChaosAccount;
  readonly results: Map<string, LocalExecutionResult>;
  readonly problems: string[];
}

async function runSeed(seed: number): Promise<SeedRun> {
  const rng = new Rng(seed);
  const table = `chaos-${seed}`;
  await ensureLockTable(db.client, table);
  const account = new ChaosAccount(rng, FAULTS, TEST_BATCH);
  const problems: string[] = [];
  let clockOffsetMs = 0;

  const executions: ExecutionsPort = {
    async describeExecution(arn) {
      const e = account.executions.get(arn);
      return e ? { status: e.status, stoppedAt: e.stopDate } : { status: 'MISSING' };
    },
    async listStateMachines() {
      return [{ name: `batch-runner-${FAMILY}`, arn: STATE_MACHINE_ARN }];
    },
    async listEndedExecutions(_sm, sinceMs) {
      return [...account.executions.values()]
        .filter((e) => e.status !== 'RUNNING' && e.status !== 'SUCCEEDED' && (e.stopDate ?? 0) >= sinceMs)
        .map((e) => ({ executionArn: e.arn, status: e.status, stopDate: e.stopDate }));
    },
  };
  const deps: ReconcilerDeps = {
    world: servicesReconcileWorld(account.ecs, executions, account.sns, TOPIC_ARN),
    dynamodb: db.client,
    config: {
      lockTableName: table,
      namePrefix: 'batch-runner',
      clusterArns: [CLUSTER_ARN],
      stopConfirmSeconds: 2,
      pollIntervalMs: 25,
      inFlightGraceMs: IN_FLIGHT_GRACE_MS,
    },
    now: () => Date.now() + clockOffsetMs,
  };
  const reconcile = (event: ReconcilerEvent, why: string) =>
    handleReconcilerEvent(event, deps).catch((err: Error) => {
      problems.push(`reconciler (${why}) threw ${err.name}: ${err.message}`);
      return undefined;
    });

  const services: LocalServices = {
    dynamodb: db.client,
    ecs: account.ecs,
    sfn: account.sfn,
    sns: account.sns,
    functions: {
      [VALIDATOR_ARN]: async (payload) => validateManualInput(payload as any),
      [WATCHER_ARN]: localTaskWatcher(account.ecs as any),
      [RECONCILER_ARN]: async (payload) => handleReconcilerEvent(payload as any, deps),
    },
  };
  const definition = renderDefinition({
    ...substitutionsFor(TEST_BATCH, { ...TEST_BINDINGS, lockTableName: table }),
    HardTimeoutSeconds: String(HARD_TIMEOUT_MS / 1000),
    WaitChunkSeconds: '1',
    WaitChunkCount: '2',
  });
  const waits = Object.entries<any>(JSON.parse(definition).States)
    .filter(([, s]) => s.Type === 'Wait')
    .map(([n]) => [n, 20]);

  // The monitor: a free lock never coexists with a task that was running before the lock was read.
  let monitoring = true;
  const monitor = (async () => {
    while (monitoring) {
      const before = account.running();
      const readAt = Date.now();
      const { Item } = await db.client.send(
        new GetItemCommand({ TableName: table, Key: { batch: { S: FAMILY } }, ConsistentRead: true }),
      );
      if (!Item?.owner) {
        for (const t of before)
          if (t.lastStatus !== 'STOPPED' || (t.stoppedAt ?? 0) > readAt)
            problems.push(`the lock was free at ${readAt} while task ${t.arn} could still run`);
      }
      await sleep(30);
    }
  })();
  const passes = (async () => {
    while (monitoring) {
      await sleep(PASS_EVERY_MS);
      if (monitoring) await reconcile({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, 'scheduled pass');
    }
  })();

  const slots = ['2026-12-01T21:00:00Z', '2026-12-01T22:00:00Z'];
  const deliveries: Promise<unknown>[] = [];
  const results = new Map<string, LocalExecutionResult>();
  const runs = Array.from({ length: EXECUTIONS_PER_SEED }, (_, i) => {
    const startAfter = rng.int(0, 1500);
    const kind = rng.int(0, 4);
    const input =
      kind <= 1
        ? { trigger: 'schedule', scheduledTime: slots[kind] }
        : kind === 2
          ? { trigger: 'schedule', scheduledTime: slots[0] } // a duplicate delivery
          : kind === 3
            ? {}
            : { trigger: 'cli', reason: 'chaos rerun', requestedBy: 'chaos' };
    // Half of the stops land early, where the start is decided and RunTask may be in flight.
    const stopAfter = rng.chance(0.35) ? (rng.chance(0.5) ? rng.int(0, 120) : rng.int(30, 2600)) : undefined;
    const eventFate = rng.next();
    const eventDelay = rng.int(0, 300);
    const name = `chaos-${seed}-${i}`;
    const arn = executionArnOf(name);
    return (async () => {
      await sleep(startAfter);
      const abort = new AbortController();
      const execution: ChaosExecution = { arn, name, status: 'RUNNING', abort };
      account.executions.set(arn, execution);
      const stopper = stopAfter === undefined ? undefined : setTimeout(() => abort.abort(), stopAfter);
      const result = await runLocalExecution({
        definition,
        input,
        executionArn: arn,
        services,
        abortSignal: abort.signal,
        waitTimeOverrides: Object.fromEntries(waits),
      });
      if (stopper) clearTimeout(stopper);
      execution.status = result.status as ChaosExecution['status'];
      execution.stopDate = Date.now();
      results.set(arn, result);
      if (result.status === 'SUCCEEDED') return;
      // EventBridge: best effort, at least once. Lost, late, or delivered twice.
      const event: ExecutionStatusChangeEvent = {
        'detail-type': 'Step Functions Execution Status Change',
        source: 'aws.states',
        detail: {
          executionArn: arn,
          stateMachineArn: STATE_MACHINE_ARN,
          name,
          status: result.status as ExecutionStatusChangeEvent['detail']['status'],
          input: JSON.stringify(input),
          error: result.error ?? null,
          cause: result.cause ?? null,
        },
      };
      if (eventFate < 0.3) return;
      const copies = eventFate < 0.9 ? 1 : 2;
      for (let c = 0; c < copies; c++)
        deliveries.push(sleep(eventDelay * (c + 1)).then(() => reconcile(event, `status event ${name}`)));
    })();
  });

  try {
    await Promise.all(runs);
    await Promise.all(deliveries);
    monitoring = false;
    await Promise.all([monitor, passes]);
    // Quiescence: the reconciler's later passes (the clock moved on: recorder graces, backoffs and the
    // in-flight grace have passed), with time for the stops they ask for to take effect.
    for (let pass = 0; pass < 8; pass++) {
      clockOffsetMs += 10 * 60_000;
      await reconcile({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, 'quiescence pass');
      await sleep(FAULTS.stopGraceMs[1] + 50);
    }
  } finally {
    monitoring = false;
    account.close();
  }
  return { seed, account, results, problems };
}

/** What must hold once everything has ended. */
async function finalProblems(run: SeedRun): Promise<string[]> {
  const { account, results } = run;
  const problems = [...run.problems, ...account.violations];
  for (const t of account.running()) problems.push(`task ${t.arn} still runs after quiescence`);
  const { Item } = await db.client.send(
    new GetItemCommand({ TableName: `chaos-${run.seed}`, Key: { batch: { S: FAMILY } }, ConsistentRead: true }),
  );
  if (Item?.owner) problems.push(`the lock is still held by ${Item.owner.S} after quiescence`);

  for (const [arn, r] of results) {
    const alerts = account.published.filter(
      (p) => p.MessageAttributes?.severity?.StringValue === 'alert' && String(p.Message).includes(`Execution: ${arn}`),
    );
    if (r.status === 'SUCCEEDED') {
      if (alerts.length !== 0) problems.push(`${arn} succeeded (${r.output?.outcome}) but got ${alerts.length} alerts`);
      continue;
    }
    // The one documented window: stopped after SNS took the alert and before it was marked delivered.
    const publishedThenStopped =
      r.calls.some((c) => c.state === 'PublishFailureAlert' && c.result !== undefined) &&
      !r.calls.some((c) => c.state === 'MarkAlertDelivered' && c.result !== undefined);
    if (alerts.length !== 1 && !(publishedThenStopped && alerts.length === 2))
      problems.push(`${arn} ended ${r.status} (${r.error}) with ${alerts.length} alerts, not exactly one`);
  }

  const graceMax = FAULTS.stopGraceMs[1];
  for (const t of account.tasks) {
    const lived = (t.stoppedAt ?? Date.now()) - t.createdAt;
    // The deadline, one reconciler pass or chunk boundary of slack, and the container's stop grace.
    if (lived > HARD_TIMEOUT_MS + PASS_EVERY_MS + 1200 + graceMax)
      problems.push(`task ${t.arn} ran ${lived} ms, past the hard timeout of ${HARD_TIMEOUT_MS} ms`);
  }
  for (const [arn, r] of results) {
    if (r.output?.outcome !== 'succeeded') continue;
    const task = account.tasks.find((t) => executionArnOf(account.executionOf(t.arn) ?? '') === arn);
    if (!task || task.exitCode !== 0 || task.stopCode !== 'EssentialContainerExited')
      problems.push(`${arn} reported success, but its task ${task?.arn} ended ${task?.stopCode} ${task?.exitCode}`);
  }
  return problems.map((p) => `seed ${run.seed}: ${p}`);
}

describe('chaos: seeded random interleavings, lost events and answers, stops at random moments', () => {
  test(`the guarantees hold for ${SEEDS.length} seeds`, async () => {
    const runs = await Promise.all(SEEDS.map((seed) => runSeed(seed)));
    const problems = (await Promise.all(runs.map(finalProblems))).flat();
    if (problems.length > 0)
      problems.push(`replay one seed with: CHAOS_SEED=<seed> npx jest test/proof/chaos (seeds: ${SEEDS.join(', ')})`);
    expect(problems).toEqual([]);
    // The faults really happened (a chaos run that injects nothing proves nothing); a single replayed
    // seed need not have every kind.
    if (process.env.CHAOS_SEED) return;
    const all = runs.flatMap((r) => [...r.results.values()]);
    expect(all.some((r) => r.status === 'ABORTED')).toBe(true);
    expect(all.some((r) => r.error === 'BatchRunner.TimedOut')).toBe(true);
    expect(all.some((r) => r.output?.outcome === 'skipped')).toBe(true);
    expect(all.some((r) => r.output?.outcome === 'succeeded')).toBe(true);
  }, 120_000);
});
