import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineEvent } from '../../local/run-execution';

/**
 * Transition coverage of the ASL definition: which edges of the state graph the definition tests
 * (test/state-machines) made the engine take, measured from aws-local-stepfunctions' event log.
 *
 * An edge is one way out of a state:
 *   `A --Next--> B`, `A --End`, `A --Choices[i]--> B`, `A --Default--> B`,
 *   `A --Catch[i]--> B` (caught and went on), `A --Retry[i]--> A` (retried at least once),
 *   `M --ItemProcessor--> S` (a Map iteration started at S).
 *
 * Every execution of the harness (runScenario) in a test file of test/state-machines records the edges
 * it took; each test file writes its set to a file of its own under {@link coverageDir} in afterAll
 * (Jest runs files in parallel workers), and the globalTeardown compares their union with the edges of
 * the rendered definition (test/support/global-teardown.ts, {@link coverageReport}).
 */

type Json = Record<string, any>;

export interface Edge {
  readonly id: string;
  readonly from: string;
  /** What the edge is, for the report: the error names of a Catch or Retry, the rule of a Choice. */
  readonly detail: string;
}

/** The states of a definition by name (Map and Parallel inner states included), with their scope. */
function statesOf(definition: Json): Map<string, { state: Json; parent?: string }> {
  const found = new Map<string, { state: Json; parent?: string }>();
  const walk = (states: Json, parent?: string) => {
    for (const [name, state] of Object.entries(states)) {
      found.set(name, { state, parent });
      if (state.Type === 'Map') walk((state.ItemProcessor ?? state.Iterator).States, name);
      if (state.Type === 'Parallel') for (const b of state.Branches) walk(b.States, name);
    }
  };
  walk(definition.States);
  return found;
}

const short = (value: unknown) => {
  const text = JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
};

/** Every edge of the state graph of a (rendered) definition. */
export function edgesOf(definition: Json): Edge[] {
  const edges: Edge[] = [];
  for (const [name, { state }] of statesOf(definition)) {
    (state.Retry ?? []).forEach((r: Json, i: number) =>
      edges.push({ id: `${name} --Retry[${i}]--> ${name}`, from: name, detail: short(r.ErrorEquals) }),
    );
    (state.Catch ?? []).forEach((c: Json, i: number) =>
      edges.push({ id: `${name} --Catch[${i}]--> ${c.Next}`, from: name, detail: short(c.ErrorEquals) }),
    );
    if (state.Type === 'Choice') {
      state.Choices.forEach((rule: Json, i: number) => {
        const { Next: _next, Comment: _comment, ...condition } = rule;
        edges.push({ id: `${name} --Choices[${i}]--> ${rule.Next}`, from: name, detail: short(condition) });
      });
      if (state.Default) edges.push({ id: `${name} --Default--> ${state.Default}`, from: name, detail: '' });
    }
    if (state.Type === 'Map') {
      const start = (state.ItemProcessor ?? state.Iterator).StartAt;
      edges.push({ id: `${name} --ItemProcessor--> ${start}`, from: name, detail: '' });
    }
    if (state.Type === 'Parallel') {
      state.Branches.forEach((b: Json, i: number) =>
        edges.push({ id: `${name} --Branches[${i}]--> ${b.StartAt}`, from: name, detail: '' }),
      );
    }
    if (state.Next) edges.push({ id: `${name} --Next--> ${state.Next}`, from: name, detail: '' });
    if (state.End) edges.push({ id: `${name} --End`, from: name, detail: '' });
  }
  return edges;
}

/**
 * Which rule of a Choice state matched `input`: the engine itself decides, on a copy of the state whose
 * rules lead to distinct states (only needed when several rules, or a rule and the Default, share a target).
 */
async function matchedChoice(choice: Json, input: unknown, context: Json): Promise<string> {
  const { StateMachine } = await import('aws-local-stepfunctions');
  const probe = {
    StartAt: 'Choice',
    States: {
      Choice: {
        ...choice,
        Choices: choice.Choices.map((rule: Json, i: number) => ({ ...rule, Next: `Choices[${i}]` })),
        ...(choice.Default ? { Default: 'Default' } : {}),
      },
      ...Object.fromEntries(choice.Choices.map((_: Json, i: number) => [`Choices[${i}]`, { Type: 'Succeed' }])),
      Default: { Type: 'Succeed' },
    },
  };
  const machine = new StateMachine(probe as any, { validationOptions: { noValidate: true } });
  const entered: string[] = [];
  const execution = machine.run(input as any, { context: context as any });
  const events = (async () => {
    for await (const event of execution.eventLogs) if (event.type === 'StateEntered') entered.push(event.state.name);
  })();
  await execution.result;
  await events;
  return entered[1];
}

