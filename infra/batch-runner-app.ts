import { type App, type Environment, Stack, type StackProps } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { type BatchConfig, BatchConfigError, validateBatchConfigs } from '../config/batch-config';
import { DEFAULT_PREFIX } from '../config/naming';
import { BatchDashboard } from './batch-dashboard';
import { BatchNetwork, type ImportedNetwork } from './batch-network';
import { BatchRunner } from './batch-runner';
import { ScheduledBatch } from './scheduled-batch';

export interface BatchRunnerAppProps {
  readonly batches: readonly BatchConfig[];
  /** @default 'batch-runner' */
  readonly namePrefix?: string;
  /** CloudFormation stack names start with this. @default 'BatchRunner' */
  readonly stackNamePrefix?: string;
  /** @default - environment-agnostic stacks (account and region from the deploy credentials) */
  readonly env?: Environment;
  /** @default - a new VPC */
  readonly network?: ImportedNetwork;
  /** @default - no e-mail subscription */
  readonly alertEmails?: readonly string[];
  /**
   * Batches per CloudFormation stack. Each batch adds ~58 KB of template (the state machine
   * definition alone is ~37 KB) and 13-19 resources; 15 batches make ~870 KB and ~270 resources,
   * within the 1 MB template and 500-resource limits. Batches are
   * placed in order: append new batches at the end of the list, because moving a batch to another
   * stack means deleting and re-creating its fixed-name resources.
   * @default 15
   */
  readonly batchesPerStack?: number;
}

export interface BatchRunnerAppStacks {
  readonly shared: Stack;
  readonly runner: BatchRunner;
  readonly batchStacks: readonly Stack[];
  readonly batches: readonly ScheduledBatch[];
}

/** Most batches one stack can take: template size (1 MB) is the binding limit, at ~58 KB per batch. */
export const MAX_BATCHES_PER_STACK = 16;

/**
 * The deployable app: a shared stack (network, cluster, lock table, alert topic, handlers, rules)
 * and one or more batch stacks of `batchesPerStack` batches each (state machines, schedules, alarms,
 * a dashboard per stack).
 */
export function addBatchRunnerStacks(app: App, props: BatchRunnerAppProps): BatchRunnerAppStacks {
  validateBatchConfigs(props.batches);
  const perStack = props.batchesPerStack ?? 15;
  if (!Number.isInteger(perStack) || perStack < 1 || perStack > MAX_BATCHES_PER_STACK) {
    throw new BatchConfigError(
      `batchesPerStack = ${perStack} is invalid: use a whole number from 1 to ${MAX_BATCHES_PER_STACK} (CloudFormation's 1 MB template limit).`,
    );
  }
  const namePrefix = props.namePrefix ?? DEFAULT_PREFIX;
  const stackName = props.stackNamePrefix ?? 'BatchRunner';
  const stackProps: StackProps = { env: props.env };

  const shared = new Stack(app, `${stackName}-Shared`, {
    ...stackProps,
    description: `batch-runner (${namePrefix}): shared resources`,
  });
  const network = new BatchNetwork(shared, 'Network', { imported: props.network });
  const cluster = props.batches.some((b) => b.task.kind === 'created')
    ? new ecs.Cluster(shared, 'Cluster', {
        vpc: network.vpc,
        clusterName: namePrefix,
        containerInsightsV2: ecs.ContainerInsights.ENABLED,
      })
    : undefined;
  const runner = new BatchRunner(shared, 'Runner', {
    namePrefix,
    network: network.config,
    cluster,
    alertEmails: props.alertEmails,
  });

  const batchStacks: Stack[] = [];
  const batches: ScheduledBatch[] = [];
  for (let i = 0; i < props.batches.length; i += perStack) {
    const n = batchStacks.length + 1;
    const stack = new Stack(app, `${stackName}-Batches-${n}`, {
      ...stackProps,
      description: `batch-runner (${namePrefix}): batches ${i + 1}-${Math.min(i + perStack, props.batches.length)}`,
    });
    const inStack = props.batches
      .slice(i, i + perStack)
      .map((batch) => new ScheduledBatch(stack, batch.name, { runner, batch }));
    new BatchDashboard(stack, 'Dashboard', {
      dashboardName: n === 1 ? namePrefix : `${namePrefix}-${n}`,
      batches: inStack,
      runnerAlarms: n === 1 ? [runner.handlerFailuresAlarm] : [],
    });
    batchStacks.push(stack);
    batches.push(...inStack);
  }
  return { shared, runner, batchStacks, batches };
}
