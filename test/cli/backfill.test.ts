import 'aws-sdk-client-mock-jest';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { EXIT } from '../../cli/exit-codes';
import { lockTableName } from '../../config/naming';
import { cli, execArn, mockAws, runFailed, taskArn } from './support';

/**
 * `backfill` against aws-sdk-client-mock: slots of xml-articles (cron 0 7 * * ? * in Asia/Tokyo, i.e.
 * 22:00 UTC the day before); NOW is 2026-11-21T23:30:00Z.
 */
const RANGE = ['--from', '2026-11-18T00:00+09:00', '--to', '2026-11-21T23:59+09:00'];
const SLOTS = ['2026-11-17T22:00:00Z', '2026-11-18T22:00:00Z', '2026-11-19T22:00:00Z', '2026-11-20T22:00:00Z'];

let aws: ReturnType<typeof mockAws>;
/** Slot time -> the execution that claimed it. */
let claimed: Map<string, string>;
/** Status DescribeExecution reports per started execution (in start order); default SUCCEEDED. */
let ends: Array<{ status: string; output?: unknown; error?: string; cause?: string }>;
let started: Array<{ arn: string; input: any }>;

beforeEach(() => {
  aws = mockAws();
  claimed = new Map();
  ends = [];
  started = [];
  aws.mocks.dynamodb.on(GetItemCommand).callsFake((input) => {
    const key: string = input.Key.batch.S;
    const slot = key.replace('slot#xml-articles#', '');
    return claimed.has(slot) ? { Item: { batch: { S: key }, execution: { S: claimed.get(slot)! } } } : {};
  });
  aws.mocks.sfn.on(StartExecutionCommand).callsFake((input) => {
    const arn = execArn('xml-articles', `cli-xml-articles-${started.length + 1}`);
    started.push({ arn, input: JSON.parse(input.input) });
    return { executionArn: arn, startDate: new Date('2026-11-21T23:30:00Z') };
  });
  const polls = new Map<string, number>();
  aws.mocks.sfn.on(DescribeExecutionCommand).callsFake((input) => {
    const i = started.findIndex((s) => s.arn === input.executionArn);
    // Each execution is RUNNING at the first look: the backfill waits for its end.
    const n = (polls.get(input.executionArn) ?? 0) + 1;
    polls.set(input.executionArn, n);
    if (n === 1) return { executionArn: input.executionArn, status: 'RUNNING' };
    const end = ends[i] ?? {
      status: 'SUCCEEDED',
      output: { outcome: 'succeeded', reason: 'exit code 0', task: { exitCode: 0, taskArn: taskArn(`t${i}`) } },
    };
    return {
      executionArn: input.executionArn,
      ...end,
      output: end.output === undefined ? undefined : JSON.stringify(end.output),
    };
  });
});

