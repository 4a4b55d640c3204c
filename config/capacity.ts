/**
 * Where a batch's task runs: on-demand Fargate (the default), Fargate Spot with a fallback to
 * on-demand Fargate, a capacity provider strategy, or the EC2 launch type; and the Fargate platform
 * version. Validated here, carried to the state machine in the attempt policy (`capacity`) and the
 * `PlatformVersion` placeholder (state-machines/definition.ts), chosen per attempt by the
 * `WhereToStartTask` state of state-machines/batch-runner.asl.json.
 */
import { failField as fail } from './config-error';

/** One item of an ECS capacity provider strategy (RunTask `capacityProviderStrategy`). */
export interface CapacityProviderStrategyItem {
  /** Name of a capacity provider associated with the batch's cluster (an Auto Scaling group provider, `FARGATE` or `FARGATE_SPOT`). */
  readonly capacityProvider: string;
  /**
   * Relative share of tasks placed with this provider (0-1000).
   * @default 1
   */
  readonly weight?: number;
  /**
   * Tasks placed with this provider before weights apply (0-100000); only one item may have one.
   * @default 0
   */
  readonly base?: number;
}

/** See {@link BatchCapacity.spot}. */
export interface SpotCapacity {
  /**
   * Setbacks in one run after which the next attempts start on on-demand Fargate: capacity failures
   * of RunTask (no Spot capacity) and infrastructure retries (a `SpotInterruption` stop code, or
   * another code in `retry.on.stopCodes`). 1-5.
   * @default 1
   */
  readonly fallbackAfter?: number;
}

/**
 * Where the batch's task runs. At most one of `spot`, `capacityProviderStrategy` and `launchType`.
 * The running-task check, the hard timeout and the lock are the same wherever the task runs.
 */
export interface BatchCapacity {
  /**
   * Start the task on Fargate Spot (capacity provider `FARGATE_SPOT`); after `fallbackAfter` setbacks in
   * a run, start the next attempts with launch type FARGATE (on-demand). A `SpotInterruption` stop code
   * is then retried as an infrastructure disruption (within `retry.infrastructureAttempts`, default 3),
   * also without a `retry` policy. The cluster must have `FARGATE_SPOT` among its capacity providers
   * (the app adds it to the cluster it creates; for an imported cluster, see the README).
   * @default - on-demand Fargate only
   */
  readonly spot?: SpotCapacity;
  /**
   * RunTask's capacity provider strategy, for imported clusters with Auto Scaling group capacity
   * providers (or a mix of `FARGATE` and `FARGATE_SPOT`). At most 3 items. No platform version is sent
   * (ECS refuses one for EC2 capacity).
   * @default - launch type FARGATE
   */
  readonly capacityProviderStrategy?: readonly CapacityProviderStrategyItem[];
  /**
   * `FARGATE`, or `EC2` for an imported task definition on an imported cluster with container
   * instances. EC2 needs the `awsvpc` network mode (the runner passes subnets and security groups) and
   * `assignPublicIp: 'DISABLED'`, and sends no platform version.
   * @default 'FARGATE'
   */
  readonly launchType?: 'FARGATE' | 'EC2';
  /**
   * Fargate platform version (`LATEST`, or a version such as `1.4.0`), for Fargate and Fargate Spot.
   * @default 'LATEST'
   */
  readonly platformVersion?: string;
}

/** How the attempt states read the capacity (`$.attempts.policy.capacity`); absent for on-demand Fargate. */
export type CapacityPolicy =
  | {
      /** Fargate Spot until this many setbacks in the run, then on-demand Fargate. */
      readonly spotFallbackAfter: number;
    }
  | {
      /** RunTask's `CapacityProviderStrategy` as sent (PascalCase, weight and base filled in). */
      readonly providers: ReadonlyArray<{
        /** The capacity provider's name. */
        readonly CapacityProvider: string;
        /** Relative share of tasks. */
        readonly Weight: number;
        /** Tasks placed before weights apply. */
        readonly Base: number;
      }>;
    }
  | {
      /** Launch type EC2 (no platform version is sent). */
      readonly launchType: 'EC2';
    };

