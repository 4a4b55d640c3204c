import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { coverageDir, coverageVerdict, removeCoverageDir } from './asl-coverage';

/** What the local mode and its tests start: the CLI, task agents, example batches, the lock-store server. */
const OURS = /bin\/batch-runner\.js|local\/task-agent\.js|examples\/[\w-]+\.js|local\/dynamodb-server\.js/;

interface Survivor {
  readonly pid: number;
  readonly command: string;
}

/** Live (not zombie) processes of this test run whose command line is one of ours. */
function survivors(marker: string): Survivor[] {
  const found: Survivor[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (!OURS.test(command)) continue;
      if (!readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(marker)) continue;
      found.push({ pid, command });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/**
 * Jest globalTeardown: every test stops what it started (cleanUpStateDir in afterAll/afterEach, also
 * after a failure or a timeout). A process of this run still alive here outlived its test: it is
 * killed with its process group, and the run fails naming it.
 */
export default async function globalTeardown(): Promise<void> {
  const run = process.env.BATCH_RUNNER_TEST_RUN;
  if (!run) return;
  const coverageFailure = checkAslCoverage();
  const marker = `BATCH_RUNNER_TEST_RUN=${run}`;
  let left = survivors(marker);
  // Processes killed in the last afterAll may take a moment to go.
  for (let i = 0; i < 30 && left.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = survivors(marker);
  }
  if (left.length === 0) {
    if (coverageFailure) throw new Error(coverageFailure);
    return;
  }
  for (const { pid } of left) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {}
    }
  }
  throw new Error(
    `processes started by the tests outlived them (now killed):\n${left.map((p) => `  ${p.pid} ${p.command}`).join('\n')}` +
      (coverageFailure ? `\n${coverageFailure}` : ''),
  );
}

/**
 * Transition coverage of the ASL definition (test/support/asl-coverage.ts): judged when every definition
 * test file ran (not on a targeted run of some of them); returns the failure message, if any.
 */
function checkAslCoverage(): string | undefined {
  const dir = coverageDir();
  if (!dir || !existsSync(dir)) return undefined;
  try {
    const { summary, message } = coverageVerdict(dir);
    if (summary && !message) console.log(`\n${summary}`);
    return message;
  } finally {
    removeCoverageDir(dir);
  }
}
