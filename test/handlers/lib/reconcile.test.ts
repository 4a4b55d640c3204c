import type { LockItem } from '../../../handlers/lib/lock-item';
import {
  deadlineOf,
  type EndedExecution,
  endedRunAlert,
  type ObservedTask,
  type TaskAction,
} from '../../../handlers/lib/reconcile';
import { BATCH, executionArn, taskArn } from '../fixtures/events';

/**
 * The pure parts of the reconciler's rule (handlers/lib/reconcile.ts); the rule against ECS, Step
 * Functions and the lock table is test/handlers/reconciler.test.ts.
 *
 * The alert the reconciler sends for a run that ended outside its own failure path (stopped by hand,
 * timed out, failed at run time): what the on-call reads. Each part is worked out from the ended
 * execution (as DescribeExecution / the Execution Status Change event give it), the lock it held and
 * what the reconciler did to its task.
 */

const ARN = executionArn('manual-20261201T210000-abc123');
const TASK = taskArn('0f3d9c2a7b6e4f1a8c5d2e9b7a6f4c3d');
const STARTED = Date.parse('2026-12-01T21:00:00.000Z');
const STOPPED = Date.parse('2026-12-01T21:07:30.000Z');

const ended = (change: Partial<EndedExecution> = {}): EndedExecution => ({
  executionArn: ARN,
  status: 'ABORTED',
  input: JSON.stringify({ trigger: 'manual', requestedBy: 'alice@example.com', reason: 'rerun after fix' }),
  startDate: STARTED,
  stopDate: STOPPED,
  ...change,
});
const lockOf = (change: Partial<LockItem> = {}): LockItem => ({ batch: BATCH, owner: ARN, ...change });
const stopped = (why: string): TaskAction => ({ taskArn: TASK, execution: ARN, action: 'stopped', why });

describe('the outcome and its explanation, by how the execution ended', () => {
  test.each([
    [
      'ABORTED',
      'aborted',
      'The execution was stopped before it finished (by hand, by the CLI, or replaced by a newer run); none of its own cleanup states ran.',
    ],
    ['TIMED_OUT', 'timed_out', 'The execution ran into its own TimeoutSeconds; none of its own cleanup states ran.'],
    ['FAILED', 'failed', 'The execution failed outside its own failure handling.'],
    ['PENDING_REDRIVE', 'failed', 'The execution failed and waits for a redrive; none of its own cleanup states ran.'],
    ['SUCCEEDED', 'failed', 'The execution ended SUCCEEDED.'],
  ] as const)('%s: %s', (status, outcome, explain) => {
    const alert = endedRunAlert(BATCH, ended({ status }), undefined, [], 'free');
    expect(alert.outcome).toBe(outcome);
    expect(alert.reason).toBe(`${explain} No task of this execution was running.`);
    expect(alert.details).toEqual({
      status,
      error: null,
      cause: null,
      startDate: STARTED,
      stopDate: STOPPED,
      tasks: [],
    });
  });

  test('the error and its cause are quoted, ending in one full stop; a cause is left out when there is none', () => {
    const withCause = endedRunAlert(
      BATCH,
      ended({ status: 'FAILED', error: 'States.Runtime', cause: 'An error occurred while executing the state.' }),
      undefined,
      [],
      'free',
    );
    expect(withCause.reason).toBe(
      'The execution failed outside its own failure handling. Error: States.Runtime: An error occurred while executing the state. No task of this execution was running.',
    );
    expect(withCause.details).toMatchObject({
      error: 'States.Runtime',
      cause: 'An error occurred while executing the state.',
    });
    const noStop = endedRunAlert(
      BATCH,
      ended({ status: 'FAILED', error: 'States.Runtime', cause: 'Invalid path $.task' }),
      undefined,
      [],
      'free',
    );
    expect(noStop.reason).toContain(' Error: States.Runtime: Invalid path $.task. No task');
    const bare = endedRunAlert(BATCH, ended({ status: 'FAILED', error: 'States.Runtime' }), undefined, [], 'free');
    expect(bare.reason).toBe(
      'The execution failed outside its own failure handling. Error: States.Runtime. No task of this execution was running.',
    );
  });

  test('an execution whose dates are unknown carries null dates', () => {
    const alert = endedRunAlert(BATCH, ended({ startDate: undefined, stopDate: undefined }), undefined, [], 'free');
    expect(alert.details).toMatchObject({ startDate: null, stopDate: null });
  });
});

