import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * `npm run mutate:ts`: StrykerJS on the TypeScript that decides the runner's behaviour (stryker.config.mjs),
 * one group of files at a time, each with its own incremental file under bench/stryker-incremental/.
 * A group's results are kept as soon as it ends (a whole run takes about 85 minutes on 2 cores), and
 * the next run of a group tests only the mutants whose code or covering tests changed.
 * At the end it prints the score per file and in total from all the groups' files.
 * It runs the unit suites only (test/handlers, test/config, the definition's structure test): with the
 * scenario suites a surviving mutant costs minutes, so the score printed is a lower bound.
 *
 * Options: --group <name> (one group; default all), --score (only print the score of the kept results),
 * --force (test every mutant again). Too slow for CI: not part of `npm test`.
 */

const ROOT = join(__dirname, '..');
const INCREMENTAL_DIR = join(ROOT, 'bench', 'stryker-incremental');

/** The groups: each is one Stryker run (one dry run of the tests, then its mutants). */
export const GROUPS: Record<string, string[]> = {
  config: ['config/**/*.ts', '!config/batches.ts'],
  definition: ['state-machines/definition.ts'],
  reconciler: [
    'handlers/cleanup.ts',
    'handlers/lib/reconcile.ts',
    'handlers/lib/owed-alerts.ts',
    'handlers/lib/pause-on-failure.ts',
    'handlers/lib/pause-record.ts',
    'handlers/lib/schedule-state.ts',
  ],
  handlers: [
    'handlers/*.ts',
    'handlers/lib/*.ts',
    '!handlers/cleanup.ts',
    '!handlers/lib/reconcile.ts',
    '!handlers/lib/owed-alerts.ts',
    '!handlers/lib/pause-on-failure.ts',
    '!handlers/lib/pause-record.ts',
    '!handlers/lib/schedule-state.ts',
    '!handlers/lib/aws-clients.ts',
  ],
};

const incrementalFile = (group: string) => join(INCREMENTAL_DIR, `${group}.json`);

/** Stryker's statuses that count as detected, and those that count against the score. */
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

export interface FileScore {
  readonly file: string;
  readonly detected: number;
  readonly undetected: number;
  readonly ignored: number;
}

/** Scores per file from mutation-testing-report JSON files (Stryker's incremental files are such reports). */
export function scoresOf(reports: ReadonlyArray<{ files: Record<string, { mutants: Array<{ status: string }> }> }>) {
  const byFile = new Map<string, FileScore>();
  for (const report of reports)
    for (const [file, { mutants }] of Object.entries(report.files))
      byFile.set(file, {
        file,
        detected: mutants.filter((m) => DETECTED.has(m.status)).length,
        undetected: mutants.filter((m) => UNDETECTED.has(m.status)).length,
        ignored: mutants.filter((m) => !DETECTED.has(m.status) && !UNDETECTED.has(m.status)).length,
      });
  return [...byFile.values()].sort((a, b) => a.file.localeCompare(b.file));
}

const percent = (detected: number, undetected: number) =>
  detected + undetected === 0 ? 'n/a' : `${((100 * detected) / (detected + undetected)).toFixed(1)}%`;

function printScores(): void {
  const reports = Object.keys(GROUPS)
    .filter((g) => existsSync(incrementalFile(g)))
    .map((g) => JSON.parse(readFileSync(incrementalFile(g), 'utf8')));
  const scores = scoresOf(reports);
  const missing = Object.keys(GROUPS).filter((g) => !existsSync(incrementalFile(g)));
  for (const s of scores)
    process.stdout.write(
      `${s.file.padEnd(40)} ${percent(s.detected, s.undetected).padStart(6)}  ${s.detected} killed, ${s.undetected} survived or not covered${s.ignored ? `, ${s.ignored} ignored or not valid` : ''}\n`,
    );
  const detected = scores.reduce((n, s) => n + s.detected, 0);
  const undetected = scores.reduce((n, s) => n + s.undetected, 0);
  process.stdout.write(
    `\nStrykerJS mutation score: ${detected}/${detected + undetected} killed (${percent(detected, undetected)})` +
      (missing.length > 0 ? `; groups not yet run: ${missing.join(', ')}` : '') +
      '\n',
  );
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function main(): void {
  const only = option('group');
  if (only !== undefined && !(only in GROUPS))
    throw new Error(`unknown group "${only}"; the groups are: ${Object.keys(GROUPS).join(', ')}`);
  if (!process.argv.includes('--score'))
    for (const group of only ? [only] : Object.keys(GROUPS)) {
      process.stdout.write(`\n== StrykerJS, group ${group}: ${GROUPS[group].join(' ')}\n`);
      const run = spawnSync(
        process.execPath,
        [
          // The package exports no bin path; its package.json is exported.
          join(dirname(require.resolve('@stryker-mutator/core/package.json')), 'bin', 'stryker.js'),
          'run',
          '--mutate',
          GROUPS[group].join(','),
          '--incremental',
          '--incrementalFile',
          incrementalFile(group),
          ...(process.argv.includes('--force') ? ['--force'] : []),
        ],
        // The unit suites only (jest.mutation.config.js says why): the score is a lower bound.
        { cwd: ROOT, stdio: 'inherit', env: { ...process.env, BATCH_RUNNER_MUTATION_SUITES: 'unit' } },
      );
      if (run.status !== 0) throw new Error(`StrykerJS failed on group ${group} (exit ${run.status})`);
    }
  printScores();
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
