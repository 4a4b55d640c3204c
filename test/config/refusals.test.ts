import {
  type BatchConfig,
  BatchConfigError,
  dependentsOf,
  describeConfigError,
  findBatch,
  forLocalMode,
  MAX_RETRY_ATTEMPTS,
  MAX_RETRY_EXIT_CODES,
  partitionBatchConfigs,
  validateBatchConfigs,
} from '../../config/batch-config';
import { BATCHES } from '../../config/batches';

/**
 * What a platform engineer sees for each bad entry in config/batches.ts: a BatchConfigError (never a
 * TypeError from deep inside the check) that names the batch, the field, the value as given and how
 * to fix it; and the entries next to each bad one that are fine are accepted.
 * The base batch is the shipped "sitemap-refresh" (created task, hardTimeoutSeconds 1800,
 * stopGraceSeconds 30, local 20 s / 2 s); IMPORTED swaps in an imported task.
 */

const base = BATCHES[0];
const withChange = (change: Record<string, unknown>): BatchConfig => ({ ...base, ...change }) as BatchConfig;
const IMPORTED_TASK = {
  kind: 'imported',
  clusterArn: 'arn:aws:ecs:ap-northeast-1:123456789012:cluster/main',
  taskDefinitionArn: 'arn:aws:ecs:ap-northeast-1:123456789012:task-definition/daily-report:12',
  family: 'daily-report',
  executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
  logGroupName: '/ecs/daily-report',
  logStreamPrefix: 'app',
};
const imported = (change: Record<string, unknown>) => ({ task: { ...IMPORTED_TASK, ...change } });
const created = (change: Record<string, unknown>) => ({ task: { ...base.task, ...change } });
const local = (change: Record<string, unknown>) => ({ local: { ...base.local, ...change } });
const retry = (change: Record<string, unknown>) => ({
  retry: { attempts: 2, on: { exitCodes: [75] }, ...change },
});
const chars = (n: number, c = 'a') => c.repeat(n);
/** `count` distinct upper-case environment names of `length` characters each. */
const envNames = (count: number, length: number) =>
  Array.from({ length: count }, (_, i) => `V${String(i).padStart(length - 1, '0')}`);

