import { EXIT } from '../../cli/exit-codes';
import { nextRunTime, toCronParser } from '../../cli/schedule-time';
import { cli, mockAws } from './support';

describe('usage', () => {
  test('--help lists every command and the exit codes', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(EXIT.SUCCESS);
    for (const command of [
      'list',
      'run',
      'stop',
      'watch',
      'show',
      'rerun',
      'status',
      'history',
      'logs',
      'unlock',
      'pause',
      'resume',
      'demo',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    for (const code of ['0 ', '1 ', '2 ', '3 ', '4 ', '5 ', '6 ', '7 ', '70 ', '130 '])
      expect(r.stdout).toContain(`\n  ${code}`);
  });

  test('run --help documents --override, --wait and --local', async () => {
    const r = await cli(['run', '--help']);
    expect(r.code).toBe(EXIT.SUCCESS);
    expect(r.stdout).toContain('--override <NAME=value...>');
    expect(r.stdout).toContain('--wait');
    expect(r.stdout).toContain('--local');
  });

  test.each([
    [[], /Usage: batch-runner/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['run'], /missing required argument 'batch'/],
    [['status', 'sitemap-refresh', '--verbose'], /unknown option '--verbose'/],
  ])('%j is a usage error (exit 2)', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(message);
  });

  test('an unexpected error exits 70 without a stack trace unless BATCH_RUNNER_DEBUG is set', async () => {
    const aws = mockAws();
    aws.mocks.sfn.onAnyCommand().rejects(new TypeError("Cannot read properties of undefined (reading 'x')"));
    const quiet = await cli(['status', 'sitemap-refresh'], { clients: aws.clients, env: {} });
    expect(quiet.code).toBe(EXIT.INTERNAL);
    expect(quiet.stderr).toContain("unexpected error: TypeError: Cannot read properties of undefined (reading 'x')");
    expect(quiet.stderr).not.toMatch(/\n\s+at /);
    const debug = await cli(['status', 'sitemap-refresh'], { clients: aws.clients, env: { BATCH_RUNNER_DEBUG: '1' } });
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});

describe('schedule times (list)', () => {
  test('Scheduler cron day-of-week numbers (1 = SUN) are translated, not taken literally', () => {
    expect(toCronParser('0 8 ? * 2-6 *').expression).toBe('0 8 * * MON-FRI');
    expect(toCronParser('0 8 ? * 6#3 *').expression).toBe('0 8 * * FRI#3');
    // "L" alone in day-of-week: the last day of the week (EventBridge cron expressions reference).
    expect(toCronParser('0 8 ? * L *').expression).toBe('0 8 * * SAT');
    expect(toCronParser('0 8 ? * 6L *').expression).toBe('0 8 * * FRIL');
  });

  test('next run is computed in the batch time zone, across the date line', () => {
    const from = new Date('2026-11-21T20:59:00Z'); // 05:59 JST on the 22nd
    expect(nextRunTime('0 6 * * ? *', 'Asia/Tokyo', from)?.toISOString()).toBe('2026-11-21T21:00:00.000Z');
    expect(nextRunTime('0 8 ? * 2-6 *', 'Asia/Tokyo', new Date('2026-11-21T00:00:00Z'))?.toISOString()).toBe(
      '2026-11-22T23:00:00.000Z',
    ); // Sat -> Mon 08:00 JST
    expect(nextRunTime('0 0 1 1 ? 2030', 'UTC', from)?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
  });
});
