// StrykerJS mutation testing of the TypeScript that decides the runner's behaviour.
// `npm run mutate:ts` runs it one group of files at a time (bench/mutate-ts.ts); one file: `npx stryker run --mutate handlers/lib/reconcile.ts`.
// Too slow for every CI run: the last scores are recorded in README.md ("How strong the tests are").
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  jest: { configFile: 'jest.mutation.config.js', enableFindRelatedTests: false },
  coverageAnalysis: 'perTest',
  mutate: [
    'handlers/**/*.ts',
    'config/**/*.ts',
    'state-machines/definition.ts',
    '!config/batches.ts',
    '!handlers/lib/aws-clients.ts',
  ],
  concurrency: 2,
  timeoutMS: 20000,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignoreStatic: true,
};
