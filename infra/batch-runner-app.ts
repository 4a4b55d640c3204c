import { type App, type Environment, Stack, type StackProps } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import { type BatchConfig, BatchConfigError, validateBatchConfigs } from '../config/batch-config';
import { deriveTimings } from '../config/timings';
import { FARGATE_CAPACITY_PROVIDERS } from '../config/capacity';
import { DEFAULT_PREFIX } from '../config/naming';
import { SELFTEST_BATCH } from '../config/selftest-batch';
import { BatchDashboard } from './batch-dashboard';
import { BatchNetwork, type ImportedNetwork } from './batch-network';
import { BatchRunner } from './batch-runner';
import { ScheduledBatch } from './scheduled-batch';

/** Properties of {@link addBatchRunnerStacks}: the batches and the app-wide settings. */
export interface BatchRunnerAppProps {
  /**
   * The batches to deploy, in order (append new ones: batches are placed into stacks in order). Validated with {@link validateBatchConfigs}.
   */
  readonly batches: readonly BatchConfig[];
  /**
   * Prefix of every resource name, shared with the CLI (`--prefix`).
   * @default 'batch-runner'
   */
  readonly namePrefix?: string;
  /** CloudFormation stack names start with this. @default 'BatchRunner' */
  readonly stackNamePrefix?: string;
  /**
   * Account and region of every stack.
   * @default - environment-agnostic stacks (account and region from the deploy credentials)
   */
  readonly env?: Environment;
  /**
   * An existing VPC for the tasks, by IDs.
   * @default - a new VPC
   */
  readonly network?: ImportedNetwork;
  /**
   * E-mail addresses subscribed to the alert topic (at most 20; each confirms by mail).
   * @default - no e-mail subscription
   */
  readonly alertEmails?: readonly string[];
  /**
   * ARN of an existing event bus for the run lifecycle events (state-machines/run-events.ts), e.g. a
   * platform's own bus.
   * @default - the account's default event bus
   */
  readonly eventBusArn?: string;
  /**
   * Batches per CloudFormation stack, at most {@link MAX_BATCHES_PER_STACK}. Each batch adds 7
   * resources (11 with a created task definition) and about 10 KB of template (up to ~21 KB at the
   * longest names validation accepts); the definition itself is one S3 object for all. Batches are
   * placed in order: append new batches at the end of the list, because moving a batch to another
   * stack means deleting and re-creating its fixed-name resources.
   * @default MAX_BATCHES_PER_STACK
   */
  readonly batchesPerStack?: number;
  /**
   * Add the canary batch of `batch-runner selftest` (config/selftest-batch.ts) after the configured
   * batches, with its schedule disabled and its alarms not notifying (selftest starts it on purpose
   * and makes it fail and time out). Deploy it for a selftest, then without it again if you like.
   * @default false
   */
  readonly selftest?: boolean;
}

/** What {@link addBatchRunnerStacks} created. */
export interface BatchRunnerAppStacks {
  /** `<stackNamePrefix>-Shared`: network, cluster, lock table, alert topic, handlers, rules. */
  readonly shared: Stack;
  /** The runner in the shared stack. */
  readonly runner: BatchRunner;
  /** `<stackNamePrefix>-Batches-<n>`: up to `batchesPerStack` batches each. */
  readonly batchStacks: readonly Stack[];
  /** Every batch, in the order given. */
  readonly batches: readonly ScheduledBatch[];
}

/**
 * Most batches one stack can take. With the definition served from S3 a batch costs 7 resources
 * (11 with a created task definition) and about 10 KB of template; at the largest configuration
 * validation accepts, 40 batches stay under 90 % of CloudFormation's 500 resources and 1 MB
 * (test/contracts/worst-case-limits.contract.test.ts measures it).
 */
export const MAX_BATCHES_PER_STACK = 40;

/** Limits of the app-wide settings, each from the API that takes the value or from a stack's budget. */
export const APP_LIMITS = {
  /** BatchRunnerProps.namePrefix: 1-30 characters (infra/batch-runner.ts). */
  namePrefixLength: 30,
  /**
   * CloudFormation stack names have at most 128 characters; the template budget allows 30 for the
   * prefix (every cross-stack reference a batch makes repeats the shared stack's name).
   */
  stackNamePrefixLength: 30,
  /** Each address is an SNS subscription resource in the shared stack. */
  alertEmails: 20,
  /** RFC 5321: an address has at most 254 characters. */
  alertEmailLength: 254,
  /** ECS awsvpcConfiguration: at most 16 subnets and 5 security groups. */
  subnets: 16,
  /** ECS awsvpc: at most 5 security groups. */
  securityGroups: 5,
  /**
   * Distinct ECS clusters of imported tasks. The shared handlers' roles name every cluster (and its
   * tasks) in their inline policies, which IAM limits to 10,240 characters per role.
   */
  clusters: 4,
} as const;

