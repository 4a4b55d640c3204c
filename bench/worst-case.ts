import { CAPACITY_LIMITS } from '../config/capacity';
import {
  type BatchConfig,
  CONFIG_LIMITS,
  MAX_PAUSE_AFTER_CONSECUTIVE_FAILURES,
  MAX_RETRY_ATTEMPTS,
  MAX_RETRY_BACKOFF_SECONDS,
  MAX_RETRY_EXIT_CODES,
  RETRYABLE_STOP_CODES,
  validateBatchConfigs,
} from '../config/batch-config';
import { generatedNameProblems } from '../config/naming';
import { APP_LIMITS, type BatchRunnerAppProps, MAX_BATCHES_PER_STACK } from '../infra/batch-runner-app';

/**
 * The largest app validation accepts: every string that reaches a template at its longest (and made of
 * the characters that grow most when escaped or URL-encoded), every list at its longest, the most
 * batches per stack. Each value is derived from the limit validation enforces, so raising a limit
 * raises the worst case with it.
 */
export interface WorstCaseApp {
  readonly batches: BatchConfig[];
  readonly props: Omit<BatchRunnerAppProps, 'batches'>;
}

const fill = (head: string, length: number, filler = 'x') => head + filler.repeat(Math.max(0, length - head.length));
const hex = (i: number, length: number) => i.toString(16).padStart(length, '0');

/** The longest cron expression validation accepts: minute and hour lists, then years. */
function longestCron(): string {
  const minutes = Array.from({ length: 60 }, (_, i) => i).join(',');
  let years = '2030';
  let cron = `${minutes} 0,6,12,18 ? * * ${years}`;
  for (let y = 2031; y <= 2199; y++) {
    const next = `${minutes} 0,6,12,18 ? * * ${years},${y}`;
    if (next.length > CONFIG_LIMITS.cronLength) break;
    years = `${years},${y}`;
    cron = next;
  }
  return cron;
}

/** The longest time zone name the runtime knows (validation also caps the length). */
function longestTimeZone(): string {
  return (Intl as any)
    .supportedValuesOf('timeZone')
    .filter((z: string) => z.length <= CONFIG_LIMITS.timeZoneLength)
    .reduce((a: string, b: string) => (b.length > a.length ? b : a), 'UTC');
}

/** The longest batch name whose generated names all fit their APIs under `prefix`. */
export function longestBatchName(prefix: string, i: number): string {
  for (let length = 40; length >= 2; length--) {
    const name = fill(`w${String(i).padStart(4, '0')}-`, length);
    if (generatedNameProblems(name, prefix).length === 0) return name;
  }
  throw new Error(`no batch name fits prefix ${prefix}`);
}

/**
 * `n` batches at the largest values validation accepts, all imported or all created. With
 * `dependents`, every batch but the first runs after the first (`after`): an EventBridge rule in
 * place of its schedule, and one dependency role per stack. That costs less template than a
 * schedule (measured by test/contracts/worst-case-limits.contract.test.ts), so the worst case stays
 * the app without dependencies; a chain instead of a star would not validate at these timeouts (the
 * missed-run window of its last batch would pass CloudWatch's 7 days).
 */
