#!/usr/bin/env node
/**
 * Demo batch `flaky-import`: imports the partner feed of its slot (BATCH_RUNNER_SCHEDULED_TIME, the
 * same on every attempt, so a retried attempt imports the same window). It plays the two failures a
 * retry policy tells apart: on attempt 1 its (local) Spot capacity is taken back - an infrastructure
 * disruption, ECS stop code SpotInterruption - and on attempt 2 the feed is not ready yet, exit 75
 * (EX_TEMPFAIL). Attempt 3 imports. Its retry policy (examples/demo-batches.ts) retries both.
 */
const { writeFileSync } = require('node:fs');
const { describeRunContext, runContext, step, stopOnSigterm } = require('./lib/workload');

stopOnSigterm('stopping the import; nothing was committed');

async function main() {
  const { scheduledTime, attempt } = runContext();
  console.log(describeRunContext());
  await step();
  if (attempt === 1) {
    console.log('the Spot capacity under this task is taken back (simulated: ECS stop code SpotInterruption)');
    writeFileSync(
      process.env.BATCH_RUNNER_LOCAL_SIMULATED_STOP_FILE,
      JSON.stringify({ stopCode: 'SpotInterruption', stoppedReason: 'Your Spot Task was interrupted.' }),
    );
    process.exit(143);
  }
  if (attempt === 2) {
    console.log(`the partner feed for ${scheduledTime} is not ready yet: exit 75 (EX_TEMPFAIL, try again later)`);
    process.exit(75);
  }
  await step();
  console.log(`imported the partner feed for the window ending ${scheduledTime}`);
}

main().catch((err) => {
  console.error(`import failed: ${err.stack || err}`);
  process.exit(1);
});
