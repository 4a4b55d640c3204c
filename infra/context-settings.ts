import type { Environment } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BatchConfigError } from '../config/batch-config';
import type { ImportedNetwork } from './batch-network';
import type { BatchRunnerAppProps } from './batch-runner-app';

/** Context keys the app reads (cdk.json "context", or `npx cdk deploy -c key=value`). */
export const CONTEXT_KEYS = {
  /** Resource name prefix (config/naming.ts), e.g. "batch-runner-staging". */
  namePrefix: 'batchRunner:namePrefix',
  /** CloudFormation stack name prefix. */
  stackNamePrefix: 'batchRunner:stackNamePrefix',
  /** E-mail addresses for the alert topic: a JSON array or a comma-separated string. */
  alertEmails: 'batchRunner:alertEmails',
  /** ARN of an existing event bus for the run lifecycle events (default: the account's default bus). */
  eventBusArn: 'batchRunner:eventBusArn',
  /** Existing VPC as JSON `{vpcId, availabilityZones, subnetIds, securityGroupIds?, assignPublicIp?}`. */
  network: 'batchRunner:network',
  /** Batches per stack (1-16). */
  batchesPerStack: 'batchRunner:batchesPerStack',
  /** Pin the stacks to an account and region; without both, stacks are environment-agnostic. */
  account: 'batchRunner:account',
  /** Region of the stacks (with `account`). */
  region: 'batchRunner:region',
  /** `true`: add the canary batch of `batch-runner selftest` (config/selftest-batch.ts). */
  selftest: 'batchRunner:selftest',
} as const;

const parsed = (key: string, value: unknown): unknown => {
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (!text.startsWith('{') && !text.startsWith('[')) return value;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BatchConfigError(`context ${key} = ${value} is invalid: ${(err as Error).message}; give valid JSON.`);
  }
};

/** The app settings from the CDK context, validated with messages that name the key, the value and the fix. */
export function contextSettings(scope: Construct): Omit<BatchRunnerAppProps, 'batches'> {
  const get = (key: string) => parsed(key, scope.node.tryGetContext(key));
  const out: { -readonly [K in keyof Omit<BatchRunnerAppProps, 'batches'>]: BatchRunnerAppProps[K] } = {};

  const prefix = get(CONTEXT_KEYS.namePrefix);
  if (prefix !== undefined) out.namePrefix = String(prefix);
  const stackPrefix = get(CONTEXT_KEYS.stackNamePrefix);
  if (stackPrefix !== undefined) out.stackNamePrefix = String(stackPrefix);

  const emails = get(CONTEXT_KEYS.alertEmails);
  if (emails !== undefined && emails !== '') {
    const list = Array.isArray(emails) ? emails : String(emails).split(',');
    const cleaned = list.map((e) => String(e).trim()).filter((e) => e !== '');
    for (const e of cleaned) {
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e)) {
        throw new BatchConfigError(
          `context ${CONTEXT_KEYS.alertEmails}: "${e}" is not an e-mail address; give addresses separated by commas.`,
        );
      }
    }
    out.alertEmails = cleaned;
  }

  const bus = get(CONTEXT_KEYS.eventBusArn);
  if (bus !== undefined && bus !== '') out.eventBusArn = String(bus);

  const network = get(CONTEXT_KEYS.network);
  if (network !== undefined) {
    if (typeof network !== 'object' || network === null || Array.isArray(network)) {
      throw new BatchConfigError(
        `context ${CONTEXT_KEYS.network} = ${JSON.stringify(network)} is invalid: give {"vpcId": "vpc-...", "availabilityZones": ["..."], "subnetIds": ["subnet-..."]}.`,
      );
    }
    out.network = network as ImportedNetwork;
  }

  const perStack = get(CONTEXT_KEYS.batchesPerStack);
  if (perStack !== undefined) out.batchesPerStack = Number(perStack);

  const selftest = get(CONTEXT_KEYS.selftest);
  if (selftest !== undefined) {
    const text = String(selftest).trim().toLowerCase();
    if (text !== 'true' && text !== 'false') {
      throw new BatchConfigError(
        `context ${CONTEXT_KEYS.selftest} = ${JSON.stringify(selftest)} is invalid: give true (add the selftest canary batch) or false.`,
      );
    }
    if (text === 'true') out.selftest = true;
  }

  const account = get(CONTEXT_KEYS.account);
  const region = get(CONTEXT_KEYS.region);
  if ((account === undefined) !== (region === undefined)) {
    throw new BatchConfigError(
      `context ${CONTEXT_KEYS.account} and ${CONTEXT_KEYS.region} go together: give both or neither.`,
    );
  }
  if (account !== undefined) out.env = { account: String(account), region: String(region) } satisfies Environment;
  return out;
}
