/**
 * Jest configuration for the mutation runs: StrykerJS (`npm run mutate:ts`) and the ASL mutants
 * (`npm run mutate:asl`, which names the definition test files itself). It runs the in-process suites
 * that exercise handlers/, config/ and state-machines/: Stryker measures which test covers which
 * mutant only in the Jest process, so suites that run the code in child processes (local mode, CLI
 * end-to-end) cannot kill a mutant and are left out.
 * ts-jest only transpiles here (type errors a mutant introduces are not a verdict; `npm test` type-checks
 * the unmutated code), and there is no global setup or teardown: a run starts in about 2 s instead of
 * 12 s, which is most of what a killed mutant costs.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');

/**
 * `BATCH_RUNNER_MUTATION_SUITES=unit` (set by `npm run mutate:ts`): only the unit suites, which run in
 * seconds. The definition's scenario suites also run the reconciler, the config and the renderer, so
 * Stryker counts every one of them as covering those mutants, and a surviving mutant then costs minutes
 * of scenarios: hours per group on 2 cores. Leaving them out can only lose kills: the score it gives is
 * a lower bound.
 */
const UNIT_SUITES = [
  '<rootDir>/test/handlers/**/*.test.ts',
  '<rootDir>/test/config/**/*.test.ts',
  '<rootDir>/test/state-machines/batch-runner.structure.test.ts',
];

module.exports = {
  ...base,
  roots: ['<rootDir>/test'],
  testMatch:
    process.env.BATCH_RUNNER_MUTATION_SUITES === 'unit'
      ? UNIT_SUITES
      : [
          '<rootDir>/test/handlers/**/*.test.ts',
          '<rootDir>/test/config/**/*.test.ts',
          '<rootDir>/test/state-machines/**/*.test.ts',
        ],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }] },
  globalSetup: undefined,
  globalTeardown: undefined,
};
