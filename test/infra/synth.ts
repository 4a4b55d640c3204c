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

/**
 * The object CloudFormation reads for a state machine's `DefinitionS3Location`: the file the stack's
 * asset manifest uploads to exactly that bucket and key (what `cdk deploy` publishes). Throws when the
 * state machine embeds its definition or names an object the manifest does not upload.
 */
export function uploadedDefinition(assembly: CloudAssembly, stackName: string, stateMachine: any): string {
  const p = stateMachine.Properties ?? stateMachine;
  if (p.DefinitionString !== undefined || p.Definition !== undefined)
    throw new Error(`state machine ${p.StateMachineName} embeds its definition instead of DefinitionS3Location`);
  const { Bucket, Key } = p.DefinitionS3Location ?? {};
  const manifest = JSON.parse(readFileSync(join(assembly.directory, `${stackName}.assets.json`), 'utf8'));
  for (const asset of Object.values<any>(manifest.files ?? {}))
    for (const d of Object.values<any>(asset.destinations))
      // The template names the bucket literally (stacks with an account and region) or with Fn::Sub.
      if (d.objectKey === Key && (d.bucketName === Bucket || d.bucketName === Bucket?.['Fn::Sub'])) {
        if (asset.source.packaging !== undefined && asset.source.packaging !== 'file')
          throw new Error(`asset ${Key} is packaged as ${asset.source.packaging}, not uploaded as the file itself`);
        return readFileSync(join(assembly.directory, asset.source.path), 'utf8');
      }
  throw new Error(`no asset of ${stackName} uploads ${JSON.stringify(Bucket)}/${Key}`);
}

/**
 * What CloudFormation makes of an S3 definition (the AWS::StepFunctions::StateMachine resource
 * handler, aws-cloudformation-resource-providers-stepfunctions `DefinitionProcessor`): every
 * `${Key}` replaced by its value as plain text, without escaping, and only then parsed as JSON. Throws
 * on a placeholder without a value or a value that is not used (CloudFormation would leave the text
 * or silently ignore the value).
 */
export function cloudFormationDefinition(definition: string, substitutions: Record<string, string>): any {
  const used = new Set<string>();
  const out = definition.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, name: string) => {
    const value = substitutions[name];
    if (value === undefined) throw new Error(`placeholder \${${name}} has no substitution`);
    if (value.includes('${')) throw new Error(`substitution ${name} = ${value} would be substituted again`);
    used.add(name);
    return value;
  });
  const unused = Object.keys(substitutions).filter((k) => !used.has(k));
  if (unused.length > 0) throw new Error(`substitutions without a placeholder: ${unused.join(', ')}`);
  return JSON.parse(out);
}
