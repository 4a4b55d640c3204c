import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeConfigError } from '../../config/batch-config';
import { BatchFileError, findBatchFile, loadBatchFile, readBatchFile } from '../../config/batch-file';
import { BATCHES } from '../../config/batches';

const dir = mkdtempSync(join(tmpdir(), 'batch-runner-batch-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const YAML = `# two batches, as in the README
batches:
  - name: nightly-export
    schedule: { cron: '0 3 * * ? *', timeZone: Europe/Paris }
    hardTimeoutSeconds: 3600
    containerName: app
    overrides: { environment: [DRY_RUN] }
    task: { kind: created, image: public.ecr.aws/docker/library/node:22-slim, command: [node, export.js] }
    local: { command: [node, export.js], hardTimeoutSeconds: 20, stopGraceSeconds: 2 }
  - name: invoice-run
    schedule: { cron: '30 1 * * ? *', timeZone: UTC }
    hardTimeoutSeconds: 1800
    containerName: worker
    task:
      kind: imported
      clusterArn: arn:aws:ecs:eu-west-1:123456789012:cluster/billing
      taskDefinitionArn: arn:aws:ecs:eu-west-1:123456789012:task-definition/invoice-run:7
      family: invoice-run
      executionRoleArn: arn:aws:iam::123456789012:role/invoice-run-execution
      logGroupName: /ecs/invoice-run
      logStreamPrefix: invoice
`;

/** The problem of a file, as `cdk synth` and the CLI print it. */
function problemOf(path: string): string {
  try {
    loadBatchFile(path);
  } catch (err) {
    expect(err).toBeInstanceOf(BatchFileError);
    return describeConfigError(err as BatchFileError);
  }
  throw new Error(`${path} was accepted`);
}

const one = (fields: string) =>
  `batches:\n  - name: nightly-export\n    schedule: { cron: '0 3 * * ? *', timeZone: UTC }\n    containerName: app\n    task: { kind: created, image: node:22, command: [node, x.js] }\n${fields}`;

describe('batch files (JSON and YAML)', () => {
  test('a YAML file gives the same BatchConfig values as TypeScript would', () => {
    const batches = loadBatchFile(write('batches.yaml', YAML));
    expect(batches.map((b) => [b.name, b.task.kind, b.hardTimeoutSeconds])).toEqual([
      ['nightly-export', 'created', 3600],
      ['invoice-run', 'imported', 1800],
    ]);
    expect(batches[0].overrides).toEqual({ environment: ['DRY_RUN'] });
  });

  test('a JSON list, the file itself a list: the repository batches round-trip', () => {
    const path = write('batches.json', JSON.stringify(BATCHES, null, 2));
    expect(loadBatchFile(path)).toEqual(BATCHES);
  });

  test('a field of the wrong JSON type names the file, the batch, the field, the value and the fix', () => {
    // The README quotes this message.
    const path = write('quoted.yaml', YAML.replace('hardTimeoutSeconds: 3600', 'hardTimeoutSeconds: "3600"'));
    expect(problemOf(path)).toBe(
      `error: ${path}: batch "nightly-export": hardTimeoutSeconds = "3600" is invalid\nfix: give a number without quotes, e.g. 30 (found string).`,
    );
    expect(
      problemOf(write('cmd.yaml', one('    hardTimeoutSeconds: 60\n    local: { command: node x.js }\n'))),
    ).toContain(
      'batch "nightly-export": local.command = "node x.js" is invalid\nfix: give a list of strings, e.g. ["node", "job.js"] (found string).',
    );
  });

  test('the validation rules of the constructs apply, with the file named', () => {
    const path = write('short.yaml', one('    hardTimeoutSeconds: 3\n'));
    expect(problemOf(path)).toBe(
      `error: ${path}: batch "nightly-export": hardTimeoutSeconds = 3 is invalid\nfix: use a whole number of seconds between 5 and 86400 (24 h).`,
    );
    expect(problemOf(write('unknown.yaml', one('    hardTimeoutSeconds: 60\n    timeout: 60\n')))).toContain(
      'batch "nightly-export": timeout = 60 is invalid\nfix: there is no such field; remove it.',
    );
    const twice = write('twice.yaml', `${YAML}${YAML.split('batches:\n')[1].split('  - name: invoice-run')[0]}`);
    expect(problemOf(twice)).toContain(
      'batch "nightly-export": name = "nightly-export" is invalid\nfix: batch names must be unique',
    );
  });

  test('a missing required field, an entry that is not a mapping, an empty list', () => {
    expect(problemOf(write('missing.yaml', one('')))).toContain(
      'batch "nightly-export": hardTimeoutSeconds is invalid\nfix: it is missing; add "hardTimeoutSeconds" (a number without quotes, e.g. 30)',
    );
    expect(problemOf(write('scalar.yaml', 'batches:\n  - nightly-export\n'))).toContain(
      'batch #1 = "nightly-export" is invalid\nfix: each entry of "batches" is a mapping of fields',
    );
    expect(problemOf(write('empty.yaml', 'batches: []\n'))).toContain(
      '"batches" = [] is invalid\nfix: give a non-empty list',
    );
    expect(problemOf(write('extra.yaml', `version: 2\n${YAML}`))).toContain(
      'the top-level field "version" is invalid\nfix: there is no such field',
    );
  });

  test('syntax errors name the line (YAML) or the position (JSON); other extensions and unreadable files are refused', () => {
    const yaml = write('broken.yaml', 'batches:\n  - name: x\n   schedule: [\n');
    expect(problemOf(yaml)).toMatch(
      new RegExp(`^error: ${yaml}: the YAML at line 3, column \\d+ is invalid\\nfix: .+; fix the syntax there\\.$`),
    );
    const json = write('broken.json', '[{"name": "x",]');
    expect(problemOf(json)).toMatch(/is not valid JSON \(.*position.*\); fix the syntax/s);
    expect(problemOf(write('batches.ts', 'export default []'))).toContain('a batch file ends in .yaml, .yml or .json');
    expect(problemOf(join(dir, 'nowhere.yaml'))).toContain(
      'it cannot be read (ENOENT); check the path given to --config or BATCH_RUNNER_CONFIG.',
    );
  });

  test('pauseAfterConsecutiveFailures: a number in a file is accepted, a quoted one is refused by type, a bad value by validation', () => {
    expect(
      loadBatchFile(write('pause.yaml', one('    hardTimeoutSeconds: 60\n    pauseAfterConsecutiveFailures: 3\n')))[0]
        .pauseAfterConsecutiveFailures,
    ).toBe(3);
    expect(
      problemOf(
        write('pause-quoted.yaml', one('    hardTimeoutSeconds: 60\n    pauseAfterConsecutiveFailures: "3"\n')),
      ),
    ).toContain('pauseAfterConsecutiveFailures = "3" is invalid\nfix: give a number without quotes');
    expect(
      problemOf(write('pause-zero.yaml', one('    hardTimeoutSeconds: 60\n    pauseAfterConsecutiveFailures: 0\n'))),
    ).toContain('pauseAfterConsecutiveFailures = 0 is invalid\nfix: use a whole number of failed runs from 1 to 100');
  });

  test('readBatchFile checks the shape only; values are left to the validation', () => {
    expect(readBatchFile(write('short2.yaml', one('    hardTimeoutSeconds: 3\n')))[0].hardTimeoutSeconds).toBe(3);
  });

  test('findBatchFile: --config, else BATCH_RUNNER_CONFIG, else batch-runner.yaml/.yml/.json in the folder', () => {
    const project = mkdtempSync(join(dir, 'project-'));
    expect(findBatchFile(undefined, {}, project)).toBeUndefined();
    writeFileSync(join(project, 'batch-runner.json'), '[]');
    expect(findBatchFile(undefined, {}, project)).toBe(join(project, 'batch-runner.json'));
    writeFileSync(join(project, 'batch-runner.yaml'), '[]');
    expect(findBatchFile(undefined, {}, project)).toBe(join(project, 'batch-runner.yaml'));
    expect(findBatchFile(undefined, { BATCH_RUNNER_CONFIG: 'ops/b.yml' }, project)).toBe(join(project, 'ops', 'b.yml'));
    expect(findBatchFile('/etc/b.json', { BATCH_RUNNER_CONFIG: 'ops/b.yml' }, project)).toBe('/etc/b.json');
  });
  test('after: a YAML list of one upstream name; an unknown upstream names the file', () => {
    const text = `${YAML}  - name: invoice-mail
    schedule: { cron: '30 1 * * ? *', timeZone: UTC }
    after: [invoice-run]
    hardTimeoutSeconds: 600
    containerName: app
    task: { kind: created, image: node:22, command: [node, mail.js] }
`;
    expect(loadBatchFile(write('after.yaml', text)).at(-1)?.after).toEqual(['invoice-run']);
    const unknown = problemOf(
      write('after-unknown.yaml', text.replace('after: [invoice-run]', 'after: [invoice-runs]')),
    );
    expect(unknown).toContain('batch "invoice-mail": after = ["invoice-runs"] is invalid');
    expect(problemOf(write('after-string.yaml', text.replace('after: [invoice-run]', 'after: invoice-run')))).toContain(
      'after = "invoice-run" is invalid',
    );
  });
  test('more shapes a file can get wrong, each named: a null entry, a name that is not text, a null or mixed list, an empty or scalar file, a key given twice', () => {
    const problem = (name: string, text: string) => problemOf(write(name, text)).replace(`${join(dir, name)}: `, '');
    expect(problem('null-entry.yaml', 'batches:\n  - null\n')).toBe(
      'error: batch #1 = null is invalid\nfix: each entry of "batches" is a mapping of fields (name, schedule, hardTimeoutSeconds, containerName, task, ...).',
    );
    // An entry is named by its position until it has a name that is text.
    expect(problem('numbered.yml', 'batches:\n  - name: 5\n')).toBe(
      'error: batch #1: schedule is invalid\nfix: it is missing; add "schedule" (a mapping of fields); every batch has name, schedule, hardTimeoutSeconds, containerName, task.',
    );
    expect(problem('null-after.yaml', one('    hardTimeoutSeconds: 60\n    after: null\n'))).toBe(
      'error: batch "nightly-export": after = null is invalid\nfix: give a list of one upstream batch name, e.g. ["xml-articles"] (found null).',
    );
    expect(problem('mixed.yaml', one('    hardTimeoutSeconds: 60\n    local: { command: [node, 5] }\n'))).toBe(
      'error: batch "nightly-export": local.command = ["node",5] is invalid\nfix: give a list of strings, e.g. ["node", "job.js"] (found array).',
    );
    // A field the file reader does not know is left to the validation, which names it.
    expect(problem('unknown.yaml', one('    hardTimeoutSeconds: 60\n    retries: 3\n'))).toMatch(
      /^error: batch "nightly-export": retries = 3 is invalid\nfix: there is no such field; remove it\./,
    );
    expect(problem('empty-file.yaml', '')).toBe(
      'error: "batches" = null is invalid\nfix: give a non-empty list of batches, as a top-level "batches:" list (or the file itself a list).',
    );
    expect(problem('scalar-file.yaml', 'hello\n')).toMatch(/^error: "batches" = "hello" is invalid\n/);
    expect(problem('twice.yaml', one('    hardTimeoutSeconds: 60\n    hardTimeoutSeconds: 90\n'))).toBe(
      'error: the YAML at line 7, column 5 is invalid\nfix: Map keys must be unique; fix the syntax there.',
    );
    expect(problem('indent.yaml', 'batches:\n  - name: x\n   schedule: [\n')).toBe(
      'error: the YAML at line 3, column 1 is invalid\nfix: Sequence item without - indicator; fix the syntax there.',
    );
  });

  test('a .yml file is read like a .yaml one; the error is a BatchFileError', () => {
    expect(loadBatchFile(write('short.yml', one('    hardTimeoutSeconds: 60\n'))).map((b) => b.name)).toEqual([
      'nightly-export',
    ]);
    expect(() => loadBatchFile(write('short-bad.yml', one('')))).toThrow(
      expect.objectContaining({ name: 'BatchFileError', file: join(dir, 'short-bad.yml') }),
    );
  });
});
