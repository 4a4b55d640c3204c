import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { BatchConfig } from '../config/batch-config';
import { addBatchRunnerStacks, type BatchRunnerAppProps, MAX_BATCHES_PER_STACK } from '../infra/batch-runner-app';
import { worstCaseApp } from './worst-case';

/** CloudFormation quotas the app must stay within. */
export const CFN_LIMITS = { resourcesPerStack: 500, outputsPerStack: 200, templateBytes: 1_000_000 } as const;

export interface InfraBenchRow {
  readonly batches: number;
  readonly stacks: number;
  readonly synthSeconds: number;
  /** Resources of the batch stacks divided by the number of batches (dashboard share included). */
  readonly resourcesPerBatch: number;
  /** Template bytes of the batch stacks divided by the number of batches (dashboard share included). */
  readonly bytesPerBatch: number;
  /** Resources of the shared stack (network, cluster, lock table, topic, handlers, rules). */
  readonly sharedResources: number;
  readonly maxResourcesPerStack: number;
  readonly maxOutputsPerStack: number;
  readonly maxTemplateBytes: number;
}

const OVERLAP: ReadonlyArray<BatchConfig['overlapPolicy']> = ['skip', 'wait', 'replace'];

/** `n` valid batches, `task.kind: 'created'` (the larger kind) unless asked otherwise, spread over the day. */
export function syntheticBatches(n: number, kind: 'created' | 'imported' = 'created'): BatchConfig[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `batch-${String(i + 1).padStart(3, '0')}`,
    schedule: { cron: `${i % 60} ${Math.floor(i / 60) % 24} * * ? *`, timeZone: 'Asia/Tokyo' },
    hardTimeoutSeconds: 1800,
    stopGraceSeconds: 30,
    overlapPolicy: OVERLAP[i % OVERLAP.length],
    containerName: 'app',
    overrides: { environment: ['DRY_RUN'] },
    task:
      kind === 'created'
        ? { kind: 'created', image: 'public.ecr.aws/docker/library/busybox:stable', command: ['true'] }
        : {
            kind: 'imported',
            clusterArn: 'arn:aws:ecs:ap-northeast-1:123456789012:cluster/main',
            taskDefinitionArn: `arn:aws:ecs:ap-northeast-1:123456789012:task-definition/batch-${i + 1}:1`,
            family: `batch-${i + 1}`,
            executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
            taskRoleArn: `arn:aws:iam::123456789012:role/batch-${i + 1}`,
            logGroupName: `/ecs/batch-${i + 1}`,
            logStreamPrefix: 'app',
          },
  }));
}

/**
 * Synthesizes the app for `batches` into a temporary directory and measures it against the
 * CloudFormation quotas. With `bundle` (the default, as `npx cdk synth`) the three handlers are built
 * with esbuild, a constant ~2.5 s whatever the number of batches.
 */
export function measureInfra(
  batches: readonly BatchConfig[],
  props: Omit<BatchRunnerAppProps, 'batches'> = {},
  options: { bundle?: boolean } = {},
): InfraBenchRow {
  const outdir = mkdtempSync(join(tmpdir(), 'batch-runner-bench-'));
  try {
    const started = process.hrtime.bigint();
    const context: Record<string, unknown> = { '@aws-cdk/core:defaultCrossStackReferences': 'strong' };
    if (options.bundle === false) context['aws:cdk:bundling-stacks'] = [];
    const app = new App({ outdir, context });
    const stacks = addBatchRunnerStacks(app, { batches, ...props });
    const assembly = app.synth();
    const synthSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const measure = (stackName: string) => {
      const text = readFileSync(join(assembly.directory, assembly.getStackByName(stackName).templateFile), 'utf8');
      const template = JSON.parse(text);
      return {
        bytes: Buffer.byteLength(text),
        resources: Object.keys(template.Resources ?? {}).length,
        outputs: Object.keys(template.Outputs ?? {}).length,
      };
    };
    const shared = measure(stacks.shared.stackName);
    const perStack = stacks.batchStacks.map((s) => measure(s.stackName));
    const all = [shared, ...perStack];
    const perBatch = (total: number) => Math.round((total / batches.length) * 10) / 10;
    return {
      batches: batches.length,
      stacks: all.length,
      synthSeconds: Math.round(synthSeconds * 100) / 100,
      resourcesPerBatch: perBatch(perStack.reduce((n, s) => n + s.resources, 0)),
      bytesPerBatch: Math.round(perBatch(perStack.reduce((n, s) => n + s.bytes, 0))),
      sharedResources: shared.resources,
      maxResourcesPerStack: Math.max(...all.map((s) => s.resources)),
      maxOutputsPerStack: Math.max(...all.map((s) => s.outputs)),
      maxTemplateBytes: Math.max(...all.map((s) => s.bytes)),
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** `npm run bench` figures for the CDK app: synth time and sizes for 1, 50 and 200 batches. */
export async function benchInfra(counts: readonly number[] = [1, 50, 200]): Promise<InfraBenchRow[]> {
  return counts.map((n) => measureInfra(syntheticBatches(n)));
}

/**
 * What one more batch costs in its stack: resources and template bytes of a stack of two batches
 * minus those of a stack of one (so the stack's own log group and dashboard frame do not count).
 */
export function measureAddedBatch(kind: 'created' | 'imported'): { resources: number; bytes: number } {
  const one = measureInfra(syntheticBatches(1, kind), {}, { bundle: false });
  const two = measureInfra(syntheticBatches(2, kind), {}, { bundle: false });
  return {
    resources: Math.round(two.resourcesPerBatch * 2 - one.resourcesPerBatch),
    bytes: Math.round(two.bytesPerBatch * 2 - one.bytesPerBatch),
  };
}

/** The largest app validation accepts (bench/worst-case.ts), one full stack and one more batch. */
export function measureWorstCase(kind: 'created' | 'imported'): InfraBenchRow {
  const { batches, props } = worstCaseApp(MAX_BATCHES_PER_STACK + 1, kind);
  return measureInfra(batches, props, { bundle: false });
}

/** Human-readable lines for `npm run bench`. */
export function formatInfraBench(rows: readonly InfraBenchRow[]): string[] {
  return rows.map(
    (r) =>
      `  ${r.batches} batches: synth ${r.synthSeconds} s, ${r.stacks} stacks, ${r.resourcesPerBatch} resources and ${Math.round(r.bytesPerBatch / 100) / 10} KB per batch (+${r.sharedResources} shared), ` +
      `max per stack ${r.maxResourcesPerStack}/${CFN_LIMITS.resourcesPerStack} resources, ${r.maxOutputsPerStack}/${CFN_LIMITS.outputsPerStack} outputs, ` +
      `${Math.round(r.maxTemplateBytes / 1000)}/${CFN_LIMITS.templateBytes / 1000} KB template`,
  );
}