const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8,17}$/;

/** Refuses app settings beyond {@link APP_LIMITS}, naming the setting, the value and the fix. */
export function validateAppProps(props: BatchRunnerAppProps): void {
  const refuse = (field: string, value: unknown, fix: string): never => {
    throw new BatchConfigError(`${field} = ${JSON.stringify(value)} is invalid: ${fix}`);
  };
  const stackName = props.stackNamePrefix;
  if (
    stackName !== undefined &&
    !new RegExp(`^[A-Za-z][A-Za-z0-9-]{0,${APP_LIMITS.stackNamePrefixLength - 1}}$`).test(stackName)
  ) {
    refuse(
      'stackNamePrefix',
      stackName,
      `use 1-${APP_LIMITS.stackNamePrefixLength} characters of A-Z, a-z, 0-9 and "-", starting with a letter (CloudFormation stack names).`,
    );
  }
  if (
    props.eventBusArn !== undefined &&
    !/^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._\-/]{1,256}$/.test(props.eventBusArn)
  )
    throw new BatchConfigError(
      `eventBusArn = ${JSON.stringify(props.eventBusArn)} is not an event bus ARN: give arn:aws:events:<region>:<account>:event-bus/<name> (leave it out for the default bus).`,
    );
  const emails = props.alertEmails ?? [];
  if (emails.length > APP_LIMITS.alertEmails)
    refuse(
      'alertEmails',
      emails,
      `give at most ${APP_LIMITS.alertEmails} addresses; subscribe a mailing list for more people.`,
    );
  for (const e of emails)
    if (e.length > APP_LIMITS.alertEmailLength)
      refuse('alertEmails', e, `an e-mail address has at most ${APP_LIMITS.alertEmailLength} characters.`);
  if (props.network) {
    const { subnetIds, securityGroupIds = [] } = props.network;
    const zones = props.network.availabilityZones?.length ?? 0;
    if (zones > 0 && subnetIds.length % zones !== 0)
      refuse(
        'network.subnetIds',
        subnetIds,
        `give the same number of subnets in each of the ${zones} availabilityZones (CDK imports the VPC's subnets AZ by AZ).`,
      );
    if (subnetIds.length > APP_LIMITS.subnets || subnetIds.some((id) => !SUBNET_ID.test(id)))
      refuse(
        'network.subnetIds',
        subnetIds,
        `give 1-${APP_LIMITS.subnets} subnet IDs (subnet-<hex>), the ECS awsvpc limit.`,
      );
    if (
      securityGroupIds.length > APP_LIMITS.securityGroups ||
      securityGroupIds.some((id) => !SECURITY_GROUP_ID.test(id))
    )
      refuse(
        'network.securityGroupIds',
        securityGroupIds,
        `give at most ${APP_LIMITS.securityGroups} security group IDs (sg-<hex>), the ECS awsvpc limit.`,
      );
  }
  for (const b of props.batches) {
    if (props.network?.assignPublicIp !== 'ENABLED') continue;
    if (b.capacity?.launchType === 'EC2') {
      throw new BatchConfigError(
        `batch "${b.name}": capacity.launchType = "EC2" is invalid with network.assignPublicIp = "ENABLED": ECS gives public IPs to Fargate tasks only; set network.assignPublicIp to "DISABLED" (EC2 tasks reach the internet through a NAT gateway), or run this batch on Fargate.`,
      );
    }
    const ec2Providers = (b.capacity?.capacityProviderStrategy ?? [])
      .map((i) => i.capacityProvider)
      .filter((p) => !(FARGATE_CAPACITY_PROVIDERS as readonly string[]).includes(p));
    if (ec2Providers.length > 0) {
      throw new BatchConfigError(
        `batch "${b.name}": capacity.capacityProviderStrategy = ${JSON.stringify(ec2Providers)} is invalid with network.assignPublicIp = "ENABLED": tasks on Auto Scaling group (EC2) capacity get no public IP; set network.assignPublicIp to "DISABLED" (with a NAT gateway), or use only FARGATE and FARGATE_SPOT.`,
      );
    }
  }
  const clusters = new Set<string>();
  for (const b of props.batches) {
    if (b.task.kind !== 'imported') continue;
    clusters.add(b.task.clusterArn);
    if (clusters.size > APP_LIMITS.clusters) {
      throw new BatchConfigError(
        `batch "${b.name}": task.clusterArn = ${JSON.stringify(b.task.clusterArn)} is invalid: the batches use more than ${APP_LIMITS.clusters} ECS clusters, and the runner's handler roles name every cluster in policies IAM limits to 10,240 characters; run the batches on at most ${APP_LIMITS.clusters} clusters, or split them into two deployments with different namePrefix.`,
      );
    }
  }
}

