/**
 * Jest globalSetup: marks this test run, so that global-teardown.ts can tell the processes it started
 * (they inherit the variable: CLI processes, task agents, batch processes, lock-store servers) from
 * those of other test runs on the same machine.
 */
export default function globalSetup(): void {
  process.env.BATCH_RUNNER_TEST_RUN = `${process.pid}-${Date.now()}`;
}
