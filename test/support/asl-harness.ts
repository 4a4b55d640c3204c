import { DeleteItemCommand, type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { BatchConfig } from '../../config/batch-config';
import { evaluateStoppedTask, startedTaskArn, startFailureCause, taskLogUrl } from '../../handlers/lib/task-outcome';
import { handleReconcilerEvent } from '../../handlers/cleanup';
import type { ExecutionStatus } from '../../handlers/lib/reconcile';
import { handler as validateManualInput } from '../../handlers/validate-manual-input';
import { placementOfRunTask } from '../../local/local-ecs';
import { servicesReconcileWorld, statusOnlyExecutions } from '../../local/reconcile-world';
import { type EmbeddedDynamoDb, ensureLockTable, startEmbeddedDynamoDb } from '../../local/lock-store';
import { type EngineEvent, type LocalExecutionResult, runLocalExecution } from '../../local/run-execution';
import { outcomeContractProblems } from './documented-outcomes';
import { inDefinitionTest, recordTransitions, STATES_ENTERED, transitionsOf, writeFileCoverage } from './asl-coverage';
import { type FaultInjector, type LocalServices, ServiceError } from '../../local/task-resources';
import { type DeploymentBindings, renderDefinition, substitutionsFor } from '../../state-machines/definition';
import {
  ACCOUNT,
  CLUSTER_ARN,
  capacityFailure,
  describedTask,
  FAMILY,
  newTaskArn,
  REGION,
  TASK_DEFINITION_ARN,
} from '../fixtures/ecs-payloads';

export const LOCK_TABLE = 'batch-runner-locks';
export const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCOUNT}:batch-runner-alerts`;
export const VALIDATOR_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:batch-runner-validate-manual-input`;
export const WATCHER_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:batch-runner-task-watcher`;
export const RECONCILER_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:batch-runner-cleanup`;
export const STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:batch-runner-${FAMILY}`;
export const executionArn = (name: string) =>
  `arn:aws:states:${REGION}:${ACCOUNT}:execution:batch-runner-${FAMILY}:${name}`;

export const TEST_BATCH: BatchConfig = {
  name: FAMILY,
  schedule: { cron: '0 8 * * ? *', timeZone: 'Asia/Tokyo' },
  hardTimeoutSeconds: 3600,
  stopGraceSeconds: 30,
  containerName: 'app',
  overrides: { environment: ['DRY_RUN'] },
  task: {
    kind: 'imported',
    clusterArn: CLUSTER_ARN,
    taskDefinitionArn: TASK_DEFINITION_ARN,
    family: FAMILY,
    executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/ecsTaskExecutionRole`,
    logGroupName: `/ecs/${FAMILY}`,
    logStreamPrefix: 'batch',
  },
};

export const TEST_BINDINGS: DeploymentBindings = {
  region: REGION,
  lockTableName: LOCK_TABLE,
  alertTopicArn: TOPIC_ARN,
  clusterArn: CLUSTER_ARN,
  taskDefinitionArn: TASK_DEFINITION_ARN,
  taskFamily: FAMILY,
  subnetIds: ['subnet-0bcf5b43', 'subnet-1a2b3c4d'],
  securityGroupIds: ['sg-0a1b2c3d4e5f'],
  logGroupName: `/ecs/${FAMILY}`,
  logStreamPrefix: 'batch',
  manualInputValidatorFunctionArn: VALIDATOR_ARN,
  taskWatcherFunctionArn: WATCHER_ARN,
  reconcilerFunctionArn: RECONCILER_ARN,
};

/** How the scripted batch task ends, as the task watcher would report it. */
/** `silent`: the watcher never answers at all (its callback lost), even for a task that never started. */
/** `deadline`: the task still runs when the run's deadline comes (the watcher answers DeadlineReached). */
/** `stuck-pending`: the task stays PENDING past the batch's startTimeoutSeconds (the watcher answers StartTimedOut). */
/** `exitCode: null`: the container never ran (e.g. TaskFailedToStart); `stopCode`: ECS's TaskStopCode. */
export type WatchScript =
  | {
      exitCode: number | null;
      sidecarExitCode?: number;
      stopCode?: string;
      stoppedReason?: string;
      /** Seconds from StartedAt to StoppedAt (default: the fixture's 33 s). */
      runSeconds?: number;
      /** The described task leaves out startedAt (optional in the ECS model): no run time is known. */
      withoutStartedAt?: boolean;
    }
  | 'hang'
  | 'lock-lost'
  | 'silent'
  | 'deadline'
  | 'stuck-pending';

