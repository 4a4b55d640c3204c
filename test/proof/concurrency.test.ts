import { join } from 'node:path';
import {
  type ConcurrentStartsMeasurement,
  measureConcurrentStarts,
  type StartKind,
} from '../../bench/concurrency-bench';
import { BATCH_TAG_KEY, executionNameFromTags } from '../../config/naming';
import { ExecutionRegistry } from '../../local/execution-registry';
import { readJson } from '../../local/state-dir';
import { alertsIn, alertsOf, cleanUpStateDir, tempStateDir } from '../local/support';

/**
 * Proof of incident 1 (MISSION.md) under load: 200 executions of one batch started at the same moment
 * in the local mode - scheduled starts, duplicate deliveries of the very same scheduled input, CLI,
 * console and manual starts - against the real local services (shared dynalite server with real
 * conditional writes, local ECS with real child processes, the execution registry). The one task
 * that starts is held running until every other execution has ended, so all of them overlap it.
 */
const N = 200;

describe(`${N} executions of one batch started at once (local mode)`, () => {
  const dir = tempStateDir('proof-concurrency');
  let m: ConcurrentStartsMeasurement;
  let winner: ConcurrentStartsMeasurement['executions'][number];
  let losers: ConcurrentStartsMeasurement['executions'];

  beforeAll(async () => {
    m = await measureConcurrentStarts(N, { stateDir: dir });
    const ran = m.executions.filter((e) => e.result.statesEntered.includes('StartBatchTask'));
    winner = ran[0];
    losers = m.executions.filter((e) => e !== winner);
  }, 120000);

  afterAll(() => cleanUpStateDir(dir));

  test('the starts mix schedule, duplicate deliveries, CLI, console and manual inputs', () => {
    expect(m.starts).toBe(N);
    expect(m.executions).toHaveLength(N);
    const byKind: Partial<Record<StartKind, number>> = {};
    for (const e of m.executions) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
    expect(byKind).toEqual({ schedule: 40, 'duplicate-delivery': 40, cli: 40, console: 40, manual: 40 });
    // A duplicate delivery is the scheduler's input byte for byte.
    const scheduled = m.executions.filter((e) => e.kind === 'schedule' || e.kind === 'duplicate-delivery');
    expect(new Set(scheduled.map((e) => JSON.stringify(e.input))).size).toBe(1);
    expect(scheduled[0].input).toEqual({ trigger: 'schedule', scheduledTime: expect.stringMatching(/:00Z$/) });
    // Scheduled inputs go straight to the lock; every other kind through the manual-input validator.
    for (const e of m.executions) {
      const validated = e.result.statesEntered.includes('ValidateManualInput');
      expect([e.kind, validated]).toEqual([e.kind, !scheduled.includes(e)]);
    }
  });

  test('exactly one RunTask, one task started, and that run succeeded', () => {
    expect(m.executions.filter((e) => e.result.statesEntered.includes('StartBatchTask'))).toHaveLength(1);
    expect(m.runTaskCalls).toBe(1);
    expect(m.runs).toBe(1);
    expect(m.tasks).toHaveLength(1);
    const [task] = m.tasks;
    expect(executionNameFromTags(task.Tags)).toBe(winner.result.name);
    expect(task.Tags).toEqual(expect.arrayContaining([{ Key: BATCH_TAG_KEY, Value: m.batch }]));
    expect(task).toMatchObject({ LastStatus: 'STOPPED', StopCode: 'EssentialContainerExited' });
    expect(task.Containers[0].ExitCode).toBe(0);
    expect(winner.result.status).toBe('SUCCEEDED');
    expect(winner.result.output).toMatchObject({
      outcome: 'succeeded',
      task: { taskArn: task.TaskArn, exitCode: 0 },
      lockRelease: { status: 'released' },
    });
  });

  test(`the other ${N - 1} end skipped: the duplicate deliveries of the slot as duplicates, the rest naming the lock holder`, () => {
    expect(losers).toHaveLength(N - 1);
    for (const e of losers) {
      expect([e.result.name, e.result.status, e.result.output?.outcome]).toEqual([
        e.result.name,
        'SUCCEEDED',
        'skipped',
      ]);
      // Never touching ECS.
      expect(e.result.calls.filter((c) => c.resource.includes(':ecs:'))).toEqual([]);
    }
    // 80 deliveries of one scheduled slot: exactly one claims it, the other 79 are duplicates that do
    // not even touch the lock.
    const duplicates = losers.filter((e) => e.result.statesEntered.includes('RecordSkipDuplicateSlot'));
    expect(duplicates).toHaveLength(79);
    for (const e of duplicates) {
      expect(['schedule', 'duplicate-delivery']).toContain(e.kind);
      expect(e.result.output.reason).toContain('Duplicate delivery: the scheduled slot');
      expect(e.result.statesEntered).not.toContain('AcquireLock');
    }
    const expectedReason = `Another run holds the lock: execution ${winner.result.executionArn} since `;
    const lockSkips = losers.filter((e) => !duplicates.includes(e));
    for (const e of lockSkips) {
      expect(e.result.output.lockHolder).toBe(winner.result.executionArn);
      expect(e.result.output.reason.startsWith(expectedReason)).toBe(true);
      // Skipped on the lock itself (not on the running-task check).
      expect(e.result.statesEntered).toContain('RecordSkipLockHeld');
    }
    // Every manual kind of start lost on the lock, exactly like the slot's one claimant would.
    const kinds = new Set(lockSkips.map((e) => e.kind));
    for (const kind of ['cli', 'console', 'manual'] as const) expect(kinds.has(kind)).toBe(true);
    expect(lockSkips).toHaveLength(N - 1 - 79);
  });

  test('each skip is visible: one notice per skipped execution, naming the holder; no alert otherwise', () => {
    expect(m.alertsByOutcome).toEqual({ skipped: N - 1 });
    for (const e of losers) {
      const notices = alertsOf(dir, e.result.executionArn);
      expect(notices).toHaveLength(1);
      expect(notices[0].attributes).toMatchObject({ outcome: 'skipped', severity: 'notice' });
      expect(notices[0].message).toMatch(
        e.result.statesEntered.includes('RecordSkipDuplicateSlot')
          ? /Duplicate delivery: the scheduled slot/
          : new RegExp(
              `Another run holds the lock: execution ${winner.result.executionArn.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
            ),
      );
    }
    expect(alertsOf(dir, winner.result.executionArn)).toEqual([]);
    expect(alertsIn(dir)).toHaveLength(N - 1);
  });

  test('afterwards: the lock is released, no execution still RUNNING, no task process left', () => {
    expect(m.lockAtEnd).toBeUndefined();
    const records = new ExecutionRegistry(dir).list(m.batch);
    expect(records).toHaveLength(N);
    expect(records.filter((r) => r.status !== 'SUCCEEDED')).toEqual([]);
    expect(m.processesLeft).toEqual([]);
    const state = readJson<{ agentPid: number; childPid: number }>(
      join(dir, 'tasks', m.tasks[0].TaskArn.split('/').pop()!, 'state.json'),
    );
    expect(state?.agentPid).toBeGreaterThan(0);
    expect(state?.childPid).toBeGreaterThan(0);
  });

  test('all of them overlapped the one run: each was decided while it held the lock, before its task ended', () => {
    // Duplicate deliveries are refused on the slot before the lock; every other loser saw the one holder.
    const lockSkips = losers.filter((e) => !e.result.statesEntered.includes('RecordSkipDuplicateSlot'));
    const since = new Set(lockSkips.map((e) => e.result.output.lockHeldSince));
    expect(since.size).toBe(1);
    const stoppedAt = m.tasks[0].StoppedAt!;
    for (const e of losers) expect(e.result.stoppedAt).toBeLessThanOrEqual(stoppedAt);
    expect(winner.result.stoppedAt).toBeGreaterThanOrEqual(stoppedAt);
  });
});
