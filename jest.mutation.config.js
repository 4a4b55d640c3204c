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

module.exports = {
  ...base,
  roots: ['<rootDir>/test'],
  testMatch: [
    '<rootDir>/test/handlers/**/*.test.ts',
    '<rootDir>/test/config/**/*.test.ts',
    '<rootDir>/test/state-machines/**/*.test.ts',
  ],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }] },
  globalSetup: undefined,
  globalTeardown: undefined,
};