/** RunTask's answer says where ECS placed the task (local/local-ecs.ts's rule), PascalCase. */
function answerPlacement(params: Record<string, unknown>): Record<string, unknown> {
  const { launchType, capacityProviderName } = placementOfRunTask(params);
  return { LaunchType: launchType, CapacityProviderName: capacityProviderName };
}

/**
 * Scripted AWS answers for one scenario: realistic payloads (see test/fixtures), one per call, with
 * per-attempt answers where a test needs retries. DynamoDB is not scripted: it is real (dynalite).
 */
export class ScriptedAws {
  /** Answers of successive RunTask calls; past the end, a task is started. */
  runTaskAnswers: Array<'start' | ReturnType<typeof capacityFailure>> = [];
  /** Answers of successive ListTasks calls; past the end, the last one (default: none running). */
  listTasksAnswers: string[][] = [[]];
  /** Execution ARN -> status, for DescribeExecution. Unknown ARNs answer ExecutionDoesNotExist. */
  readonly executions = new Map<string, string>();
  /** DescribeTasks calls after StopTask before ECS reports STOPPED (Infinity: never). */
  describeCallsUntilStopped = 1;
  /** ECS no longer knows a task once it was asked to stop (DescribeTasks answers MISSING). */
  forgetsStoppedTasks = false;
  /** DescribeTasks answers tasks without `LastStatus` (optional in the ECS model). */
  describeOmitsLastStatus = false;
  /** Tasks ECS keeps describing as RUNNING whatever happens (a stop still inside its grace). */
  readonly stillRunning = new Set<string>();
  /** Tasks ECS no longer knows (DescribeTasks answers MISSING for them). */
  readonly unknownToEcs = new Set<string>();
  watch: WatchScript = { exitCode: 0 };
  /** How successive started tasks end (one per attempt); past the end, `watch`. */
  watchPerTask: WatchScript[] = [];
  private readonly watchOfTask = new Map<string, WatchScript>();
  /** Runs while the batch task "runs" (before the watcher answers), e.g. to change the lock meanwhile. */
  whileTaskRuns: () => Promise<void> = async () => undefined;
  /** Runs before each DescribeExecution answer, e.g. to let a lock holder finish during a wait. */
  beforeDescribeExecution: (call: number) => Promise<void> = async () => undefined;
  private describeExecutionCalls = 0;
  readonly published: Array<Record<string, any>> = [];
  /** Entries put on the event bus (PutEventsRequestEntry as the optimized integration sends it). */
  readonly busEvents: Array<Record<string, any>> = [];
  /**
   * How the bus answers each PutEvents: 'ok', or 'failed-entry' (HTTP 200 with FailedEntryCount 1,
   * as EventBridge answers a throttled entry). Past the end: 'ok'.
   */
  putEventsAnswers: Array<'ok' | 'failed-entry'> = [];
  readonly startedTasks: string[] = [];
  /** Who held the batch's lock (its owner, or undefined when free) the moment each task was started. */
  readonly lockOwnerAtStart = new Map<string, string | undefined>();
  /** Where ECS placed each started task (launch type, capacity provider), as RunTask answered. */
  readonly placements = new Map<string, Record<string, unknown>>();
  readonly stopRequests: Array<{ task: string; reason: string }> = [];
  private describeCallsAfterStop = 0;

  /** Task ARN -> the execution whose RunTask started it (tags `batch-runner:batch` and the base64 execution name). */
  readonly taskStartedBy = new Map<string, string>();
  private tagsOf(taskArn: string) {
    const execution = this.taskStartedBy.get(taskArn);
    return execution === undefined
      ? []
      : [
          { Key: 'batch-runner:batch', Value: FAMILY },
          { Key: 'batch-runner:execution-name-base64', Value: Buffer.from(execution).toString('base64') },
        ];
  }

