/**
 * AWS contract at run time: the real ASL runs in aws-local-stepfunctions, and every call it makes is
 * checked against documented limits of the receiving API, for names AWS accepts but the first cut
 * did not (a console execution named `rerun(after-fix)`), and for answers that omit keys the models
 * mark optional (a missing key must not end the execution with the uncatchable States.Runtime).
 */
import type { EmbeddedDynamoDb } from '../../local/lock-store';
import type { LocalServices } from '../../local/task-resources';
import { executionNameFromTags } from '../../config/naming';
import { runScenario, ScriptedAws, startLockStore } from '../support/asl-harness';

/**
 * ECS Tag (API reference, data type Tag): value 0-256 characters of letters, numbers, spaces
 * representable in UTF-8 and `_ . : / = + - @`; key 1-128 characters of the same set.
 */
const ECS_TAG = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
/** RunTask clientToken: up to 64 characters (API reference). StartedBy: up to 128 of letters, numbers, `-` and `_`. */
const CLIENT_TOKEN_MAX = 64;
const STARTED_BY = /^[A-Za-z0-9_-]{1,128}$/;
/** StopTask reason: "Up to 255 characters are allowed in this message" (API reference). */
const STOP_REASON_MAX = 255;
/** SNS Publish Subject: under 100 characters, ASCII, no line breaks (API reference). */
const SNS_SUBJECT = /^[\x20-\x7e]{1,99}$/;

let db: EmbeddedDynamoDb;
beforeAll(async () => {
  db = await startLockStore();
});
afterAll(async () => {
  await db?.close();
});

/** Execution names Step Functions accepts (1-80 characters; no whitespace, wildcards, brackets or control characters). */
const CONSOLE_NAMES = ['rerun(after-fix)', "ops!retry'2", `${'x'.repeat(70)}(manual)!`];

describe('names the console accepts reach RunTask and StopTask as values ECS accepts', () => {
  test.each(CONSOLE_NAMES)(
    'execution %s: tags, client token, started-by and stop reason within ECS limits',
    async (name) => {
      const aws = new ScriptedAws();
      aws.watch = 'hang';
      const r = await runScenario(db, aws, {
        name,
        input: { reason: 'rerun after the fix' },
        substitutions: { WaitChunkSeconds: '1', WaitChunkCount: '1' },
      });
      const runTask = r.calls.find((c) => c.state === 'StartBatchTask')?.params as any;
      for (const tag of runTask.Tags) {
        expect(tag.Key).toMatch(ECS_TAG);
        expect(tag.Key.length).toBeLessThanOrEqual(128);
        expect(tag.Value).toMatch(ECS_TAG);
        expect(tag.Value.length).toBeLessThanOrEqual(256);
      }
      expect(executionNameFromTags(runTask.Tags)).toBe(name);
      expect(runTask.ClientToken.length).toBeLessThanOrEqual(CLIENT_TOKEN_MAX);
      expect(runTask.StartedBy).toMatch(STARTED_BY);
      const stop = r.calls.find((c) => c.state === 'StopBatchTask')?.params as any;
      expect(stop.Reason.length).toBeLessThanOrEqual(STOP_REASON_MAX);
      for (const p of r.calls.filter((c) => c.resource.endsWith('sns:publish')).map((c) => c.params as any))
        expect(p.Subject).toMatch(SNS_SUBJECT);
      expect(r.error).toBe('BatchRunner.TimedOut');
    },
  );
});

/** Answers with every key the ECS model marks optional left out where AWS may leave it out. */
class SparseAws extends ScriptedAws {
  override services(dynamodb: EmbeddedDynamoDb): LocalServices {
    const base = super.services(dynamodb);
    return {
      ...base,
      ecs: {
        ...base.ecs,
        listTasks: async () => ({}) as any,
        runTask: async (p) => {
          const { Tasks } = await base.ecs.runTask(p);
          return { Tasks } as any; // no Failures key
        },
        describeTasks: async (p) => {
          const { Tasks } = await base.ecs.describeTasks(p);
          // No StoppedReason, StoppedAt, StopCode, Containers: all optional in the model.
          return {
            Tasks: Tasks.map(({ StoppedReason: _a, StoppedAt: _b, StopCode: _c, Containers: _d, ...rest }) => rest),
          } as any;
        },
        stopTask: async (p) => {
          await base.ecs.stopTask(p);
          return {} as any; // no Task key
        },
      },
    };
  }
}

describe('answers without the keys the models mark optional', () => {
  test('ListTasks without TaskArns, RunTask without Failures, StopTask without Task, DescribeTasks without stop details: the run ends with its own outcome and alert', async () => {
    const aws = new SparseAws();
    aws.watch = 'hang';
    const r = await runScenario(db, aws, { substitutions: { WaitChunkSeconds: '1', WaitChunkCount: '1' } });
    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('BatchRunner.TimedOut');
    expect(r.statesEntered).toEqual(
      expect.arrayContaining([
        'StopBatchTask',
        'ConfirmTaskStopped',
        'RecordStoppedTask',
        'ReleaseLockAfterFailure',
        'PublishFailureAlert',
      ]),
    );
    expect(r.lockItem).toBeUndefined();
    expect(aws.published).toHaveLength(1);
    expect(aws.stopRequests).toHaveLength(1);
  });

  test('a lock item without acquiredAt (written by hand): the skip says who holds it instead of failing', async () => {
    const aws = new SparseAws();
    const holder = 'arn:aws:states:ap-northeast-1:123456789012:execution:batch-runner-missing-images:by-hand';
    aws.executions.set(holder, 'RUNNING');
    const { PutItemCommand } = await import('@aws-sdk/client-dynamodb');
    await db.client.send(
      new PutItemCommand({
        TableName: 'batch-runner-locks',
        Item: { batch: { S: 'missing-images' }, owner: { S: holder } },
      }),
    );
    try {
      const r = await runScenario(db, aws);
      expect(r.status).toBe('SUCCEEDED');
      expect(r.output).toMatchObject({ outcome: 'skipped', lockHolder: holder });
      expect(r.output.reason).toContain('does not say since when');
    } finally {
      const { DeleteItemCommand } = await import('@aws-sdk/client-dynamodb');
      await db.client.send(
        new DeleteItemCommand({ TableName: 'batch-runner-locks', Key: { batch: { S: 'missing-images' } } }),
      );
    }
  });

  test('a task the describe shows as gone (Tasks empty, failure MISSING) after stop: released, one alert', async () => {
    const aws = new SparseAws();
    aws.watch = 'hang';
    const base = aws.services.bind(aws);
    aws.services = (d) => ({
      ...base(d),
      ecs: { ...base(d).ecs, describeTasks: async () => ({ Failures: [{ Reason: 'MISSING' }] }) as any },
    });
    const r = await runScenario(db, aws, { substitutions: { WaitChunkSeconds: '1', WaitChunkCount: '1' } });
    expect(r.error).toBe('BatchRunner.TimedOut');
    expect(r.lockItem).toBeUndefined();
    expect(aws.published).toHaveLength(1);
  });
});
