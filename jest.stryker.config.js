/**
 * Jest configuration for StrykerJS (`npm run mutate:ts`). It runs the in-process suites that
 * exercise handlers/, config/ and state-machines/definition.ts: Stryker measures which test
 * covers which mutant only in the Jest process, so suites that run the code in child
 * processes (local mode, CLI end-to-end) cannot kill a mutant and are left out.
 * ts-jest only transpiles here (type errors a mutant introduces are Stryker's to ignore).
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
