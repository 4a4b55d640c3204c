import type { BatchConfig } from '../../config/batch-config';
import { BATCHES } from '../../config/batches';
import { deriveTimings } from '../../config/timings';

/**
 * Every duration the state machine uses, derived from one batch (config/timings.ts), worked out by hand
 * here from the rules in its comments: chunks of at least 900 s and at most 25 of them, stop checks
 * over the stop grace plus 60 s, the lock wait, 4 RunTask attempts with doubling back-off from 10 s, and
 * an execution timeout above everything a run may legitimately take.
 */

const batch = (change: Record<string, unknown>): BatchConfig => ({ ...BATCHES[0], ...change }) as BatchConfig;

test('a 30-minute batch with the default stop grace, skipping when busy, without retries', () => {
  expect(
    deriveTimings(batch({ hardTimeoutSeconds: 1800, stopGraceSeconds: undefined, overlapPolicy: 'skip' })),
  ).toEqual({
    hardTimeoutSeconds: 1800,
    stopGraceSeconds: 30,
    waitChunkSeconds: 900,
    waitChunkCount: 2,
    stopConfirmIntervalSeconds: 5, // a sixth of the grace
    stopConfirmAttempts: 18, // (30 + 60) / 5
    lockWaitIntervalSeconds: 30,
    lockWaitAttempts: 20, // 10 minutes by default
    startAttempts: 4,
    startBackoffSeconds: 10,
    // 1800 + starts 10*(2^4-1) + 4*60 = 390 + stop 18*5 + 2*60 + 2*300 + one chunk 900 = 1710 + margin 300
    executionTimeoutSeconds: 4200,
    stopLatencyBoundSeconds: 4, // 2*900 - 1800 + 2 chunks * 2 s
    lostEventDetectionSeconds: 62,
  });
});

test('a day-long batch with a 120 s grace, waiting up to 30 minutes for the lock, with retries', () => {
  const t = deriveTimings(
    batch({
      hardTimeoutSeconds: 86_400,
      stopGraceSeconds: 120,
      overlapPolicy: 'wait',
      maxLockWaitMinutes: 30,
      retry: { attempts: 2, backoffSeconds: 45, on: { exitCodes: [75] } },
    }),
  );
  expect(t).toMatchObject({
    waitChunkSeconds: 3456, // 86400 / 25: at most 25 chunks
    waitChunkCount: 25,
    stopConfirmIntervalSeconds: 10, // a sixth of 120 s is 20: at most 10
    stopConfirmAttempts: 18, // (120 + 60) / 10
    lockWaitAttempts: 60,
    stopLatencyBoundSeconds: 50,
  });
  // 86400 + starts 390 + lock 60*30 + stop 18*10 + 120 + 600 + 3456 + retry 45 + 60 + margin 300
  expect(t.executionTimeoutSeconds).toBe(86_400 + 390 + 1800 + 4356 + 105 + 300);
});

test('a 2 s grace is looked at every second; a retry policy without backoffSeconds budgets its default 30 s', () => {
  const t = deriveTimings(
    batch({ hardTimeoutSeconds: 1800, stopGraceSeconds: 2, overlapPolicy: 'skip', retry: { on: { exitCodes: [1] } } }),
  );
  expect([t.stopConfirmIntervalSeconds, t.stopConfirmAttempts]).toEqual([1, 62]);
  expect(t.executionTimeoutSeconds).toBe(1800 + 390 + (62 + 120 + 600 + 900) + (30 + 60) + 300);
});

test('the stop latency bound may be 60 s, not more: 22515 s is accepted, 22514 s refused naming the fix', () => {
  expect(deriveTimings(batch({ name: 'long', hardTimeoutSeconds: 22_515 })).stopLatencyBoundSeconds).toBe(60);
  expect(() => deriveTimings(batch({ name: 'long', hardTimeoutSeconds: 22_514 }))).toThrow(
    'batch "long": hardTimeoutSeconds = 22514 gives a stop latency bound of 61 s (over 60 s); choose a timeout that is a multiple of 25 s.',
  );
});
