import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import * as dynamodbModel from '@aws-sdk/client-dynamodb';

/**
 * Serves the Task states of a batch-runner definition outside AWS: each `Resource` of the ASL is
 * answered by a local service with the request and response shapes Step Functions uses (PascalCase),
 * and errors carry the names Step Functions gives them (`DynamoDB.ConditionalCheckFailedException`,
 * `Ecs.*`, `Sfn.*`, ...), so the definition's Retry and Catch behave as on AWS.
 */

type Json = unknown;
type Params = Record<string, any>;

/** An error as Step Functions names it; `message` becomes the Cause. */
export class ServiceError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/** ECS as the runner uses it (request and response shapes of Step Functions, PascalCase). */
export interface EcsService {
  runTask(params: Params): Promise<{ Tasks: Params[]; Failures: Params[] }>;
  listTasks(params: Params): Promise<{ TaskArns: string[] }>;
  describeTasks(params: Params): Promise<{ Tasks: Params[]; Failures: Params[] }>;
  stopTask(params: Params): Promise<{ Task: Params }>;
}

export interface SfnService {
  describeExecution(params: Params): Promise<Params>;
  stopExecution(params: Params): Promise<Params>;
}

export interface SnsService {
  publish(params: Params): Promise<{ MessageId: string }>;
}

/** EventBridge PutEvents as the optimized integration takes it (Detail as a JSON object). */
export interface EventsService {
  putEvents(params: Params): Promise<{ Entries: Params[]; FailedEntryCount: number }>;
}

/** A Lambda function by ARN: `payload` in, result out (a waitForTaskToken function resolves with the callback output). */
export type LocalFunction = (payload: Params) => Promise<Json>;

export interface LocalServices {
  readonly dynamodb: DynamoDBClient;
  readonly ecs: EcsService;
  readonly sfn: SfnService;
  readonly sns: SnsService;
  /** @default - a bus without rules: events are accepted and go nowhere */
  readonly events?: EventsService;
  readonly functions: Readonly<Record<string, LocalFunction>>;
}

/** One call a Task state made, for tests, the CLI timeline and benchmarks. */
export interface RecordedCall {
  readonly state: string;
  readonly resource: string;
  readonly params: Params;
  readonly at: number;
  result?: Json;
  error?: { name: string; cause: string };
}

/**
 * Lets a test fail a call before it reaches the service: returns the error to throw, `'hang'` for a
 * call that never answers (the state's TimeoutSeconds then ends it with States.Timeout), or undefined.
 */
export type FaultInjector = (call: RecordedCall, attempt: number) => Error | 'hang' | undefined;

const stripMetadata = (o: Params): Params => {
  const { $metadata: _ignored, ...rest } = o;
  return rest;
};

async function callDynamoDb(client: DynamoDBClient, action: string, params: Params): Promise<Json> {
  const commands: Record<string, (p: Params) => any> = {
    putItem: (p) => new PutItemCommand(p as any),
    getItem: (p) => new GetItemCommand(p as any),
    deleteItem: (p) => new DeleteItemCommand(p as any),
    updateItem: (p) => new UpdateItemCommand(p as any),
  };
  const make = commands[action];
  if (!make) throw new ServiceError('States.Runtime', `dynamodb:${action} is not served locally`);
  try {
    return stripMetadata(await client.send(make(params)));
  } catch (err) {
    const e = err as Error;
    throw new ServiceError(optimizedDynamoDbErrorName(e), e.message);
  }
}

/**
 * The name Step Functions' optimized DynamoDB integration gives an error: the AWS SDK for Java v1
 * class name, i.e. the modeled error with an `Exception` suffix (`RequestLimitExceeded` becomes
 * `DynamoDB.RequestLimitExceededException`), and `DynamoDB.AmazonDynamoDBException` for errors the
 * model does not have (Step Functions developer guide, error handling of service integrations).
 */
export function optimizedDynamoDbErrorName(err: Error): string {
  const cls = (dynamodbModel as Record<string, unknown>)[err.name];
  const modeled = typeof cls === 'function' && cls.prototype instanceof dynamodbModel.DynamoDBServiceException;
  if (!modeled) return 'DynamoDB.AmazonDynamoDBException';
  return `DynamoDB.${err.name.endsWith('Exception') ? err.name : `${err.name}Exception`}`;
}

