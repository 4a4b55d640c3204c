import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetScheduleCommand } from '@aws-sdk/client-scheduler';
import { ListExecutionsCommand, ListStateMachinesCommand } from '@aws-sdk/client-sfn';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../cli/exit-codes';
import { stateMachineName } from '../../config/naming';
import { cli, mockAws, smArn } from './support';

const dir = mkdtempSync(join(tmpdir(), 'batch-runner-cli-batch-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const batch = (name: string, hardTimeoutSeconds = 600) => ({
  name,
  schedule: { cron: '0 3 * * ? *', timeZone: 'UTC' },
  hardTimeoutSeconds,
  containerName: 'app',
  task: { kind: 'created', image: 'node:22', command: ['node', `${name}.js`] },
});

let aws: ReturnType<typeof mockAws>;
beforeEach(() => {
  aws = mockAws();
  aws.mocks.sfn.on(ListStateMachinesCommand).resolves({
    stateMachines: [
      {
        name: stateMachineName('orders-export'),
        stateMachineArn: smArn('orders-export'),
        type: 'STANDARD',
        creationDate: new Date(),
      },
    ],
  });
  aws.mocks.scheduler.on(GetScheduleCommand).resolves({ State: 'ENABLED' });
  aws.mocks.sfn.on(ListExecutionsCommand).resolves({ executions: [] });
  aws.mocks.dynamodb.on(GetItemCommand).resolves({});
});

const listed = async (argv: string[], deps: Parameters<typeof cli>[1] = {}) => {
  const r = await cli(['list', '--json', ...argv], { clients: aws.clients, ...deps });
  return {
    ...r,
    rows: r.code === 0 ? JSON.parse(r.stdout).map((row: any) => [row.batch, row.scheduleState ?? row.error]) : [],
  };
};

describe('the batch list from a JSON or YAML file', () => {
  test('--config names the file: its batches are the ones the CLI knows, not config/batches.ts', async () => {
    const file = join(dir, 'ops.json');
    writeFileSync(file, JSON.stringify({ batches: [batch('orders-export'), batch('invoice-run')] }));

    const r = await listed(['--config', file]);

    expect(r.code).toBe(EXIT.SUCCESS);
    expect(r.rows).toEqual([
      ['orders-export', 'ENABLED'],
      ['invoice-run', 'not deployed'],
    ]);
  });

  test('BATCH_RUNNER_CONFIG, relative to the working directory; else batch-runner.yaml there', async () => {
    const project = join(dir, 'project');
    mkdirSync(join(project, 'ops'), { recursive: true });
    writeFileSync(join(project, 'ops', 'b.yml'), `- ${JSON.stringify(batch('orders-export'))}\n`);
    writeFileSync(join(project, 'batch-runner.yaml'), `batches:\n  - ${JSON.stringify(batch('invoice-run'))}\n`);

    const byEnv = await listed([], { cwd: project, env: { BATCH_RUNNER_CONFIG: 'ops/b.yml' } });
    const found = await listed([], { cwd: project, env: {} });

    expect(byEnv.rows).toEqual([['orders-export', 'ENABLED']]);
    expect(found.rows).toEqual([['invoice-run', 'not deployed']]);
  });

  test('an invalid batch is left out with a warning naming the file; a command about it fails with the fix', async () => {
    const file = join(dir, 'one-bad.json');
    writeFileSync(file, JSON.stringify([batch('orders-export'), batch('too-short', 2)]));

    const r = await listed(['--config', file]);
    const about = await cli(['status', 'too-short', '--config', file], { clients: aws.clients });

    expect(r.rows).toEqual([['orders-export', 'ENABLED']]);
    expect(r.stderr).toContain(`warning: batch "too-short" (${file}) is left out: hardTimeoutSeconds = 2 is invalid`);
    expect(about.code).toBe(EXIT.USAGE);
    expect(about.stderr).toContain(`error: ${file}: batch "too-short": hardTimeoutSeconds = 2 is invalid`);
    expect(about.stderr).toContain('fix: use a whole number of seconds between 5 and 86400');
  });

  test('a file that does not parse stops every command with the file, the line and the fix', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'batches:\n  - name: x\n   schedule: [\n');

    const r = await cli(['list', '--config', file], { clients: aws.clients });

    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(
      new RegExp(`^error: ${file}: the YAML at line 3, column \\d+ is invalid\\nfix: .*fix the syntax there\\.$`),
    );
    expect(aws.mocks.sfn.calls()).toHaveLength(0);
  });
});
