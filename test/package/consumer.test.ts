/**
 * The package as a platform team gets it (README: "Use it in your own CDK app"): `npm pack` in this
 * repository, the tarball installed into a fresh CDK app in a temporary folder, the app's files taken
 * from the README section itself, then `npx tsc`, `npx cdk synth` and the installed CLI.
 *
 * One difference from the README, on purpose: the README installs with `npm install <tarball>
 * aws-cdk-lib constructs ...`, which resolves versions on the registry. Here the app gets a lockfile
 * with the same versions this repository's own `npm ci` put in the npm cache
 * (consumer-lockfile.ts), and `npm ci --offline` installs from that cache: no network, and npm itself
 * unpacks the tarball, links its `bin` and resolves its `exports` as it would for a user.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopSharedDynamoDb } from '../../local/shared-dynamodb';
import { REPO_ROOT } from '../../local/state-dir';
import { consumerLockfile, integrityOf, type PackedPackage } from './consumer-lockfile';

jest.setTimeout(10 * 60 * 1000);

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const SECTION_TITLE = '## Use it in your own CDK app';

/** The README section, and its fenced blocks that name a file (```yaml batch-runner.yaml). */
function readmeSection(): { text: string; files: Map<string, string>; commands: string } {
  const start = README.indexOf(SECTION_TITLE);
  if (start < 0) throw new Error(`README.md has no section "${SECTION_TITLE}"`);
  const end = README.indexOf('\n## ', start + SECTION_TITLE.length);
  const text = README.slice(start, end < 0 ? undefined : end);
  const files = new Map<string, string>();
  let commands = '';
  for (const m of text.matchAll(/^```(\w+)(?: (\S+))?\n([\s\S]*?)^```$/gm)) {
    if (m[2]) files.set(m[2], m[3]);
    else if (m[1] === 'sh') commands += m[3];
  }
  return { text, files, commands };
}

const repoPackage = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));

