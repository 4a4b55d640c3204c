import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SFNClient } from '@aws-sdk/client-sfn';

/** The AWS SDK v3 clients the CLI uses; injectable (tests pass clients mocked with aws-sdk-client-mock). */
export interface AwsClients {
  readonly sfn: SFNClient;
  readonly ecs: ECSClient;
  readonly dynamodb: DynamoDBClient;
  readonly scheduler: SchedulerClient;
  readonly logs: CloudWatchLogsClient;
}

export interface AwsClientOptions {
  /** @default - the SDK's default chain (AWS_REGION, profile) */
  readonly region?: string;
  /** @default - the SDK's default chain (AWS_PROFILE, default profile) */
  readonly profile?: string;
}

/** Clients created on first use, so that `--local` commands never load credentials. */
export function createAwsClients(options: AwsClientOptions = {}): AwsClients {
  const config = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  };
  const cache: Partial<Record<keyof AwsClients, unknown>> = {};
  const lazy = <K extends keyof AwsClients>(key: K, make: () => AwsClients[K]): AwsClients[K] => {
    cache[key] ??= make();
    return cache[key] as AwsClients[K];
  };
  return {
    get sfn() {
      return lazy('sfn', () => new SFNClient(config));
    },
    get ecs() {
      return lazy('ecs', () => new ECSClient(config));
    },
    get dynamodb() {
      return lazy('dynamodb', () => new DynamoDBClient(config));
    },
    get scheduler() {
      return lazy('scheduler', () => new SchedulerClient(config));
    },
    get logs() {
      return lazy('logs', () => new CloudWatchLogsClient(config));
    },
  };
}
