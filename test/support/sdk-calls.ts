import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Records the AWS SDK calls a Lambda handler makes while its tests run realistic scenarios, as the
 * IAM requests they become: `<service>:<Action>` plus the request parameters that decide the IAM
 * request (which lock-table item, whether an ECS call names its cluster). The IAM contract test
 * (test/contracts/iam.contract.test.ts) simulates every call declared in `HANDLER_CALLS_FILE` against
 * the handler's synthesized role; the handler tests fail when the code makes a call that file does
 * not declare, so the declaration cannot fall behind the code.
 */
export const HANDLER_CALLS_FILE = join(__dirname, '..', 'contracts', 'handler-calls.json');

/** The handlers whose calls are declared (the CDK function's entry, handlers/<name>.ts). */
export type HandlerName = 'task-watcher' | 'cleanup' | 'validate-manual-input';

/** The declared calls of each handler (`test/contracts/handler-calls.json`). */
export function declaredHandlerCalls(): Record<HandlerName, string[]> {
  const { calls } = JSON.parse(readFileSync(HANDLER_CALLS_FILE, 'utf8'));
  return calls;
}

/** Which lock-table item a DynamoDB item call touches, by the shape of its partition key. */
function itemKind(input: any): string | undefined {
  const key = (input?.Key ?? input?.Item)?.batch?.S;
  if (typeof key !== 'string') return undefined;
  if (key.startsWith('alert#')) return 'alert';
  if (key.startsWith('slot#')) return 'slot';
  if (key.startsWith('pause#')) return 'pause';
  return 'lock';
}

/**
 * The signature of one call: `dynamodb:UpdateItem key=alert`, `ecs:ListTasks cluster`,
 * `ecs:ListTasks no-cluster` (the default cluster: refused by an `ecs:cluster` condition), `sns:Publish`.
 */
export function callSignature(service: string, commandName: string, input: any): string {
  const action = `${service}:${commandName.replace(/Command$/, '')}`;
  if (service === 'dynamodb') {
    const kind = itemKind(input);
    return kind ? `${action} key=${kind}` : action;
  }
  if (service === 'ecs') return `${action} ${input?.cluster ? 'cluster' : 'no-cluster'}`;
  return action;
}

/**
 * A second client for an embedded DynamoDB, for the handler under test only (so the test's own setup
 * calls are not recorded). No keep-alive: its sockets close with each request, so nothing of it
 * outlives the test file.
 */
export function recordingClientFor(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: { httpAgent: new Agent({ keepAlive: false }) },
  });
}

/** The SDK calls of one handler, gathered over a test file. */
export class SdkCallRecorder {
  private readonly seen = new Set<string>();

  constructor(public readonly handler: HandlerName) {}

  /** Records every call `client` sends from now on (a real client, e.g. one for dynalite). */
  recordDynamoDb<C extends DynamoDBClient>(client: C): C {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        this.seen.add(callSignature('dynamodb', String(context.commandName), args.input));
        return next(args);
      },
      { step: 'initialize', name: 'recordHandlerCalls' },
    );
    return client;
  }

  /** Records the calls an aws-sdk-client-mock mock received (call before its `reset()`). */
  takeMockCalls(service: string, mock: { calls(): Array<{ args: any[] }> }): void {
    for (const call of mock.calls()) {
      const command = call.args[0];
      this.seen.add(callSignature(service, command.constructor.name, command.input));
    }
  }

  get signatures(): string[] {
    return [...this.seen].sort();
  }

  /** The recorded calls the declaration lacks (expected empty). */
  undeclared(): string[] {
    const declared = new Set(declaredHandlerCalls()[this.handler]);
    return this.signatures.filter((s) => !declared.has(s));
  }
}
