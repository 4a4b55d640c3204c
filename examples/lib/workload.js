/**
 * Small helpers shared by the example workloads (plain Node, no dependencies): they are the local
 * stand-ins of the batch containers and run as child processes of the local ECS (local/local-ecs.ts).
 *
 * Environment they read:
 * - BATCH_RUNNER_OUTPUT_DIR: where to write results (the local ECS sets `<state-dir>/out`);
 *   default `.batch-runner/out` when run by hand.
 * - EXAMPLE_STEP_MS: pause per item, to make a run last long enough to watch (default 150).
 * - EXAMPLE_HOLD_FILE: if set, wait until this file exists before finishing (tests and demos use it to
 *   hold a run open while a second start contends for the lock).
 */
const { existsSync, mkdirSync, readFileSync } = require('node:fs');
const { join, resolve } = require('node:path');

const EXAMPLES_DIR = resolve(__dirname, '..');

function outputDir() {
  const dir = process.env.BATCH_RUNNER_OUTPUT_DIR || join(EXAMPLES_DIR, '..', '.batch-runner', 'out');
  mkdirSync(dir, { recursive: true });
  return dir;
}

function fixture(name) {
  return JSON.parse(readFileSync(join(EXAMPLES_DIR, 'fixtures', name), 'utf8'));
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

function step() {
  return sleep(Number(process.env.EXAMPLE_STEP_MS ?? 150));
}

async function holdIfAsked() {
  const file = process.env.EXAMPLE_HOLD_FILE;
  if (!file) return;
  console.log(`holding until ${file} exists`);
  while (!existsSync(file)) await sleep(100);
}

function escapeXml(text) {
  return String(text).replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c],
  );
}

/** Exits like a container that got SIGTERM and stopped cleanly (128 + 15), after saying so. */
function stopOnSigterm(what) {
  process.on('SIGTERM', () => {
    console.log(`SIGTERM received: ${what}`);
    process.exit(143);
  });
}

/**
 * The run's context the runner gives the batch container (README "Run context in the task"): the
 * slot's scheduled time (the same value for a retried or duplicated delivery), the trigger, the
 * execution and the attempt. A job that processes "its" window reads the scheduled time, not the clock.
 */
function runContext() {
  const env = process.env;
  return {
    scheduledTime: env.BATCH_RUNNER_SCHEDULED_TIME,
    trigger: env.BATCH_RUNNER_TRIGGER,
    executionArn: env.BATCH_RUNNER_EXECUTION_ARN,
    attempt: Number(env.BATCH_RUNNER_ATTEMPT || '1'),
    hardTimeoutSeconds: Number(env.BATCH_RUNNER_HARD_TIMEOUT_SECONDS || '0'),
  };
}

/** One line naming the run's context, printed first by the examples. */
function describeRunContext() {
  const c = runContext();
  if (!c.scheduledTime) return 'run context: not given (runContextEnvironment: false)';
  return `run context: scheduled time ${c.scheduledTime}, trigger ${c.trigger}, attempt ${c.attempt}`;
}

module.exports = {
  EXAMPLES_DIR,
  describeRunContext,
  escapeXml,
  fixture,
  holdIfAsked,
  outputDir,
  runContext,
  sleep,
  step,
  stopOnSigterm,
};