export function worstCaseApp(
  n: number,
  kind: 'imported' | 'created' = 'imported',
  options: { dependents?: boolean } = {},
): WorstCaseApp {
  const namePrefix = fill('w', APP_LIMITS.namePrefixLength, 'w');
  const partition = fill('aws-', 20, 'x');
  const region = fill('xx-', 20, 'x');
  const account = '123456789012';
  const cron = longestCron();
  const timeZone = longestTimeZone();
  const containerName = fill('c', 255, 'c');
  // As many names as allowed, sharing the character budget (commas included).
  const envLength = Math.floor(
    (CONFIG_LIMITS.environmentOverrideCharacters - (CONFIG_LIMITS.environmentOverrides - 1)) /
      CONFIG_LIMITS.environmentOverrides,
  );
  const environment = Array.from({ length: CONFIG_LIMITS.environmentOverrides }, (_, j) =>
    fill(`E${String(j).padStart(2, '0')}_`, envLength, 'E'),
  );
  const role = (what: string, i: number) =>
    `arn:${partition}:iam::${account}:role/${fill('', CONFIG_LIMITS.rolePathLength - 2, 'p')}/${fill(`${what}${i}-`, CONFIG_LIMITS.roleNameLength, 'r')}`;
  // Clusters: as many distinct ones as the app accepts, each with the longest name.
  const clusterArn = (i: number) =>
    `arn:${partition}:ecs:${region}:${account}:cluster/${fill(`cluster${i % APP_LIMITS.clusters}-`, CONFIG_LIMITS.ecsNameLength)}`;
  const batches: BatchConfig[] = Array.from({ length: n }, (_, i) => {
    const family = fill(`family${i}-`, CONFIG_LIMITS.ecsNameLength);
    const task: BatchConfig['task'] =
      kind === 'imported'
        ? {
            kind: 'imported',
            clusterArn: clusterArn(i),
            taskDefinitionArn: `arn:${partition}:ecs:${region}:${account}:task-definition/${family}:${'9'.repeat(10)}`,
            family,
            executionRoleArn: role('execution', i),
            taskRoleArn: role('task', i),
            // "/" becomes "$252F" in the console link (LogGroupUrlPath): the most growth per character.
            logGroupName: fill(`/w${i}`, CONFIG_LIMITS.logGroupNameLength, '/'),
            // A space becomes "$2520" in the console link (LogStreamUrlPrefix).
            logStreamPrefix: fill(`s${i}`, CONFIG_LIMITS.logStreamPrefixLength, ' '),
          }
        : {
            kind: 'created',
            image: fill(`public.ecr.aws/w${i}/`, CONFIG_LIMITS.imageLength, 'i'),
            // Characters that cost 3 bytes in UTF-8 and quotes that JSON escapes.
            command: Array.from({ length: CONFIG_LIMITS.commandArguments }, (_, j) =>
              fill(`${j}"`, CONFIG_LIMITS.commandCharacters / CONFIG_LIMITS.commandArguments, '€'),
            ),
          };
    return {
      name: longestBatchName(namePrefix, i),
      description: 'worst case',
      schedule: { cron, timeZone, expectedIntervalHours: 24 },
      hardTimeoutSeconds: 86_399,
      stopGraceSeconds: 120,
      overlapPolicy: 'wait',
      maxLockWaitMinutes: 1440,
      skipNotification: 'alert',
      // The longest schedule input (a three-digit N) and a scheduler role path on every batch.
      pauseAfterConsecutiveFailures: MAX_PAUSE_AFTER_CONSECUTIVE_FAILURES,
      // The longest duration bounds in the attempt policy (five-digit seconds both).
      durationGuards: { minDurationSeconds: 10_000, nearHardTimeoutShare: 0.99 },
      containerName,
      overrides: { environment, command: true },
      task,
      // The longest capacity: a strategy of the most and longest provider names (imported clusters), or
      // Fargate Spot with the longest platform version (the app's own cluster has only Fargate providers).
      capacity:
        kind === 'imported'
          ? {
              capacityProviderStrategy: Array.from({ length: CAPACITY_LIMITS.strategyItems }, (_, j) => ({
                capacityProvider: fill(`p${i}-${j}-`, CAPACITY_LIMITS.providerNameLength, 'p'),
                weight: 1000,
                ...(j === 0 ? { base: 100_000 } : {}),
              })),
            }
          : { spot: { fallbackAfter: CAPACITY_LIMITS.fallbackAfter }, platformVersion: '999.999.999' },
      // The longest attempt policy: every retryable stop code, as many three-digit exit codes as allowed.
      retry: {
        attempts: MAX_RETRY_ATTEMPTS,
        infrastructureAttempts: MAX_RETRY_ATTEMPTS,
        backoffSeconds: MAX_RETRY_BACKOFF_SECONDS,
        on: {
          exitCodes: Array.from({ length: MAX_RETRY_EXIT_CODES }, (_, j) => 200 + j),
          stopCodes: [...RETRYABLE_STOP_CODES],
        },
      },
    };
  });
  // A dependent has no schedule to pause, so it does not set pauseAfterConsecutiveFailures (validation refuses it).
  const all = options.dependents
    ? batches.map((b, i) =>
        i === 0 ? b : { ...b, after: [batches[0].name], pauseAfterConsecutiveFailures: undefined },
      )
    : batches;
  validateBatchConfigs(all);
  return {
    batches: all,
    props: {
      namePrefix,
      stackNamePrefix: fill('W', APP_LIMITS.stackNamePrefixLength, 'W'),
      batchesPerStack: MAX_BATCHES_PER_STACK,
      env: { account, region },
      alertEmails: Array.from({ length: APP_LIMITS.alertEmails }, (_, j) =>
        fill(`a${j}@`, APP_LIMITS.alertEmailLength - 12, 'e').concat('.example.com'),
      ),
      network: {
        vpcId: `vpc-${hex(1, 17)}`,
        availabilityZones: [`${region}a`, `${region}b`, `${region}c`, `${region}d`],
        subnetIds: Array.from({ length: APP_LIMITS.subnets }, (_, j) => `subnet-${hex(j, 17)}`),
        securityGroupIds: Array.from({ length: APP_LIMITS.securityGroups }, (_, j) => `sg-${hex(j, 17)}`),
        // DISABLED: one character longer than ENABLED, and what tasks on EC2 capacity need.
        assignPublicIp: 'DISABLED',
      },
    },
  };
}