/** The largest capacity settings validation accepts (from ECS's limits or the template budget). */
export const CAPACITY_LIMITS = {
  /** Items of a capacity provider strategy (ECS allows more; each one is inlined in the template). */
  strategyItems: 3,
  /** Capacity provider names: ECS allows 255 characters; the template budget 64. */
  providerNameLength: 64,
  /** `spot.fallbackAfter`. */
  fallbackAfter: 5,
} as const;

/** The Fargate capacity providers every cluster may associate. */
export const FARGATE_CAPACITY_PROVIDERS = ['FARGATE', 'FARGATE_SPOT'] as const;
const PROVIDER_NAME = new RegExp(`^[a-zA-Z0-9_-]{1,${CAPACITY_LIMITS.providerNameLength}}$`);
const PLATFORM_VERSION = /^(LATEST|\d{1,3}\.\d{1,3}\.\d{1,3})$/;
const KNOWN = ['spot', 'capacityProviderStrategy', 'launchType', 'platformVersion'];

const isWhole = (v: unknown, min: number, max: number): v is number =>
  Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

/** Validates `capacity`; `taskKind` says whether the app creates the task definition (and cluster). */
export function validateCapacity(name: string, capacity: BatchCapacity, taskKind: 'created' | 'imported'): void {
  if (capacity === null || typeof capacity !== 'object' || Array.isArray(capacity)) {
    fail(name, 'capacity', capacity, 'give an object such as { spot: { fallbackAfter: 1 } }, or leave capacity out.');
  }
  for (const [key, value] of Object.entries(capacity)) {
    if (!KNOWN.includes(key)) {
      fail(
        name,
        `capacity.${key}`,
        value,
        `there is no such field; remove it. Known fields of capacity: ${KNOWN.join(', ')}.`,
      );
    }
  }
  const chosen = (['spot', 'capacityProviderStrategy', 'launchType'] as const).filter((k) => capacity[k] !== undefined);
  if (chosen.length > 1) {
    fail(
      name,
      'capacity',
      capacity,
      `choose one of spot, capacityProviderStrategy and launchType (ECS takes a launch type or a capacity provider strategy, not both; spot already means Fargate); remove ${chosen.slice(1).join(' and ')}.`,
    );
  }
  const { spot, capacityProviderStrategy: strategy, launchType, platformVersion } = capacity;
  if (spot !== undefined) validateSpot(name, spot);
  if (strategy !== undefined) validateStrategy(name, strategy, taskKind);
  if (launchType !== undefined && launchType !== 'FARGATE' && launchType !== 'EC2') {
    fail(name, 'capacity.launchType', launchType, 'use "FARGATE" or "EC2", or leave it out (FARGATE).');
  }
  if (launchType === 'EC2' && taskKind === 'created') {
    fail(
      name,
      'capacity.launchType',
      launchType,
      'the task definitions and the cluster the app creates are Fargate only; use an imported task ({ kind: "imported", clusterArn, ... }) on a cluster with container instances, or leave launchType out.',
    );
  }
  if (platformVersion !== undefined) {
    if (typeof platformVersion !== 'string' || !PLATFORM_VERSION.test(platformVersion)) {
      fail(
        name,
        'capacity.platformVersion',
        platformVersion,
        'use "LATEST" or a Fargate platform version such as "1.4.0".',
      );
    }
    if (launchType === 'EC2' || strategy !== undefined) {
      fail(
        name,
        'capacity.platformVersion',
        platformVersion,
        'a platform version is for Fargate only, and ECS refuses one for EC2 capacity; remove it, or run on Fargate (spot, or no launchType / capacityProviderStrategy).',
      );
    }
  }
}

