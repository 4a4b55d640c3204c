import { type BatchConfig, cronProblem, validateBatchConfigs } from '../../config/batch-config';
import { BATCHES } from '../../config/batches';

/**
 * Every numeric setting of a batch at the edges of its documented range: the bound itself is accepted,
 * one step past it is refused before anything is built, naming the batch and the field.
 * (The base batch: hardTimeoutSeconds 1800, stopGraceSeconds 30, local 20 s / 2 s, a daily schedule.)
 */

const base = BATCHES[0];
const withChange = (change: Record<string, unknown>): BatchConfig => ({ ...base, ...change }) as BatchConfig;
const local = (change: Record<string, unknown>) => ({ local: { ...base.local, ...change } });
const schedule = (change: Record<string, unknown>) => ({ schedule: { ...base.schedule, ...change } });
const guards = (change: Record<string, unknown>) => ({ durationGuards: change });

const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, string]> = [
  [
    'schedule.expectedIntervalHours',
    schedule({ expectedIntervalHours: 1 }),
    schedule({ expectedIntervalHours: 0 }),
    'schedule.expectedIntervalHours',
  ],
  [
    'schedule.expectedIntervalHours',
    schedule({ expectedIntervalHours: 168 }),
    schedule({ expectedIntervalHours: 169 }),
    'schedule.expectedIntervalHours',
  ],
  [
    'hardTimeoutSeconds',
    { hardTimeoutSeconds: 5, stopGraceSeconds: 4 },
    { hardTimeoutSeconds: 4, stopGraceSeconds: 3 },
    'hardTimeoutSeconds',
  ],
  ['hardTimeoutSeconds', { hardTimeoutSeconds: 86_400 }, { hardTimeoutSeconds: 86_401 }, 'hardTimeoutSeconds'],
  [
    'hardTimeoutSeconds within the interval',
    { hardTimeoutSeconds: 3600, ...schedule({ expectedIntervalHours: 1 }) },
    { hardTimeoutSeconds: 3601, ...schedule({ expectedIntervalHours: 1 }) },
    'hardTimeoutSeconds',
  ],
  ['stopGraceSeconds', { stopGraceSeconds: 1 }, { stopGraceSeconds: 0 }, 'stopGraceSeconds'],
  ['stopGraceSeconds', { stopGraceSeconds: 120 }, { stopGraceSeconds: 121 }, 'stopGraceSeconds'],
  [
    'stopGraceSeconds below the hard timeout',
    { hardTimeoutSeconds: 60, stopGraceSeconds: 59 },
    { hardTimeoutSeconds: 60, stopGraceSeconds: 60 },
    'stopGraceSeconds',
  ],
  [
    'maxLockWaitMinutes',
    { overlapPolicy: 'wait', maxLockWaitMinutes: 1 },
    { overlapPolicy: 'wait', maxLockWaitMinutes: 0 },
    'maxLockWaitMinutes',
  ],
  [
    'maxLockWaitMinutes',
    { overlapPolicy: 'wait', maxLockWaitMinutes: 1440 },
    { overlapPolicy: 'wait', maxLockWaitMinutes: 1441 },
    'maxLockWaitMinutes',
  ],
  [
    'local.hardTimeoutSeconds',
    local({ hardTimeoutSeconds: 5 }),
    local({ hardTimeoutSeconds: 4 }),
    'local.hardTimeoutSeconds',
  ],
  [
    'local.hardTimeoutSeconds',
    local({ hardTimeoutSeconds: 86_400 }),
    local({ hardTimeoutSeconds: 86_401 }),
    'local.hardTimeoutSeconds',
  ],
  ['local.stopGraceSeconds', local({ stopGraceSeconds: 1 }), local({ stopGraceSeconds: 0 }), 'local.stopGraceSeconds'],
  [
    'local.stopGraceSeconds below local.hardTimeoutSeconds',
    local({ stopGraceSeconds: 19 }),
    local({ stopGraceSeconds: 20 }),
    'local.stopGraceSeconds',
  ],
  [
    'durationGuards.minDurationSeconds',
    guards({ minDurationSeconds: 1 }),
    guards({ minDurationSeconds: 0 }),
    'durationGuards.minDurationSeconds',
  ],
  [
    'durationGuards.minDurationSeconds',
    guards({ minDurationSeconds: 1799 }),
    guards({ minDurationSeconds: 1800 }),
    'durationGuards.minDurationSeconds',
  ],
  [
    'durationGuards.nearHardTimeoutShare',
    guards({ nearHardTimeoutShare: 0.1 }),
    guards({ nearHardTimeoutShare: 0.09 }),
    'durationGuards.nearHardTimeoutShare',
  ],
  [
    'durationGuards.nearHardTimeoutShare',
    guards({ nearHardTimeoutShare: 0.99 }),
    guards({ nearHardTimeoutShare: 1 }),
    'durationGuards.nearHardTimeoutShare',
  ],
  ['startTimeoutSeconds', { startTimeoutSeconds: 5 }, { startTimeoutSeconds: 4 }, 'startTimeoutSeconds'],
  ['startTimeoutSeconds', { startTimeoutSeconds: 1799 }, { startTimeoutSeconds: 1800 }, 'startTimeoutSeconds'],
];