describe('backfill <batch> --from --to (AWS)', () => {
  test('--dry-run lists each slot in the batch`s time zone and which have run, and starts nothing', async () => {
    claimed.set(SLOTS[1], execArn('xml-articles', 'scheduled-run'));
    const r = await cli(['backfill', 'xml-articles', ...RANGE, '--dry-run'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(r.stderr).toContain(
      'dry run: backfill of xml-articles: 4 slots of cron(0 7 * * ? *) in Asia/Tokyo from 2026-11-18 00:00 Asia/Tokyo to 2026-11-21 23:59 Asia/Tokyo',
    );
    expect(r.stderr).toContain('[1/4] 2026-11-18 07:00 Asia/Tokyo (2026-11-17T22:00:00Z): would run');
    expect(r.stderr).toContain(
      `[2/4] 2026-11-19 07:00 Asia/Tokyo (2026-11-18T22:00:00Z): already run by ${execArn('xml-articles', 'scheduled-run')}: skipped`,
    );
    expect(r.stdout).toBe('dry run: backfill of xml-articles: 4 slots: 3 would run, 1 already run');
    expect(aws.mocks.sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(aws.mocks.dynamodb).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: lockTableName(),
      Key: { batch: { S: `slot#xml-articles#${SLOTS[0]}` } },
      ConsistentRead: true,
    });
  });

  test('runs every slot not yet run, oldest first, one at a time as run --for, waiting for each; exit 0', async () => {
    claimed.set(SLOTS[2], execArn('xml-articles', 'scheduled-run'));
    const r = await cli(['backfill', 'xml-articles', ...RANGE], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(started.map((s) => s.input.slot)).toEqual([SLOTS[0], SLOTS[1], SLOTS[3]]);
    expect(started[0].input).toEqual({
      trigger: 'cli',
      requestedBy: 'alice@ops-laptop',
      reason: 'backfill of 2026-11-17T15:00:00Z to 2026-11-21T14:59:00Z by alice@ops-laptop',
      slot: SLOTS[0],
    });
    // Each run was waited for before the next one started.
    const calls = aws.mocks.sfn.calls().map((c) => c.args[0].constructor.name);
    const order = calls.filter((c) => c === 'StartExecutionCommand' || c === 'DescribeExecutionCommand');
    expect(order).toEqual(
      Array(3).fill(['StartExecutionCommand', 'DescribeExecutionCommand', 'DescribeExecutionCommand']).flat(),
    );
    expect(r.stderr).toMatch(/\[1\/4\] 2026-11-18 07:00 Asia\/Tokyo \(2026-11-17T22:00:00Z\): succeeded in/);
    expect(r.stderr).toContain('[3/4] 2026-11-20 07:00 Asia/Tokyo (2026-11-19T22:00:00Z): already run by');
    expect(r.stdout).toBe('backfill of xml-articles: 4 slots: 3 succeeded, 1 already run, 0 not run');
  });

  test('the first run that does not succeed stops the backfill: the rest are not run, exit code of that run, how to go on', async () => {
    ends[1] = { status: 'FAILED', error: 'BatchRunner.TaskFailed', cause: 'The batch container exited with code 3.' };
    aws.mocks.sfn.on(GetExecutionHistoryCommand).resolves({
      events: [runFailed({ outcome: 'failed', details: { task: { exitCode: 3, taskArn: taskArn('t1') } } })],
    });
    const r = await cli(['backfill', 'xml-articles', ...RANGE], { clients: aws.clients });

    expect(r.code).toBe(EXIT.FAILED);
    expect(started).toHaveLength(2);
    expect(r.stderr).toContain(
      '[2/4] 2026-11-19 07:00 Asia/Tokyo (2026-11-18T22:00:00Z): failed (BatchRunner.TaskFailed): The batch container exited with code 3.',
    );
    expect(r.stdout).toContain('backfill of xml-articles: 4 slots: 1 succeeded, 0 already run, 1 failed, 2 not run');
    expect(r.stdout).toContain(`batch-runner rerun ${started[1].arn}`);
    expect(r.stdout).toContain(
      'go on with: batch-runner backfill xml-articles --from 2026-11-19T22:00Z --to 2026-11-21T14:59Z',
    );
  });

  test('a slot claimed between the look and the run (its run skips as a duplicate) counts as already run; --json', async () => {
    ends[0] = {
      status: 'SUCCEEDED',
      output: { outcome: 'skipped', reason: 'The slot ... has already been claimed', duplicateSlot: SLOTS[0] },
    };
    const r = await cli(['backfill', 'xml-articles', ...RANGE, '--json'], { clients: aws.clients });

    expect(r.code).toBe(EXIT.SUCCESS);
    const out = JSON.parse(r.stdout);
    expect(out.summary).toEqual({ slots: 4, succeeded: 3, alreadyRun: 1, wouldRun: 0, notRun: 0 });
    expect(out.slots[0]).toMatchObject({ scheduledTime: SLOTS[0], result: 'already-run' });
    expect(out.exitStatus).toBe(0);
    expect(r.stderr).toBe('');
  });

  test('a skip for another reason (lock held) stops the backfill with exit 4', async () => {
    ends[0] = {
      status: 'SUCCEEDED',
      output: { outcome: 'skipped', reason: 'Another run holds the lock', lockHolder: execArn('xml-articles', 'x') },
    };
    const r = await cli(['backfill', 'xml-articles', ...RANGE], { clients: aws.clients });
    expect(r.code).toBe(EXIT.SKIPPED);
    expect(started).toHaveLength(1);
    expect(r.stdout).toContain('0 succeeded, 0 already run, 1 skipped, 3 not run');
  });

  test.each([
    [
      ['--from', '2026-11-21T00:00+09:00', '--to', '2026-11-18T00:00+09:00'],
      /--from 2026-11-21T00:00\+09:00 is after --to/,
      /earlier time as --from/,
    ],
    [
      ['--from', '2026-11-18T00:00+09:00', '--to', '2026-11-23T00:00+09:00'],
      /--to 2026-11-23T00:00\+09:00 is in the future \(now is 2026-11-21T23:30:00Z\)/,
      /--to 2026-11-21T23:30Z/,
    ],
    [
      ['--from', '2026-11-18T00:00', '--to', '2026-11-21T00:00+09:00'],
      /--from "2026-11-18T00:00" is not an ISO 8601 time with an offset/,
      /--from 2026-12-01T00:00\+09:00/,
    ],
    [
      ['--from', '2024-01-01T00:00Z', '--to', '2026-11-21T00:00Z'],
      /holds more than 500 slots of xml-articles/,
      /narrow --from\/--to/,
    ],
  ])('%j is refused with exit 2 before anything starts', async (range, problem, fix) => {
    const r = await cli(['backfill', 'xml-articles', ...range], { clients: aws.clients });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(problem);
    expect(r.stderr).toMatch(fix);
    expect(r.stderr).toContain('Nothing was started.');
    expect(aws.mocks.sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});
