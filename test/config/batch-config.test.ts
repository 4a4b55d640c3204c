import {
  type BatchConfig,
  BatchConfigError,
  cronProblem,
  describeConfigError,
  findBatch,
  validateBatchConfigs,
} from '../../config/batch-config';
import { BATCHES } from '../../config/batches';
import { manualExecutionName } from '../../config/naming';
import { deriveTimings } from '../../config/timings';

const base: BatchConfig = BATCHES[0];
const IMPORTED = {
  kind: 'imported',
  clusterArn: 'arn:aws:ecs:ap-northeast-1:123456789012:cluster/main',
  taskDefinitionArn: 'arn:aws:ecs:ap-northeast-1:123456789012:task-definition/daily-report:12',
  family: 'daily-report',
  executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
  taskRoleArn: 'arn:aws:iam::123456789012:role/service-role/daily-report-task',
  logGroupName: '/ecs/daily-report',
  logStreamPrefix: 'app',
} as const;
const withChange = (change: Record<string, unknown>): BatchConfig => ({ ...base, ...change }) as BatchConfig;

describe('batch configuration', () => {
  test('the shipped batches are valid; the three of MISSION.md run at 06:00, 07:00 and 08:00 Asia/Tokyo', () => {
    expect(() => validateBatchConfigs(BATCHES)).not.toThrow();
    // Batches added later (README: "Add a batch") come after these three.
    expect(BATCHES.slice(0, 3).map((b) => [b.name, b.schedule.cron, b.schedule.timeZone])).toEqual([
      ['sitemap-refresh', '0 6 * * ? *', 'Asia/Tokyo'],
      ['xml-articles', '0 7 * * ? *', 'Asia/Tokyo'],
      ['missing-images', '0 8 * * ? *', 'Asia/Tokyo'],
    ]);
  });

  test('a local hard timeout below the inherited top-level stop grace names local.stopGraceSeconds and the inheritance', () => {
    const bad = withChange({ stopGraceSeconds: 60, local: { command: ['node', 'x.js'], hardTimeoutSeconds: 20 } });
    expect(() => validateBatchConfigs([bad])).toThrow(
      `batch "sitemap-refresh": local.stopGraceSeconds = 60 is invalid: in the local mode the stop grace (60 s, from stopGraceSeconds, inherited because local.stopGraceSeconds is not set) must be shorter than the hard timeout (20 s, from local.hardTimeoutSeconds); set local.stopGraceSeconds below 20, e.g. local: { ..., stopGraceSeconds: 2 }.`,
    );
    const fixed = withChange({
      stopGraceSeconds: 60,
      local: { command: ['node', 'x.js'], hardTimeoutSeconds: 20, stopGraceSeconds: 2 },
    });
    expect(() => validateBatchConfigs([fixed])).not.toThrow();
  });

  test.each([
    ['top level', { retries: 3 }, 'retries = 3 is invalid: there is no such field; remove it. Known fields: name,'],
    [
      'schedule',
      { schedule: { cron: '0 6 * * ? *', timeZone: 'UTC', timezone: 'UTC' } },
      'schedule.timezone = "UTC" is invalid: there is no such field; remove it. Known fields of schedule: cron, timeZone',
    ],
    [
      'local',
      { local: { command: ['node', 'x.js'], timeoutSeconds: 9 } },
      'local.timeoutSeconds = 9 is invalid: there is no such field',
    ],
    [
      'task',
      { task: { kind: 'created', image: 'x', command: ['x'], memory: 512 } },
      'task.memory = 512 is invalid: there is no such field; remove it. Known fields of task: kind, image, command, cpu, memoryMiB',
    ],
  ])('refuses an unknown field (%s)', (_label, change, message) => {
    expect(() => validateBatchConfigs([withChange(change)])).toThrow(message);
  });

  test.each([
    [
      'bad cron (5 fields)',
      { schedule: { cron: '0 6 * * *', timeZone: 'Asia/Tokyo' } },
      /schedule.cron = "0 6 \* \* \*" is invalid: expected 6 fields/,
    ],
    [
      'bad cron (hour 25)',
      { schedule: { cron: '0 25 * * ? *', timeZone: 'Asia/Tokyo' } },
      /hours field "25": 25 is outside 0-23/,
    ],
    ['bad cron (both days)', { schedule: { cron: '0 6 1 * MON *', timeZone: 'Asia/Tokyo' } }, /must be "\?"/],
    [
      'unknown time zone',
      { schedule: { cron: '0 6 * * ? *', timeZone: 'Asia/Tokio' } },
      /schedule.timeZone = "Asia\/Tokio" is invalid: use an IANA time zone/,
    ],
    ['unsafe name', { name: 'Sitemap Refresh!' }, /name = "Sitemap Refresh!" is invalid: use 2-40 characters/],
    ['name too long for execution names', { name: 'a'.repeat(41) }, /use 2-40 characters/],
    [
      'timeout shorter than the stop grace',
      { hardTimeoutSeconds: 20, stopGraceSeconds: 30 },
      /stopGraceSeconds = 30 is invalid: the stop grace must be shorter than the hard timeout \(20 s\)/,
    ],
    [
      'grace above the Fargate maximum',
      { stopGraceSeconds: 300 },
      /stopGraceSeconds = 300 is invalid: .*between 1 and 120/,
    ],
    ['negative timeout', { hardTimeoutSeconds: -5 }, /hardTimeoutSeconds = -5 is invalid/],
    ['absurd timeout', { hardTimeoutSeconds: 15 * 24 * 3600 }, /hardTimeoutSeconds = 1296000 is invalid/],
    [
      'timeout longer than the schedule interval',
      { hardTimeoutSeconds: 3 * 3600, schedule: { cron: '0 * * * ? *', timeZone: 'UTC', expectedIntervalHours: 2 } },
      /may not outlast its expected interval of 2 h/,
    ],
    [
      'unknown overlap policy',
      { overlapPolicy: 'queue' },
      /overlapPolicy = "queue" is invalid: use "skip", "wait" or "replace"/,
    ],
    [
      'reserved override name',
      { overrides: { environment: ['AWS_SECRET_ACCESS_KEY'] } },
      /names starting with AWS_, ECS_ or BATCH_RUNNER_ are reserved/,
    ],
    ['malformed override name', { overrides: { environment: ['dry-run'] } }, /environment names must match/],
    [
      'imported family not matching the ARN',
      {
        task: {
          kind: 'imported',
          clusterArn: 'arn:aws:ecs:ap-northeast-1:123456789012:cluster/main',
          taskDefinitionArn: 'arn:aws:ecs:ap-northeast-1:123456789012:task-definition/sitemap:3',
          family: 'other',
          executionRoleArn: 'x',
          logGroupName: '/x',
          logStreamPrefix: 'x',
        },
      },
      /task.family = "other" is invalid: the family must match/,
    ],
    [
      'an execution role that is not a role ARN',
      { task: { ...IMPORTED, executionRoleArn: 'ecsTaskExecutionRole' } },
      /task.executionRoleArn = "ecsTaskExecutionRole" is invalid: give the full IAM role ARN/,
    ],
    [
      'a log group name with a space',
      { task: { ...IMPORTED, logGroupName: '/ecs/daily report' } },
      /task.logGroupName = "\/ecs\/daily report" is invalid: give the container's CloudWatch Logs log group/,
    ],
    [
      'a log stream prefix with ":"',
      { task: { ...IMPORTED, logStreamPrefix: 'app:1' } },
      /task.logStreamPrefix = "app:1" is invalid: .*other than ":", "\*", quotes and backslashes/,
    ],
    [
      'a cluster ARN of another service',
      { task: { ...IMPORTED, clusterArn: 'arn:aws:eks:ap-northeast-1:123456789012:cluster/main' } },
      /task.clusterArn = "arn:aws:eks:.*" is invalid: give the full cluster ARN/,
    ],
    [
      'an image with a space',
      { task: { kind: 'created', image: 'ruby 3.3', command: ['true'] } },
      /task.image = "ruby 3.3" is invalid: give the container image/,
    ],
    [
      'a command with a control character',
      { task: { kind: 'created', image: 'ruby:3.3', command: ['echo', 'a\u0007'] } },
      /task.command = \["echo","a\\u0007"\] is invalid: .*without control characters/,
    ],
    [
      'local timeout shorter than local grace',
      { local: { command: ['node', 'x.js'], hardTimeoutSeconds: 5, stopGraceSeconds: 10 } },
      /stopGraceSeconds = 10 is invalid/,
    ],
  ])('refuses %s with a message naming the batch, field, value and fix', (_label, change, message) => {
    const bad = withChange(change);
    expect(() => validateBatchConfigs([bad])).toThrow(BatchConfigError);
    expect(() => validateBatchConfigs([bad])).toThrow(message);
    expect(() => validateBatchConfigs([bad])).toThrow(new RegExp(`^batch "${bad.name.replace(/[!]/g, '\\!')}"`));
  });

  test('a config error reads as error: and fix: lines (cdk synth prints them without a stack trace)', () => {
    const err = new BatchConfigError('batch "x": retries = 3 is invalid: there is no such field; remove it.');
    expect(describeConfigError(err)).toBe(
      'error: batch "x": retries = 3 is invalid\nfix: there is no such field; remove it.',
    );
  });

  test('accepts an imported task with a role path, and the README example', () => {
    expect(() => validateBatchConfigs([withChange({ task: IMPORTED })])).not.toThrow();
  });

  test('refuses duplicate names and an empty list', () => {
    expect(() => validateBatchConfigs([base, base])).toThrow(/batch names must be unique/);
    expect(() => validateBatchConfigs([])).toThrow(/no batches configured/);
  });

  test('an unknown batch lists the known ones', () => {
    expect(() => findBatch(BATCHES, 'sitemap')).toThrow(
      `unknown batch "sitemap": known batches are ${BATCHES.map((b) => b.name).join(', ')}.`,
    );
  });

  test('cron accepts Scheduler forms: lists, ranges, steps, names, L and #', () => {
    for (const ok of [
      '0 6 * * ? *',
      '*/15 0-5 ? * MON-FRI *',
      '0 8 L * ? *',
      '30 2 ? * 6#3 *',
      '0 0 1,15 JAN,JUL ? 2027',
    ]) {
      expect({ cron: ok, problem: cronProblem(ok) }).toEqual({ cron: ok, problem: undefined });
    }
  });
});

