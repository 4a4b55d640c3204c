import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CDK_CONTEXT, REPO_ROOT } from './synth';

/**
 * infra/app.ts as `npx cdk synth` runs it (cdk.json "app"), without the CLI: the CLI only adds the
 * output directory and the context through these two environment variables. No AWS credentials,
 * no Docker; cdk-nag runs as a validation plugin and would fail the synth on a finding.
 */
describe('infra/app.ts', () => {
  test('synthesizes the two stacks without credentials, cdk-nag passing', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'batch-runner-app-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify(CDK_CONTEXT),
    };
    for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
      delete env[key];
    execFileSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), ['infra/app.ts'], { cwd: REPO_ROOT, env, stdio: 'pipe' });
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
    const stacks = Object.entries<any>(manifest.artifacts).filter(([, a]) => a.type === 'aws:cloudformation:stack');
    expect(stacks.map(([name]) => name).sort()).toEqual(['BatchRunner-Batches-1', 'BatchRunner-Shared']);
    for (const [, a] of stacks) {
      expect(a.environment).toBe('aws://unknown-account/unknown-region');
      expect(existsSync(join(outdir, a.properties.templateFile))).toBe(true);
    }
  });

  test('a bad context value stops the synth with a message naming the key', () => {
    const env = {
      ...process.env,
      CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'batch-runner-app-')),
      CDK_CONTEXT_JSON: JSON.stringify({ ...CDK_CONTEXT, 'batchRunner:region': 'eu-west-1' }),
    };
    expect(() =>
      execFileSync(join(REPO_ROOT, 'node_modules/.bin/tsx'), ['infra/app.ts'], { cwd: REPO_ROOT, env, stdio: 'pipe' }),
    ).toThrow(/batchRunner:account and batchRunner:region go together/);
  });
});
