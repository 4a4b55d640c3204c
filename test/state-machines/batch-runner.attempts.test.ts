import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import type { EmbeddedDynamoDb } from '../../local/lock-store';
import { FAMILY } from '../fixtures/ecs-payloads';
import {
  LOCK_TABLE,
  runScenario,
  type ScenarioResult,
  scheduledInput,
  ScriptedAws,
  startLockStore,
} from '../support/asl-harness';

/**
 * The attempt region of state-machines/batch-runner.asl.json (issue 11): the run's context in the
 * task's environment, and retries by failure reason. The real ASL in aws-local-stepfunctions, the lock
 * in dynalite, ECS answered with realistic payloads.
 */

let db: EmbeddedDynamoDb;
let aws: ScriptedAws;

beforeAll(async () => {
  db = await startLockStore();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  aws = new ScriptedAws();
  await db.client.send(new DeleteItemCommand({ TableName: LOCK_TABLE, Key: { batch: { S: FAMILY } } }));
});

const runTasks = (r: ScenarioResult) => r.calls.filter((c) => c.state === 'StartBatchTask');
const environmentOf = (r: ScenarioResult, attempt = 0): Record<string, string> =>
  Object.fromEntries(
    (
      runTasks(r)[attempt].params.Overrides.ContainerOverrides[0].Environment as Array<{ Name: string; Value: string }>
    ).map((e) => [e.Name, e.Value]),
  );

describe("the run's context reaches the task", () => {
  test('a scheduled run: the slot time (the same for every delivery), trigger, execution, attempt 1 and the hard timeout', async () => {
    const input = scheduledInput('2026-11-30T21:00:00Z');
    const r = await runScenario(db, aws, { input, name: 'SlotContext' });

    expect(r.status).toBe('SUCCEEDED');
    expect(runTasks(r)).toHaveLength(1);
    expect(runTasks(r)[0].params.Overrides.ContainerOverrides).toHaveLength(1);
    expect(runTasks(r)[0].params.Overrides.ContainerOverrides[0].Name).toBe('app');
    expect(environmentOf(r)).toEqual({
      BATCH_RUNNER_SCHEDULED_TIME: '2026-11-30T21:00:00Z',
      BATCH_RUNNER_TRIGGER: 'schedule',
      BATCH_RUNNER_EXECUTION_ARN: r.executionArn,
      BATCH_RUNNER_ATTEMPT: '1',
      BATCH_RUNNER_HARD_TIMEOUT_SECONDS: '3600',
    });
  });

  test('a manual run names no slot: the scheduled time is the execution`s start time; the operator`s variable is kept', async () => {
    const r = await runScenario(db, aws, {
      input: { trigger: 'console', overrides: { environment: { DRY_RUN: 'true' } } },
    });

    expect(r.status).toBe('SUCCEEDED');
    expect(environmentOf(r)).toEqual({
      BATCH_RUNNER_SCHEDULED_TIME: new Date(r.startedAt).toISOString(),
      BATCH_RUNNER_TRIGGER: 'console',
      BATCH_RUNNER_EXECUTION_ARN: r.executionArn,
      BATCH_RUNNER_ATTEMPT: '1',
      BATCH_RUNNER_HARD_TIMEOUT_SECONDS: '3600',
      DRY_RUN: 'true',
    });
  });

  test('an allowed command override is kept beside the run`s context', async () => {
    const r = await runScenario(db, aws, {
      batch: { overrides: { environment: ['DRY_RUN'], command: true } },
      input: { trigger: 'cli', overrides: { command: ['node', 'backfill.js', '--day', '2026-11-30'] } },
    });

    expect(r.status).toBe('SUCCEEDED');
    const [override] = runTasks(r)[0].params.Overrides.ContainerOverrides;
    expect(override.Command).toEqual(['node', 'backfill.js', '--day', '2026-11-30']);
    expect(environmentOf(r).BATCH_RUNNER_TRIGGER).toBe('cli');
    expect(Object.keys(environmentOf(r))).toHaveLength(5);
  });

  test('runContextEnvironment: false starts the task with the operator`s overrides only', async () => {
    const scheduled = await runScenario(db, aws, { batch: { runContextEnvironment: false } });
    expect(scheduled.status).toBe('SUCCEEDED');
    expect(runTasks(scheduled)[0].params.Overrides).toEqual({});

    const manual = await runScenario(db, aws, {
      batch: { runContextEnvironment: false },
      input: { overrides: { environment: { DRY_RUN: 'true' } } },
    });
    expect(manual.status).toBe('SUCCEEDED');
    expect(runTasks(manual)[0].params.Overrides).toEqual({
      ContainerOverrides: [{ Name: 'app', Environment: [{ Name: 'DRY_RUN', Value: 'true' }] }],
    });
  });
});
