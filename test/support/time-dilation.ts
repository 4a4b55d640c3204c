/**
 * Test-only clock acceleration for the timers of aws-local-stepfunctions: while installed, every
 * `setTimeout` of a second or more fires `factor` times sooner, so a Task state's TimeoutSeconds of
 * 60 s ends a call that never answers after 60 ms, and a 23-day timeout (a careless edit) still hangs
 * the test. Timers under a second (the harness's own short waits, Wait states it already shortened) are
 * left alone. Ratios are kept: a run still ends inside its (equally shortened) execution timeout.
 */
export function dilateTimers(factor: number): () => void {
  const real = globalThis.setTimeout;
  const dilated = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
    real(fn, typeof ms === 'number' && ms >= 1000 ? ms / factor : ms, ...args)) as typeof setTimeout;
  globalThis.setTimeout = Object.assign(dilated, real);
  return () => {
    globalThis.setTimeout = real;
  };
}
