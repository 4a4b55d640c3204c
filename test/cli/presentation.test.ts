import { stripVTControlCharacters } from 'node:util';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetScheduleCommand } from '@aws-sdk/client-scheduler';
import type { ExecutionDetail, ExecutionInfo, LockInfo } from '../../cli/backend';
import { executionLine, lockLines } from '../../cli/commands/shared';
import { showText } from '../../cli/commands/show';
import { EXIT } from '../../cli/exit-codes';
import { table } from '../../cli/format';
import { buildProgram } from '../../cli/program';
import { LocalStoreError } from '../../local/shared-dynamodb';
import { colorWanted, palette, presentation, relativeTime, type TerminalInfo } from '../../cli/terminal';
import { cli, execArn, mockAws, NOW, smArn } from './support';

const RED = '\u001b[31m';
const GREEN = '\u001b[32m';
const ESC = '\u001b[';
const TERMINAL: TerminalInfo = { stdout: { isTTY: true, columns: 80 }, stderr: { isTTY: true } };
const LONG_REASON = `The batch container exited non-zero: ${'image 4711 missing from the CDN bucket, '.repeat(4)}end.`;
const ago = (ms: number) => new Date(NOW.getTime() - ms);

describe('relative times', () => {
  test.each([
    [0, 'just now'],
    [5_000, '5 s ago'],
    [3 * 60_000 + 20_000, '3 min ago'],
    [2 * 3600_000 + 59 * 60_000, '2 h ago'],
    [47 * 3600_000, '47 h ago'],
    [3 * 86400_000, '3 days ago'],
    [-4 * 3600_000, 'in 4 h'],
    [90 * 86400_000, '2026-08-23'],
  ])('%d ms before now: %s', (ms, text) => {
    expect(relativeTime(ago(ms), NOW)).toBe(text);
  });

  test('a missing or unreadable time is "-"', () => {
    expect(relativeTime(undefined, NOW)).toBe('-');
    expect(relativeTime('not a time', NOW)).toBe('-');
  });

  test('relative on a terminal; absolute with --absolute-times or when stdout is piped', () => {
    const at = ago(3 * 60_000).toISOString();
    expect(presentation(TERMINAL, {}, {}, () => NOW).time(at)).toBe('3 min ago');
    expect(presentation(TERMINAL, {}, { absoluteTimes: true }, () => NOW).time(at)).toBe('2026-11-21 23:27:00Z');
    const piped = { ...TERMINAL, stdout: { isTTY: false, columns: 80 } };
    expect(presentation(piped, {}, {}, () => NOW).time(at)).toBe('2026-11-21 23:27:00Z');
  });
});

describe('colour', () => {
  test.each([
    ['a terminal', true, {}, true, true],
    ['a pipe', false, {}, true, false],
    ['NO_COLOR=1 on a terminal', true, { NO_COLOR: '1' }, true, false],
    ['an empty NO_COLOR (no-color.org: only a non-empty value counts)', true, { NO_COLOR: '' }, true, true],
    ['TERM=dumb', true, { TERM: 'dumb' }, true, false],
    ['FORCE_COLOR=1 on a pipe', false, { FORCE_COLOR: '1' }, true, true],
    ['FORCE_COLOR=0 on a terminal', true, { FORCE_COLOR: '0' }, true, false],
    ['FORCE_COLOR over NO_COLOR (as Node reads them)', false, { FORCE_COLOR: '1', NO_COLOR: '1' }, true, true],
    ['--no-color over FORCE_COLOR', true, { FORCE_COLOR: '1' }, false, false],
  ])('%s', (_name, isTTY, env, flag, wanted) => {
    expect(colorWanted(isTTY, env, flag)).toBe(wanted);
  });

  test('outcome words: succeeded green, failed and timed_out red, skipped yellow; other text as is', () => {
    const p = palette(true);
    expect(p.outcome('succeeded: ok')).toBe(`${GREEN}succeeded\u001b[39m: ok`);
    expect(p.outcome('failed (BatchRunner.TaskFailed, exit 2)')).toBe(
      `${RED}failed\u001b[39m (BatchRunner.TaskFailed, exit 2)`,
    );
    expect(p.outcome('timed_out')).toBe(`${RED}timed_out\u001b[39m`);
    expect(p.outcome('skipped')).toBe('\u001b[33mskipped\u001b[39m');
    expect(p.outcome('running (WaitForTaskToStop)')).toBe('running (WaitForTaskToStop)');
    expect(palette(false).outcome('failed')).toBe('failed');
  });
});

