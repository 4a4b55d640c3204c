/**
 * Batch lists in a JSON or YAML file, for teams that do not write TypeScript and for the CLI of an
 * installed package: the same {@link BatchConfig} shape, checked field by field for JSON types first
 * (what the TypeScript compiler checks for `config/batches.ts`), then by {@link validateBatchConfigs},
 * the rules the CDK constructs apply. Every error names the file, the batch, the field and the fix.
 *
 * ```yaml
 * # batch-runner.yaml
 * batches:
 *   - name: nightly-export
 *     schedule: { cron: '0 3 * * ? *', timeZone: Europe/Paris }
 *     hardTimeoutSeconds: 3600
 *     containerName: app
 *     task: { kind: created, image: public.ecr.aws/docker/library/node:22-slim, command: [node, export.js] }
 *     local: { command: [node, export.js], hardTimeoutSeconds: 20 }
 * ```
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { type BatchConfig, BatchConfigError, validateBatchConfig, validateDependencies } from './batch-config';

/**
 * File names the CLI looks for in the current directory when neither `--config` nor
 * `BATCH_RUNNER_CONFIG` names a batch file, in this order.
 */
export const BATCH_FILE_NAMES: readonly string[] = ['batch-runner.yaml', 'batch-runner.yml', 'batch-runner.json'];

/** Thrown for a batch file that cannot be read, parsed or validated; the message starts with the file. */
export class BatchFileError extends BatchConfigError {
  /**
   * @param file - the batch file, as given
   * @param problem - what is wrong, in the form `<what> is invalid: <fix>` where there is a fix
   */
  constructor(
    public readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'BatchFileError';
  }
}

type JsonType = 'string' | 'number' | 'boolean' | 'object' | 'string[]';

/** The JSON type of every field of {@link BatchConfig}, by path (`task` fields of both kinds). */
const FIELD_TYPES: Readonly<Record<string, JsonType>> = {
  name: 'string',
  description: 'string',
  schedule: 'object',
  'schedule.cron': 'string',
  'schedule.timeZone': 'string',
  'schedule.expectedIntervalHours': 'number',
  after: 'string[]',
  hardTimeoutSeconds: 'number',
  stopGraceSeconds: 'number',
  overlapPolicy: 'string',
  maxLockWaitMinutes: 'number',
  skipNotification: 'string',
  containerName: 'string',
  overrides: 'object',
  'overrides.environment': 'string[]',
  'overrides.command': 'boolean',
  task: 'object',
  'task.kind': 'string',
  'task.clusterArn': 'string',
  'task.taskDefinitionArn': 'string',
  'task.family': 'string',
  'task.taskRoleArn': 'string',
  'task.executionRoleArn': 'string',
  'task.logGroupName': 'string',
  'task.logStreamPrefix': 'string',
  'task.image': 'string',
  'task.command': 'string[]',
  'task.cpu': 'number',
  'task.memoryMiB': 'number',
  pauseAfterConsecutiveFailures: 'number',
  local: 'object',
  'local.command': 'string[]',
  'local.hardTimeoutSeconds': 'number',
  'local.stopGraceSeconds': 'number',
};

const REQUIRED = ['name', 'schedule', 'hardTimeoutSeconds', 'containerName', 'task'] as const;

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.every((v) => typeof v === 'string') ? 'string[]' : 'array';
  return typeof value;
}

const EXAMPLES: Readonly<Record<JsonType, string>> = {
  string: 'a string in quotes',
  number: 'a number without quotes, e.g. 30',
  boolean: 'true or false, without quotes',
  object: 'a mapping of fields',
  'string[]': 'a list of strings, e.g. ["node", "job.js"]',
};

/** Lists whose general example (a command) would mislead. */
const FIELD_EXAMPLES: Readonly<Record<string, string>> = {
  after: 'a list of one upstream batch name, e.g. ["xml-articles"]',
  'overrides.environment': 'a list of environment names, e.g. ["DRY_RUN"]',
};

/** Checks the JSON types of one entry, so that the validation rules see the shapes they expect. */
function checkTypes(file: string, entry: unknown, index: number): void {
  const label = (e: unknown) =>
    e && typeof e === 'object' && typeof (e as { name?: unknown }).name === 'string'
      ? `batch "${(e as { name: string }).name}"`
      : `batch #${index + 1}`;
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw new BatchFileError(
      file,
      `${label(entry)} = ${JSON.stringify(entry)} is invalid: each entry of "batches" is a mapping of fields (name, schedule, hardTimeoutSeconds, containerName, task, ...).`,
    );
  }
  const batch = entry as Record<string, unknown>;
  for (const field of REQUIRED) {
    if (batch[field] === undefined) {
      throw new BatchFileError(
        file,
        `${label(batch)}: ${field} is invalid: it is missing; add "${field}" (${EXAMPLES[FIELD_TYPES[field]]}); every batch has ${REQUIRED.join(', ')}.`,
      );
    }
  }
  const walk = (value: Record<string, unknown>, prefix: string) => {
    for (const [key, v] of Object.entries(value)) {
      const path = `${prefix}${key}`;
      const expected = FIELD_TYPES[path];
      if (!expected || v === undefined) continue; // unknown fields: validateBatchConfig names them
      if (typeOf(v) !== expected) {
        throw new BatchFileError(
          file,
          `${label(batch)}: ${path} = ${JSON.stringify(v)} is invalid: give ${FIELD_EXAMPLES[path] ?? EXAMPLES[expected]} (found ${typeOf(v)}).`,
        );
      }
      if (expected === 'object') walk(v as Record<string, unknown>, `${path}.`);
    }
  };
  walk(batch, '');
}