/**
 * The edges one execution took, from its event log. `context` is the Context Object the execution ran
 * with (Choice rules may compare against `$$.Execution.Id`).
 */
export async function transitionsOf(
  definition: Json,
  events: readonly EngineEvent[],
  context: Json,
): Promise<string[]> {
  const states = statesOf(definition);
  const taken = new Set<string>();
  const scopeOf = (name: string, index: number | undefined) => `${states.get(name)?.parent ?? ''}#${index ?? ''}`;
  /** Per scope: the state that exited normally (Next/Choice) and waits for the next state entered. */
  const pending = new Map<string, { name: string; input: unknown }>();
  const caught = new Set<string>();
  for (const event of events) {
    if (event.type === 'MapIterationStarted' || event.type === 'ParallelBranchStarted') {
      const parent = states.get(event.parentState.name)?.state;
      if (parent?.Type === 'Map')
        taken.add(`${event.parentState.name} --ItemProcessor--> ${(parent.ItemProcessor ?? parent.Iterator).StartAt}`);
      continue;
    }
    if (
      event.type !== 'StateEntered' &&
      event.type !== 'StateExited' &&
      event.type !== 'StateRetried' &&
      event.type !== 'StateCaught'
    )
      continue;
    const name = event.state.name;
    const state = states.get(name)?.state;
    if (!state) continue;
    const scope = scopeOf(name, event.index);
    if (event.type === 'StateRetried') {
      const i = (state.Retry ?? []).findIndex((r: Json) => short(r) === short(event.retry.retrier));
      taken.add(`${name} --Retry[${i}]--> ${name}`);
    } else if (event.type === 'StateCaught') {
      const i = (state.Catch ?? []).findIndex((c: Json) => short(c) === short(event.catch.catcher));
      taken.add(`${name} --Catch[${i}]--> ${state.Catch?.[i]?.Next}`);
      caught.add(`${scope}/${name}`);
    } else if (event.type === 'StateExited') {
      if (caught.delete(`${scope}/${name}`)) continue;
      if (state.End) taken.add(`${name} --End`);
      else if (state.Next || state.Type === 'Choice') pending.set(scope, { name, input: event.state.input });
    } else {
      const from = pending.get(scope);
      pending.delete(scope);
      if (!from) continue;
      const source = states.get(from.name)!.state;
      if (source.Type !== 'Choice') {
        taken.add(`${from.name} --Next--> ${name}`);
        continue;
      }
      const candidates = [
        ...source.Choices.map((rule: Json, i: number) => (rule.Next === name ? `Choices[${i}]` : undefined)),
        source.Default === name ? 'Default' : undefined,
      ].filter((c): c is string => c !== undefined);
      const branch = candidates.length === 1 ? candidates[0] : await matchedChoice(source, from.input, context);
      taken.add(`${from.name} --${branch}--> ${name}`);
    }
  }
  return [...taken];
}

/** Where the test files of one Jest run write what they covered (the run is marked by global-setup.ts). */
export function coverageDir(run: string | undefined = process.env.BATCH_RUNNER_TEST_RUN): string | undefined {
  if (!run || process.env.BATCH_RUNNER_ASL_COVERAGE === 'off') return undefined;
  return join(tmpdir(), 'batch-runner-asl-coverage', run);
}

/** Edges the definition tests cannot take offline, each with the reason (reviewed). */
export const UNREACHABLE_EDGES_FILE = join(__dirname, '..', 'state-machines', 'uncovered-edges.json');

/** The test files whose executions count: the definition tests. */
export const COVERAGE_TEST_DIR = join(__dirname, '..', 'state-machines');

const coveredInThisFile = new Set<string>();

/**
 * The global under which the mutation runs' test environment (asl-mutation-environment.ts) keeps a Set
 * of the states the current test's executions entered; the harness adds to it when it is there.
 */
export const STATES_ENTERED = '__batchRunnerStatesEntered';

