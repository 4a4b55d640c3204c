import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { BatchConfig } from '../../config/batch-config';
import {
  addBatchRunnerStacks,
  type BatchRunnerAppProps,
  type BatchRunnerAppStacks,
} from '../../infra/batch-runner-app';

export const REPO_ROOT = join(__dirname, '../..');
/** The context `npx cdk synth` gives the app (cdk.json), so tests synthesize what the CLI does. */
export const CDK_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8'),
).context;

/**
 * A new app with the cdk.json context. Bundling the handlers costs ~2.5 s per runner, so it is off
 * unless a test needs the bundled code (`bundle: true`, as `npx cdk synth` does).
 */
export function newApp(options: { bundle?: boolean; context?: Record<string, unknown> } = {}): App {
  return new App({
    outdir: mkdtempSync(join(tmpdir(), 'batch-runner-test-')),
    context: { ...CDK_CONTEXT, ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }), ...options.context },
  });
}

export interface SynthesizedApp extends BatchRunnerAppStacks {
  readonly app: App;
  readonly assembly: CloudAssembly;
  readonly sharedTemplate: Template;
  readonly batchTemplates: Template[];
  /** Raw template JSON by stack name. */
  readonly json: Record<string, any>;
}

/** Synthesizes the app once; `bundle` builds the handlers with esbuild as `cdk synth` does. */
export function synthApp(
  batches: readonly BatchConfig[],
  props: Omit<BatchRunnerAppProps, 'batches'> = {},
  options: { bundle?: boolean } = {},
): SynthesizedApp {
  const app = newApp(options);
  const stacks = addBatchRunnerStacks(app, { batches, ...props });
  const assembly = app.synth();
  const json: Record<string, any> = {};
  for (const s of [stacks.shared, ...stacks.batchStacks])
    json[s.stackName] = assembly.getStackByName(s.stackName).template;
  return {
    ...stacks,
    app,
    assembly,
    json,
    sharedTemplate: Template.fromJSON(json[stacks.shared.stackName]),
    batchTemplates: stacks.batchStacks.map((s) => Template.fromJSON(json[s.stackName])),
  };
}

/** Resources of a given type in a raw template, by logical ID. */
export function resourcesOf(template: any, type: string): Record<string, any> {
  return Object.fromEntries(Object.entries(template.Resources ?? {}).filter(([, r]: [string, any]) => r.Type === type));
}

/** Every IAM statement of every role and policy in a raw template. */
export function iamStatements(template: any): Array<{ resource: string; statement: any }> {
  const out: Array<{ resource: string; statement: any }> = [];
  for (const [id, r] of Object.entries<any>(template.Resources ?? {})) {
    if (r.Type === 'AWS::IAM::Role') {
      for (const p of r.Properties.Policies ?? [])
        for (const s of p.PolicyDocument.Statement) out.push({ resource: id, statement: s });
    }
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') {
      for (const s of r.Properties.PolicyDocument.Statement) out.push({ resource: id, statement: s });
    }
  }
  return out;
}

export const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
