import { benchStateMachine } from './asl-bench';
import { measureConcurrentStarts } from './concurrency-bench';
import { measureDemoSeconds } from './demo-bench';
import { benchReconciler } from './reconcile-bench';
import { MAX_BATCHES_PER_STACK } from '../infra/batch-runner-app';
import { benchInfra, formatInfraBench, measureAddedBatch, measureWorstCase } from './infra-bench';

/**
 * `npm run bench`: prints figures, never fails on a slow machine. Targets (issue 2): happy path at
 * most 8 states and 3 sequential AWS calls before the task starts (a scheduled run now takes 11 and 5:
 * its slot claim makes a late duplicate delivery harmless, the check of tasks still stopping keeps a
 * copy being stopped from overlapping); waiting at most 20 transitions
 * per hour; StopTask within 60 s of the deadline; end of task noticed within 60 s.
 */
async function main(): Promise<void> {
  const figures: Record<string, unknown> = {};
  process.stdout.write('state machine (real ASL, executed offline)...\n');
  const sm = await benchStateMachine();
  process.stdout.write(`  happy path: ${sm.happyPathStates} states entered (${sm.happyPathStateNames.join(' > ')})\n`);
  process.stdout.write(
    `  sequential AWS calls before RunTask: ${sm.callsBeforeRunTask} (${sm.callsBeforeRunTask + 1} including RunTask)\n`,
  );
  process.stdout.write(
    `  waiting: ${sm.transitionsPerWaitChunk} transitions per chunk; per hour by batch: ${JSON.stringify(sm.waitTransitionsPerHour)}\n`,
  );
  process.stdout.write(
    `  stop latency: measured ${sm.stopLatencySeconds} s; bound by batch ${JSON.stringify(sm.stopLatencyBoundSeconds)}\n`,
  );
  process.stdout.write(
    `  completion latency: measured ${sm.completionLatencySeconds} s (lost ECS event: within ${JSON.stringify(sm.lostEventDetectionSeconds)} s)\n`,
  );
  Object.assign(figures, {
    happyPathStates: sm.happyPathStates,
    callsBeforeRunTask: sm.callsBeforeRunTask,
    callsUntilTaskStarts: sm.callsBeforeRunTask + 1,
    waitTransitionsPerHour: Math.max(...Object.values(sm.waitTransitionsPerHour)),
    stopLatencySeconds: Math.max(sm.stopLatencySeconds, ...Object.values(sm.stopLatencyBoundSeconds)),
    completionLatencySeconds: sm.completionLatencySeconds,
  });

  process.stdout.write('reconciler (one pass against dynalite; outage bound from the definition)...\n');
  const rec = await benchReconciler();
  process.stdout.write(
    `  lost ECS event: the runner knows within ${rec.lostEventDetectionSeconds} s (one pass interval; a pass took ${rec.passMilliseconds} ms)\n`,
  );
  process.stdout.write(
    `  StopTask after the deadline with Lambda down: at most ${rec.stopLatencyUnderOutageSeconds} s (the watcher's retry budget, then the definition stops the task itself)\n`,
  );
  Object.assign(figures, {
    lostEventDetectionSeconds: rec.lostEventDetectionSeconds,
    stopLatencyUnderOutageSeconds: rec.stopLatencyUnderOutageSeconds,
  });

  process.stdout.write('infrastructure (real CDK synth with bundling, 1 / 50 / 200 batches)...\n');
  const infra = await benchInfra([1, 50, 200]);
  for (const line of formatInfraBench(infra)) process.stdout.write(`  ${line}\n`);
  const added = { imported: measureAddedBatch('imported'), created: measureAddedBatch('created') };
  process.stdout.write(
    `  one more batch: ${added.imported.resources} resources and ${added.imported.bytes} bytes (imported task definition), ${added.created.resources} and ${added.created.bytes} (created)\n`,
  );
  const worst = { imported: measureWorstCase('imported'), created: measureWorstCase('created') };
  for (const [kind, w] of Object.entries(worst))
    process.stdout.write(
      `  worst case (${kind}, ${MAX_BATCHES_PER_STACK} batches per stack at the longest names validation accepts): largest stack ${w.maxTemplateBytes} bytes, ${w.maxResourcesPerStack} resources\n`,
    );
  Object.assign(figures, {
    resourcesPerBatch: { imported: added.imported.resources, created: added.created.resources },
    bytesPerBatch: { imported: added.imported.bytes, created: added.created.bytes },
    batchesPerStack: MAX_BATCHES_PER_STACK,
    stacksFor200Batches: infra.find((r) => r.batches === 200)?.stacks,
    worstCaseTemplateBytes: Math.max(worst.imported.maxTemplateBytes, worst.created.maxTemplateBytes),
    worstCaseResourcesPerStack: Math.max(worst.imported.maxResourcesPerStack, worst.created.maxResourcesPerStack),
    synthSeconds: Object.fromEntries(infra.map((r) => [String(r.batches), r.synthSeconds])),
  });

  process.stdout.write('concurrency (local mode: 200 executions of one batch started at once)...\n');
  const burst = await measureConcurrentStarts(200);
  process.stdout.write(
    `  ${burst.starts} starts, ${burst.runs} task run, all decided in ${burst.secondsUntilDecided} s, done in ${burst.seconds} s\n`,
  );
  Object.assign(figures, { concurrentStarts: { starts: burst.starts, runs: burst.runs, seconds: burst.seconds } });

  process.stdout.write('demo (npm start, in a fresh state directory)...\n');
  const demoSeconds = await measureDemoSeconds();
  process.stdout.write(`  ${demoSeconds} s\n`);
  Object.assign(figures, { demoSeconds });

  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exitCode = 1;
});
