/**
 * Process entry of `batch-runner` (bin/batch-runner.js loads it through tsx): wires the terminal -
 * Ctrl-C, confirmation prompts, the exit code - around runCli().
 */
import { createInterface } from 'node:readline/promises';
import { EXIT } from './exit-codes';
import { markOutputClosed } from './format';
import { runCli } from './program';
import { processTerminal } from './terminal';

// The SDK warns on every run that Node 20 support ends in 2027; the README states the Node versions.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const interrupt = new AbortController();
let interrupts = 0;
const onSignal = () => {
  interrupts += 1;
  // First Ctrl-C: stop gracefully (a local run stops its task and releases its lock). Second: now.
  if (interrupts > 1) process.exit(EXIT.INTERRUPTED);
  process.stderr.write('\ninterrupted: stopping (Ctrl-C again to quit at once)\n');
  interrupt.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// Runs this process supervises (`run`): they go on to their end when the output is closed.
let supervising = 0;
let supervisedCode: number | undefined;
async function supervise(work: () => Promise<number>): Promise<number> {
  supervising += 1;
  try {
    supervisedCode = await work();
    return supervisedCode;
  } finally {
    supervising -= 1;
  }
}

// A closed pipe (`batch-runner history x | head`, `run x --local --wait | head -3`): stop writing to
// it. A read command then ends quietly; a run goes on - this process may be the runner (local mode),
// whose task, hard timeout, lock and alert must not be abandoned - and exits with the run's code.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    markOutputClosed(stream);
    if (supervising === 0) process.exit(process.exitCode ?? supervisedCode ?? 0);
  });
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

void runCli(process.argv.slice(2), {
  signal: interrupt.signal,
  interactive: Boolean(process.stdin.isTTY),
  confirm,
  supervise,
  terminal: processTerminal(),
}).then((code) => {
  process.exitCode = code;
  // Idle SDK sockets or timers must not keep a finished command alive.
  setTimeout(() => process.exit(code), 1000).unref();
});