describe('what the alert says about the task and the lock', () => {
  test('a task the reconciler stopped: named with the reason it was stopped for; it may no longer run', () => {
    const alert = endedRunAlert(
      BATCH,
      ended(),
      lockOf({ taskArn: TASK }),
      [stopped('its execution ended')],
      'released',
    );
    expect(alert).toMatchObject({
      reason: `The execution was stopped before it finished (by hand, by the CLI, or replaced by a newer run); none of its own cleanup states ran. Task ${TASK} was stopped by the reconciler (its execution ended).`,
      taskArn: TASK,
      stopReason: 'batch-runner reconciler: its execution ended',
      taskMayStillRun: false,
      lockStatus: 'released',
    });
    expect(alert.details.tasks).toEqual([stopped('its execution ended')]);
  });

  test('a task asked to stop and not yet STOPPED: it may still run, and the lock stays held until it is', () => {
    const asked: TaskAction = { ...stopped('its execution ended'), action: 'stop requested, not yet STOPPED' };
    const alert = endedRunAlert(
      BATCH,
      ended(),
      lockOf({ taskArn: TASK }),
      [asked],
      'held until its task is confirmed STOPPED',
    );
    expect(alert).toMatchObject({
      taskMayStillRun: true,
      lockStatus: 'held until the task is confirmed STOPPED',
      stopReason: 'batch-runner reconciler: its execution ended',
    });
    expect(alert.reason).toContain(
      ` The reconciler asked ECS to stop task ${TASK} (its execution ended) and has not yet seen it STOPPED: the lock stays held until it is, and the reconciler keeps checking.`,
    );
  });

  test('of two tasks, one stopped and one whose stop failed: the task may still run', () => {
    const failed: TaskAction = { taskArn: taskArn('second'), execution: ARN, action: 'stop failed', why: 'x' };
    const alert = endedRunAlert(BATCH, ended(), undefined, [stopped('its execution ended'), failed], 'free');
    expect(alert.taskMayStillRun).toBe(true);
    expect(alert.taskArn).toBe(TASK);
  });

  test('no task acted on, but the lock named one: it had already stopped', () => {
    const alert = endedRunAlert(BATCH, ended(), lockOf({ taskArn: TASK }), [], 'released');
    expect(alert.reason).toMatch(new RegExp(` Its task ${TASK.replace(/[/.]/g, '\\$&')} had already stopped\\.$`));
    expect(alert).toMatchObject({ taskArn: TASK, stopReason: null, taskMayStillRun: false });
  });

  test('no task anywhere: no task ARN', () => {
    expect(endedRunAlert(BATCH, ended(), lockOf(), [], 'released')).toMatchObject({ taskArn: null, stopReason: null });
  });

  test.each([
    ['held until its task is confirmed STOPPED', 'held until the task is confirmed STOPPED'],
    [
      'held: its owner ended moments ago',
      'held for a moment (a task start may still be in flight), then released by the reconciler',
    ],
    ['released', 'released'],
    ['held by another owner', 'not held by this execution'],
    ['free', 'not held by this execution'],
  ] as const)('the lock verdict "%s" reads "%s"', (verdict, lockStatus) => {
    expect(endedRunAlert(BATCH, ended(), undefined, [], verdict).lockStatus).toBe(lockStatus);
  });

  test('it is the reconciler`s alert, for the batch and the execution', () => {
    expect(endedRunAlert(BATCH, ended(), undefined, [], 'free')).toMatchObject({
      batch: BATCH,
      executionArn: ARN,
      source: 'reconciler',
    });
  });
});