/** Parses a Task Resource into how it is served. */
export function parseResource(resource: string): { service: string; action: string; pattern: 'request' | 'token' } {
  const m = /^arn:aws:states:::(?:aws-sdk:)?([a-z0-9]+):([A-Za-z]+)(\.waitForTaskToken|\.sync)?$/.exec(resource);
  if (!m) throw new Error(`Unsupported Task resource for local execution: ${resource}`);
  return { service: m[1], action: m[2], pattern: m[3] === '.waitForTaskToken' ? 'token' : 'request' };
}

/** Dispatches one Task state call to the local services. */
export async function callService(services: LocalServices, resource: string, params: Params): Promise<Json> {
  const { service, action, pattern } = parseResource(resource);
  switch (service) {
    case 'dynamodb':
      return callDynamoDb(services.dynamodb, action, params);
    case 'ecs': {
      const fn = (services.ecs as any)[action] as ((p: Params) => Promise<Json>) | undefined;
      if (!fn) throw new ServiceError('States.Runtime', `ecs:${action} is not served locally`);
      return fn.call(services.ecs, params);
    }
    case 'sfn': {
      const fn = (services.sfn as any)[action] as ((p: Params) => Promise<Json>) | undefined;
      if (!fn) throw new ServiceError('States.Runtime', `sfn:${action} is not served locally`);
      return fn.call(services.sfn, params);
    }
    case 'sns':
      if (action !== 'publish') throw new ServiceError('States.Runtime', `sns:${action} is not served locally`);
      return services.sns.publish(params);
    case 'events': {
      if (action !== 'putEvents') throw new ServiceError('States.Runtime', `events:${action} is not served locally`);
      const answer = services.events
        ? await services.events.putEvents(params)
        : { Entries: (params.Entries as Params[]).map((_, i) => ({ EventId: `local-${i}` })), FailedEntryCount: 0 };
      // The optimized integration fails the Task when PutEvents answers 200 with failed entries.
      if (answer.FailedEntryCount > 0)
        throw new ServiceError(
          'EventBridge.FailedEntry',
          JSON.stringify(answer.Entries.filter((e) => e.ErrorCode !== undefined)),
        );
      return answer;
    }
    case 'lambda': {
      const fn = services.functions[params.FunctionName as string];
      if (!fn) throw new ServiceError('Lambda.ResourceNotFoundException', `Function not found: ${params.FunctionName}`);
      const result = await fn(params.Payload as Params);
      return pattern === 'token' ? result : { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: result };
    }
    default:
      throw new ServiceError('States.Runtime', `${service}:${action} is not served locally`);
  }
}

/** Every Task state of a definition (including those inside Map and Parallel states), with its Resource. */
export function taskStatesOf(definition: Params): Array<{ name: string; resource: string; state: Params }> {
  const found: Array<{ name: string; resource: string; state: Params }> = [];
  const walk = (states: Params) => {
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Task') found.push({ name, resource: state.Resource, state });
      if (state.Type === 'Map') walk((state.ItemProcessor ?? state.Iterator).States);
      if (state.Type === 'Parallel') for (const b of state.Branches) walk(b.States);
    }
  };
  walk(definition.States);
  return found;
}

/**
 * Builds aws-local-stepfunctions' `taskResourceLocalHandlers` for a definition: every Task state is
 * served by {@link callService}, each call recorded in `calls` (and optionally failed by `inject`).
 */
export function localTaskHandlers(
  definition: Params,
  services: LocalServices,
  calls: RecordedCall[],
  inject?: FaultInjector,
): Record<string, (input: any) => Promise<any>> {
  const handlers: Record<string, (input: any) => Promise<any>> = {};
  const attempts = new Map<string, number>();
  for (const { name, resource } of taskStatesOf(definition)) {
    handlers[name] = async (params: Params) => {
      const call: RecordedCall = { state: name, resource, params, at: Date.now() };
      calls.push(call);
      const attempt = attempts.get(name) ?? 0;
      attempts.set(name, attempt + 1);
      try {
        const injected = inject?.(call, attempt);
        if (injected === 'hang') {
          call.error = { name: 'States.Timeout', cause: 'the call did not answer (injected)' };
          return await new Promise<never>(() => undefined);
        }
        if (injected) throw injected;
        const result = await callService(services, resource, params);
        call.result = result;
        return result;
      } catch (err) {
        const e = err as Error;
        call.error = { name: e.name, cause: e.message };
        throw e;
      }
    };
  }
  return handlers;
}
