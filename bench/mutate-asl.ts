import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BATCH_RUNNER_ASL_PATH,
  placeholdersIn,
  readDefinitionTemplate,
  renderDefinition,
  substitutionsFor,
} from '../state-machines/definition';
import { TEST_BATCH, TEST_BINDINGS } from '../test/support/asl-harness';
import { retrierProblems } from '../test/support/aws-asl-rules';

/**
 * `npm run mutate:asl`: mutation testing of the ASL definition. Generates plausible careless edits of
 * state-machines/batch-runner.asl.json (drop or redirect a Catch, Next or Choice target, or one error a
 * Catch names; drop a Retry,
 * zero its attempts or its back-off; flip a comparison or a literal; drop a condition of an And, a
 * ConditionExpression or a parameter; change a TimeoutSeconds), runs the definition tests
 * (test/state-machines) against each (the template is read from BATCH_RUNNER_ASL_TEMPLATE, transition
 * coverage is off so that only behaviour kills), and prints the score and every survivor.
 *
 * Mutants that are not valid States Language, or that drop a `${Placeholder}`, are not run (the
 * structure tests refuse them outright). Equivalent mutants (no behaviour can tell them apart) are listed
 * with the reason in bench/asl-equivalent-mutants.json and not counted.
 *
 * Options: --list (print the mutants and exit), --filter <regex> (mutant ids), --every <n> (every n-th
 * mutant, for a sample), --from <n> (start at the n-th mutant, to resume a run), --limit <n>, --timeout <s> per mutant (default 300; a timeout counts as killed).
 * Too slow for CI (one Jest run of the definition tests per mutant): not part of `npm test`.
 */

type Json = any;

export interface Mutant {
  readonly id: string;
  readonly apply: (definition: Json) => void;
}

const EQUIVALENT_FILE = join(__dirname, 'asl-equivalent-mutants.json');
const validateAsl: (def: unknown) => { isValid: boolean; errors: unknown[] } = require('asl-validator');

/** Unquoted placeholders (numbers, JSON arrays) become marker strings so the template parses as JSON. */
const MARK = (name: string) => `__unquoted_placeholder_${name}__`;

export function parseTemplate(template: string): Json {
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (inString) {
      if (c === '\\') {
        out += c + template[++i];
        continue;
      }
      if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '$' && template[i + 1] === '{') {
      const end = template.indexOf('}', i);
      out += JSON.stringify(MARK(template.slice(i + 2, end)));
      i = end;
      continue;
    }
    out += c;
  }
  return JSON.parse(out);
}

export function printTemplate(definition: Json): string {
  return `${JSON.stringify(definition, null, 2).replace(/"__unquoted_placeholder_([A-Za-z0-9]+)__"/g, '$${$1}')}\n`;
}

/** Every state by name with the `States` object holding it (Map/Parallel inner states included). */
function statesOf(definition: Json): Array<[string, Json]> {
  const found: Array<[string, Json]> = [];
  const walk = (states: Json) => {
    for (const [name, state] of Object.entries<Json>(states)) {
      found.push([name, state]);
      if (state.Type === 'Map') walk((state.ItemProcessor ?? state.Iterator).States);
      if (state.Type === 'Parallel') for (const b of state.Branches) walk(b.States);
    }
  };
  walk(definition.States);
  return found;
}

const stateIn = (definition: Json, name: string): Json => statesOf(definition).find(([n]) => n === name)![1];

/** Comparison operators and the plausible slip for each (off by one, or the opposite). */
const FLIPS: Record<string, string> = {
  NumericLessThan: 'NumericLessThanEquals',
  NumericLessThanEquals: 'NumericLessThan',
  NumericGreaterThan: 'NumericGreaterThanEquals',
  NumericGreaterThanEquals: 'NumericGreaterThan',
  NumericEquals: 'NumericGreaterThan',
  NumericLessThanPath: 'NumericLessThanEqualsPath',
  NumericGreaterThanPath: 'NumericGreaterThanEqualsPath',
  TimestampLessThan: 'TimestampLessThanEquals',
  TimestampGreaterThan: 'TimestampGreaterThanEquals',
};

/** The comparisons of a Choice rule, each with the path to reach it (And/Or/Not nesting). */
function comparisons(
  rule: Json,
  path: Array<string | number> = [],
): Array<{ path: Array<string | number>; rule: Json }> {
  if (rule.And || rule.Or) {
    const key = rule.And ? 'And' : 'Or';
    return rule[key].flatMap((r: Json, i: number) => comparisons(r, [...path, key, i]));
  }
  if (rule.Not) return comparisons(rule.Not, [...path, 'Not']);
  return [{ path, rule }];
}

