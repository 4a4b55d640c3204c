import { type BatchConfig, validateBatchConfigs } from '../../config/batch-config';
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