  /** Payloads and answers of the reconciler calls (SettleStaleLock, ReleaseLockAfterFailure). */
  readonly reconcilerCalls: Array<Record<string, any>> = [];
  readonly reconcilerAnswers: unknown[] = [];

  services(dynamodb: EmbeddedDynamoDb): LocalServices {
    const services: LocalServices = {
      dynamodb: eventuallyConsistent(dynamodb.client),
      ecs: {
        runTask: async (p) => {
          const answer = this.runTaskAnswers.shift() ?? 'start';
          if (answer !== 'start') return answer;
          const taskArn = newTaskArn();
          this.startedTasks.push(taskArn);
          this.lockOwnerAtStart.set(taskArn, (await readLock(dynamodb))?.owner?.S);
          this.placements.set(taskArn, answerPlacement(p));
          // Created now, as ECS answers: the watcher counts the run's deadline from CreatedAt.
          return {
            Tasks: [
              {
                ...describedTask({ taskArn, lastStatus: 'PROVISIONING' }),
                ...this.placements.get(taskArn),
                CreatedAt: Date.now(),
              },
            ],
            Failures: [],
          };
        },
        listTasks: async () => ({
          TaskArns: (this.listTasksAnswers.length > 1 ? this.listTasksAnswers.shift() : this.listTasksAnswers[0]) ?? [],
        }),
        describeTasks: async (p) => {
          if (this.forgetsStoppedTasks && this.stopRequests.length > 0)
            return { Tasks: [], Failures: (p.Tasks as string[]).map((arn) => ({ Arn: arn, Reason: 'MISSING' })) };
          this.describeCallsAfterStop += 1;
          // STOPPED once asked to stop (after describeCallsUntilStopped looks). A task this run started and
          // nobody asked to stop is STOPPED if its script ends it with an exit code (described as below,
          // not with the script's own codes), and RUNNING if its script hangs or is stuck.
          const askedToStop = this.describeCallsAfterStop >= this.describeCallsUntilStopped;
          const stoppedBy = (taskArn: string) =>
            !this.startedTasks.includes(taskArn) || this.stopRequests.some((s) => s.task === taskArn)
              ? askedToStop
              : this.endsByItself(taskArn);
          const known = (p.Tasks as string[]).filter((arn) => !this.unknownToEcs.has(arn));
          return {
            Failures: (p.Tasks as string[])
              .filter((arn) => this.unknownToEcs.has(arn))
              .map((arn) => ({ Arn: arn, Reason: 'MISSING' })),
            Tasks: known.map((taskArn) => ({
              ...(stoppedBy(taskArn) && !this.stillRunning.has(taskArn)
                ? describedTask({
                    taskArn,
                    lastStatus: 'STOPPED',
                    exitCode: 143,
                    stopCode: 'UserInitiated',
                    stoppedReason: this.stopRequests.at(-1)?.reason,
                  })
                : describedTask({ taskArn, lastStatus: 'RUNNING' })),
              Tags: this.tagsOf(taskArn),
              // The ECS model makes lastStatus optional: an answer may leave it out.
              ...(this.describeOmitsLastStatus ? { LastStatus: undefined } : {}),
            })),
          };
        },
        stopTask: async (p) => {
          this.stopRequests.push({ task: p.Task, reason: p.Reason });
          this.describeCallsAfterStop = 0;
          return { Task: describedTask({ taskArn: p.Task, lastStatus: 'RUNNING' }) };
        },
      },
      sfn: {
        describeExecution: async (p) => {
          this.describeExecutionCalls += 1;
          await this.beforeDescribeExecution(this.describeExecutionCalls);
          // As Step Functions answers an ARN that is no execution ARN (a lock item written by hand).
          if (!/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/.test(p.ExecutionArn))
            throw new ServiceError(
              'Sfn.InvalidArnException',
              `Invalid Arn: 'Resource type not valid in this context: ${p.ExecutionArn}'`,
            );
          const status = this.executions.get(p.ExecutionArn);
          if (!status)
            throw new ServiceError(
              'Sfn.ExecutionDoesNotExistException',
              `Execution Does Not Exist: '${p.ExecutionArn}'`,
            );
          return {
            ExecutionArn: p.ExecutionArn,
            StateMachineArn: STATE_MACHINE_ARN,
            Name: p.ExecutionArn.split(':').pop(),
            Status: status,
            StartDate: '2026-11-21T23:00:00.000Z',
          };
        },
        stopExecution: async (p) => {
          this.executions.set(p.ExecutionArn, 'ABORTED');
          return { StopDate: '2026-11-21T23:10:00.000Z' };
        },
      },
      sns: {
        publish: async (p) => {
          this.published.push(p);
          return { MessageId: `5c9a1ee1-0e4c-5d0f-8e36-${String(this.published.length).padStart(12, '0')}` };
        },
      },
      events: {
        putEvents: async (p) => {
          if (this.putEventsAnswers.shift() === 'failed-entry')
            return {
              FailedEntryCount: 1,
              Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Request rate exceeded for the event bus.' }],
            };
          for (const entry of p.Entries) this.busEvents.push(entry);
          return {
            FailedEntryCount: 0,
            Entries: p.Entries.map((_: unknown, i: number) => ({
              EventId: `11710aed-b79e-4468-a20b-bb3c0c3b4${String(this.busEvents.length + i).padStart(3, '0')}`,
            })),
          };
        },
      },
      functions: {
        [VALIDATOR_ARN]: async (payload) => validateManualInput(payload as any),
        [WATCHER_ARN]: async (payload) => this.watchTask(payload),
        // The real reconciler (handlers/cleanup.ts) against the scripted answers and the real lock table.
        [RECONCILER_ARN]: async (payload) => {
          this.reconcilerCalls.push(payload);
          const result = await handleReconcilerEvent(payload as any, {
            world: servicesReconcileWorld(
              services.ecs,
              statusOnlyExecutions((arn) => (this.executions.get(arn) ?? 'MISSING') as ExecutionStatus | 'MISSING'),
              services.sns,
              TOPIC_ARN,
            ),
            dynamodb: dynamodb.client,
            config: {
              lockTableName: LOCK_TABLE,
              namePrefix: 'batch-runner',
              clusterArns: [CLUSTER_ARN],
              stopConfirmSeconds: 5,
              pollIntervalMs: 1,
            },
          });
          this.reconcilerAnswers.push(result);
          return result;
        },
      },
    };
    return services;
  }

