import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import NodeEnvironment from 'jest-environment-node';
import { STATES_ENTERED } from './asl-coverage';

/**
 * The Jest test environment `npm run mutate:asl` runs the definition tests in (bench/mutate-asl.ts passes
 * it with `--testEnvironment`; `npm test` does not use it). Two jobs, both to make a run of hundreds of
 * mutants take minutes instead of hours:
 *
 * - **State map** (`BATCH_RUNNER_ASL_STATE_MAP=<dir>`, on the unmutated definition): writes, per test file,
 *   which states each test's executions entered (the harness adds them to the set at `globalThis[STATES_ENTERED]`). A
 *   mutant edits one state, and only an execution that enters that state can behave differently, so a
 *   mutant needs only the tests that entered its state (plus the tests that run no execution: they read
 *   the definition itself), and how long each took (a mutant's run gets a test timeout from them).
 * - **Fail fast** (`BATCH_RUNNER_FAIL_FAST=1`): after the first failing test of a file the rest are
 *   skipped. One failure kills the mutant; Jest's `--bail` stops the other files.
 */
/** The parts of jest-circus' test events this environment reads (jest-circus 29). */
interface TestBlock {
  readonly name: string;
  readonly parent?: TestBlock;
}
interface TestEntry extends TestBlock {
  mode?: 'skip' | 'only' | 'todo';
}
interface TestEntry extends TestBlock {
  duration?: number | null;
}
type TestEvent = { readonly name: string; readonly test?: TestEntry };

/** A test's full name as Jest's `--testNamePattern` matches it: describe titles and the test title. */
function fullName(test: TestEntry): string {
  const titles: string[] = [test.name];
  for (let block = test.parent; block && block.parent; block = block.parent) titles.unshift(block.name);
  return titles.join(' ');
}

export default class AslMutationEnvironment extends NodeEnvironment {
  private readonly testPath: string;
  private failed = false;
  private readonly statesByTest: Record<string, string[]> = {};
  private readonly millisByTest: Record<string, number> = {};

  constructor(...[config, context]: ConstructorParameters<typeof NodeEnvironment>) {
    super(config, context);
    this.testPath = context.testPath;
  }

  async handleTestEvent(event: TestEvent): Promise<void> {
    if (event.name === 'test_start') {
      // Jest decides whether to skip a test after this event, from its mode.
      if (this.failed && process.env.BATCH_RUNNER_FAIL_FAST === '1') event.test!.mode = 'skip';
      this.global[STATES_ENTERED] = new Set<string>();
    }
    if (event.name === 'test_fn_failure' || event.name === 'hook_failure') this.failed = true;
    if (event.name === 'test_done') {
      const entered = this.global[STATES_ENTERED] as Set<string> | undefined;
      this.statesByTest[fullName(event.test!)] = [...(entered ?? [])].sort();
      this.millisByTest[fullName(event.test!)] = event.test!.duration ?? 0;
    }
  }

  async teardown(): Promise<void> {
    const dir = process.env.BATCH_RUNNER_ASL_STATE_MAP;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, `${basename(this.testPath)}.json`),
        JSON.stringify({ testPath: this.testPath, tests: this.statesByTest, millis: this.millisByTest }),
      );
    }
    await super.teardown();
  }
}
