import { App } from 'aws-cdk-lib';
import { type BatchConfig, BatchConfigError, validateBatchConfigs } from '../../config/batch-config';
import { BATCHES } from '../../config/batches';
import { addBatchRunnerStacks } from '../../infra/batch-runner-app';
import { attemptPolicyOf, substitutionsFor } from '../../state-machines/definition';
import { TEST_BATCH, TEST_BINDINGS } from '../support/asl-harness';

/** Issue 11, capacity (config/capacity.ts): where the task runs, validated before anything is deployed. */

const created: BatchConfig = BATCHES[0];
const imported: BatchConfig = TEST_BATCH;
const withCapacity = (capacity: unknown, base: BatchConfig = imported): BatchConfig =>
  ({ ...base, capacity }) as BatchConfig;
const refused =
  (capacity: unknown, base: BatchConfig = imported) =>
  () =>
    validateBatchConfigs([withCapacity(capacity, base)]);

describe('what the state machine is given', () => {
  test('no capacity: no capacity in the attempt policy, platform version LATEST', () => {
    expect(attemptPolicyOf(imported).capacity).toBeUndefined();
    expect(substitutionsFor(imported, TEST_BINDINGS).PlatformVersion).toBe('LATEST');
  });

  test('Fargate Spot: the fallback count (1 by default), and SpotInterruption retried even without a retry policy', () => {
    const batch = withCapacity({ spot: {}, platformVersion: '1.4.0' });
    expect(() => validateBatchConfigs([batch])).not.toThrow();
    expect(attemptPolicyOf(batch)).toEqual({
      context: true,
      retry: {
        attempts: 1,
        infrastructureAttempts: 3,
        backoffSeconds: 30,
        exitCodes: '',
        stopCodes: 'SpotInterruption',
      },
      capacity: { spotFallbackAfter: 1 },
    });
    expect(substitutionsFor(batch, TEST_BINDINGS).PlatformVersion).toBe('1.4.0');
  });

  test('Fargate Spot beside a retry policy keeps its codes and adds SpotInterruption once', () => {
    const retry = { attempts: 2, on: { exitCodes: [75], stopCodes: ['TaskFailedToStart'] } };
    const batch = { ...withCapacity({ spot: { fallbackAfter: 3 } }), retry } as BatchConfig;
    expect(attemptPolicyOf(batch).retry).toMatchObject({
      exitCodes: '75',
      stopCodes: 'TaskFailedToStart,SpotInterruption',
    });
    expect(attemptPolicyOf(batch).capacity).toEqual({ spotFallbackAfter: 3 });
    const already = { ...batch, retry: { attempts: 2, on: { stopCodes: ['SpotInterruption'] } } } as BatchConfig;
    expect(attemptPolicyOf(already).retry?.stopCodes).toBe('SpotInterruption');
  });

  test('a capacity provider strategy in RunTask`s PascalCase, weight 1 and base 0 filled in', () => {
    const batch = withCapacity({
      capacityProviderStrategy: [
        { capacityProvider: 'nightly-asg', weight: 2, base: 1 },
        { capacityProvider: 'FARGATE' },
      ],
    });
    expect(() => validateBatchConfigs([batch])).not.toThrow();
    expect(attemptPolicyOf(batch).capacity).toEqual({
      providers: [
        { CapacityProvider: 'nightly-asg', Weight: 2, Base: 1 },
        { CapacityProvider: 'FARGATE', Weight: 1, Base: 0 },
      ],
    });
  });

  test('launch type EC2 on an imported task; launch type FARGATE is the default and adds nothing', () => {
    expect(attemptPolicyOf(withCapacity({ launchType: 'EC2' })).capacity).toEqual({ launchType: 'EC2' });
    expect(
      attemptPolicyOf(withCapacity({ launchType: 'FARGATE', platformVersion: 'LATEST' })).capacity,
    ).toBeUndefined();
  });
});

/** An imported network whose tasks get public IPs (Fargate only). */
const PUBLIC_IP_NETWORK = {
  vpcId: 'vpc-0a1b2c3d',
  availabilityZones: ['ap-northeast-1a'],
  subnetIds: ['subnet-0bcf5b43'],
  securityGroupIds: ['sg-0a1b2c3d'],
  assignPublicIp: 'ENABLED' as const,
};

