import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';

/**
 * The SDK clients the runner's Lambda handlers use. Handlers take them as a parameter so that unit
 * tests inject mocks (aws-sdk-client-mock) or a client for an embedded DynamoDB; in Lambda they are
 * created once per container and reused across invocations.
 */
export interface RunnerClients {
  readonly dynamodb: DynamoDBClient;
  readonly ecs: ECSClient;
  readonly sfn: SFNClient;
  readonly sns: SNSClient;
}

let shared: RunnerClients | undefined;

/** Clients for the Lambda's own region and credentials (standard SDK retries, 3 attempts). */
export function defaultClients(): RunnerClients {
  shared ??= {
    dynamodb: new DynamoDBClient({}),
    ecs: new ECSClient({}),
    sfn: new SFNClient({}),
    sns: new SNSClient({}),
  };
  return shared;
}

/** Reads a required environment variable, with a message that says which function lacks it. */
export function requiredEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new Error(
      `environment variable ${name} is not set: the CDK construct (infra/batch-runner.ts) sets it on the function.`,
    );
  }
  return value;
}