function validateSpot(name: string, spot: SpotCapacity): void {
  if (spot === null || typeof spot !== 'object' || Array.isArray(spot)) {
    fail(name, 'capacity.spot', spot, 'give an object such as { fallbackAfter: 1 } ({} for the default).');
  }
  for (const [key, value] of Object.entries(spot)) {
    if (key !== 'fallbackAfter') {
      fail(
        name,
        `capacity.spot.${key}`,
        value,
        'there is no such field; remove it. Known fields of capacity.spot: fallbackAfter.',
      );
    }
  }
  if (spot.fallbackAfter !== undefined && !isWhole(spot.fallbackAfter, 1, CAPACITY_LIMITS.fallbackAfter)) {
    fail(
      name,
      'capacity.spot.fallbackAfter',
      spot.fallbackAfter,
      `use a whole number of setbacks from 1 to ${CAPACITY_LIMITS.fallbackAfter} (capacity failures or Spot interruptions in one run before falling back to on-demand Fargate).`,
    );
  }
}

function validateStrategy(
  name: string,
  strategy: readonly CapacityProviderStrategyItem[],
  taskKind: 'created' | 'imported',
): void {
  const field = 'capacity.capacityProviderStrategy';
  if (!Array.isArray(strategy) || strategy.length === 0 || strategy.length > CAPACITY_LIMITS.strategyItems) {
    fail(
      name,
      field,
      strategy,
      `give 1 to ${CAPACITY_LIMITS.strategyItems} items such as [{ capacityProvider: "my-asg-provider", weight: 1 }].`,
    );
  }
  strategy.forEach((item, i) => {
    const at = `${field}[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      fail(name, at, item, 'give { capacityProvider, weight?, base? }.');
    }
    for (const [key, value] of Object.entries(item)) {
      if (!['capacityProvider', 'weight', 'base'].includes(key)) {
        fail(
          name,
          `${at}.${key}`,
          value,
          'there is no such field; remove it. Known fields: capacityProvider, weight, base.',
        );
      }
    }
    if (typeof item.capacityProvider !== 'string' || !PROVIDER_NAME.test(item.capacityProvider)) {
      fail(
        name,
        `${at}.capacityProvider`,
        item.capacityProvider,
        `use the name of a capacity provider of the cluster: letters, digits, "-" and "_", at most ${CAPACITY_LIMITS.providerNameLength} characters.`,
      );
    }
    if (taskKind === 'created' && !(FARGATE_CAPACITY_PROVIDERS as readonly string[]).includes(item.capacityProvider)) {
      fail(
        name,
        `${at}.capacityProvider`,
        item.capacityProvider,
        `the cluster the app creates has only ${FARGATE_CAPACITY_PROVIDERS.join(' and ')}; use those, use capacity.spot, or import a task on a cluster with your provider.`,
      );
    }
    if (item.weight !== undefined && !isWhole(item.weight, 0, 1000)) {
      fail(name, `${at}.weight`, item.weight, 'use a whole number from 0 to 1000.');
    }
    if (item.base !== undefined && !isWhole(item.base, 0, 100000)) {
      fail(name, `${at}.base`, item.base, 'use a whole number from 0 to 100000.');
    }
  });
  const names = strategy.map((i) => i.capacityProvider);
  if (new Set(names).size !== names.length) fail(name, field, names, 'name each capacity provider once.');
  if (strategy.filter((i) => (i.base ?? 0) > 0).length > 1) {
    fail(name, field, strategy, 'give a base to at most one capacity provider (ECS refuses more).');
  }
  if (!strategy.some((i) => (i.weight ?? 1) > 0)) {
    fail(name, field, strategy, 'give at least one capacity provider a weight above 0 (ECS places nothing otherwise).');
  }
}

/** The capacity part of the attempt policy; undefined for on-demand Fargate. */
export function capacityPolicyOf(capacity: BatchCapacity | undefined): CapacityPolicy | undefined {
  if (capacity?.spot) return { spotFallbackAfter: capacity.spot.fallbackAfter ?? 1 };
  if (capacity?.capacityProviderStrategy) {
    return {
      providers: capacity.capacityProviderStrategy.map((i) => ({
        CapacityProvider: i.capacityProvider,
        Weight: i.weight ?? 1,
        Base: i.base ?? 0,
      })),
    };
  }
  if (capacity?.launchType === 'EC2') return { launchType: 'EC2' };
  return undefined;
}

/** The `PlatformVersion` placeholder: sent only by the Fargate RunTask states. */
export const platformVersionOf = (capacity: BatchCapacity | undefined): string => capacity?.platformVersion ?? 'LATEST';
