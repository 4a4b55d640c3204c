import { STATE_STORY } from '../../cli/state-story';
import { BATCHES } from '../../config/batches';
import { deriveTimings } from '../../config/timings';
import { taskStatesOf } from '../../local/task-resources';
import {
  PLACEHOLDER_DOCS,
  placeholdersIn,
  START_TASK_STATES,
  readDefinitionTemplate,
  renderDefinition,
  substitutionsFor,
} from '../../state-machines/definition';
import { TEST_BATCH, TEST_BINDINGS } from '../support/asl-harness';
import { retrierProblems } from '../support/aws-asl-rules';

// asl-validator is CommonJS: module.exports is the validator function.
const validateAsl: (def: unknown) => { isValid: boolean; errors: unknown[] } = require('asl-validator');

const template = readDefinitionTemplate();
const render = (batch = TEST_BATCH) => JSON.parse(renderDefinition(substitutionsFor(batch, TEST_BINDINGS), template));

describe('the ASL template', () => {
  test('is valid States Language once rendered, for every configured batch', () => {
    for (const batch of [TEST_BATCH, ...BATCHES]) {
      const result = validateAsl(render(batch));
      expect({ batch: batch.name, errors: result.errors }).toEqual({ batch: batch.name, errors: [] });
      expect(result.isValid).toBe(true);
    }
  });

  test('keeps to the rules AWS adds to States Language (a zero retry back-off is refused on deploy)', () => {
    for (const batch of [TEST_BATCH, ...BATCHES])
      expect({ batch: batch.name, problems: retrierProblems(render(batch)) }).toEqual({
        batch: batch.name,
        problems: [],
      });
    const zeroBackOff = render();
    zeroBackOff.States.ClaimScheduledSlot.Retry[0].IntervalSeconds = 0;
    expect(retrierProblems(zeroBackOff)).toEqual([
      'ClaimScheduledSlot.Retry[0].IntervalSeconds is 0; AWS accepts a whole number of seconds from 1 to 99999999',
    ]);
  });

  test('every placeholder is documented, and every documented placeholder is used', () => {
    expect(placeholdersIn(template)).toEqual(Object.keys(PLACEHOLDER_DOCS).sort());
  });

  test('substitutions cover exactly the placeholders; a missing or unused one is refused', () => {
    const subs = substitutionsFor(TEST_BATCH, TEST_BINDINGS);
    expect(Object.keys(subs).sort()).toEqual(placeholdersIn(template));
    const { BatchName: _dropped, ...missing } = subs;
    expect(() => renderDefinition(missing, template)).toThrow(/missing \["BatchName"\]/);
    expect(() => renderDefinition({ ...subs, Typo: 'x' }, template)).toThrow(/unused \["Typo"\]/);
  });

  test('uses JSONPath (runnable offline) and names no JSONata', () => {
    const def = render();
    expect(def.QueryLanguage).toBe('JSONPath');
    expect(template).not.toMatch(/\{%/);
  });

  test('every Task state sets TimeoutSeconds explicitly (the local engine defaults to 60 s, AWS to never)', () => {
    const def = render();
    const missing = taskStatesOf(def)
      .filter(({ state }) => typeof state.TimeoutSeconds !== 'number')
      .map(({ name }) => name);
    expect(missing).toEqual([]);
  });

  test('every top-level Task and Map state catches States.ALL, so no error skips the cleanup path', () => {
    const def = render();
    const uncaught = Object.entries<any>(def.States)
      .filter(([, s]) => s.Type === 'Task' || s.Type === 'Map')
      .filter(([, s]) => !(s.Catch ?? []).some((c: any) => c.ErrorEquals.includes('States.ALL')))
      .map(([name]) => name);
    expect(uncaught).toEqual([]);
  });

  test('the execution timeout is above hard timeout + stop grace + stop confirmation, for every batch', () => {
    for (const batch of BATCHES) {
      const def = render(batch);
      const t = deriveTimings(batch);
      expect(def.TimeoutSeconds).toBe(t.executionTimeoutSeconds);
      expect(def.TimeoutSeconds).toBeGreaterThan(
        t.hardTimeoutSeconds + t.stopGraceSeconds + t.stopConfirmAttempts * t.stopConfirmIntervalSeconds,
      );
      expect(def.States.WaitForTaskToStop.TimeoutSeconds * t.waitChunkCount).toBeGreaterThanOrEqual(
        t.hardTimeoutSeconds,
      );
      expect(t.stopLatencyBoundSeconds).toBeLessThanOrEqual(60);
    }
  });

  test('START_TASK_STATES (what the CLI, the local mode and the demo read the started task from) are exactly the RunTask states', () => {
    const runTasks = Object.entries<any>(render().States)
      .filter(([, s]) => s.Resource === 'arn:aws:states:::aws-sdk:ecs:runTask')
      .map(([name]) => name);
    expect([...START_TASK_STATES].sort()).toEqual(runTasks.sort());
    // Each differs from StartBatchTask only in where the task runs; the rest of the request is the same.
    const placement = ['LaunchType', 'PlatformVersion', 'CapacityProviderStrategy', 'CapacityProviderStrategy.$'];
    const rest = (name: string) => {
      const { Parameters, Comment: _comment, ...state } = render().States[name];
      return {
        ...state,
        Parameters: Object.fromEntries(Object.entries(Parameters).filter(([k]) => !placement.includes(k))),
      };
    };
    for (const name of START_TASK_STATES) expect(rest(name)).toEqual(rest('StartBatchTask'));
  });

  test('the scheduled input route requires the exact scheduler shape', () => {
    const route = render().States.RouteInput;
    expect(route.Choices[0].Next).toBe('PrepareScheduledRun');
    expect(route.Default).toBe('ValidateManualInput');
  });

  test('the dependency route requires the exact rule shape: no reason, requestedBy or overrides can ride along', () => {
    const route = render().States.RouteInput;
    expect(route.Choices[1].Next).toBe('PrepareDependencyRun');
    const rules = JSON.stringify(route.Choices[1].And);
    for (const key of ['$.overrides', '$.reason', '$.requestedBy'])
      expect(route.Choices[1].And).toContainEqual({ Not: { Variable: key, IsPresent: true } });
    expect(rules).toContain('"StringEquals":"dependency"');
    expect(rules).toContain('"Variable":"$.scheduledTime","IsTimestamp":true');
    // The dependency run claims its slot like a scheduled run.
    expect(render().States.PrepareDependencyRun.Next).toBe('ClaimScheduledSlot');
  });
});

describe('the CLI story of the console graph (cli/state-story.ts)', () => {
  test('tells only of states the definition has: a renamed or removed state leaves no stale line', () => {
    const def = render();
    const names = new Set(Object.keys(def.States));
    for (const s of Object.values<any>(def.States))
      if (s.Type === 'Map') for (const inner of Object.keys((s.ItemProcessor ?? s.Iterator).States)) names.add(inner);
    expect(Object.keys(STATE_STORY).filter((state) => !names.has(state))).toEqual([]);
    // The states a person watches for: the start, the lock, the task, the release and the alert.
    for (const state of [
      'AcquireLock',
      'SettleStaleLock',
      'StartBatchTask',
      'ReleaseLockAfterFailure',
      'PublishFailureAlert',
    ])
      expect(STATE_STORY[state]).toEqual(expect.any(String));
  });
});
