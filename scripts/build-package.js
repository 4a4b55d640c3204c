#!/usr/bin/env node
/**
 * `npm run build:package` (and `npm pack`/`npm publish` through `prepack`): builds what the package
 * ships, into dist/ (gitignored):
 *
 * - the compiled JavaScript and declarations of every source folder (tsconfig.build.json);
 * - the files the compiled code reads beside itself: the ASL definition, the local mode's plain
 *   JavaScript helpers (task agent, DynamoDB server, polyfills);
 * - the Lambda handlers, each bundled once by esbuild with the options CDK's NodejsFunction uses in a
 *   clone (infra/runner-function.ts), into dist/lambda/<handler>/index.js: an installed package
 *   deploys these with lambda.Code.fromAsset, so a user's synth needs neither esbuild nor Docker.
 *
 * Usage: node scripts/build-package.js
 */
const { execFileSync } = require('node:child_process');
const { copyFileSync, mkdirSync, readdirSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const dist = join(root, 'dist');

/** The handlers a RunnerFunction deploys (infra/batch-runner.ts), by file name. */
const HANDLERS = ['validate-manual-input', 'task-watcher', 'cleanup'];

function main() {
  rmSync(dist, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: 'inherit',
  });
  mkdirSync(join(dist, 'state-machines'), { recursive: true });
  copyFileSync(
    join(root, 'state-machines', 'batch-runner.asl.json'),
    join(dist, 'state-machines', 'batch-runner.asl.json'),
  );
  for (const file of readdirSync(join(root, 'local')).filter((f) => f.endsWith('.js'))) {
    copyFileSync(join(root, 'local', file), join(dist, 'local', file));
  }
  const esbuild = require('esbuild');
  for (const handler of HANDLERS) {
    esbuild.buildSync({
      entryPoints: [join(root, 'handlers', `${handler}.ts`)],
      outfile: join(dist, 'lambda', handler, 'index.js'),
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      minify: true,
      sourcemap: true,
      logLevel: 'warning',
    });
  }
  process.stdout.write(`built ${dist}: compiled sources, ASL, local helpers, ${HANDLERS.length} Lambda bundles\n`);
}

main();
