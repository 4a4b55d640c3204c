import { type BatchConfig, validateBatchConfigs } from '../../config/batch-config';
import { BATCHES } from '../../config/batches';
import { attemptPolicyOf } from '../../state-machines/definition';

/** Issue 11: the run's context in the task, and retries by failure reason (config/batch-config.ts). */

const base: BatchConfig = BATCHES[0];
const withChange = (change: Record<string, unknown>): BatchConfig => ({ ...base, ...change }) as BatchConfig;
const refused = (change: Record<string, unknown>) => () => validateBatchConfigs([withChange(change)]);

describe("the run's context (runContextEnvironment)", () => {
  test('on by default, off on request; the state machine reads it from one policy placeholder', () => {
    expect(attemptPolicyOf(base)).toEqual({ context: true });
    expect(attemptPolicyOf(withChange({ runContextEnvironment: false }))).toEqual({ context: false });
  });

  test('a non-boolean is refused, naming the batch, the field, the value and the variables', () => {
    expect(refused({ runContextEnvironment: 'yes' })).toThrow(
      /^batch "sitemap-refresh": runContextEnvironment = "yes" is invalid: use true \(the container gets BATCH_RUNNER_SCHEDULED_TIME/,
    );
  });
});

describe('retries by failure reason (retry)', () => {
  const retry = { attempts: 3, backoffSeconds: 10, on: { exitCodes: [75, 143], stopCodes: ['SpotInterruption'] } };

  test('a valid policy becomes the comma-separated lists the state machine compares (defaults filled in)', () => {
    expect(() => validateBatchConfigs([withChange({ retry })])).not.toThrow();
    expect(attemptPolicyOf(withChange({ retry }))).toEqual({
      context: true,
      retry: {
        attempts: 3,
        infrastructureAttempts: 3,
        backoffSeconds: 10,
        exitCodes: '75,143',
        stopCodes: 'SpotInterruption',
      },
    });
    const infraOnly = { attempts: 1, on: { stopCodes: ['TaskFailedToStart', 'InfrastructureHealth'] } };
    expect(attemptPolicyOf(withChange({ retry: infraOnly })).retry).toEqual({
      attempts: 1,
      infrastructureAttempts: 3,
      backoffSeconds: 30,
      exitCodes: '',
      stopCodes: 'TaskFailedToStart,InfrastructureHealth',
    });
  });

  test.each([
    [{ ...retry, attempts: 0 }, /retry\.attempts = 0 is invalid: use a whole number of attempts between 1 and 10/],
    [{ ...retry, attempts: 11 }, /retry\.attempts = 11 is invalid/],
    [{ ...retry, attempts: 1 }, /retry\.attempts = 1 is invalid: retry\.on\.exitCodes needs at least 2 attempts/],
    [{ ...retry, infrastructureAttempts: -1 }, /retry\.infrastructureAttempts = -1 is invalid/],
    [
      { attempts: 2, infrastructureAttempts: 0, on: { stopCodes: ['SpotInterruption'] } },
      /retry\.infrastructureAttempts = 0 is invalid: retry\.on\.stopCodes needs at least 1 infrastructure attempt/,
    ],
    [{ ...retry, backoffSeconds: 3601 }, /retry\.backoffSeconds = 3601 is invalid/],
    [{ ...retry, backoffSeconds: 1800 }, /shorter than the hard timeout \(1800 s\)/],
    [{ ...retry, on: {} }, /retry\.on = \{\} is invalid: list at least one exit code/],
    [
      { ...retry, on: { exitCodes: [0] } },
      /retry\.on\.exitCodes = \[0\] is invalid: list at most 10 distinct exit codes between 1 and 255/,
    ],
    [{ ...retry, on: { exitCodes: [75, 75] } }, /retry\.on\.exitCodes = \[75,75\] is invalid/],
    [{ ...retry, on: { exitCodes: Array.from({ length: 11 }, (_, i) => i + 1) } }, /retry\.on\.exitCodes = /],
    [
      { ...retry, on: { stopCodes: ['UserInitiated'] } },
      /retry\.on\.stopCodes = "UserInitiated" is invalid: use ECS stop codes of infrastructure disruptions: TaskFailedToStart, SpotInterruption, InfrastructureHealth, TerminationNotice\. .*UserInitiated a deliberate StopTask/,
    ],
    [
      { ...retry, on: { stopCodes: ['EssentialContainerExited'] } },
      /EssentialContainerExited is every exit \(use on\.exitCodes\)/,
    ],
    [
      { ...retry, on: { exitCodes: [75], signals: [15] } },
      /retry\.on\.signals = \[15\] is invalid: there is no such field/,
    ],
    [{ ...retry, maxAttempts: 3 }, /retry\.maxAttempts = 3 is invalid: there is no such field/],
  ])('refused: %j', (bad, message) => {
    expect(refused({ hardTimeoutSeconds: 1800, retry: bad })).toThrow(message);
  });
});

describe('start timeout (startTimeoutSeconds)', () => {
  test('absent by default; when set it travels in the attempt policy the watcher reads, no new placeholder', () => {
    expect(attemptPolicyOf(base)).not.toHaveProperty('startTimeoutSeconds');
    expect(attemptPolicyOf(withChange({ startTimeoutSeconds: 300 }))).toEqual({
      context: true,
      startTimeoutSeconds: 300,
    });
  });

  test('a fraction, a value below 5 s or one not shorter than the hard timeout is refused, naming batch, field, value and range', () => {
    expect(refused({ startTimeoutSeconds: 2.5 })).toThrow(
      /^batch "sitemap-refresh": startTimeoutSeconds = 2\.5 is invalid: use a whole number of seconds from 5 up to less than the hard timeout \(\d+ s\), or leave it out\.$/,
    );
    expect(refused({ startTimeoutSeconds: 4 })).toThrow(/startTimeoutSeconds = 4 is invalid/);
    expect(refused({ startTimeoutSeconds: base.hardTimeoutSeconds })).toThrow(
      new RegExp(`startTimeoutSeconds = ${base.hardTimeoutSeconds} is invalid`),
    );
    expect(() => validateBatchConfigs([withChange({ startTimeoutSeconds: 300 })])).not.toThrow();
  });
});

describe('duration guards (durationGuards)', () => {
  test('each guard becomes a bound in the attempt policy; the one not configured is a bound no run reaches', () => {
    expect(attemptPolicyOf(withChange({ durationGuards: { minDurationSeconds: 20 } })).duration).toEqual([
      20,
      2 * base.hardTimeoutSeconds,
    ]);
    expect(
      attemptPolicyOf(withChange({ hardTimeoutSeconds: 1000, durationGuards: { nearHardTimeoutShare: 0.75 } }))
        .duration,
    ).toEqual([0, 750]);
    expect(attemptPolicyOf(withChange({ durationGuards: {} }))).toEqual({ context: true });
    expect(() => validateBatchConfigs([withChange({ durationGuards: { minDurationSeconds: 20 } })])).not.toThrow();
  });

  test('bad values are refused, naming the batch, the field, the value and the fix', () => {
    expect(refused({ durationGuards: { minDurationSeconds: 0 } })).toThrow(
      /^batch "sitemap-refresh": durationGuards.minDurationSeconds = 0 is invalid: use a whole number of seconds from 1 to below hardTimeoutSeconds/,
    );
    expect(refused({ durationGuards: { nearHardTimeoutShare: 80 } })).toThrow(
      /durationGuards.nearHardTimeoutShare = 80 is invalid: use a share of the hard timeout between 0.1 and 0.99 \(0.8 means 80 %\)/,
    );
    expect(
      refused({ hardTimeoutSeconds: 600, durationGuards: { minDurationSeconds: 500, nearHardTimeoutShare: 0.5 } }),
    ).toThrow(
      /durationGuards.minDurationSeconds = 500 is invalid: it must be below nearHardTimeoutShare × hardTimeoutSeconds \(300 s\)/,
    );
    expect(refused({ durationGuards: { minSeconds: 5 } })).toThrow(
      /durationGuards.minSeconds = 5 is invalid: there is no such field/,
    );
  });
});

describe('pause on repeated failure (pauseAfterConsecutiveFailures)', () => {
  test('absent by default; when set it is not part of the attempt policy (the reconciler reads it, not the state machine)', () => {
    expect(base.pauseAfterConsecutiveFailures).toBeUndefined();
    expect(() => validateBatchConfigs([withChange({ pauseAfterConsecutiveFailures: 3 })])).not.toThrow();
    expect(() => validateBatchConfigs([withChange({ pauseAfterConsecutiveFailures: 1 })])).not.toThrow();
    expect(() => validateBatchConfigs([withChange({ pauseAfterConsecutiveFailures: 100 })])).not.toThrow();
    expect(attemptPolicyOf(withChange({ pauseAfterConsecutiveFailures: 3 }))).toEqual(attemptPolicyOf(base));
  });

  test('zero, a fraction, more than 100 or a string is refused, naming batch, field, value and range', () => {
    expect(refused({ pauseAfterConsecutiveFailures: 0 })).toThrow(
      /^batch "sitemap-refresh": pauseAfterConsecutiveFailures = 0 is invalid: use a whole number of failed runs from 1 to 100 \(the reconciler reads at most 100 executions back\), or leave it out to never pause the schedule\.$/,
    );
    expect(refused({ pauseAfterConsecutiveFailures: 2.5 })).toThrow(/pauseAfterConsecutiveFailures = 2\.5 is invalid/);
    expect(refused({ pauseAfterConsecutiveFailures: 101 })).toThrow(/pauseAfterConsecutiveFailures = 101 is invalid/);
    expect(refused({ pauseAfterConsecutiveFailures: '3' })).toThrow(/pauseAfterConsecutiveFailures = "3" is invalid/);
  });

  test('a dependent batch (after) has no schedule to pause: refused, pointing at its upstream', () => {
    const upstream = BATCHES[1];
    const dependent = {
      ...withChange({ pauseAfterConsecutiveFailures: 3 }),
      after: [upstream.name],
      schedule: upstream.schedule,
    } as BatchConfig;
    expect(() => validateBatchConfigs([upstream, dependent])).toThrow(
      /^batch "sitemap-refresh": pauseAfterConsecutiveFailures = 3 is invalid: a batch with after \(\[".*"\]\) has no schedule to pause/,
    );
  });
});