describe('who started the run', () => {
  test('the lock says it: its trigger and who asked (unknown when the lock does not say)', () => {
    const lock = lockOf({ trigger: 'manual', requestedBy: 'bob@example.com' });
    expect(endedRunAlert(BATCH, ended({ input: null }), lock, [], 'released')).toMatchObject({
      trigger: 'manual',
      requestedBy: 'bob@example.com',
    });
    expect(endedRunAlert(BATCH, ended({ input: null }), lockOf({ trigger: 'schedule' }), [], 'released')).toMatchObject(
      { trigger: 'schedule', requestedBy: 'unknown' },
    );
  });

  test.each([
    [
      'a Scheduler start',
      JSON.stringify({ trigger: 'schedule', scheduledTime: '2026-12-01T21:00:00Z' }),
      'schedule',
      'EventBridge Scheduler',
    ],
    ['a schedule trigger without its time', JSON.stringify({ trigger: 'schedule' }), 'schedule', 'unknown'],
    [
      'a CLI run',
      JSON.stringify({ trigger: 'manual', requestedBy: 'alice@example.com' }),
      'manual',
      'alice@example.com',
    ],
    ['a console start with an empty input', '{}', 'console', 'unknown'],
    ['a requestedBy that is not a string', JSON.stringify({ trigger: 'manual', requestedBy: 7 }), 'manual', 'unknown'],
    ['an input that is a JSON string', '"hello"', 'unknown', 'unknown'],
    ['an input that is not JSON', '{trigger: manual', 'unknown', 'unknown'],
    ['no input', null, 'unknown', 'unknown'],
  ])('without a lock, from the execution input: %s', (_what, input, trigger, requestedBy) => {
    expect(endedRunAlert(BATCH, ended({ input }), undefined, [], 'free')).toMatchObject({ trigger, requestedBy });
  });
});

describe('the run`s deadline the reconciler holds a task to (deadlineOf)', () => {
  const CREATED = Date.parse('2026-12-01T21:00:05.000Z');
  const task = (change: Partial<ObservedTask> = {}): ObservedTask => ({
    taskArn: TASK,
    clusterArn: 'arn:aws:ecs:ap-northeast-1:123456789012:cluster/batch-runner',
    lastStatus: 'RUNNING',
    desiredStatus: 'RUNNING',
    createdAt: CREATED,
    hardTimeoutSeconds: 3600,
    described: { TaskArn: TASK, LastStatus: 'RUNNING' },
    ...change,
  });
  const stored = lockOf({ taskArn: TASK, deadlineAt: CREATED / 1000 + 1800 });

  test('the earlier of the stored deadline and creation time + the hard-timeout tag', () => {
    expect(deadlineOf(task(), stored, true)).toBe(CREATED + 1800 * 1000);
    expect(deadlineOf(task({ hardTimeoutSeconds: 600 }), stored, true)).toBe(CREATED + 600 * 1000);
  });

  test('the stored deadline counts only for the lock owner`s own task', () => {
    expect(deadlineOf(task(), stored, false)).toBe(CREATED + 3600 * 1000);
  });

  test('a task without its creation time or its hard-timeout tag has only the stored deadline, or none', () => {
    expect(deadlineOf(task({ createdAt: undefined }), stored, true)).toBe(CREATED + 1800 * 1000);
    expect(deadlineOf(task({ hardTimeoutSeconds: undefined }), stored, true)).toBe(CREATED + 1800 * 1000);
    expect(deadlineOf(task({ hardTimeoutSeconds: undefined }), lockOf(), true)).toBeUndefined();
    expect(deadlineOf(task({ createdAt: undefined }), undefined, false)).toBeUndefined();
  });
});