const usesCapacityProviders = (b: BatchConfig) =>
  b.capacity?.spot !== undefined || b.capacity?.capacityProviderStrategy !== undefined;

/**
 * The deployable app: a shared stack (network, cluster, lock table, alert topic, handlers, rules)
 * and one or more batch stacks of `batchesPerStack` batches each (state machines, schedules, alarms,
 * a dashboard per stack).
 */
export function addBatchRunnerStacks(app: App, appProps: BatchRunnerAppProps): BatchRunnerAppStacks {
  const props = appProps.selftest ? { ...appProps, batches: [...appProps.batches, SELFTEST_BATCH] } : appProps;
  validateBatchConfigs(props.batches);
  validateAppProps(props);
  const perStack = props.batchesPerStack ?? MAX_BATCHES_PER_STACK;
  if (!Number.isInteger(perStack) || perStack < 1 || perStack > MAX_BATCHES_PER_STACK) {
    throw new BatchConfigError(
      `batchesPerStack = ${perStack} is invalid: use a whole number from 1 to ${MAX_BATCHES_PER_STACK} (CloudFormation's 500-resource and 1 MB template limits, measured at the largest configuration).`,
    );
  }
  const namePrefix = props.namePrefix ?? DEFAULT_PREFIX;
  const stackName = props.stackNamePrefix ?? 'BatchRunner';
  // Templates without indentation: CloudFormation's 1 MB limit counts every byte of the uploaded
  // template, and indentation is a quarter of a batch stack's bytes.
  const stackProps: StackProps = { env: props.env, suppressTemplateIndentation: true };

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
        // FARGATE and FARGATE_SPOT, for created batches on Fargate Spot (capacity.spot) or a strategy of them.
        enableFargateCapacityProviders: props.batches.some(
          (b) => b.task.kind === 'created' && usesCapacityProviders(b),
        ),
      })
    : undefined;
  const runner = new BatchRunner(shared, 'Runner', {
    namePrefix,
    network: network.config,
    cluster,
    alertEmails: props.alertEmails,
    eventBus:
      props.eventBusArn === undefined
        ? undefined
        : events.EventBus.fromEventBusArn(shared, 'LifecycleEventBus', props.eventBusArn),
  });

  // How late after its slot a dependent batch may start: its upstream chain's execution timeouts.
  const byName = new Map(props.batches.map((b) => [b.name, b] as const));
  const upstreamDelaySeconds = (batch: BatchConfig): number => {
    const upstream = batch.after?.[0] === undefined ? undefined : byName.get(batch.after[0]);
    return upstream ? deriveTimings(upstream).executionTimeoutSeconds + upstreamDelaySeconds(upstream) : 0;
  };

  const batchStacks: Stack[] = [];
  const batches: ScheduledBatch[] = [];
  for (let i = 0; i < props.batches.length; i += perStack) {
    const n = batchStacks.length + 1;
    const stack = new Stack(app, `${stackName}-Batches-${n}`, {
      ...stackProps,
      description: `batch-runner (${namePrefix}): batches ${i + 1}-${Math.min(i + perStack, props.batches.length)}`,
    });
    const inStack = props.batches.slice(i, i + perStack).map(
      (batch) =>
        new ScheduledBatch(stack, batch.name, {
          runner,
          batch,
          ...(batch.after?.length ? { upstreamDelaySeconds: upstreamDelaySeconds(batch) } : {}),
          ...(batch === SELFTEST_BATCH ? { scheduleEnabled: false, notifyOnAlarms: false } : {}),
        }),
    );
    new BatchDashboard(stack, 'Dashboard', {
      dashboardName: n === 1 ? namePrefix : `${namePrefix}-${n}`,
      batches: inStack,
      runnerAlarms: n === 1 ? [runner.handlerFailuresAlarm, runner.scheduleDeadLetters.alarm] : [],
    });
    batchStacks.push(stack);
    batches.push(...inStack);
  }
  return { shared, runner, batchStacks, batches };
}