describe('tables that fit the terminal', () => {
  const headers = ['STARTED', 'OUTCOME', 'EXECUTION', 'REASON'];
  const rows = [
    ['3 min ago', 'failed', 'cli-missing-images-20261121T232700Z-a1b2c3', LONG_REASON],
    ['2 days ago', 'succeeded', 'e1', 'ok'],
  ];

  test('lines are cut to the width, widest columns first, with an ellipsis; short columns and headers stay whole', () => {
    const lines = table(headers, rows, { width: 72 }).split('\n');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(72);
    expect(lines[0]).toMatch(/^STARTED\s+OUTCOME\s+EXECUTION\s+REASON$/);
    expect(lines[1]).toMatch(/^3 min ago\s+failed\s+cli-missing-images-\S*…\s+The batch container \S*…$/);
    expect(lines[2]).toMatch(/^2 days ago\s+succeeded\s+e1\s+ok$/);
  });

  test('with cut, the named columns give way in their order and the others stay whole', () => {
    const lines = table(headers, rows, { width: 78, cut: [3, 2] }).split('\n');
    expect(lines[1]).toBe('3 min ago   failed     cli-missing-images-20261121T232700Z-a1b2c3  The batch …');
    expect(lines[1]).toHaveLength(78);
    const narrower = table(headers, rows, { width: 70, cut: [3, 2] }).split('\n');
    expect(narrower[1]).toBe('3 min ago   failed     cli-missing-images-20261121T232700Z-…  The bat…');
    expect(narrower[1]).toHaveLength(70);
  });

  test('without a width (piped output) every value is whole', () => {
    const text = table(headers, rows);
    expect(text).toContain(LONG_REASON);
    expect(text).toContain('cli-missing-images-20261121T232700Z-a1b2c3');
    expect(text).not.toContain('…');
  });

  test('colour does not move the columns', () => {
    const plain = table(headers, rows, { width: 72 });
    const painted = table(headers, rows, { width: 72, paint: (t, c) => (c === 1 ? palette(true).outcome(t) : t) });
    expect(painted).toContain(`${RED}failed`);
    expect(stripVTControlCharacters(painted)).toBe(plain);
  });
});

describe('history on a terminal, piped, and as JSON', () => {
  let aws: ReturnType<typeof mockAws>;
  const FAILED = execArn('missing-images', 'cli-missing-images-20261121T232700Z-a1b2c3');
  const OLD = execArn('missing-images', 'sched-missing-images-20261119T230000Z');
  beforeEach(() => {
    aws = mockAws();
    aws.mocks.sfn.on(ListExecutionsCommand).resolves({
      executions: [FAILED, OLD].map((executionArn) => ({
        executionArn,
        name: executionArn.split(':').pop(),
        status: 'SUCCEEDED',
        startDate: NOW,
        stateMachineArn: smArn('missing-images'),
      })),
    });
    aws.mocks.sfn.on(DescribeExecutionCommand, { executionArn: FAILED }).resolves({
      executionArn: FAILED,
      status: 'FAILED',
      startDate: ago(3 * 60_000),
      stopDate: ago(60_000),
      input: JSON.stringify({ trigger: 'cli', reason: 'rerun', requestedBy: 'bob@ops' }),
      error: 'BatchRunner.TaskFailed',
      cause: LONG_REASON,
    });
    aws.mocks.sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    aws.mocks.sfn.on(DescribeExecutionCommand, { executionArn: OLD }).resolves({
      executionArn: OLD,
      status: 'SUCCEEDED',
      startDate: ago(2 * 86400_000),
      stopDate: ago(2 * 86400_000 - 61_000),
      input: JSON.stringify({ trigger: 'schedule', scheduledTime: '2026-11-19T23:00:00Z' }),
      output: JSON.stringify({ outcome: 'succeeded', reason: 'The batch container exited with code 0.' }),
    });
  });

  test('a terminal: relative times, lines within its width, outcomes in colour', async () => {
    const r = await cli(['history', 'missing-images'], { clients: aws.clients, terminal: TERMINAL, env: {} });

    expect(r.code).toBe(EXIT.SUCCESS);
    const lines = r.stdout.split('\n');
    for (const l of lines) expect(stripVTControlCharacters(l).length).toBeLessThanOrEqual(80);
    expect(stripVTControlCharacters(lines[1])).toMatch(
      /^3 min ago\s+cli\s+failed\s+2m 00s\s+-\s+cli-missing-\S*…\s+The/,
    );
    expect(stripVTControlCharacters(lines[1])).toMatch(/…$/);
    expect(lines[1]).toContain(`${RED}failed`);
    expect(lines[2]).toMatch(/^2 days ago\s+schedule\s+\S+succeeded/);
    expect(lines[2]).toContain(`${GREEN}succeeded`);
  });

  test('--absolute-times on a terminal; --no-color and NO_COLOR turn colour off', async () => {
    const absolute = await cli(['history', 'missing-images', '--absolute-times'], {
      clients: aws.clients,
      terminal: TERMINAL,
      env: {},
    });
    expect(absolute.stdout.split('\n')[1]).toMatch(/^2026-11-21 23:27:00Z\s+cli\s+/);

    const noColorFlag = await cli(['history', 'missing-images', '--no-color'], {
      clients: aws.clients,
      terminal: TERMINAL,
      env: {},
    });
    const noColorEnv = await cli(['history', 'missing-images'], {
      clients: aws.clients,
      terminal: TERMINAL,
      env: { NO_COLOR: '1' },
    });
    for (const r of [noColorFlag, noColorEnv]) {
      expect(r.stdout).toMatch(/^3 min ago\s+cli\s+failed/m);
      expect(r.stdout).not.toContain(ESC);
    }
  });

  test('piped: absolute times, every value whole, no colour', async () => {
    const r = await cli(['history', 'missing-images'], { clients: aws.clients, env: {} });

    expect(r.stdout).toContain(LONG_REASON);
    expect(r.stdout).toMatch(
      /^2026-11-21 23:27:00Z\s+cli\s+failed\s+2m 00s\s+-\s+cli-missing-images-20261121T232700Z-a1b2c3\s/m,
    );
    expect(r.stdout).not.toContain(ESC);
    expect(r.stdout).not.toContain('ago');
  });

  test('--json is one JSON value with ISO 8601 times and no colour, even on a terminal with FORCE_COLOR', async () => {
    const r = await cli(['history', 'missing-images', '--json'], {
      clients: aws.clients,
      terminal: TERMINAL,
      env: { FORCE_COLOR: '1' },
    });

    expect(r.stdout).not.toContain(ESC);
    const rows = JSON.parse(r.stdout);
    expect(rows.map((e: { startDate: string }) => e.startDate)).toEqual([
      '2026-11-21T23:27:00.000Z',
      '2026-11-19T23:30:00.000Z',
    ]);
  });
});