describe('refused with the batch, the field, the value and the fix', () => {
  test.each([
    [
      'not an object',
      'spot',
      /capacity = "spot" is invalid: give an object such as \{ spot: \{ fallbackAfter: 1 \} \}/,
    ],
    [
      'an unknown field',
      { spotFallback: 2 },
      /capacity\.spotFallback = 2 is invalid: there is no such field; remove it\. Known fields of capacity: spot,/,
    ],
    [
      'two placements',
      { spot: {}, launchType: 'EC2' },
      /capacity = .* is invalid: choose one of spot, capacityProviderStrategy and launchType .*; remove launchType\./,
    ],
    [
      'a fallback of 0',
      { spot: { fallbackAfter: 0 } },
      /capacity\.spot\.fallbackAfter = 0 is invalid: use a whole number of setbacks from 1 to 5/,
    ],
    ['a fallback of 6', { spot: { fallbackAfter: 6 } }, /capacity\.spot\.fallbackAfter = 6 is invalid/],
    ['an unknown spot field', { spot: { after: 1 } }, /capacity\.spot\.after = 1 is invalid: there is no such field/],
    [
      'a launch type ECS has not',
      { launchType: 'LAMBDA' },
      /capacity\.launchType = "LAMBDA" is invalid: use "FARGATE" or "EC2"/,
    ],
    [
      'a malformed platform version',
      { platformVersion: '1.4' },
      /capacity\.platformVersion = "1\.4" is invalid: use "LATEST" or a Fargate platform version such as "1\.4\.0"/,
    ],
    [
      'a platform version on EC2',
      { launchType: 'EC2', platformVersion: '1.4.0' },
      /capacity\.platformVersion = "1\.4\.0" is invalid: a platform version is for Fargate only/,
    ],
    [
      'a platform version beside a strategy',
      { capacityProviderStrategy: [{ capacityProvider: 'FARGATE' }], platformVersion: 'LATEST' },
      /capacity\.platformVersion = "LATEST" is invalid: a platform version is for Fargate only/,
    ],
    [
      'an empty strategy',
      { capacityProviderStrategy: [] },
      /capacity\.capacityProviderStrategy = \[\] is invalid: give 1 to 3 items/,
    ],
    [
      'four providers',
      { capacityProviderStrategy: ['a', 'b', 'c', 'd'].map((capacityProvider) => ({ capacityProvider })) },
      /capacity\.capacityProviderStrategy = .* is invalid: give 1 to 3 items/,
    ],
    [
      'a provider name with a space',
      { capacityProviderStrategy: [{ capacityProvider: 'my asg' }] },
      /capacity\.capacityProviderStrategy\[0\]\.capacityProvider = "my asg" is invalid: use the name of a capacity provider/,
    ],
    [
      'a weight over 1000',
      { capacityProviderStrategy: [{ capacityProvider: 'asg', weight: 1001 }] },
      /capacity\.capacityProviderStrategy\[0\]\.weight = 1001 is invalid: use a whole number from 0 to 1000/,
    ],
    [
      'a camelCase typo',
      { capacityProviderStrategy: [{ capacityProvider: 'asg', Weight: 2 }] },
      /capacity\.capacityProviderStrategy\[0\]\.Weight = 2 is invalid: there is no such field/,
    ],
    [
      'a provider named twice',
      { capacityProviderStrategy: [{ capacityProvider: 'asg' }, { capacityProvider: 'asg' }] },
      /capacity\.capacityProviderStrategy = \["asg","asg"\] is invalid: name each capacity provider once/,
    ],
    [
      'two bases',
      {
        capacityProviderStrategy: [
          { capacityProvider: 'a', base: 1 },
          { capacityProvider: 'b', base: 2 },
        ],
      },
      /capacity\.capacityProviderStrategy = .* is invalid: give a base to at most one capacity provider/,
    ],
    [
      'only zero weights',
      { capacityProviderStrategy: [{ capacityProvider: 'a', weight: 0 }] },
      /capacity\.capacityProviderStrategy = .* is invalid: give at least one capacity provider a weight above 0/,
    ],
  ])('%s', (_label, capacity, message) => {
    expect(refused(capacity)).toThrow(BatchConfigError);
    expect(refused(capacity)).toThrow(new RegExp(`^batch "${imported.name}": ${message.source.replace(/^\^/, '')}`));
  });

  test('the cluster and task definitions the app creates are Fargate only: EC2 and other providers are refused there', () => {
    expect(refused({ launchType: 'EC2' }, created)).toThrow(
      /capacity\.launchType = "EC2" is invalid: the task definitions and the cluster the app creates are Fargate only/,
    );
    expect(refused({ capacityProviderStrategy: [{ capacityProvider: 'nightly-asg' }] }, created)).toThrow(
      /capacity\.capacityProviderStrategy\[0\]\.capacityProvider = "nightly-asg" is invalid: the cluster the app creates has only FARGATE and FARGATE_SPOT/,
    );
    expect(() =>
      validateBatchConfigs([
        withCapacity({ capacityProviderStrategy: [{ capacityProvider: 'FARGATE_SPOT' }] }, created),
      ]),
    ).not.toThrow();
  });

  test('EC2 with public IPs is refused by the app (ECS gives public IPs to Fargate tasks only), before anything is synthesized', () => {
    const app = new App();
    expect(() =>
      addBatchRunnerStacks(app, {
        batches: [withCapacity({ launchType: 'EC2' })],
        network: PUBLIC_IP_NETWORK,
      }),
    ).toThrow(/capacity\.launchType = "EC2" is invalid with network\.assignPublicIp = "ENABLED"/);
    expect(() =>
      addBatchRunnerStacks(new App(), {
        batches: [
          withCapacity({
            capacityProviderStrategy: [{ capacityProvider: 'nightly-asg' }, { capacityProvider: 'FARGATE' }],
          }),
        ],
        network: PUBLIC_IP_NETWORK,
      }),
    ).toThrow(
      /capacity\.capacityProviderStrategy = \["nightly-asg"\] is invalid with network\.assignPublicIp = "ENABLED"/,
    );
    expect(app.node.children).toHaveLength(0);
  });
});