/** The message a refusal must carry: batch, field and value as failField writes them, then the fix. */
function refusal(batch: BatchConfig): BatchConfigError {
  try {
    validateBatchConfigs([batch]);
  } catch (err) {
    expect(err).toBeInstanceOf(BatchConfigError);
    expect((err as Error).name).toBe('BatchConfigError');
    return err as BatchConfigError;
  }
  throw new Error('the batch was accepted');
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// [what is wrong, the change, the field named, the value as the message shows it, a part of the fix]
const refused: Array<[string, Record<string, unknown>, string, string, string]> = [
  ['a name that is not a string', { name: 42 }, 'name', '42', 'use 2-40 characters of a-z, 0-9 and "-"'],
  ['no schedule', { schedule: undefined }, 'schedule.cron', 'undefined', 'give a six-field Scheduler cron such as'],
  [
    'a cron that is not a string',
    { schedule: { cron: 6, timeZone: 'UTC' } },
    'schedule.cron',
    '6',
    'give a six-field Scheduler cron',
  ],
  [
    'a cron one character over 250',
    { schedule: { cron: `10${',0'.repeat(119)} 6 * * ? *`.replace('10', '100'), timeZone: 'UTC' } },
    'schedule.cron',
    '"100',
    'use at most 250 characters (Scheduler\'s schedule expression "cron(...)" has at most 256)',
  ],
  [
    'a time zone that is not a string',
    { schedule: { cron: '0 6 * * ? *', timeZone: 9 } },
    'schedule.timeZone',
    '9',
    'use an IANA time zone name such as "Asia/Tokyo" or "UTC".',
  ],
  [
    'an expected interval of 0 h',
    { schedule: { ...base.schedule, expectedIntervalHours: 0 } },
    'schedule.expectedIntervalHours',
    '0',
    'use a whole number of hours between 1 and 168: the missed-run alarm is a CloudWatch alarm, which looks back at most 7 days.',
  ],
  [
    'a hard timeout over 24 h inside a 48 h interval',
    { hardTimeoutSeconds: 86_401, schedule: { ...base.schedule, expectedIntervalHours: 48 } },
    'hardTimeoutSeconds',
    '86401',
    'use a whole number of seconds between 5 and 86400 (24 h).',
  ],
  [
    'a time zone given as a list',
    { schedule: { cron: '0 6 * * ? *', timeZone: ['UTC'] } },
    'schedule.timeZone',
    '["UTC"]',
    'use an IANA time zone name',
  ],
  [
    'an unknown overlap policy',
    { overlapPolicy: 'never' },
    'overlapPolicy',
    '"never"',
    'use "skip", "wait" or "replace".',
  ],
  [
    'an unknown skip notification',
    { skipNotification: 'email' },
    'skipNotification',
    '"email"',
    'use "notice", "alert" or "none".',
  ],
  [
    'a zero lock wait',
    { overlapPolicy: 'wait', maxLockWaitMinutes: 0 },
    'maxLockWaitMinutes',
    '0',
    'use a whole number of minutes between 1 and 1440.',
  ],
  [
    'a container name with "!"',
    { containerName: 'app!' },
    'containerName',
    '"app!"',
    'use the container name from the task definition (letters, digits, "-" and "_").',
  ],
  [
    'a container name that is not a string',
    { containerName: 7 },
    'containerName',
    '7',
    'use the container name from the task definition',
  ],
  [
    '21 overridable environment names',
    { overrides: { environment: envNames(21, 4) } },
    'overrides.environment',
    '["V000"',
    'allow at most 20 environment names',
  ],
  [
    'overridable names of 385 characters with their commas',
    { overrides: { environment: [...envNames(7, 48), chars(42, 'B')] } },
    'overrides.environment',
    '["V0000',
    'the allowed names take 385 characters with their commas, more than 384',
  ],
  [
    'a lower-case environment name',
    { overrides: { environment: ['dry_run'] } },
    'overrides.environment',
    '"dry_run"',
    'environment names must match [A-Z_][A-Z0-9_]*.',
  ],
  [
    'a reserved environment name',
    { overrides: { environment: ['ECS_AGENT'] } },
    'overrides.environment',
    '"ECS_AGENT"',
    'names starting with AWS_, ECS_ or BATCH_RUNNER_ are reserved',
  ],
  [
    'runContextEnvironment "yes"',
    { runContextEnvironment: 'yes' },
    'runContextEnvironment',
    '"yes"',
    'use true (the container gets BATCH_RUNNER_SCHEDULED_TIME',
  ],
  [
    'no task',
    { task: undefined },
    'task',
    'undefined',
    'use { kind: "created", image, command } or { kind: "imported"',
  ],
  ['no task, with capacity', { task: undefined, capacity: { spot: {} } }, 'task', 'undefined', 'use { kind: "created"'],
  ['a task of another kind', { task: { kind: 'fargate' } }, 'task', '{"kind":"fargate"}', 'use { kind: "created"'],
  [
    'an empty command',
    created({ command: [] }),
    'task.command',
    '[]',
    'give the container command as a non-empty list of strings without control characters.',
  ],
  [
    'a command as one string',
    created({ command: 'rake sitemap:refresh' }),
    'task.command',
    '"rake sitemap:refresh"',
    'a non-empty list of strings',
  ],
  [
    'a command with a tab',
    created({ command: ['rake', 'a\tb'] }),
    'task.command',
    '["rake","a\\tb"]',
    'without control characters',
  ],
  [
    'a command argument that is a number',
    created({ command: ['sleep', 5] }),
    'task.command',
    '["sleep",5]',
    'without control characters',
  ],
  [
    'a command of 65 arguments',
    created({ command: Array(65).fill('x') }),
    'task.command',
    '["x"',
    'use at most 64 arguments and 512 characters in all',
  ],
  [
    'a command of 513 characters',
    created({ command: [chars(500), chars(13)] }),
    'task.command',
    '["aaa',
    'use at most 64 arguments',
  ],
  [
    'an image with a space',
    created({ image: 'ruby 3.3' }),
    'task.image',
    '"ruby 3.3"',
    'give the container image, e.g. "public.ecr.aws/docker/library/ruby:3.3": at most 255',
  ],
  [
    'an image of 256 characters',
    created({ image: chars(256) }),
    'task.image',
    '"aaa',
    'at most 255 letters, digits and "-_.:/#@"',
  ],
  [
    'an image given as a list',
    created({ image: ['ruby:3.3'] }),
    'task.image',
    '["ruby:3.3"]',
    'give the container image',
  ],
  [
    'a task definition ARN as a number',
    imported({ taskDefinitionArn: 12 }),
    'task.taskDefinitionArn',
    '12',
    'give the full task definition ARN, arn:aws:ecs:<region>:<account>:task-definition/<family>[:<revision>] (families have at most 200',
  ],
  [
    'a task definition ARN given as a list',
    imported({ taskDefinitionArn: [IMPORTED_TASK.taskDefinitionArn] }),
    'task.taskDefinitionArn',
    `["${IMPORTED_TASK.taskDefinitionArn}"]`,
    'give the full task definition ARN',
  ],
  [
    'a family that does not match',
    imported({ family: 'weekly-report' }),
    'task.family',
    '"weekly-report"',
    'the family must match the task definition ARN arn:aws:ecs:',
  ],
  [
    'a cluster name instead of its ARN',
    imported({ clusterArn: 'main' }),
    'task.clusterArn',
    '"main"',
    'give the full cluster ARN, arn:aws:ecs:<region>:<account>:cluster/<name> (names have at most 200',
  ],
  [
    'a cluster ARN given as a list',
    imported({ clusterArn: [IMPORTED_TASK.clusterArn] }),
    'task.clusterArn',
    `["${IMPORTED_TASK.clusterArn}"]`,
    'give the full cluster ARN',
  ],
  [
    'an execution role name instead of its ARN',
    imported({ executionRoleArn: 'ecsTaskExecutionRole' }),
    'task.executionRoleArn',
    '"ecsTaskExecutionRole"',
    'give the full IAM role ARN, arn:aws:iam::<account>:role/[<path>/]<name>.',
  ],
  [
    'a task role name instead of its ARN',
    imported({ taskRoleArn: 'report-task' }),
    'task.taskRoleArn',
    '"report-task"',
    'give the full IAM role ARN',
  ],
  [
    'a role name of 65 characters',
    imported({ taskRoleArn: `arn:aws:iam::123456789012:role/${chars(65, 'r')}` }),
    'task.taskRoleArn',
    '"arn:aws:iam::123456789012:role/rrr',
    'IAM role names have at most 64 characters and paths at most 64; this one has 65 and 1.',
  ],
  [
    'a role path of 65 characters',
    imported({ taskRoleArn: `arn:aws:iam::123456789012:role/${chars(63, 'p')}/task` }),
    'task.taskRoleArn',
    '"arn:aws:iam::123456789012:role/ppp',
    'this one has 4 and 65.',
  ],
  [
    'a log group that is not a string',
    imported({ logGroupName: 5 }),
    'task.logGroupName',
    '5',
    "give the container's CloudWatch Logs log group: 1-256 characters",
  ],
  [
    'a log group given as a list',
    imported({ logGroupName: ['/ecs/x'] }),
    'task.logGroupName',
    '["/ecs/x"]',
    "give the container's CloudWatch Logs log group",
  ],
  [
    'a log group of 257 characters',
    imported({ logGroupName: `/${chars(256)}` }),
    'task.logGroupName',
    '"/aaa',
    'log group: 1-256 characters',
  ],
  [
    'a stream prefix with ":"',
    imported({ logStreamPrefix: 'app:1' }),
    'task.logStreamPrefix',
    '"app:1"',
    'give the awslogs-stream-prefix of the container: 1-64 printable ASCII characters other than ":", "*", quotes and backslashes.',
  ],
  [
    'a stream prefix of 65 characters',
    imported({ logStreamPrefix: chars(65) }),
    'task.logStreamPrefix',
    '"aaa',
    '1-64 printable ASCII',
  ],
  [
    'a stream prefix given as a list',
    imported({ logStreamPrefix: ['app'] }),
    'task.logStreamPrefix',
    '["app"]',
    'give the awslogs-stream-prefix',
  ],
  [
    'an empty local command',
    local({ command: [] }),
    'local.command',
    '[]',
    'give the local command as a non-empty list of strings, e.g. ["node", "examples/sitemap-refresh.js"].',
  ],
  [
    'a local command as one string',
    local({ command: 'node x.js' }),
    'local.command',
    '"node x.js"',
    'give the local command as a non-empty list',
  ],
  [
    'a local command with a number',
    local({ command: ['sleep', 5] }),
    'local.command',
    '["sleep",5]',
    'give the local command',
  ],
  [
    'a local hard timeout of 4 s',
    local({ hardTimeoutSeconds: 4 }),
    'local.hardTimeoutSeconds',
    '4',
    'use a whole number of seconds between 5 and 86400 (24 h).',
  ],
  [
    'a local stop grace of 121 s',
    local({ hardTimeoutSeconds: 300, stopGraceSeconds: 121 }),
    'local.stopGraceSeconds',
    '121',
    'use a whole number of seconds between 1 and 120.',
  ],
  [
    'a local stop grace as long as the inherited hard timeout',
    { hardTimeoutSeconds: 10, stopGraceSeconds: 5, local: { command: ['node', 'x.js'], stopGraceSeconds: 10 } },
    'local.stopGraceSeconds',
    '10',
    'in the local mode the stop grace (10 s, from local.stopGraceSeconds) must be shorter than the hard timeout (10 s, from hardTimeoutSeconds); set local.stopGraceSeconds below 10',
  ],
  [
    'the default stop grace in the local mode over the local hard timeout',
    { stopGraceSeconds: undefined, local: { command: ['node', 'x.js'], hardTimeoutSeconds: 20 } },
    'local.stopGraceSeconds',
    '30',
    'the stop grace (30 s, from the default of 30, as neither local.stopGraceSeconds nor stopGraceSeconds is set) must be shorter than the hard timeout (20 s, from local.hardTimeoutSeconds)',
  ],
  [
    'retry: null',
    { retry: null },
    'retry',
    'null',
    'use { attempts, on: { exitCodes?, stopCodes? } }, or leave retry out.',
  ],
  ['retry as a word', { retry: 'always' }, 'retry', '"always"', 'use { attempts, on:'],
  [
    'attempts over the maximum',
    retry({ attempts: MAX_RETRY_ATTEMPTS + 1 }),
    'retry.attempts',
    String(MAX_RETRY_ATTEMPTS + 1),
    `use a whole number of attempts between 1 and ${MAX_RETRY_ATTEMPTS}, the first one included`,
  ],
  [
    'negative infrastructure attempts',
    retry({ infrastructureAttempts: -1 }),
    'retry.infrastructureAttempts',
    '-1',
    `use a whole number between 0 and ${MAX_RETRY_ATTEMPTS}: the attempts added for stop codes`,
  ],
  [
    'retry.on: null',
    retry({ on: null }),
    'retry.on',
    'null',
    'say which failures are retried: on: { exitCodes: [75], stopCodes: ["SpotInterruption"] }.',
  ],
  ['retry.on as a list', retry({ on: [75] }), 'retry.on', '[75]', 'say which failures are retried'],
  ['retry.on as a word', retry({ on: 'exit' }), 'retry.on', '"exit"', 'say which failures are retried'],
  [
    'retry.on with nothing to retry',
    retry({ on: {} }),
    'retry.on',
    '{}',
    'list at least one exit code (on.exitCodes: [75]) or stop code',
  ],
  [
    'exit codes as one number, with stop codes',
    retry({ on: { exitCodes: 75, stopCodes: ['SpotInterruption'] } }),
    'retry.on',
    '{"exitCodes":75',
    'list at least one exit code',
  ],
  [
    'stop codes as one word, with exit codes',
    retry({ on: { exitCodes: [75], stopCodes: 'SpotInterruption' } }),
    'retry.on',
    '{"exitCodes":[75]',
    'list at least one exit code',
  ],
  [
    'exit code 256',
    retry({ on: { exitCodes: [256] } }),
    'retry.on.exitCodes',
    '[256]',
    `list at most ${MAX_RETRY_EXIT_CODES} distinct exit codes between 1 and 255`,
  ],
  [
    'an exit code twice',
    retry({ on: { exitCodes: [75, 75] } }),
    'retry.on.exitCodes',
    '[75,75]',
    'distinct exit codes',
  ],
  [
    'one exit code too many',
    retry({ on: { exitCodes: Array.from({ length: MAX_RETRY_EXIT_CODES + 1 }, (_, i) => i + 1) } }),
    'retry.on.exitCodes',
    '[1,2,',
    'distinct exit codes',
  ],
  [
    'exit codes with one attempt',
    retry({ attempts: 1 }),
    'retry.attempts',
    '1',
    'retry.on.exitCodes needs at least 2 attempts',
  ],
  [
    'a stop code twice',
    retry({ on: { stopCodes: ['SpotInterruption', 'SpotInterruption'] } }),
    'retry.on.stopCodes',
    '["SpotInterruption","SpotInterruption"]',
    'list each stop code once.',
  ],
  [
    'stop codes without infrastructure attempts',
    retry({ infrastructureAttempts: 0, on: { stopCodes: ['SpotInterruption'] } }),
    'retry.infrastructureAttempts',
    '0',
    'retry.on.stopCodes needs at least 1 infrastructure attempt',
  ],
  [
    'retry.on with a typo',
    retry({ on: { exitCode: [75] } }),
    'retry.on.exitCode',
    '[75]',
    'there is no such field; remove it. Known fields of retry.on: exitCodes, stopCodes',
  ],
  [
    'durationGuards: null',
    { durationGuards: null },
    'durationGuards',
    'null',
    'give an object such as { minDurationSeconds: 30, nearHardTimeoutShare: 0.8 }.',
  ],
  ['durationGuards as a list', { durationGuards: [30] }, 'durationGuards', '[30]', 'give an object such as'],
  ['durationGuards as a number', { durationGuards: 30 }, 'durationGuards', '30', 'give an object such as'],
  [
    'a near-timeout share as text',
    { durationGuards: { nearHardTimeoutShare: '0.5' } },
    'durationGuards.nearHardTimeoutShare',
    '"0.5"',
    'use a share of the hard timeout between 0.1 and 0.99',
  ],
  [
    'a minimum duration at the near-timeout mark',
    { durationGuards: { minDurationSeconds: 1440, nearHardTimeoutShare: 0.8 } },
    'durationGuards.minDurationSeconds',
    '1440',
    'it must be below nearHardTimeoutShare × hardTimeoutSeconds (1440 s), or every successful run gets a notice',
  ],
  [
    'overrides with a typo',
    { overrides: { env: ['DRY_RUN'] } },
    'overrides.env',
    '["DRY_RUN"]',
    'there is no such field; remove it. Known fields of overrides: environment, command',
  ],
  [
    'an after that is not a list',
    { after: 'xml-articles' },
    'after',
    '"xml-articles"',
    'name the upstream batch in a list, e.g. after: ["xml-articles"]',
  ],
  ['an empty after', { after: [] }, 'after', '[]', 'name the upstream batch in a list'],
  [
    'an after naming a batch and a number',
    { after: ['xml-articles', 7] },
    'after',
    '["xml-articles",7]',
    'name the upstream batch in a list',
  ],
  [
    'an execution role ARN given as a list',
    imported({ executionRoleArn: [IMPORTED_TASK.executionRoleArn] }),
    'task.executionRoleArn',
    `["${IMPORTED_TASK.executionRoleArn}"]`,
    'give the full IAM role ARN',
  ],
  [
    'a created task on EC2',
    { capacity: { launchType: 'EC2' } },
    'capacity.launchType',
    '"EC2"',
    'the task definitions and the cluster the app creates are Fargate only',
  ],
  ['capacity: null', { capacity: null }, 'capacity', 'null', 'give an object such as { spot: { fallbackAfter: 1 } }'],
  [
    'spot, a strategy and a launch type at once',
    {
      ...imported({}),
      capacity: { spot: {}, capacityProviderStrategy: [{ capacityProvider: 'FARGATE' }], launchType: 'EC2' },
    },
    'capacity',
    '{"spot":{}',
    'remove capacityProviderStrategy and launchType.',
  ],
  ...([null, ['FARGATE'], 'FARGATE'] as const).map(
    (item): [string, Record<string, unknown>, string, string, string] => [
      `a strategy item ${JSON.stringify(item)}`,
      { ...imported({}), capacity: { capacityProviderStrategy: [item] } },
      'capacity.capacityProviderStrategy[0]',
      JSON.stringify(item),
      'give { capacityProvider, weight?, base? }.',
    ],
  ),
  [
    'a capacity provider given as a list',
    { ...imported({}), capacity: { capacityProviderStrategy: [{ capacityProvider: ['my-asg'] }] } },
    'capacity.capacityProviderStrategy[0].capacityProvider',
    '["my-asg"]',
    'use the name of a capacity provider of the cluster',
  ],
  [
    'a strategy base over 100000',
    { ...imported({}), capacity: { capacityProviderStrategy: [{ capacityProvider: 'my-asg', base: 100_001 }] } },
    'capacity.capacityProviderStrategy[0].base',
    '100001',
    'use a whole number from 0 to 100000.',
  ],
  ['an after naming a number', { after: [7] }, 'after', '[7]', 'name the upstream batch in a list'],
  [
    'capacity.spot: null',
    { capacity: { spot: null } },
    'capacity.spot',
    'null',
    'give an object such as { fallbackAfter: 1 } ({} for the default).',
  ],
  [
    'capacity.spot as a list',
    { capacity: { spot: [1] } },
    'capacity.spot',
    '[1]',
    'give an object such as { fallbackAfter: 1 }',
  ],
  [
    'capacity.spot as a number',
    { capacity: { spot: 1 } },
    'capacity.spot',
    '1',
    'give an object such as { fallbackAfter: 1 }',
  ],
  [
    'capacity as a list',
    { capacity: [] },
    'capacity',
    '[]',
    'give an object such as { spot: { fallbackAfter: 1 } }, or leave capacity out.',
  ],
  [
    'a launch type in lower case',
    { capacity: { launchType: 'fargate' } },
    'capacity.launchType',
    '"fargate"',
    'use "FARGATE" or "EC2", or leave it out (FARGATE).',
  ],
  [
    'spot and a launch type',
    { capacity: { spot: {}, launchType: 'FARGATE' } },
    'capacity',
    '{"spot":{},"launchType":"FARGATE"}',
    'choose one of spot, capacityProviderStrategy and launchType (ECS takes a launch type or a capacity provider strategy, not both; spot already means Fargate); remove launchType.',
  ],
  [
    'a platform version as a number',
    { capacity: { platformVersion: 1.4 } },
    'capacity.platformVersion',
    '1.4',
    'use "LATEST" or a Fargate platform version such as "1.4.0".',
  ],
  [
    'a platform version given as a list',
    { capacity: { platformVersion: ['LATEST'] } },
    'capacity.platformVersion',
    '["LATEST"]',
    'use "LATEST" or a Fargate platform version',
  ],
];

test.each(refused)('%s is refused, naming the field, the value and the fix', (_what, change, field, value, fix) => {
  const err = refusal(withChange(change));
  const batchName = typeof change.name === 'number' ? String(change.name) : base.name;
  expect(err.message).toMatch(
    new RegExp(`^batch "${batchName}": ${escape(field)} = ${escape(value)}.* is invalid: `, 's'),
  );
  expect(err.message.slice(err.message.indexOf(' is invalid: '))).toContain(fix);
});

// Entries right at a limit, or using a form that is easy to refuse by mistake.
const accepted: Array<[string, Record<string, unknown>]> = [
  ['a cron of exactly 250 characters', { schedule: { cron: `10${',0'.repeat(119)} 6 * * ? *`, timeZone: 'UTC' } }],
  ['20 overridable environment names', { overrides: { environment: envNames(20, 4) } }],
  [
    'overridable names of 384 characters with their commas',
    { overrides: { environment: [...envNames(7, 48), chars(41, 'B')] } },
  ],
  ['runContextEnvironment true', { runContextEnvironment: true }],
  ['the replace overlap policy', { overlapPolicy: 'replace' }],
  ['no skip notification', { skipNotification: 'none' }],
  ['a Spot fallback after 5 setbacks', { capacity: { spot: { fallbackAfter: 5 } } }],
  [
    'a strategy of 3 providers at their largest weight and base, one of weight 0',
    {
      ...imported({}),
      capacity: {
        capacityProviderStrategy: [
          { capacityProvider: 'asg-a', weight: 0 },
          { capacityProvider: 'asg-b', weight: 1000, base: 100_000 },
          { capacityProvider: 'asg-c' },
        ],
      },
    },
  ],
  ['runContextEnvironment false', { runContextEnvironment: false }],
  ['a command with a space in an argument', created({ command: ['echo', 'a b'] })],
  ['a command of 64 arguments', created({ command: Array(64).fill('x') })],
  ['a command of 512 characters', created({ command: [chars(500), chars(12)] })],
  ['an image of 255 characters', created({ image: chars(255) })],
  ['an imported task without a task role', imported({})],
  ['a role name of 64 characters', imported({ taskRoleArn: `arn:aws:iam::123456789012:role/${chars(64, 'r')}` })],
  ['a role path of 64 characters', imported({ taskRoleArn: `arn:aws:iam::123456789012:role/${chars(62, 'p')}/task` })],
  ['a log group of 256 characters', imported({ logGroupName: `/${chars(255)}` })],
  ['a stream prefix of 64 characters', imported({ logStreamPrefix: chars(64) })],
  ['an imported task on EC2', { ...imported({}), capacity: { launchType: 'EC2' } }],
  ['a created task on Fargate, said so', { capacity: { launchType: 'FARGATE' } }],
  ['a local run without its own hard timeout', { local: { command: ['node', 'x.js'], stopGraceSeconds: 2 } }],
  ['a local stop grace of 120 s', local({ hardTimeoutSeconds: 300, stopGraceSeconds: 120 })],
  ['attempts at the maximum', retry({ attempts: MAX_RETRY_ATTEMPTS })],
  ['exit code 255', retry({ on: { exitCodes: [255] } })],
  ['the most exit codes', retry({ on: { exitCodes: Array.from({ length: MAX_RETRY_EXIT_CODES }, (_, i) => i + 1) } })],
  ['one exit code and one stop code', retry({ on: { exitCodes: [75], stopCodes: ['SpotInterruption'] } })],
  ['stop codes only, with one attempt', retry({ attempts: 1, on: { stopCodes: ['SpotInterruption'] } })],
  ['exit codes without infrastructure attempts', retry({ infrastructureAttempts: 0 })],
  [
    'a minimum duration just under the near-timeout mark',
    { durationGuards: { minDurationSeconds: 1439, nearHardTimeoutShare: 0.8 } },
  ],
  ['a minimum duration alone, near the hard timeout', { durationGuards: { minDurationSeconds: 1799 } }],
  ['a near-timeout share alone', { durationGuards: { nearHardTimeoutShare: 0.99 } }],
];

test.each(accepted)('%s is accepted', (_what, change) => {
  expect(() => validateBatchConfigs([withChange(change)])).not.toThrow();
});

describe('dependencies between batches', () => {
  const upstream = BATCHES[1];
  const dependent = (name: string, after: string[], schedule = upstream.schedule) =>
    withChange({ name, after, schedule });

  test('an upstream missing from the deployment is named, with the batches there are', () => {
    expect(() => validateBatchConfigs([upstream, dependent('report', ['exports'])])).toThrow(
      'batch "report": after = ["exports"] is invalid: there is no batch "exports" in this deployment; name one of xml-articles, or add "exports" to the list.',
    );
    expect(() => validateBatchConfigs([dependent('report', ['exports'])])).toThrow(
      'name one of (no other batch), or add "exports"',
    );
  });

  test('a dependent batch in another time zone than its upstream is refused, with the upstream`s schedule to copy', () => {
    const elsewhere = dependent('report', [upstream.name], { ...upstream.schedule, timeZone: 'UTC' });
    expect(() => validateBatchConfigs([upstream, elsewhere])).toThrow(
      `batch "report": schedule = {"cron":"0 7 * * ? *","timeZone":"UTC"} is invalid: a batch that runs after "xml-articles" stands for its slots; give the upstream's cron and time zone: schedule: { cron: "0 7 * * ? *", timeZone: "Asia/Tokyo" }`,
    );
    expect(() => validateBatchConfigs([upstream, dependent('report', [upstream.name])])).not.toThrow();
  });

  test('a cycle of three is named along its path, from the batch where the walk found it', () => {
    const a = dependent('a-batch', ['c-batch']);
    const b = dependent('b-batch', ['a-batch']);
    const c = dependent('c-batch', ['b-batch']);
    expect(() => validateBatchConfigs([a, b, c])).toThrow(
      'batch "a-batch": after = ["c-batch"] is invalid: the dependencies form a cycle, a-batch -> c-batch -> b-batch -> a-batch, so none of these batches would ever start',
    );
  });

  test('a batch that leads into a cycle is not part of it: the cycle is named from where it closes', () => {
    const d = dependent('d-batch', ['a-batch']);
    const a = dependent('a-batch', ['b-batch']);
    const b = dependent('b-batch', ['a-batch']);
    expect(() => validateBatchConfigs([d, a, b])).toThrow(
      'batch "a-batch": after = ["b-batch"] is invalid: the dependencies form a cycle, a-batch -> b-batch -> a-batch,',
    );
  });

  test('dependentsOf: the batches that name it in after', () => {
    const list = [upstream, dependent('report', [upstream.name]), dependent('digest', [upstream.name]), base];
    expect(dependentsOf(list, upstream.name).map((b) => b.name)).toEqual(['report', 'digest']);
    expect(dependentsOf(list, 'report')).toEqual([]);
  });

  test('two entries with one name: the second is refused', () => {
    expect(() => validateBatchConfigs([base, base])).toThrow(
      'batch "sitemap-refresh": name = "sitemap-refresh" is invalid: batch names must be unique; rename one of the two.',
    );
  });
});

describe('the CLI`s view of a list with bad entries (partitionBatchConfigs)', () => {
  test('a bad entry and a second entry of a name are set aside with their errors; the rest run', () => {
    const bad = withChange({ name: 'broken', overlapPolicy: 'never' });
    const { valid, invalid } = partitionBatchConfigs([BATCHES[0], bad, BATCHES[1], BATCHES[0]]);
    expect(valid.map((b) => b.name)).toEqual(['sitemap-refresh', 'xml-articles']);
    expect(invalid.map(({ name, error }) => [name, error.message])).toEqual([
      ['broken', expect.stringMatching(/^batch "broken": overlapPolicy = "never" is invalid: /)],
      ['sitemap-refresh', expect.stringMatching(/name = "sitemap-refresh" is invalid: batch names must be unique/)],
    ]);
  });

  test('an error that is not a configuration error is not swallowed', () => {
    const broken = {
      ...base,
      get schedule(): never {
        throw new RangeError('the entry cannot be read');
      },
    } as unknown as BatchConfig;
    expect(() => partitionBatchConfigs([BATCHES[1], broken])).toThrow(RangeError);
  });
});

describe('finding a batch and running it locally', () => {
  test('findBatch returns the batch of that name, and names the known ones for an unknown name', () => {
    expect(findBatch(BATCHES, 'xml-articles')).toBe(BATCHES[1]);
    expect(() => findBatch(BATCHES, 'nightly')).toThrow(
      'unknown batch "nightly": known batches are sitemap-refresh, xml-articles, missing-images',
    );
  });

  test('forLocalMode puts the local timings in place of the production ones, each only when given', () => {
    expect(forLocalMode(base)).toMatchObject({ hardTimeoutSeconds: 20, stopGraceSeconds: 2 });
    expect(forLocalMode(withChange({ local: { command: ['node', 'x.js'], hardTimeoutSeconds: 40 } }))).toMatchObject({
      hardTimeoutSeconds: 40,
      stopGraceSeconds: 30,
    });
    expect(forLocalMode(withChange({ local: { command: ['node', 'x.js'], stopGraceSeconds: 3 } }))).toMatchObject({
      hardTimeoutSeconds: 1800,
      stopGraceSeconds: 3,
    });
    const plain = withChange({ local: { command: ['node', 'x.js'] } });
    expect(forLocalMode(plain)).toBe(plain);
    const none = withChange({ local: undefined });
    expect(forLocalMode(none)).toBe(none);
  });

  test('describeConfigError splits a message into what is wrong and the fix; another message gets the general fix', () => {
    expect(describeConfigError(new BatchConfigError('batch "x": name = 1 is invalid: use letters.'))).toBe(
      'error: batch "x": name = 1 is invalid\nfix: use letters.',
    );
    expect(describeConfigError(new BatchConfigError('no batches configured.'))).toBe(
      'error: no batches configured.\nfix: edit config/batches.ts (README: "Add a batch").',
    );
  });
});