describe('derived timings', () => {
  test('a 2 h timeout waits in 8 chunks of 900 s: 12 transitions per hour, StopTask within 60 s of the deadline', () => {
    const t = deriveTimings(withChange({ hardTimeoutSeconds: 7200 }));
    expect([t.waitChunkCount, t.waitChunkSeconds]).toEqual([8, 900]);
    expect(t.stopLatencyBoundSeconds).toBeLessThanOrEqual(60);
    expect((3600 / t.waitChunkSeconds) * 3).toBeLessThanOrEqual(20);
  });

  test('a 24 h timeout still keeps the stop latency bound under 60 s', () => {
    const t = deriveTimings(
      withChange({ hardTimeoutSeconds: 24 * 3600, schedule: { ...base.schedule, expectedIntervalHours: 48 } }),
    );
    expect(t.waitChunkCount).toBeLessThanOrEqual(25);
    expect(t.stopLatencyBoundSeconds).toBeLessThanOrEqual(60);
    expect(t.executionTimeoutSeconds).toBeGreaterThan(24 * 3600 + t.stopGraceSeconds);
  });

  test('the stop confirmation covers the stop grace plus 60 s for ECS to report STOPPED', () => {
    const t = deriveTimings(withChange({ stopGraceSeconds: 120 }));
    expect(t.stopConfirmAttempts * t.stopConfirmIntervalSeconds).toBeGreaterThanOrEqual(180);
  });
});