const at = (root: Json, path: Array<string | number>) => path.reduce((o, k) => o[k], root);

/** Literal values a careless edit swaps for one another (outcomes, error names). */
function literalSlots(definition: Json): Array<{ state: string; key: string; value: string }> {
  const slots: Array<{ state: string; key: string; value: string }> = [];
  for (const [name, state] of statesOf(definition)) {
    if (state.Type !== 'Pass' && state.Type !== 'Fail') continue;
    // A Result may be a plain value ("stopped"), which has no named fields to swap.
    const objects = (state.Type === 'Fail' ? [state] : [state.Parameters, state.Result]).filter(
      (o) => o !== null && typeof o === 'object' && !Array.isArray(o),
    );
    for (const obj of objects)
      for (const [key, value] of Object.entries(obj))
        if (typeof value === 'string' && /^(?:[a-z_]+|BatchRunner\.\w+)$/.test(value) && !key.endsWith('.$'))
          slots.push({ state: name, key, value });
  }
  return slots;
}

/** The mutants of a parsed template, with stable ids (state, field, edit). */
export function generateMutants(definition: Json): Mutant[] {
  const mutants: Mutant[] = [];
  const add = (id: string, apply: (d: Json) => void) => mutants.push({ id, apply });
  const names = statesOf(definition).map(([n]) => n);
  const literals = literalSlots(definition);

  for (const [name, state] of statesOf(definition)) {
    const s = (d: Json) => stateIn(d, name);
    // Next: skip the next step (go where the next state would have gone).
    if (state.Next) {
      const after = stateIn(definition, state.Next);
      const skipTo = after?.Next ?? after?.Default;
      if (skipTo && skipTo !== name) add(`${name}: Next ${state.Next} -> ${skipTo}`, (d) => (s(d).Next = skipTo));
    }
    (state.Catch ?? []).forEach((c: Json, i: number) => {
      add(`${name}: drop Catch[${i}] ${JSON.stringify(c.ErrorEquals)}`, (d) => s(d).Catch.splice(i, 1));
      if (c.ErrorEquals.length > 1)
        c.ErrorEquals.forEach((error: string, j: number) =>
          add(`${name}: Catch[${i}] no longer catches ${error}`, (d) => s(d).Catch[i].ErrorEquals.splice(j, 1)),
        );
      const other = state.Next ?? state.Catch.find((o: Json) => o.Next !== c.Next)?.Next;
      if (other && other !== c.Next)
        add(`${name}: Catch[${i}].Next ${c.Next} -> ${other}`, (d) => (s(d).Catch[i].Next = other));
    });
    (state.Retry ?? []).forEach((r: Json, i: number) => {
      add(`${name}: drop Retry[${i}]`, (d) => s(d).Retry.splice(i, 1));
      if ((r.MaxAttempts ?? 3) !== 0) add(`${name}: Retry[${i}].MaxAttempts 0`, (d) => (s(d).Retry[i].MaxAttempts = 0));
      if ((r.IntervalSeconds ?? 1) !== 0)
        add(`${name}: Retry[${i}].IntervalSeconds 0`, (d) => (s(d).Retry[i].IntervalSeconds = 0));
    });
    if (state.Type === 'Choice') {
      state.Choices.forEach((rule: Json, i: number) => {
        add(`${name}: drop Choices[${i}]`, (d) => s(d).Choices.splice(i, 1));
        if (state.Default && state.Default !== rule.Next)
          add(
            `${name}: Choices[${i}].Next ${rule.Next} -> ${state.Default}`,
            (d) => (s(d).Choices[i].Next = state.Default),
          );
        for (const { path, rule: cmp } of comparisons(rule)) {
          const where = path.length > 0 ? `.${path.join('.')}` : '';
          const parent = path.slice(0, -2);
          if (path.length >= 2 && (path.at(-2) === 'And' || path.at(-2) === 'Or'))
            add(`${name}: Choices[${i}]${where} dropped (${cmp.Variable})`, (d) => {
              const list = at(s(d).Choices[i], [...parent, path.at(-2)!]);
              list.splice(path.at(-1) as number, 1);
            });
          for (const [op, flipped] of Object.entries(FLIPS))
            if (op in cmp)
              add(`${name}: Choices[${i}]${where} ${op} -> ${flipped} (${cmp.Variable})`, (d) => {
                const c = at(s(d).Choices[i], path);
                c[flipped] = c[op];
                delete c[op];
              });
          for (const op of ['IsPresent', 'IsString', 'IsTimestamp', 'BooleanEquals', 'IsNull'])
            if (typeof cmp[op] === 'boolean')
              add(`${name}: Choices[${i}]${where} ${op} ${!cmp[op]} (${cmp.Variable})`, (d) => {
                const c = at(s(d).Choices[i], path);
                c[op] = !c[op];
              });
          if (typeof cmp.StringEquals === 'string' && !cmp.StringEquals.startsWith('__unquoted'))
            add(`${name}: Choices[${i}]${where} StringEquals "${cmp.StringEquals}" -> "${cmp.StringEquals}x"`, (d) => {
              at(s(d).Choices[i], path).StringEquals += 'x';
            });
        }
      });
      if (state.Default && state.Choices[0]?.Next !== state.Default)
        add(
          `${name}: Default ${state.Default} -> ${state.Choices[0].Next}`,
          (d) => (s(d).Default = state.Choices[0].Next),
        );
    }
    // Parameters of Task states: drop each one (a ConditionExpression with the names/values only it uses).
    const params = state.Type === 'Task' ? state.Parameters : undefined;
    for (const key of Object.keys(params ?? {})) {
      if (key === 'ExpressionAttributeNames' || key === 'ExpressionAttributeValues') continue;
      if (key === 'ConditionExpression') {
        add(`${name}: drop ConditionExpression "${params.ConditionExpression}"`, (d) => {
          const p = s(d).Parameters;
          const rest = JSON.stringify([p.UpdateExpression, p.KeyConditionExpression, p.ProjectionExpression]);
          delete p.ConditionExpression;
          for (const map of ['ExpressionAttributeNames', 'ExpressionAttributeValues']) {
            if (!p[map]) continue;
            for (const token of Object.keys(p[map])) if (!rest.includes(token)) delete p[map][token];
            if (Object.keys(p[map]).length === 0) delete p[map];
          }
        });
      } else if (!JSON.stringify(params[key]).includes('__unquoted') && !/\$\{/.test(JSON.stringify(params[key]))) {
        add(`${name}: drop parameter ${key}`, (d) => delete s(d).Parameters[key]);
      }
    }
    if (typeof state.TimeoutSeconds === 'number')
      add(`${name}: TimeoutSeconds ${state.TimeoutSeconds} -> 2000000`, (d) => (s(d).TimeoutSeconds = 2_000_000));
  }
  // Literals: an outcome or error name swapped for the next different one of the same kind.
  for (const slot of literals) {
    const kind = (v: string) => v.startsWith('BatchRunner.');
    const others = [...new Set(literals.map((l) => l.value))]
      .filter((v) => v !== slot.value && kind(v) === kind(slot.value))
      .sort();
    const replacement = others.find((v) => v > slot.value) ?? others[0];
    if (!replacement) continue;
    add(`${slot.state}: ${slot.key} "${slot.value}" -> "${replacement}"`, (d) => {
      const st = stateIn(d, slot.state);
      const obj = st.Type === 'Fail' ? st : slot.key in (st.Parameters ?? {}) ? st.Parameters : st.Result;
      obj[slot.key] = replacement;
    });
  }
  void names;
  return mutants;
}

/** Whether a mutated template can be rendered and is valid States Language (else it is not run). */
function invalidReason(template: string, original: string): string | undefined {
  if (JSON.stringify(placeholdersIn(template)) !== JSON.stringify(placeholdersIn(original)))
    return 'drops a placeholder';
  try {
    const rendered = JSON.parse(renderDefinition(substitutionsFor(TEST_BATCH, TEST_BINDINGS), template));
    const result = validateAsl(rendered);
    if (!result.isValid) return `invalid ASL: ${JSON.stringify(result.errors).slice(0, 120)}`;
    const refusedByAws = retrierProblems(rendered);
    return refusedByAws.length > 0 ? `refused by AWS: ${refusedByAws[0]}` : undefined;
  } catch (err) {
    return `does not render: ${(err as Error).message.slice(0, 120)}`;
  }
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const ROOT = join(__dirname, '..');
const DEFINITION_TESTS = join(ROOT, 'test', 'state-machines');
const ENVIRONMENT = join(ROOT, 'test', 'support', 'asl-mutation-environment.ts');

/** Per definition test file: the states each of its tests' executions entered (none: a static test). */
type StateMap = Array<{ testPath: string; tests: Record<string, string[]>; millis: Record<string, number> }>;

/** The state a mutant edits: its id is "<state>: <edit>". */
export const mutatedState = (mutant: Mutant) => mutant.id.slice(0, mutant.id.indexOf(': '));

/**
 * The tests that can tell a mutant of `state` from the definition: those whose executions entered the
 * state (no other execution can behave differently) and those that run none (they read the definition).
 */
export function testsFor(map: StateMap, state: string): SelectedTests {
  const files: string[] = [];
  const names: string[] = [];
  let slowestMillis = 0;
  for (const { testPath, tests, millis } of map) {
    const chosen = Object.entries(tests)
      .filter(([, states]) => states.length === 0 || states.includes(state))
      .map(([name]) => name);
    if (chosen.length === 0) continue;
    files.push(testPath);
    names.push(...chosen);
    for (const name of chosen) slowestMillis = Math.max(slowestMillis, millis[name] ?? 0);
  }
  return { files, names, slowestMillis };
}

interface SelectedTests {
  readonly files: string[];
  readonly names: string[];
  /** The longest any of them took on the unmutated definition. */
  readonly slowestMillis: number;
}

/**
 * A mutant's test timeout: a mutant that makes an execution hang (a lost transition, a wait that never
 * ends) fails its test at this timeout instead of Jest's 60 s: five times the slowest selected test,
 * at least 10 s (as StrykerJS's timeout factor does).
 */
const testTimeoutMillis = (tests: SelectedTests) => Math.max(10_000, 5 * tests.slowestMillis);

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface JestRun {
  readonly status: number | null;
  readonly timedOut: boolean;
  readonly output: string;
}

/** One Jest run of (some of) the definition tests, with the test environment of the mutation runs. */
function runJest(args: string[], env: Record<string, string>, timeoutSeconds: number): Promise<JestRun> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        require.resolve('jest/bin/jest'),
        ...['--config', join(ROOT, 'jest.mutation.config.js'), '--testEnvironment', ENVIRONMENT, '--silent'],
        ...args,
      ],
      { cwd: ROOT, env: { ...process.env, BATCH_RUNNER_ASL_COVERAGE: 'off', ...env }, stdio: 'pipe' },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutSeconds * 1000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, timedOut, output });
    });
  });
}

