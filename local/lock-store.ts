import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';

// dynalite ships no types; it is an HTTP server speaking the DynamoDB API (LevelDB-backed).
const dynalite: (options: Record<string, unknown>) => import('node:http').Server = require('dynalite');

/** Partition key of the lock table: one item per batch. */
export const LOCK_KEY_ATTRIBUTE = 'batch';

export interface EmbeddedDynamoDb {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  close(): Promise<void>;
}

/**
 * Starts dynalite on loopback and returns a real `@aws-sdk/client-dynamodb` client for it, so lock
 * writes have DynamoDB's real conditional semantics. With `path`, data persists on disk (LevelDB)
 * across processes; without, it lives in memory.
 */
export async function startEmbeddedDynamoDb(options: { path?: string; port?: number } = {}): Promise<EmbeddedDynamoDb> {
  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = dynamoDbClientFor(endpoint);
  return {
    endpoint,
    client,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A DynamoDB client for a local endpoint (static dummy credentials: nothing leaves loopback). The SDK
 * retries transient failures (a busy machine) as against AWS; conditional-check failures are never retried.
 */
export function dynamoDbClientFor(endpoint: string, options: { maxAttempts?: number } = {}): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: options.maxAttempts ?? 3,
  });
}

/** Creates the lock table (partition key `batch`, on demand) if it does not exist yet, and waits until it is ACTIVE. */
export async function ensureLockTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: LOCK_KEY_ATTRIBUTE, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: LOCK_KEY_ATTRIBUTE, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  }
  // dynalite, like DynamoDB, creates a table CREATING and answers ResourceNotFoundException to item
  // calls until it is ACTIVE (after a timer, even with createTableMs 0): on a busy machine the first
  // write could come first. This process's table or another's: wait for ACTIVE (milliseconds offline).
  for (let i = 0; i < 500; i++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`the lock table ${tableName} did not become ACTIVE after 500 looks (about 5 s)`);
}