function parse(file: string, text: string): unknown {
  const ext = extname(file).toLowerCase();
  if (ext === '.json') {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new BatchFileError(
        file,
        `the file is invalid: it is not valid JSON (${(err as Error).message}); fix the syntax, or use YAML (.yaml) if you prefer comments.`,
      );
    }
  }
  if (ext === '.yaml' || ext === '.yml') {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      const at = e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : 'the file';
      const what = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      throw new BatchFileError(file, `the YAML at ${at} is invalid: ${what}; fix the syntax there.`);
    }
    return doc.toJS();
  }
  throw new BatchFileError(
    file,
    `the file name is invalid: a batch file ends in .yaml, .yml or .json (a TypeScript list is passed to the constructs directly).`,
  );
}

/**
 * Reads a batch list from a JSON or YAML file: either a list of batches, or a mapping with the list
 * under `batches`. Checks the JSON type of every known field and the required fields; the values
 * themselves are checked by {@link validateBatchConfigs} (or {@link loadBatchFile}, which does both).
 *
 * @param file - path of the `.yaml`, `.yml` or `.json` file, absolute or relative to the working directory
 * @throws BatchFileError naming the file, the batch, the field and the fix
 */
export function readBatchFile(file: string): BatchConfig[] {
  let text: string;
  try {
    text = readFileSync(resolve(file), 'utf8');
  } catch (err) {
    throw new BatchFileError(
      file,
      `the batch file is invalid: it cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check the path given to --config or BATCH_RUNNER_CONFIG.`,
    );
  }
  const data = parse(file, text);
  const list =
    data && typeof data === 'object' && !Array.isArray(data) ? (data as { batches?: unknown }).batches : data;
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    const extra = Object.keys(data).filter((k) => k !== 'batches');
    if (extra.length > 0) {
      throw new BatchFileError(
        file,
        `the top-level field "${extra[0]}" is invalid: there is no such field; the file holds "batches:" (a list) and nothing else.`,
      );
    }
  }
  if (!Array.isArray(list) || list.length === 0) {
    throw new BatchFileError(
      file,
      `"batches" = ${JSON.stringify(list ?? null)} is invalid: give a non-empty list of batches, as a top-level "batches:" list (or the file itself a list).`,
    );
  }
  list.forEach((entry, i) => checkTypes(file, entry, i));
  return list as BatchConfig[];
}

/**
 * {@link readBatchFile} plus every validation rule of the constructs (and unique names): what a CDK
 * app calls to deploy the batches of a file, so that `cdk synth` and the CLI read the same list.
 *
 * @param file - path of the `.yaml`, `.yml` or `.json` file
 * @returns the batches, ready for `ScheduledBatch` or `addBatchRunnerStacks`
 * @throws BatchFileError naming the file, the batch, the field and the fix
 */
export function loadBatchFile(file: string): BatchConfig[] {
  const batches = readBatchFile(file);
  const seen = new Set<string>();
  for (const batch of batches) {
    try {
      validateBatchConfig(batch);
      if (seen.has(batch.name)) {
        throw new BatchConfigError(
          `batch "${batch.name}": name = ${JSON.stringify(batch.name)} is invalid: batch names must be unique; rename one of the two.`,
        );
      }
    } catch (err) {
      if (err instanceof BatchConfigError) throw new BatchFileError(file, err.message);
      throw err;
    }
    seen.add(batch.name);
  }
  try {
    validateDependencies(batches);
  } catch (err) {
    if (err instanceof BatchConfigError) throw new BatchFileError(file, err.message);
    throw err;
  }
  return batches;
}

/**
 * The batch file the CLI uses: `explicit` (`--config`), else `$BATCH_RUNNER_CONFIG`, else the first
 * of {@link BATCH_FILE_NAMES} that exists in `dir`.
 *
 * @returns the absolute path, or undefined when no file is named or found
 */
export function findBatchFile(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  dir: string = process.cwd(),
): string | undefined {
  const named = explicit ?? (env.BATCH_RUNNER_CONFIG || undefined);
  if (named !== undefined) return resolve(dir, named);
  for (const name of BATCH_FILE_NAMES) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return undefined;
}
