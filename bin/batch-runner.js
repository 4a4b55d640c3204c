#!/usr/bin/env node
// Entry point for `npx batch-runner`: runs the TypeScript CLI through tsx (no build step needed).
require('./register.js');
require('../cli/main.ts');