  /**
   * A task whose script ends it (an exit code) stops by itself; one that hangs or is stuck runs on.
   * The script is the one the watcher registered for the task, else `watch` (not `watchPerTask`).
   */
  private endsByItself(taskArn: string): boolean {
    const watch = this.watchOfTask.get(taskArn) ?? this.watch;
    return typeof watch === 'object';
  }

  /** What the task-watcher Lambda and the ECS STOPPED event would answer on the token. */
  private async watchTask(payload: Record<string, any>): Promise<unknown> {
    const taskArn = startedTaskArn(payload.start);
    if (taskArn && !this.watchOfTask.has(taskArn))
      this.watchOfTask.set(taskArn, this.watchPerTask.shift() ?? this.watch);
    const watch = (taskArn && this.watchOfTask.get(taskArn)) || this.watch;
    if (watch === 'silent') return new Promise(() => undefined);
    if (!taskArn) throw new ServiceError('BatchRunner.TaskNotStarted', startFailureCause(payload.start));
    if (watch === 'lock-lost') {
      await this.whileTaskRuns();
      throw new ServiceError(
        'BatchRunner.LockLost',
        `lock ${payload.batch.name} is owned by ${executionArn('Intruder')}`,
      );
    }
    if (watch === 'hang') return new Promise(() => undefined);
    if (watch === 'deadline')
      throw new ServiceError(
        'BatchRunner.DeadlineReached',
        JSON.stringify({ message: `The run's deadline has come and task ${taskArn} still runs.`, taskArn }),
      );
    if (watch === 'stuck-pending') {
      const startTimeoutSeconds = payload.policy?.startTimeoutSeconds;
      if (typeof startTimeoutSeconds !== 'number')
        throw new Error(
          `stuck-pending: the watcher payload carries no policy.startTimeoutSeconds (${JSON.stringify(payload.policy)})`,
        );
      throw new ServiceError(
        'BatchRunner.StartTimedOut',
        `Task ${taskArn} stayed PENDING for ${startTimeoutSeconds + 4} s since it was created, longer than the start timeout of ${startTimeoutSeconds} s (last status PENDING).`,
      );
    }
    await this.whileTaskRuns();
    const logUrl = taskLogUrl(
      REGION,
      payload.batch.logGroupName,
      payload.batch.logStreamPrefix,
      payload.batch.containerName,
      taskArn,
    );
    const task = describedTask({
      taskArn,
      lastStatus: 'STOPPED',
      exitCode: watch.exitCode ?? undefined,
      sidecarExitCode: watch.sidecarExitCode,
      stopCode: watch.stopCode,
      stoppedReason: watch.stoppedReason,
    }) as { StartedAt?: number; StoppedAt?: number };
    Object.assign(task, this.placements.get(taskArn));
    if (watch.runSeconds !== undefined) task.StoppedAt = (task.StartedAt ?? 0) + watch.runSeconds * 1000;
    if (watch.withoutStartedAt) delete task.StartedAt;
    const verdict = evaluateStoppedTask(task as any, payload.batch.containerName, logUrl);
    if (!verdict.ok) throw new ServiceError(verdict.error, JSON.stringify(verdict.summary));
    return verdict.summary;
  }
}