test.each(cases)('%s: %j is accepted, %j is refused', (_label, accepted, refused, field) => {
  expect(() => validateBatchConfigs([withChange(accepted)])).not.toThrow();
  expect(() => validateBatchConfigs([withChange(refused)])).toThrow(
    new RegExp(`^batch "sitemap-refresh": ${field.replace(/\./g, '\\.')} = .* is invalid: `),
  );
});

describe('each field of a Scheduler cron at its range`s edges', () => {
  test.each([
    ['0 0 1 1 ? 1970', undefined],
    ['59 23 31 12 ? 2199', undefined],
    ['0 6 ? JAN-DEC SUN-SAT *', undefined],
    ['0 6 ? * 1-7 *', undefined],
    ['0 6 LW * ? *', undefined],
    ['0 6 15W * ? *', undefined],
    ['0 6 ? * 6L *', undefined],
    ['0 6 ? * FRI#5 *', undefined],
    ['*/15 * * * ? *', undefined],
    ['  0 6 * * ? *  ', undefined],
    ['60 6 * * ? *', 'minutes field "60": 60 is outside 0-59'],
    ['0 24 * * ? *', 'hours field "24": 24 is outside 0-23'],
    ['0 6 0 * ? *', 'day-of-month field "0": 0 is outside 1-31'],
    ['0 6 32 * ? *', 'day-of-month field "32": 32 is outside 1-31'],
    ['0 6 ? 13 * *', 'month field "13": 13 is outside 1-12'],
    ['0 6 ? 0 * *', 'month field "0": 0 is outside 1-12'],
    ['0 6 ? * 8 *', 'day-of-week field "8": 8 is outside 1-7'],
    ['0 6 ? * 0 *', 'day-of-week field "0": 0 is outside 1-7'],
    ['0 6 * * ? 1969', 'year field "1969": 1969 is outside 1970-2199'],
    ['0 6 * * ? 2200', 'year field "2200": 2200 is outside 1970-2199'],
    ['0 6 ? * MON-FUN *', 'day-of-week field "MON-FUN": FUN is outside 1-7'],
    ['0 6 * * * *', 'one of day-of-month and day-of-week must be "?" (Scheduler cron rule)'],
    ['? 6 * * ? *', 'minutes field "?" is not a number, range, list or step'],
    // "The L wildcard in the Day-of-month or Day-of-week fields specifies the last day of the month or
    // week" (EventBridge cron expressions reference).
    ['0 6 ? * L *', undefined],
    ['0 6 L * ? *', undefined],
    ['0 6 ? * LW *', 'day-of-week field "LW": LW is outside 1-7'],
    ['0 6 ? * MON,L *', 'day-of-week field "L": L is outside 1-7'],
    ['0 6 ? * MON#6 *', 'day-of-week field "MON#6" is not a number, range, list or step'],
    // Names belong to the month and day-of-week fields only; L, W and # only where the reference allows them.
    ['0 MON * * ? *', 'hours field "MON": MON is outside 0-23'],
    ['0 6 5LW * ? *', 'day-of-month field "5LW": 5LW is outside 1-31'],
    ['0 6 L5 * ? *', 'day-of-month field "L5": L5 is outside 1-31'],
    ['0 6L * * ? *', 'hours field "6L": 6L is outside 0-23'],
    ['0 6 ? * MON6L *', 'day-of-week field "MON6L": MON6L is outside 1-7'],
    ['0 6 ? * 6L5 *', 'day-of-week field "6L5": 6L5 is outside 1-7'],
    ['0 6 ? * XYZL *', 'day-of-week field "XYZL": XYZL is outside 1-7'],
    ['0 6 ? * FRIL *', undefined],
    ['0 6 ? * FRI#3 *', undefined],
  ])('%j: %s', (cron, problem) => {
    expect(cronProblem(cron)).toBe(problem);
  });
});
