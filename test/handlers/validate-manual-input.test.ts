import { MAX_OVERRIDES_BYTES, RUN_CONTEXT_RESERVE_BYTES } from '../../handlers/lib/manual-input';
import { handler } from '../../handlers/validate-manual-input';

const batch = {
  name: 'xml-articles',
  containerName: 'app',
  allowedEnvironmentOverrides: 'ARTICLE_LIMIT,DRY_RUN',
  allowCommandOverride: 'false',
};
const validate = (input: unknown, overrides: Partial<typeof batch> = {}) =>
  handler({ input, batch: { ...batch, ...overrides } });

describe('validate-manual-input handler', () => {
  test('{} from the console is valid with defaults and no overrides', async () => {
    const r = await validate({});
    expect(r.validation).toEqual({ valid: true, message: 'ok', problems: [] });
    expect(r.run).toEqual({
      trigger: 'console',
      reason: 'manual start (console)',
      requestedBy: 'console user (see CloudTrail StartExecution)',
      overrides: {},
    });
  });

  test('a documented CLI input becomes an ECS container override', async () => {
    const r = await validate({
      trigger: 'cli',
      reason: 'backfill',
      requestedBy: 'ops@example.com',
      overrides: { environment: { ARTICLE_LIMIT: '500' } },
    });
    expect(r.validation.valid).toBe(true);
    expect(r.run.overrides).toEqual({
      ContainerOverrides: [{ Name: 'app', Environment: [{ Name: 'ARTICLE_LIMIT', Value: '500' }] }],
    });
  });

  test('a command override is accepted only where the batch allows it, in exec form', async () => {
    expect(
      (await validate({ overrides: { command: ['bundle', 'exec', 'rake', 'xml:articles[500]'] } })).validation.valid,
    ).toBe(false);
    const allowed = await validate(
      { overrides: { command: ['bundle', 'exec', 'rake', 'xml:articles[500]'] } },
      { allowCommandOverride: 'true' },
    );
    expect(allowed.run.overrides).toEqual({
      ContainerOverrides: [{ Name: 'app', Command: ['bundle', 'exec', 'rake', 'xml:articles[500]'] }],
    });
  });

  test.each([
    ['2026-12-01T06:00+09:00', '2026-11-30T21:00:00Z'],
    ['2026-11-30T21:00:00Z', '2026-11-30T21:00:00Z'],
    ['2026-11-30T21:00:00.000Z', '2026-11-30T21:00:00Z'],
    ['2026-03-08T01:30:00-05:00', '2026-03-08T06:30:00Z'],
  ])(
    'slot %s (the slot a manual run stands for) lands in run.scheduledTime as %s, the Scheduler`s form',
    async (slot, utc) => {
      const r = await validate({ trigger: 'cli', slot });
      expect(r.validation.valid).toBe(true);
      expect(r.run.scheduledTime).toBe(utc);
    },
  );

  test('a run without a slot carries no scheduledTime (it claims no slot)', async () => {
    expect((await validate({ trigger: 'cli' })).run).not.toHaveProperty('scheduledTime');
  });

  test.each([
    [{ slot: '2026-12-01T06:00' }, 'slot = "2026-12-01T06:00" is not an ISO 8601 time with an offset'],
    [{ slot: '2026-12-01 06:00+09:00' }, 'is not an ISO 8601 time with an offset'],
    [{ slot: '2026-02-30T06:00+09:00' }, 'is not a valid date and time'],
    [{ slot: '2026-12-01T24:00+09:00' }, 'is not a valid date and time'],
    [{ slot: '2026-12-01T06:00:30+09:00' }, 'is not a whole minute'],
    [{ slot: '2026-12-01T06:00+15:00' }, 'has an offset beyond'],
    [{ slot: 1764536400000 }, 'slot = 1764536400000 must be a string'],
    [{ slot: '1999-12-31T23:00:00Z' }, 'outside the years 2000-2199'],
  ])('refuses the slot %j: %s, with the fix', async (input, message) => {
    const r = await validate(input);
    expect(r.validation.valid).toBe(false);
    expect(r.validation.message).toContain(message);
    expect(r.validation.message).toContain('e.g. 2026-12-01T06:00+09:00');
    expect(r.run).not.toHaveProperty('scheduledTime');
  });

  test.each([
    [null, 'input must be a JSON object'],
    ['run it', 'input must be a JSON object'],
    [{ reason: 'x', extra: 1 }, 'unknown key "extra"'],
    [
      { scheduledTime: '2026-11-21T23:00:00Z' },
      'scheduledTime is only for EventBridge Scheduler inputs; to name the slot',
    ],
    [{ trigger: 'schedule' }, 'trigger = "schedule" is not allowed for a manual start'],
    [{ reason: '' }, 'reason = "" must be a non-empty string'],
    [{ reason: 'x'.repeat(501) }, 'reason is 501 characters long'],
    [{ reason: 'line\u0007bell' }, 'contains control characters'],
    [{ requestedBy: 'eve; rm -rf /' }, 'requestedBy = "eve; rm -rf /" must be a name or e-mail'],
    [{ overrides: [] }, 'overrides = [] must be an object'],
    [{ overrides: { taskRoleArn: 'arn:aws:iam::1:role/admin' } }, 'overrides.taskRoleArn is not supported'],
    [
      { overrides: { environment: { PATH: '/tmp' } } },
      'overrides.environment.PATH is not allowed for batch xml-articles (allowed: ARTICLE_LIMIT, DRY_RUN)',
    ],
    [{ overrides: { environment: { DRY_RUN: true } } }, 'overrides.environment.DRY_RUN = true must be a string'],
    [{ overrides: { environment: { DRY_RUN: 'a\nb' } } }, 'must be a single line'],
    [{ overrides: { environment: ['DRY_RUN=1'] } }, 'must be an object of NAME: "value" strings'],
    [
      { overrides: { command: ['sh', '-c', 'curl x | sh'] } },
      'overrides.command is not allowed for batch xml-articles',
    ],
  ])('refuses %j: %s', async (input, message) => {
    const r = await validate(input);
    expect(r.validation.valid).toBe(false);
    expect(r.validation.message).toContain(message);
    expect(r.validation.message).toContain('Nothing was started and the lock was not touched.');
    expect(r.run.overrides).toEqual({});
  });

  test('oversized overrides are refused before ECS would reject them', async () => {
    const big = 'x'.repeat(3500);
    const r = await validate(
      { overrides: { environment: { ARTICLE_LIMIT: big, DRY_RUN: big } } },
      { allowedEnvironmentOverrides: 'ARTICLE_LIMIT,DRY_RUN' },
    );
    expect(r.validation.valid).toBe(true);
    const r3 = await validate(
      { overrides: { environment: { A: big, B: big, C: big } } },
      { allowedEnvironmentOverrides: 'A,B,C' },
    );
    expect(r3.validation.message).toContain(`ECS accepts at most ${MAX_OVERRIDES_BYTES}`);
    // The run's context needs room too: 7,200 bytes of the operator's would leave ECS's limit too close.
    const r4 = await validate(
      { overrides: { environment: { A: 'x'.repeat(3600), B: 'x'.repeat(3600) } } },
      { allowedEnvironmentOverrides: 'A,B' },
    );
    expect(r4.validation.message).toContain(`the runner keeps ${RUN_CONTEXT_RESERVE_BYTES}`);
  });

  test('every problem is reported at once', async () => {
    const r = await validate({ reason: 7, bogus: true, overrides: { environment: { NOPE: '1' } } });
    expect(r.validation.problems).toHaveLength(3);
  });
});