export interface Scenario {
  readonly input?: unknown;
  readonly name?: string;
  readonly batch?: Partial<BatchConfig>;
  /** Raw substitution overrides, e.g. a 1 s wait chunk so a hard timeout test takes seconds. */
  readonly substitutions?: Record<string, string>;
  readonly inject?: FaultInjector;
  /** `$$.Execution.RedriveCount` (a redriven execution resumes with it above 0). */
  readonly redriveCount?: number;
}

export interface ScenarioResult extends LocalExecutionResult {
  readonly lockItem: Record<string, any> | undefined;
  readonly executionArn: string;
}

export const SCHEDULED_INPUT = { trigger: 'schedule', scheduledTime: '2026-11-21T23:00:00Z' };

let slotCounter = 0;
/**
 * The exact Scheduler input for a slot of its own: each scheduled run claims its slot, and a second
 * run of the same slot is a duplicate delivery (skipped), so scenarios that are not about duplicates
 * each get the next minute.
 */
export function scheduledInput(scheduledTime?: string): { trigger: 'schedule'; scheduledTime: string } {
  slotCounter += 1;
  const time = scheduledTime ?? new Date(Date.parse('2026-11-21T23:00:00Z') + slotCounter * 60_000).toISOString();
  return { trigger: 'schedule', scheduledTime: time.replace('.000Z', 'Z') };
}

let executionCounter = 0;

// Each definition test file reports the edges its executions took once its tests are done (see asl-coverage.ts).
if (typeof afterAll === 'function') {
  afterAll(() => {
    if (inDefinitionTest())
      writeFileCoverage(
        expect.getState().testPath as string,
        JSON.parse(renderDefinition(substitutionsFor(TEST_BATCH, TEST_BINDINGS))),
      );
  });
}

