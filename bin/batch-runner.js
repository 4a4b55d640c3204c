#!/usr/bin/env node
// Entry point of `batch-runner`. In a clone of the repository it runs the TypeScript CLI through tsx
// (no build step needed); installed from the package (npm pack / npm install) there are no sources,
// only the compiled CLI in dist/ (scripts/build-package.js), which needs no tsx.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

if (existsSync(join(__dirname, '..', 'cli', 'main.ts'))) {
  require('./register.js');
  require('../cli/main.ts');
} else {
  require('../dist/local/polyfills.js');
  require('../dist/cli/main.js');
}