/** A digest of everything the state map depends on: the tests and the code and definition they run. */
function sourcesDigest(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|json|js)$/.test(entry.name)) hash.update(path).update(readFileSync(path));
    }
  };
  for (const dir of ['test', 'local', 'handlers', 'config', 'state-machines']) walk(join(ROOT, dir));
  return hash.digest('hex').slice(0, 16);
}

/**
 * Runs every definition test once on the unmutated definition and reads which states each entered.
 * The map is kept in the system's temp folder and reused while the tests, the code and the definition
 * are unchanged (a `--filter` run right after another then starts at once).
 */
async function buildStateMap(dir: string): Promise<StateMap> {
  const cached = join(tmpdir(), `batch-runner-asl-state-map-${sourcesDigest()}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8'));
  const mapDir = join(dir, 'state-map');
  const run = await runJest([DEFINITION_TESTS, '--maxWorkers=2'], { BATCH_RUNNER_ASL_STATE_MAP: mapDir }, 900);
  if (run.status !== 0)
    throw new Error(
      `the definition tests fail on the unmutated definition; fix them before measuring mutants:\n${run.output.slice(-4000)}`,
    );
  const map: StateMap = readdirSync(mapDir).map((f) => JSON.parse(readFileSync(join(mapDir, f), 'utf8')));
  writeFileSync(cached, JSON.stringify(map));
  return map;
}

/** Runs the tests that can kill `mutant` against its template; a failing test ends the run. */
async function verdictOf(
  templatePath: string,
  tests: SelectedTests,
  timeoutSeconds: number,
): Promise<'killed' | 'survived' | 'timeout'> {
  if (tests.names.length === 0) return 'survived';
  const pattern = `^(?:${tests.names.map(escapeRegex).join('|')})$`;
  const run = await runJest(
    [
      ...tests.files.map(escapeRegex),
      ...['--testNamePattern', pattern, '--bail', '--runInBand', '--testTimeout', String(testTimeoutMillis(tests))],
      // A hung execution's timers would keep Jest from exiting after its test failed.
      '--forceExit',
    ],
    { BATCH_RUNNER_ASL_TEMPLATE: templatePath, BATCH_RUNNER_FAIL_FAST: '1' },
    timeoutSeconds,
  );
  if (run.timedOut) return 'timeout';
  if (run.status === 0) return 'survived';
  // Only a failing test kills; Jest failing for any other reason is the tool's fault, not a verdict.
  if (/Tests:.*\d+ failed/.test(run.output) || /Test Suites:.*\d+ failed/.test(run.output)) return 'killed';
  throw new Error(`Jest failed without a failing test on ${templatePath}:\n${run.output.slice(-4000)}`);
}

interface Planned {
  readonly n: number;
  readonly mutant: Mutant;
  readonly template?: string;
  readonly verdict?: string;
}

async function main(): Promise<void> {
  const original = readDefinitionTemplate(BATCH_RUNNER_ASL_PATH);
  const base = parseTemplate(original);
  if (printTemplate(base) !== original) throw new Error('the template does not round-trip through the mutator');
  const equivalent = JSON.parse(readFileSync(EQUIVALENT_FILE, 'utf8')) as Record<string, string>;
  const all = generateMutants(base);
  const numberOf = new Map(all.map((m, i) => [m.id, i + 1]));
  let mutants = all;
  const filter = option('filter');
  if (filter) mutants = mutants.filter((m) => new RegExp(filter).test(m.id));
  const every = Number(option('every') ?? 1);
  const from = Number(option('from') ?? 1);
  mutants = mutants.filter((_, i) => i % every === 0 && i + 1 >= from);
  mutants = mutants.slice(0, Number(option('limit') ?? mutants.length));
  const timeoutSeconds = Number(option('timeout') ?? 300);
  const jobs = Math.max(1, Number(option('jobs') ?? 2));
  const listOnly = process.argv.includes('--list');

  const planned: Planned[] = mutants.map((mutant, n) => {
    const definition = structuredClone(base);
    mutant.apply(definition);
    const template = printTemplate(definition);
    const invalid = template === original ? 'no change' : invalidReason(template, original);
    if (invalid) return { n, mutant, verdict: `not run (${invalid})` };
    if (mutant.id in equivalent) return { n, mutant, verdict: 'equivalent' };
    if (listOnly) return { n, mutant, verdict: 'listed' };
    return { n, mutant, template };
  });

  const dir = mkdtempSync(join(tmpdir(), 'asl-mutants-'));
  const results: Array<{ id: string; verdict: string }> = [];
  const startedAt = Date.now();
  const report = (p: Planned, verdict: string, seconds?: number) => {
    results.push({ id: p.mutant.id, verdict });
    const took = seconds === undefined ? '' : ` (${seconds} s)`;
    // Numbered as in the whole list (--list), so that --from resumes where a run stopped.
    process.stdout.write(`[${numberOf.get(p.mutant.id)}/${all.length}] ${verdict.padEnd(9)} ${p.mutant.id}${took}\n`);
  };
  try {
    const toRun = planned.filter((p) => p.template !== undefined);
    let map: StateMap = [];
    if (toRun.length > 0) {
      process.stdout.write(`Mapping which states each definition test enters (one run of all of them)...\n`);
      map = await buildStateMap(dir);
    }
    for (const p of planned) if (p.verdict) report(p, p.verdict);
    let next = 0;
    const worker = async () => {
      while (next < toRun.length) {
        const p = toRun[next++];
        const file = join(dir, `mutant-${p.n}.asl.json`);
        writeFileSync(file, p.template!);
        const tests = testsFor(map, mutatedState(p.mutant));
        const began = Date.now();
        const verdict = await verdictOf(file, tests, timeoutSeconds);
        report(p, verdict, Math.round((Date.now() - began) / 1000));
      }
    };
    await Promise.all(Array.from({ length: jobs }, worker));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (listOnly) return;
  const counted = results.filter((r) => ['killed', 'survived', 'timeout'].includes(r.verdict));
  const killed = counted.filter((r) => r.verdict !== 'survived');
  const survivors = counted.filter((r) => r.verdict === 'survived');
  const stale = Object.keys(equivalent).filter((id) => !generateMutants(base).some((m) => m.id === id));
  process.stdout.write(
    `\nASL mutation score: ${killed.length}/${counted.length} killed` +
      (counted.length > 0 ? ` (${((100 * killed.length) / counted.length).toFixed(1)}%)` : '') +
      `; ${results.filter((r) => r.verdict === 'equivalent').length} equivalent (reviewed), ` +
      `${results.filter((r) => r.verdict.startsWith('not run')).length} not run (invalid or no change); ` +
      `${Math.round((Date.now() - startedAt) / 1000)} s\n`,
  );
  if (survivors.length > 0) process.stdout.write(`survivors:\n${survivors.map((r) => `  ${r.id}`).join('\n')}\n`);
  if (stale.length > 0)
    process.stdout.write(`asl-equivalent-mutants.json names mutants that no longer exist:\n  ${stale.join('\n  ')}\n`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