/** Runs the real ASL file for one scenario against dynalite and the scripted answers. */
export async function runScenario(
  dynamodb: EmbeddedDynamoDb,
  aws: ScriptedAws,
  scenario: Scenario = {},
): Promise<ScenarioResult> {
  executionCounter += 1;
  const arn = executionArn(scenario.name ?? `test-${executionCounter}`);
  aws.executions.set(arn, 'RUNNING');
  const batch = { ...TEST_BATCH, ...scenario.batch } as BatchConfig;
  const definition = renderDefinition({ ...substitutionsFor(batch, TEST_BINDINGS), ...scenario.substitutions });
  const waitStates = Object.entries(JSON.parse(definition).States)
    .filter(([, s]: [string, any]) => s.Type === 'Wait')
    .map(([n]) => [n, 1]);
  const events: EngineEvent[] = [];
  const coverage = inDefinitionTest();
  // Set by the mutation runs' test environment: which states this test's executions entered.
  const statesEntered = (globalThis as Record<string, unknown>)[STATES_ENTERED] as Set<string> | undefined;
  const [alertsBefore, busEventsBefore] = [aws.published.length, aws.busEvents.length];
  const result = await runLocalExecution({
    definition,
    input: 'input' in scenario ? scenario.input : scheduledInput(),
    executionArn: arn,
    services: aws.services(dynamodb),
    inject: scenario.inject,
    redriveCount: scenario.redriveCount,
    waitTimeOverrides: Object.fromEntries(waitStates),
    onEvent: coverage || statesEntered ? (event) => events.push(event) : undefined,
  });
  for (const event of statesEntered ? events : [])
    if (event.type === 'StateEntered') statesEntered!.add(event.state.name);
  if (coverage) {
    const context = { Execution: { Id: arn, RedriveCount: scenario.redriveCount ?? 0 } };
    recordTransitions(await transitionsOf(JSON.parse(definition), events, context));
  }
  aws.executions.set(arn, result.status);
  // Every scenario holds the run to what README.md promises its alert and event say of a failure.
  const problems = outcomeContractProblems(
    result,
    aws.published.slice(alertsBefore),
    aws.busEvents.slice(busEventsBefore),
  );
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return { ...result, executionArn: arn, lockItem: await readLock(dynamodb) };
}

/**
 * The lock table as DynamoDB may answer an eventually consistent read: "the response might not reflect
 * the results of a recently completed write operation" (DynamoDB developer guide, "Read consistency").
 * In these scenarios every write is recent, so a GetItem without `ConsistentRead: true` misses the item.
 * The definition must read the lock strongly consistent; dynalite itself always reads the latest write.
 */
function eventuallyConsistent(client: DynamoDBClient): DynamoDBClient {
  const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
  return Object.assign(Object.create(client) as DynamoDBClient, {
    send: (command: unknown) =>
      command instanceof GetItemCommand && command.input.ConsistentRead !== true
        ? Promise.resolve({ $metadata: {} })
        : send(command),
  });
}

export async function readLock(dynamodb: EmbeddedDynamoDb): Promise<Record<string, any> | undefined> {
  const { Item } = await dynamodb.client.send(
    new GetItemCommand({ TableName: LOCK_TABLE, Key: { batch: { S: FAMILY } }, ConsistentRead: true }),
  );
  return Item;
}

/** Puts a lock item as another execution would have written it. */
export async function holdLock(dynamodb: EmbeddedDynamoDb, owner: string): Promise<void> {
  await dynamodb.client.send(
    new PutItemCommand({
      TableName: LOCK_TABLE,
      Item: {
        batch: { S: FAMILY },
        owner: { S: owner },
        acquiredAt: { S: '2026-11-21T08:00:00.512Z' },
        trigger: { S: 'schedule' },
        requestedBy: { S: 'EventBridge Scheduler' },
        reason: { S: 'scheduled run' },
      },
    }),
  );
}

/**
 * The world of a definition test file: one embedded lock store for the file, a fresh ScriptedAws and a
 * free lock before each test. Use `world.db` and `world.aws` inside tests (set by the hooks).
 */
export function useScenarioWorld(): { db: EmbeddedDynamoDb; aws: ScriptedAws } {
  const world = {} as { db: EmbeddedDynamoDb; aws: ScriptedAws };
  beforeAll(async () => {
    world.db = await startLockStore();
  });
  afterAll(async () => {
    await world.db?.close();
  });
  beforeEach(async () => {
    world.aws = new ScriptedAws();
    await world.db.client.send(new DeleteItemCommand({ TableName: LOCK_TABLE, Key: { batch: { S: FAMILY } } }));
  });
  return world;
}

export async function startLockStore(): Promise<EmbeddedDynamoDb> {
  const db = await startEmbeddedDynamoDb();
  await ensureLockTable(db.client, LOCK_TABLE);
  return db;
}

export { capacityFailure };
