import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import * as ts from 'typescript';
import { type BatchConfig, validateBatchConfigs } from '../../config/batch-config';
import { BATCHES } from '../../config/batches';
import { stateMachineName } from '../../config/naming';
import { LOCAL_BATCHES } from '../../examples/demo-batches';
import { REPO_ROOT } from '../../local/state-dir';
import { cleanUpStateDir, memoryRuntime, tempStateDir } from '../local/support';
import { resourcesOf, synthApp } from '../infra/synth';

/**
 * README "Add a batch", followed to the letter: the snippet, appended to BATCHES in
 * config/batches.ts, is Prettier-formatted there (npm run lint), type-checks, validates, synthesizes,
 * and runs in the local mode.
 */
const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const section = README.slice(README.indexOf('**Add a batch**'));
const snippet = /```ts\n([\s\S]*?)```/.exec(section)![1];
const batchesSource = readFileSync(join(REPO_ROOT, 'config', 'batches.ts'), 'utf8');
/** config/batches.ts with the snippet appended to BATCHES, indented as it sits in the array. */
const edited = (() => {
  const end = batchesSource.lastIndexOf('];');
  const indented = snippet.replace(/^(?=.)/gm, '  ');
  return batchesSource.slice(0, end) + indented + batchesSource.slice(end);
})();
/** The batch the snippet declares, evaluated as written (a TypeScript object literal). */
const added = (() => {
  const js = ts.transpileModule(`export const batch = ${snippet.trim().replace(/,$/, '')};`, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const module = { exports: {} as { batch: BatchConfig } };
  new Function('module', 'exports', js)(module, module.exports);
  return module.exports.batch;
})();

describe('README: add a batch', () => {
  test('the snippet is Prettier-formatted where the README says to paste it', () => {
    // Prettier's CLI with the repository's settings, as npm run lint runs it.
    const formatted = execFileSync(
      process.execPath,
      [join(REPO_ROOT, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), '--stdin-filepath', 'config/batches.ts'],
      { cwd: REPO_ROOT, input: edited, encoding: 'utf8' },
    );
    expect(formatted).toBe(edited);
  });

  test('config/batches.ts with the snippet type-checks as BatchConfig', () => {
    const file = join(REPO_ROOT, 'config', 'batches.ts');
    const config = ts.readConfigFile(join(REPO_ROOT, 'tsconfig.json'), ts.sys.readFile).config;
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, REPO_ROOT);
    const host = ts.createCompilerHost(options);
    const read = host.readFile;
    host.readFile = (name) => (name === file ? edited : read(name));
    const program = ts.createProgram([file], { ...options, noEmit: true }, host);
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(problems).toEqual([]);
  });

  test('the batch validates next to the shipped ones, and its local command exists', () => {
    expect(added.name).toBe('daily-report');
    expect(() => validateBatchConfigs([...BATCHES, added])).not.toThrow();
    const script = added.local!.command[1];
    expect(() => readFileSync(join(REPO_ROOT, script))).not.toThrow();
  });

  test('the app synthesizes with it: its own state machine and schedule', () => {
    const s = synthApp([...BATCHES, added]);
    const templates = s.batchTemplates.map((t) => t.toJSON());
    const machines = templates.flatMap((t) => Object.values<any>(resourcesOf(t, 'AWS::StepFunctions::StateMachine')));
    expect(machines.map((m) => m.Properties.StateMachineName)).toContain(stateMachineName('daily-report'));
    const schedules = templates.flatMap((t) => Object.values<any>(resourcesOf(t, 'AWS::Scheduler::Schedule')));
    expect(schedules.find((sc) => sc.Properties.Name === 'batch-runner-daily-report')?.Properties).toMatchObject({
      ScheduleExpression: 'cron(30 5 * * ? *)',
      ScheduleExpressionTimezone: 'Asia/Tokyo',
    });
  }, 60000);

  describe('a local run', () => {
    const dir = tempStateDir('readme');
    afterAll(() => cleanUpStateDir(dir));

    test('succeeds', async () => {
      const { runtime } = await memoryRuntime(dir, [...LOCAL_BATCHES, added]);
      try {
        const r = await runtime.start('daily-report', { trigger: 'cli', reason: 'README' });
        expect(r.status).toBe('SUCCEEDED');
        expect(r.output).toMatchObject({ outcome: 'succeeded', task: { exitCode: 0 } });
      } finally {
        await runtime.close();
      }
    }, 40000);
  });
});
