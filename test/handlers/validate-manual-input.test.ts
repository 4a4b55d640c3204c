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