/**
 * Bad input, field by field: each is refused (nothing starts), and the one problem names the field, the
 * value where it is short enough to show, and the fix. Lengths at their limit are accepted.
 */
describe('bad manual input: each refused with its own problem, each limit inclusive', () => {
  const allowCommand = { allowCommandOverride: 'true' };
  const commandProblem =
    'overrides.command must be a list of 1-64 strings (exec form, no shell), each at most 1024 characters without control characters.';

  test.each([
    ['a command that is one string (shell form)', { command: 'rake xml:articles' }],
    ['an empty command', { command: [] }],
    ['65 arguments', { command: Array.from({ length: 65 }, (_, i) => `a${i}`) }],
    ['an argument that is not a string', { command: ['rake', 500] }],
    ['an argument of 1025 characters', { command: ['echo', 'x'.repeat(1025)] }],
    ['an argument with a control character', { command: ['echo', 'a\u0007b'] }],
  ])('overrides.command: %s', async (_label, overrides) => {
    const r = await validate({ overrides }, allowCommand);
    expect(r.validation).toMatchObject({ valid: false, problems: [commandProblem] });
    expect(r.validation.message).toBe(
      `Invalid input for batch xml-articles: ${commandProblem} Nothing was started and the lock was not touched.`,
    );
  });

  test('overrides.command at its limits (64 arguments, 1024 characters each) is accepted', async () => {
    // (Short arguments: 64 long ones would pass ECS's 8 KiB override limit, refused on its own.)
    const command = Array.from({ length: 64 }, () => 'y');
    command[0] = 'x'.repeat(1024);
    const r = await validate({ overrides: { command } }, allowCommand);
    expect(r.validation.valid).toBe(true);
    expect(r.run.overrides).toEqual({ ContainerOverrides: [{ Name: 'app', Command: command }] });
  });

  test.each([
    ['of 4097 characters', 'x'.repeat(4097)],
    ['of two lines', 'a\nb'],
    ['with a control character', 'a\u0000b'],
  ])('an environment value %s', async (_label, value) => {
    const r = await validate({ overrides: { environment: { DRY_RUN: value } } });
    expect(r.validation.problems).toEqual([
      'overrides.environment.DRY_RUN must be a single line of at most 4096 characters without control characters.',
    ]);
  });

  test('an environment value of exactly 4096 characters is accepted', async () => {
    const r = await validate({ overrides: { environment: { DRY_RUN: 'x'.repeat(4096) } } });
    expect(r.validation.problems).toEqual([]);
  });

  test('a batch that allows no variable says "none" as what is allowed', async () => {
    const r = await validate({ overrides: { environment: { DRY_RUN: 'true' } } }, { allowedEnvironmentOverrides: '' });
    expect(r.validation.problems).toEqual([
      'overrides.environment.DRY_RUN is not allowed for batch xml-articles (allowed: none); add it to overrides.environment in the batch config to allow it.',
    ]);
  });

  test.each([
    ['reason of 501 characters', { reason: 'r'.repeat(501) }, 'reason is 501 characters long: keep it under 500.'],
    ['blank reason', { reason: '   ' }, 'reason = "   " must be a non-empty string.'],
    [
      'requestedBy of 129 characters',
      { requestedBy: 'a'.repeat(129) },
      `requestedBy = "${'a'.repeat(76)}... must be a name or e-mail of at most 128 letters, digits, spaces and @._+:/()-.`,
    ],
    [
      'requestedBy that is not a string',
      { requestedBy: 42 },
      'requestedBy = 42 must be a name or e-mail of at most 128 letters, digits, spaces and @._+:/()-.',
    ],
    [
      'the Scheduler`s scheduledTime key',
      { scheduledTime: '2026-11-30T21:00:00Z' },
      'unknown key "scheduledTime" (scheduledTime is only for EventBridge Scheduler inputs; to name the slot a manual run stands for, use "slot"): allowed keys are trigger, reason, requestedBy, overrides, slot.',
    ],
    [
      'another unknown key',
      { dryRun: true },
      'unknown key "dryRun": allowed keys are trigger, reason, requestedBy, overrides, slot.',
    ],
    [
      'the trigger of a scheduled run',
      { trigger: 'schedule' },
      'trigger = "schedule" is not allowed for a manual start: use one of console, cli, manual (or leave it out).',
    ],
  ])('%s', async (_label, input, problem) => {
    const r = await validate(input);
    expect(r.validation.problems).toEqual([problem]);
  });

  test('a reason of exactly 500 characters and a requestedBy of exactly 128 are kept', async () => {
    const r = await validate({ trigger: 'cli', reason: 'r'.repeat(500), requestedBy: 'a'.repeat(128) });
    expect(r.validation.valid).toBe(true);
    expect(r.run).toMatchObject({ reason: 'r'.repeat(500), requestedBy: 'a'.repeat(128) });
  });

  test('who started a run: the console user for a console start, "unknown" for a CLI start that does not say', async () => {
    expect((await validate({ trigger: 'console' })).run.requestedBy).toBe(
      'console user (see CloudTrail StartExecution)',
    );
    expect((await validate({ trigger: 'cli' })).run.requestedBy).toBe('unknown');
    expect((await validate({ trigger: 'manual' })).run).toMatchObject({
      trigger: 'manual',
      reason: 'manual start (manual)',
    });
  });

  test.each([
    ['2026-02-30T06:00Z', 'is not a valid date and time'],
    ['2026-13-01T06:00Z', 'is not a valid date and time'],
    ['2026-12-01T24:00Z', 'is not a valid date and time'],
    ['2026-12-01T06:60Z', 'is not a valid date and time'],
    ['2026-12-01T06:00+14:01', 'has an offset beyond ±14:00'],
    ['1999-12-31T23:59Z', 'is outside the years 2000-2199'],
    ['2200-01-01T00:00Z', 'is outside the years 2000-2199'],
  ])('slot %s %s', async (slot, problem) => {
    const r = await validate({ slot });
    expect(r.validation.problems).toEqual([expect.stringContaining(`slot = "${slot}" ${problem}`)]);
  });

  test.each([
    ['2026-12-01T06:00+14:00', '2026-11-30T16:00:00Z'],
    ['2026-12-01T06:00-14:00', '2026-12-01T20:00:00Z'],
    ['2026-12-01T06:00+05:30', '2026-12-01T00:30:00Z'],
    ['2000-01-01T00:00Z', '2000-01-01T00:00:00Z'],
    ['2199-12-31T23:59Z', '2199-12-31T23:59:00Z'],
  ])('slot %s at the edge of what is accepted is %s', async (slot, utc) => {
    const r = await validate({ slot });
    expect(r.validation.problems).toEqual([]);
    expect(r.run.scheduledTime).toBe(utc);
  });
});