test('manual execution names stay within the 80-character limit for the longest batch name', () => {
  const name = manualExecutionName('cli', 'a'.repeat(40), new Date('2026-11-21T23:00:00.123Z'), 'x7k2p9');
  expect(name).toBe(`cli-${'a'.repeat(40)}-20261121T230000Z-x7k2p9`);
  expect(name.length).toBeLessThanOrEqual(80);
});

describe('dependencies (after)', () => {
  const [, articles] = BATCHES;
  const dependent = (change: Partial<BatchConfig> = {}): BatchConfig => ({
    ...base,
    name: 'xml-sitemap',
    schedule: articles.schedule,
    after: [articles.name],
    ...change,
  });
  const problem = (batches: BatchConfig[]) => {
    try {
      validateBatchConfigs(batches);
    } catch (err) {
      expect(err).toBeInstanceOf(BatchConfigError);
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  test('a batch after another with the upstream`s cron and time zone is accepted', () => {
    expect(() => validateBatchConfigs([...BATCHES, dependent()])).not.toThrow();
  });

  test.each([
    [{ after: [] }, 'name the upstream batch in a list, e.g. after: ["xml-articles"]'],
    [{ after: 'xml-articles' as unknown as string[] }, 'name the upstream batch in a list'],
    [{ after: ['xml-articles', 'sitemap-refresh'] }, 'name one upstream batch'],
    [{ after: ['xml-sitemap'] }, 'a batch cannot run after itself'],
    [{ after: ['nope'] }, 'there is no batch "nope" in this deployment; name one of sitemap-refresh, xml-articles'],
    [
      { schedule: { cron: '0 9 * * ? *', timeZone: 'Asia/Tokyo' } },
      'give the upstream\'s cron and time zone: schedule: { cron: "0 7 * * ? *", timeZone: "Asia/Tokyo" }',
    ],
  ])('refused: %j', (change, fix) => {
    const message = problem([...BATCHES, dependent(change as Partial<BatchConfig>)]);
    expect(message).toMatch(/^batch "xml-sitemap": (after|schedule) = .* is invalid: /);
    expect(message).toContain(fix);
  });

  test('a cycle through several batches is refused naming its path', () => {
    const a = dependent({ name: 'a-batch', after: ['c-batch'] });
    const b = dependent({ name: 'b-batch', after: ['a-batch'] });
    const c = dependent({ name: 'c-batch', after: ['b-batch'] });
    expect(problem([...BATCHES, a, b, c])).toContain(
      'the dependencies form a cycle, a-batch -> c-batch -> b-batch -> a-batch, so none of these batches would ever start',
    );
  });
});