describe('the packed package in a fresh CDK app (README: Use it in your own CDK app)', () => {
  const work = mkdtempSync(join(tmpdir(), 'batch-runner-consumer-'));
  const app = join(work, 'my-batches');
  const section = readmeSection();
  // The commands run in the app: the npm cache only (offline), none of this repository's settings.
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^BATCH_RUNNER_(?!TEST_RUN)/.test(k))),
    BATCH_RUNNER_DYNAMODB_IDLE_SECONDS: '30',
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  const durations: Record<string, number> = {};
  const run = (what: string, command: string, args: string[], cwd: string): SpawnSyncReturns<string> => {
    const started = Date.now();
    const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 5 * 60 * 1000 });
    durations[what] = (Date.now() - started) / 1000;
    return result;
  };
  const mustRun = (what: string, command: string, args: string[], cwd: string): string => {
    const result = run(what, command, args, cwd);
    if (result.status !== 0) {
      throw new Error(
        `${what}: \`${command} ${args.join(' ')}\` exited ${result.status ?? result.signal}\n${result.stdout}\n${result.stderr}`,
      );
    }
    return result.stdout;
  };
  let tarball = '';
  let packed: PackedPackage & { files?: string[]; exports?: unknown };

  beforeAll(() => {
    // npm pack runs `prepack` (npm run build:package): the tarball holds exactly what `files` lists.
    mustRun('npm pack', 'npm', ['pack', '--ignore-scripts=false', '--pack-destination', work], REPO_ROOT);
    const name = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!name) throw new Error(`npm pack left no tarball in ${work}`);
    tarball = join(work, name);
    mustRun('read package.json', 'tar', ['xzf', tarball, '-C', work, 'package/package.json'], work);
    packed = JSON.parse(readFileSync(join(work, 'package', 'package.json'), 'utf8'));

    mkdirSync(app);
    const consumer = {
      name: 'my-batches',
      dependencies: {
        'batch-runner': `file:${tarball}`,
        'aws-cdk-lib': repoPackage.devDependencies['aws-cdk-lib'],
        constructs: repoPackage.devDependencies.constructs,
      },
      devDependencies: {
        'aws-cdk': repoPackage.devDependencies['aws-cdk'],
        typescript: repoPackage.devDependencies.typescript,
        '@types/node': repoPackage.devDependencies['@types/node'],
      },
    };
    writeFileSync(
      join(app, 'package.json'),
      `${JSON.stringify({ ...consumer, version: '1.0.0', private: true }, null, 2)}\n`,
    );
    const lock = consumerLockfile(
      JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')),
      consumer,
      packed,
      {
        spec: `file:${tarball}`,
        integrity: integrityOf(tarball),
      },
    );
    writeFileSync(join(app, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
    mustRun('npm ci --offline', 'npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], app);
    for (const [file, content] of section.files) writeFileSync(join(app, file), content);
  });

  afterAll(async () => {
    await stopSharedDynamoDb(join(app, '.batch-runner'));
    rmSync(work, { recursive: true, force: true });
    process.stdout.write(
      `consumer test durations (s): ${Object.entries(durations)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(', ')}\n`,
    );
  });

  it('the README section gives every file the app needs and the commands this test runs', () => {
    expect([...section.files.keys()].sort()).toEqual([
      'app.ts',
      'batch-runner.yaml',
      'cdk.json',
      'export.js',
      'tsconfig.json',
    ]);
    for (const command of [
      'npm pack',
      `npm install /path/to/${packed.name}-${packed.version}.tgz aws-cdk-lib@${repoPackage.devDependencies['aws-cdk-lib']} constructs@${repoPackage.devDependencies.constructs}`,
      `npm install --save-dev aws-cdk@${repoPackage.devDependencies['aws-cdk']} typescript@${repoPackage.devDependencies.typescript} @types/node@${repoPackage.devDependencies['@types/node']}`,
      'npx tsc && npx cdk synth',
      'npx batch-runner --help',
      'npx batch-runner run nightly-export --local',
    ]) {
      expect(section.commands).toContain(command);
    }
  });

  it('ships compiled code, declarations, the ASL, the Lambda bundles and the bin; no sources, no tsx', () => {
    const installed = join(app, 'node_modules', 'batch-runner');
    expect(packed.version).toBe(repoPackage.version);
    expect(packed.peerDependencies).toEqual({ 'aws-cdk-lib': expect.any(String), constructs: expect.any(String) });
    expect(Object.keys(packed.dependencies ?? {})).not.toEqual(expect.arrayContaining(['aws-cdk-lib']));
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/config/index.d.ts',
      'dist/state-machines/batch-runner.asl.json',
      'dist/local/task-agent.js',
      'dist/local/dynamodb-server.js',
      'dist/lambda/cleanup/index.js',
      'dist/lambda/task-watcher/index.js',
      'dist/lambda/validate-manual-input/index.js',
      'bin/batch-runner.js',
      'CHANGELOG.md',
    ]) {
      expect([file, existsSync(join(installed, file))]).toEqual([file, true]);
    }
    // TypeScript sources stay in the repository (declarations only).
    expect(existsSync(join(installed, 'cli'))).toBe(false);
    expect(existsSync(join(installed, 'infra'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', 'esbuild'))).toBe(false);
  });

  it('resolves through the exports map: the root and batch-runner/config, nothing else', () => {
    const probe = `
      const config = require('batch-runner/config');
      const loadedCdk = Object.keys(require.cache).some((p) => p.includes('/aws-cdk-lib/'));
      const root = require('batch-runner');
      let deep;
      try { require('batch-runner/dist/infra/batch-runner'); deep = 'loaded'; } catch (e) { deep = e.code; }
      console.log(JSON.stringify({
        config: typeof config.loadBatchFile, loadedCdk,
        root: [typeof root.BatchRunner, typeof root.ScheduledBatch, typeof root.addBatchRunnerStacks, typeof root.validateBatchConfigs],
        deep,
      }));`;
    const out = JSON.parse(mustRun('exports', process.execPath, ['-e', probe], app));
    expect(out).toEqual({
      config: 'function',
      loadedCdk: false,
      root: ['function', 'function', 'function', 'function'],
      deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  });

  it('type-checks and synthesizes the app: one created and one imported batch, handlers from the prebuilt bundles', () => {
    mustRun('npx tsc', 'npx', ['tsc'], app);
    mustRun('npx cdk synth', 'npx', ['cdk', 'synth', '--quiet'], app);
    const out = join(app, 'cdk.out');
    const template = JSON.parse(readFileSync(join(out, 'NightlyBatches.template.json'), 'utf8'));
    const resources: Array<[string, { Type: string; Properties: any; Metadata?: any }]> = Object.entries(
      template.Resources,
    );
    const ofType = (type: string) => resources.filter(([, r]) => r.Type === type).map(([, r]) => r);
    const machines = ofType('AWS::StepFunctions::StateMachine');
    expect(machines.map((m) => m.Properties.StateMachineName).sort()).toEqual([
      'batch-runner-invoice-run',
      'batch-runner-nightly-export',
    ]);
    expect(
      ofType('AWS::Scheduler::Schedule')
        .map((s) => s.Properties.ScheduleExpressionTimezone)
        .sort(),
    ).toEqual(['Europe/Paris', 'UTC']);
    expect(ofType('AWS::DynamoDB::Table')).toHaveLength(1);
    expect(ofType('AWS::SNS::Topic')).toHaveLength(1);
    // The created batch gets a task definition; the imported one runs the ARN it names.
    const taskDefinitions = ofType('AWS::ECS::TaskDefinition');
    expect(taskDefinitions).toHaveLength(1);
    expect(taskDefinitions[0].Properties.ContainerDefinitions[0]).toMatchObject({
      Name: 'app',
      Image: 'public.ecr.aws/docker/library/node:22-slim',
      Command: ['node', 'export.js'],
    });
    const invoice = machines.find((m) => m.Properties.StateMachineName === 'batch-runner-invoice-run')!;
    expect(JSON.stringify(invoice.Properties.DefinitionSubstitutions)).toContain(
      'arn:aws:ecs:eu-west-1:123456789012:task-definition/invoice-run:7',
    );
    // Every state machine reads the one ASL file the package ships, uploaded as it is.
    const installed = join(app, 'node_modules', 'batch-runner', 'dist');
    const assets = JSON.parse(readFileSync(join(out, 'NightlyBatches.assets.json'), 'utf8')).files;
    const keys = new Set(machines.map((m) => m.Properties.DefinitionS3Location.Key));
    expect(keys.size).toBe(1);
    const aslAsset = Object.values<any>(assets).find(
      (a) => [...keys][0] === a.destinations[Object.keys(a.destinations)[0]].objectKey,
    );
    expect(readFileSync(join(out, aslAsset.source.path), 'utf8')).toBe(
      readFileSync(join(installed, 'state-machines', 'batch-runner.asl.json'), 'utf8'),
    );
    // The three handlers are deployed from the bundles built at pack time, byte for byte (no esbuild here).
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.map((f) => f.Properties.FunctionName).sort()).toEqual([
      'batch-runner-cleanup',
      'batch-runner-task-watcher',
      'batch-runner-validate-manual-input',
    ]);
    for (const f of functions) {
      expect(f.Properties).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs24.x', Architectures: ['arm64'] });
      const handler = f.Properties.FunctionName.replace(/^batch-runner-/, '');
      const deployed = readFileSync(join(out, f.Metadata['aws:asset:path'], 'index.js'));
      expect(deployed.equals(readFileSync(join(installed, 'lambda', handler, 'index.js')))).toBe(true);
    }
  });

  it('runs the installed CLI: --help, --version, and a local run of the batch from the batch file', () => {
    const help = mustRun('npx batch-runner --help', 'npx', ['batch-runner', '--help'], app);
    expect(help).toContain('--config <file>');
    expect(help).toMatch(/run \[options\] <batch>/);
    expect(mustRun('npx batch-runner --version', 'npx', ['batch-runner', '--version'], app).trim()).toBe(
      packed.version,
    );

    const result = JSON.parse(
      mustRun(
        'npx batch-runner run --local',
        'npx',
        ['batch-runner', 'run', 'nightly-export', '--local', '--json'],
        app,
      ),
    );
    expect(result).toMatchObject({ batch: 'nightly-export', outcome: 'succeeded' });
    // The batch's local command ran in the app's folder; the local state lives beside batch-runner.yaml.
    expect(readFileSync(join(app, 'export-done.txt'), 'utf8')).toMatch(/^exported at /);
    expect(existsSync(join(app, '.batch-runner', 'executions'))).toBe(true);
  });

  it('refuses a bad batch file with the file, the batch, the field and the fix; without one, and for the demo, says what to do', () => {
    const bad = readFileSync(join(app, 'batch-runner.yaml'), 'utf8').replace(
      'hardTimeoutSeconds: 3600',
      'hardTimeoutSeconds: "3600"',
    );
    writeFileSync(join(app, 'bad.yaml'), bad);
    const refused = run(
      'npx batch-runner list --config bad.yaml',
      'npx',
      ['batch-runner', 'list', '--local', '--config', 'bad.yaml'],
      app,
    );
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(
      `error: ${join(app, 'bad.yaml')}: batch "nightly-export": hardTimeoutSeconds = "3600" is invalid`,
    );
    expect(refused.stderr).toContain('fix: give a number without quotes, e.g. 30 (found string).');

    const elsewhere = join(work, 'elsewhere');
    mkdirSync(elsewhere);
    const none = run(
      'npx batch-runner list (no batch file)',
      join(app, 'node_modules', '.bin', 'batch-runner'),
      ['list', '--local'],
      elsewhere,
    );
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('error: no batch list');
    expect(none.stderr).toContain('fix: pass --config <file>');
    // The demo's example batches live in a clone, not in the package.
    const demo = run('npx batch-runner demo', join(app, 'node_modules', '.bin', 'batch-runner'), ['demo'], app);
    expect(demo.status).toBe(2);
    expect(demo.stderr).toContain('error: the demo runs the example batches of a clone of the repository');
  });
});