/** Adds one execution's edges to this test file's coverage (only for the definition tests). */
export function recordTransitions(edges: readonly string[]): void {
  for (const edge of edges) coveredInThisFile.add(edge);
}

/** Whether the current test file is one of the definition tests (test/state-machines). */
export function inDefinitionTest(): boolean {
  const testPath = (globalThis as any).expect?.getState?.().testPath as string | undefined;
  return testPath !== undefined && testPath.startsWith(COVERAGE_TEST_DIR) && coverageDir() !== undefined;
}

/**
 * Writes this test file's coverage (called once per definition test file, after its tests), with the
 * edges of the definition as the tests render it (`definition`), which the teardown compares against.
 */
export function writeFileCoverage(testPath: string, definition: Json): void {
  const dir = coverageDir();
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${testPath.slice(COVERAGE_TEST_DIR.length + 1).replace(/[^\w.-]/g, '_')}.json`);
  writeFileSync(file, JSON.stringify({ testPath, edges: edgesOf(definition), covered: [...coveredInThisFile].sort() }));
}

/**
 * The definition test files whose reports the verdict needs: those of test/state-machines that use the
 * harness (which reports in afterAll). Until all of them reported (a targeted run), there is no verdict.
 */
export function definitionTestFiles(): string[] {
  return readdirSync(COVERAGE_TEST_DIR)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(COVERAGE_TEST_DIR, f))
    .filter((f) => readFileSync(f, 'utf8').includes('support/asl-harness'))
    .sort();
}

export interface CoverageReport {
  readonly total: number;
  readonly covered: number;
  readonly listed: number;
  readonly uncovered: Edge[];
  /** Listed as unreachable but covered after all, or no longer an edge: the list must be updated. */
  readonly stale: string[];
  /** Definition test files that did not report (a targeted run): no verdict then. */
  readonly missingFiles: string[];
}

/** Compares what the definition test files covered with the edges of the definition. */
export function coverageReport(
  dir: string,
  testFiles: readonly string[],
  unreachable: Readonly<Record<string, string>>,
): CoverageReport {
  const reports = readdirSync(dir).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
  const reported = new Set(reports.map((r) => r.testPath as string));
  const covered = new Set<string>(reports.flatMap((r) => r.covered as string[]));
  const byId = new Map<string, Edge>(reports.flatMap((r) => (r.edges as Edge[]).map((e) => [e.id, e] as const)));
  const edges = [...byId.values()];
  const ids = new Set(edges.map((e) => e.id));
  return {
    total: edges.length,
    covered: edges.filter((e) => covered.has(e.id)).length,
    listed: Object.keys(unreachable).length,
    uncovered: edges.filter((e) => !covered.has(e.id) && !(e.id in unreachable)),
    stale: Object.keys(unreachable).filter((id) => covered.has(id) || !ids.has(id)),
    missingFiles: testFiles.filter((f) => !reported.has(f)),
  };
}

export function removeCoverageDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The teardown's verdict: undefined when covered (or not measured), else the message to fail with. */
export function coverageVerdict(dir: string): { message?: string; summary?: string } {
  const unreachable = JSON.parse(readFileSync(UNREACHABLE_EDGES_FILE, 'utf8')) as Record<string, string>;
  const report = coverageReport(dir, definitionTestFiles(), unreachable);
  if (report.missingFiles.length > 0) return {};
  const summary =
    `ASL transition coverage: ${report.covered}/${report.total} edges taken by the definition tests, ` +
    `${report.listed} listed as unreachable offline (test/state-machines/uncovered-edges.json).`;
  const problems: string[] = [];
  if (report.uncovered.length > 0)
    problems.push(
      `${report.uncovered.length} edge(s) of state-machines/batch-runner.asl.json no definition test takes ` +
        `(add a scenario to test/state-machines, or list the edge with the reason in uncovered-edges.json):\n` +
        report.uncovered.map((e) => `  ${e.id}${e.detail ? `  ${e.detail}` : ''}`).join('\n'),
    );
  if (report.stale.length > 0)
    problems.push(
      `uncovered-edges.json lists edges that are covered or no longer exist (remove them):\n` +
        report.stale.map((id) => `  ${id}`).join('\n'),
    );
  return { summary, message: problems.length > 0 ? `${summary}\n${problems.join('\n')}` : undefined };
}
