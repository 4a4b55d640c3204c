import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { BatchConfig } from '../../config/batch-config';
import { BATCHES } from '../../config/batches';
import { EXIT } from '../../cli/exit-codes';
import { exitCodeFor, outcomeOf } from '../../cli/outcome';
import { VERSION } from '../../cli/program';
import { LOCAL_BATCHES } from '../../examples/demo-batches';
import { LocalRuntime } from '../../local/local-runtime';
import { cleanUpStateDir, tempStateDir } from '../local/support';
import { cli, mockAws } from './support';

/** Issue 10: the guidance the CLI gives must fit the situation (local vs AWS, the flag at fault). */
describe('guidance', () => {
  test.each([
    ['empty', ''],
    ['501 characters', 'x'.repeat(501)],
  ])('a %s --reason gets a fix about the reason, not about overrides', async (_label, reason) => {
    const r = await cli(['run', 'sitemap-refresh', '--reason', reason], { clients: mockAws().clients });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(/^error: invalid run request for sitemap-refresh:\n {2}reason/);
    expect(r.stderr).toContain('fix: give --reason a plain-text reason of 1 to 500 characters');
    expect(r.stderr).not.toContain('environment overrides');
  });

  test('--override AWS_REGION=x is reserved, not a name to add to the allow-list', async () => {
    const r = await cli(['run', 'xml-articles', '--override', 'AWS_REGION=x'], { clients: mockAws().clients });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain(
      'error: --override AWS_REGION: names starting with AWS_, ECS_, BATCH_RUNNER_ are reserved for the runtime and can never be overridden',
    );
    expect(r.stderr).toContain('fix: leave it out; environment overrides this batch allows: ARTICLE_LIMIT.');
    expect(r.stderr).not.toMatch(/add it to/);
  });

  test('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(EXIT.SUCCESS);
    expect(r.stdout).toBe(require('../../package.json').version);
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  test('a replaced run has its own outcome and exit code', () => {
    const o = outcomeOf({ status: 'ABORTED', error: 'BatchRunner.Replaced', cause: 'Replaced by execution x.' });
    expect(o.outcome).toBe('replaced');
    expect(exitCodeFor(o.outcome)).toBe(EXIT.REPLACED);
    expect(EXIT.REPLACED).not.toBe(EXIT.FAILED);
    expect(exitCodeFor(outcomeOf({ status: 'ABORTED' }).outcome)).toBe(EXIT.FAILED);
  });

  test('a success with a durationGuards notice carries the run time and the notice (shown by run --wait, in --json)', () => {
    const task = {
      taskArn: 't',
      exitCode: 0,
      durationSeconds: 2,
      durationNotice: { kind: 'tooShort', message: 'ran 2 s' },
    };
    const o = outcomeOf({ status: 'SUCCEEDED', output: JSON.stringify({ outcome: 'succeeded', task }) });
    expect(o).toMatchObject({ outcome: 'succeeded', durationSeconds: 2, notice: 'ran 2 s' });
    expect(exitCodeFor(o.outcome)).toBe(EXIT.SUCCESS);
    const plain = outcomeOf({
      status: 'SUCCEEDED',
      output: JSON.stringify({ outcome: 'succeeded', task: { exitCode: 0 } }),
    });
    expect(plain.notice).toBeUndefined();
  });

  describe('one bad batch entry', () => {
    const bad = { ...BATCHES[1], retries: 3 } as BatchConfig;
    const batches = [BATCHES[0], bad, ...BATCHES.slice(2)];

    test('commands about the other batches keep working; the bad one is reported', async () => {
      const aws = mockAws();
      aws.mocks.sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:x', startDate: new Date() });
      const r = await cli(['run', 'sitemap-refresh'], { clients: aws.clients, batches, localBatches: batches });
      expect(r.code).toBe(EXIT.SUCCESS);
      expect(r.stdout).toContain('started cli-sitemap-refresh-');
      expect(r.stderr).toContain(
        `warning: batch "${bad.name}" is left out: retries = 3 is invalid: there is no such field; remove it.`,
      );
    });

    test('a command about the bad batch fails with its validation message and fix', async () => {
      const r = await cli(['run', bad.name], { clients: mockAws().clients, batches, localBatches: batches });
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.stderr).toContain(`error: batch "${bad.name}": retries = 3 is invalid`);
      expect(r.stderr).toContain('fix: fix the batch configuration in config/batches.ts.');
    });
  });
});

describe('local-mode guidance', () => {
  const dir = tempStateDir('guidance');
  afterAll(() => cleanUpStateDir(dir));
  const local = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
    cli(['--state-dir', dir, ...argv], { env: { ...env, BATCH_RUNNER_DYNAMODB_IDLE_SECONDS: '30' } });

  test('logs before any run is not a usage error', async () => {
    const r = await local(['logs', 'sitemap-refresh', '--local']);
    expect(r.code).toBe(EXIT.SUCCESS);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('no logs yet: no local execution of sitemap-refresh started a task.');
    expect(r.stderr).toContain('start a run: batch-runner run sitemap-refresh --local');
  });

  test('BATCH_RUNNER_LOCAL=1 stands for --local', async () => {
    const r = await local(['logs', 'sitemap-refresh'], { BATCH_RUNNER_LOCAL: '1' });
    expect(r.code).toBe(EXIT.SUCCESS);
    expect(r.stderr).toContain('no local execution of sitemap-refresh');
    const bad = await local(['logs', 'sitemap-refresh'], { BATCH_RUNNER_LOCAL: 'maybe' });
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.stderr).toContain('error: BATCH_RUNNER_LOCAL=maybe is not understood');
  });

  test('hints about a local lock name local commands, not AWS ones', async () => {
    const runtime = await LocalRuntime.open({ stateDir: dir, batches: LOCAL_BATCHES });
    try {
      // A live owner: an execution of this (running) process holds the lock.
      const live = runtime.registry.create({
        executionArn: 'arn:aws:states:local:000000000000:execution:batch-runner-xml-articles:live-2',
        stateMachineArn: 'arn:aws:states:local:000000000000:stateMachine:batch-runner-xml-articles',
        name: 'live-2',
        batch: 'xml-articles',
        input: {},
        startDate: new Date().toISOString(),
      });
      const { PutItemCommand } = await import('@aws-sdk/client-dynamodb');
      const put = (owner: string) =>
        runtime.dynamodb.client.send(
          new PutItemCommand({
            TableName: 'batch-runner-locks',
            Item: { batch: { S: 'xml-articles' }, owner: { S: owner }, acquiredAt: { S: new Date().toISOString() } },
          }),
        );
      await put(live.executionArn);
      const refused = await local(['unlock', 'xml-articles', '--local']);
      expect(refused.code).toBe(EXIT.REFUSED);
      expect(refused.stderr).toContain(`stop it: batch-runner stop ${live.name} --local`);
      expect(refused.stderr).toContain('batch-runner unlock xml-articles --local --force');
      expect(refused.stderr).not.toContain('aws stepfunctions');

      await put('arn:aws:states:local:000000000000:execution:batch-runner-xml-articles:gone-2');
      const status = await local(['status', 'xml-articles', '--local']);
      expect(status.stdout).toContain('the next start reclaims it, or: batch-runner unlock xml-articles --local');
    } finally {
      await runtime.close();
    }
  });
});