describe('the same times everywhere: list, status, show', () => {
  const ui = presentation(TERMINAL, {}, {}, () => NOW);
  const started = ago(3 * 60_000).toISOString();

  test('list on a terminal: the next run and the last run relative', async () => {
    const aws = mockAws();
    aws.mocks.scheduler.on(GetScheduleCommand).resolves({ State: 'ENABLED' });
    aws.mocks.sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    aws.mocks.dynamodb.on(GetItemCommand).resolves({});
    const r = await cli(['list'], { clients: aws.clients, terminal: TERMINAL, env: {} });
    // NOW is 2026-11-22 08:30 in Tokyo; sitemap-refresh runs at 06:00 there: in 21 h 30 min.
    expect(r.stdout.split('\n').find((l) => l.startsWith('sitemap-refresh'))).toMatch(
      /^sitemap-refresh\s+0 6 \* \* \? \* \(Asia\/Tokyo\)\s+in 21 h\s+enabled\s+never\s+free$/,
    );
    for (const l of r.stdout.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
  });

  test('status lines: the lock acquired and the execution started, relative', () => {
    const lock = { owner: execArn('missing-images', 'e1'), acquiredAt: started, ownerRunning: true } as LockInfo;
    expect(lockLines(lock, 'missing-images', false, ui.time)[1]).toMatch(/^ +acquired 3 min ago, trigger/);
    const e = { name: 'e1', status: 'RUNNING', startDate: started, durationMs: 180_000, trigger: 'cli' };
    expect(executionLine(e as ExecutionInfo, ui.time)).toBe('e1  RUNNING  started 3 min ago, running for 3m 00s, cli');
  });

  test('show: started and ended relative, the outcome in colour; absolute without a terminal', () => {
    const detail = {
      name: 'e1',
      executionArn: execArn('missing-images', 'e1'),
      status: 'FAILED',
      batch: 'missing-images',
      trigger: 'cli',
      startDate: started,
      stopDate: ago(60_000).toISOString(),
      durationMs: 120_000,
      input: {},
      states: [],
      outcome: { outcome: 'failed', error: 'BatchRunner.TaskFailed', exitCode: 2 },
    } as unknown as ExecutionDetail;
    const text = showText(detail, false, ui);
    expect(text.split('\n')[0]).toBe(`e1  FAILED  ${RED}failed\u001b[39m (BatchRunner.TaskFailed, exit 2)`);
    expect(text).toMatch(/^ {2}started {4}3 min ago$/m);
    expect(text).toMatch(/^ {2}ended {6}1 min ago \(took 2m 00s\)$/m);
    const plain = showText(detail, false);
    expect(plain).toMatch(/^ {2}started {4}2026-11-21 23:27:00Z$/m);
    expect(plain).not.toContain(ESC);
  });
});

describe('errors and warnings on a terminal', () => {
  test('"error:" in red and "fix:" highlighted on a terminal; plain with NO_COLOR or when piped', async () => {
    const coloured = await cli(['status', 'no-such-batch'], { terminal: TERMINAL, env: {} });
    expect(coloured.code).toBe(EXIT.USAGE);
    const [error, fix] = coloured.stderr.split('\n');
    expect(error).toBe(
      `${ESC}1m${RED}error:${ESC}39m${ESC}22m unknown batch "no-such-batch": known batches are sitemap-refresh, xml-articles, missing-images.`,
    );
    expect(fix).toBe(
      `${ESC}1m${ESC}36mfix:${ESC}39m${ESC}22m see: batch-runner list (add --local for the demo batches)`,
    );

    for (const r of [
      await cli(['status', 'no-such-batch'], { terminal: TERMINAL, env: { NO_COLOR: 'yes' } }),
      await cli(['status', 'no-such-batch', '--no-color'], { terminal: TERMINAL, env: {} }),
      await cli(['status', 'no-such-batch'], { env: {} }),
    ]) {
      expect(r.stderr).toMatch(/^error: unknown batch "no-such-batch"/m);
      expect(r.stderr).toMatch(/^fix: see: batch-runner list/m);
      expect(r.stderr).not.toContain(ESC);
    }
  });
});

describe('every error is an error: and fix: pair', () => {
  test('usage errors from the argument parser: "error:" and a "fix:" naming --help, coloured on a terminal', async () => {
    const piped = await cli(['frobnicate'], { env: {} });
    expect(piped.code).toBe(EXIT.USAGE);
    expect(piped.stderr.split('\n')).toEqual([
      "error: unknown command 'frobnicate'",
      'fix: add --help to the command for its usage and examples',
    ]);
    const option = await cli(['history', 'missing-images', '--verbose'], { env: {} });
    expect(option.stderr.split('\n')).toEqual([
      "error: unknown option '--verbose'",
      'fix: add --help to the command for its usage and examples',
    ]);
    const coloured = await cli(['frobnicate'], { terminal: TERMINAL, env: {} });
    expect(coloured.stderr.split('\n')).toEqual([
      `${ESC}1m${RED}error:${ESC}39m${ESC}22m unknown command 'frobnicate'`,
      `${ESC}1m${ESC}36mfix:${ESC}39m${ESC}22m add --help to the command for its usage and examples`,
    ]);
  });

  test('an unexpected error says what to do with it', async () => {
    const aws = mockAws();
    aws.mocks.sfn.onAnyCommand().rejects(new TypeError('boom'));
    const r = await cli(['status', 'sitemap-refresh'], { clients: aws.clients, env: {} });
    expect(r.code).toBe(EXIT.INTERNAL);
    expect(r.stderr.split('\n')).toEqual([
      'unexpected error: TypeError: boom',
      'fix: this is a bug in batch-runner: run it again with BATCH_RUNNER_DEBUG=1 for the stack trace, and report both.',
    ]);
  });

  test('a local store that does not start: error and fix on their own lines, exit 6', async () => {
    const r = await cli(['status', 'sitemap-refresh', '--local'], {
      env: {},
      openLocal: async () => {
        throw new LocalStoreError('the local DynamoDB (dynalite) did not start within 15 s', 'see why in x.log');
      },
    });
    expect(r.code).toBe(EXIT.ENVIRONMENT);
    expect(r.stderr.split('\n')).toEqual([
      'error: the local DynamoDB (dynalite) did not start within 15 s',
      'fix: see why in x.log',
    ]);
  });
});

describe('help', () => {
  const commands = buildProgram(async () => undefined).commands;

  test.each(commands.map((c) => [c.name()]))('%s --help has examples and a --json option', async (name) => {
    const r = await cli([name, '--help']);
    expect(r.code).toBe(EXIT.SUCCESS);
    expect(r.stdout).toMatch(/\nExamples:\n {2}(batch-runner|npm start)/);
    expect(r.stdout).toMatch(/--json\s/);
    if (name === 'logs') expect(r.stdout).toMatch(/--json\s+JSON Lines/);
    else expect(r.stdout).toMatch(/one JSON value/);
  });

  test('short flags: -L for history --limit, -f for logs --follow, -y for unlock --yes', async () => {
    expect((await cli(['history', '--help'])).stdout).toContain('-L, --limit <n>');
    expect((await cli(['logs', '--help'])).stdout).toContain('-f, --follow');
    expect((await cli(['unlock', '--help'])).stdout).toContain('-y, --yes');
    const r = await cli(['history', 'missing-images', '-L', '0']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('error: --limit 0 is not a whole number between 1 and 100');
  });

  test('--no-color and --absolute-times are global options', async () => {
    const r = await cli(['--help']);
    expect(r.stdout).toContain('--no-color');
    expect(r.stdout).toContain('--absolute-times');
  });
});
