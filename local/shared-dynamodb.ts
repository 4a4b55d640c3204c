import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { dynamoDbClientFor, startEmbeddedDynamoDb } from './lock-store';
import { isAlive, processRef, readJson, sleep } from './state-dir';

/** A DynamoDB endpoint the local mode uses for the lock table. */
export interface LocalDynamoDb {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  /** `shared`: the server outlives this process (until idle); `memory`: gone with it. */
  readonly kind: 'shared' | 'memory';
  close(): Promise<void>;
}

export interface SharedServerState {
  readonly pid: number;
  readonly port: number;
  readonly endpoint: string;
  readonly startedAt: string;
  readonly idleSeconds: number;
}

export interface SharedDynamoDbOptions {
  /** Server exits after this long without a request. @default 120, or `$BATCH_RUNNER_DYNAMODB_IDLE_SECONDS` */
  readonly idleSeconds?: number;
  /** Give up starting the server after this long. @default 15000 */
  readonly startTimeoutMs?: number;
}

const SERVER_SCRIPT = join(__dirname, 'dynamodb-server.js');
const stateFileOf = (stateDir: string) => join(stateDir, 'dynamodb.json');
const startLockOf = (stateDir: string) => join(stateDir, 'dynamodb.start.lock');

/** Thrown when the local DynamoDB cannot be started or reached. */
export class LocalStoreError extends Error {
  constructor(
    message: string,
    /** How to put it right, for the CLI's `fix:` line. */
    readonly fix?: string,
  ) {
    super(message);
    this.name = 'LocalStoreError';
  }
}

async function answers(client: DynamoDBClient): Promise<boolean> {
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2000) as any });
    return true;
  } catch {
    return false;
  }
}

/** The running server of a state directory, if it answers. */
async function runningServer(stateDir: string): Promise<SharedServerState | undefined> {
  const state = readJson<SharedServerState>(stateFileOf(stateDir));
  if (!state || !isAlive({ pid: state.pid })) return undefined;
  const probe = dynamoDbClientFor(state.endpoint, { maxAttempts: 1 });
  try {
    return (await answers(probe)) ? state : undefined;
  } finally {
    probe.destroy();
  }
}

/**
 * Takes the start mutex (an exclusively created file naming its holder). A mutex whose holder died, or
 * that is older than the start timeout, is broken: starting the server is idempotent anyway, because a
 * second server cannot open the LevelDB files and exits (see dynamodb-server.js).
 */
function tryTakeStartLock(stateDir: string, staleMs: number): boolean {
  const path = startLockOf(stateDir);
  try {
    const fd = openSync(path, 'wx');
    writeSync(fd, JSON.stringify(processRef(process.pid)));
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const holder = readJson<{ pid: number; startTicks?: string }>(path);
  let age: number;
  try {
    age = Date.now() - statSync(path).mtimeMs;
  } catch {
    return false;
  }
  if ((holder && !isAlive(holder)) || age > staleMs) {
    try {
      unlinkSync(path);
    } catch {}
  }
  return false;
}

/**
 * Connects to the state directory's shared dynalite server, starting it if none answers. While the
 * returned handle is open it pings the server every 20 s, so the server's idle timer never fires under
 * a live client. Two processes calling this at once end up on the same server.
 */
export async function connectSharedDynamoDb(
  stateDir: string,
  options: SharedDynamoDbOptions = {},
): Promise<LocalDynamoDb> {
  mkdirSync(stateDir, { recursive: true });
  const idleSeconds = options.idleSeconds ?? Number(process.env.BATCH_RUNNER_DYNAMODB_IDLE_SECONDS ?? 120);
  const startTimeoutMs = options.startTimeoutMs ?? 15000;
  const deadline = Date.now() + startTimeoutMs;
  let state = await runningServer(stateDir);
  while (!state) {
    if (Date.now() > deadline) {
      throw new LocalStoreError(
        `the local DynamoDB (dynalite) did not start within ${startTimeoutMs / 1000} s`,
        `see why in ${join(stateDir, 'dynamodb.log')} and retry; if it keeps failing, stop any stray "dynamodb-server.js" process and delete ${join(stateDir, 'dynamodb-data')}.`,
      );
    }
    if (!tryTakeStartLock(stateDir, startTimeoutMs)) {
      await sleep(100);
      state = await runningServer(stateDir);
      continue;
    }
    try {
      state = await runningServer(stateDir);
      if (!state) state = await startServer(stateDir, idleSeconds, deadline);
    } finally {
      try {
        unlinkSync(startLockOf(stateDir));
      } catch {}
    }
  }
  const client = dynamoDbClientFor(state.endpoint);
  const keepAlive = setInterval(() => {
    void answers(client);
  }, 20000);
  keepAlive.unref();
  return {
    endpoint: state.endpoint,
    client,
    kind: 'shared',
    close: async () => {
      clearInterval(keepAlive);
      client.destroy();
    },
  };
}

async function startServer(
  stateDir: string,
  idleSeconds: number,
  deadline: number,
): Promise<SharedServerState | undefined> {
  const logFd = openSync(join(stateDir, 'dynamodb.log'), 'a');
  const child = spawn(process.execPath, [SERVER_SCRIPT, '--dir', stateDir, '--idle-seconds', String(idleSeconds)], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  child.unref();
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  while (Date.now() < deadline) {
    await sleep(50);
    const state = readJson<SharedServerState>(stateFileOf(stateDir));
    if (state?.pid === child.pid) return (await runningServer(stateDir)) ?? undefined;
    // It exited: another process's server holds the data (it will show up in the state file), or it failed.
    if (exited) return runningServer(stateDir);
  }
  return undefined;
}

/** Stops the shared server of a state directory (tests, `batch-runner local-reset`). */
export async function stopSharedDynamoDb(stateDir: string): Promise<boolean> {
  const state = readJson<SharedServerState>(stateFileOf(stateDir));
  if (!state || !isAlive({ pid: state.pid })) return false;
  try {
    process.kill(state.pid, 'SIGTERM');
  } catch {
    return false;
  }
  for (let i = 0; i < 100 && isAlive({ pid: state.pid }); i++) await sleep(50);
  return true;
}

/** An in-process, in-memory dynalite: for the demo and tests that need no cross-process state. */
export async function startMemoryDynamoDb(): Promise<LocalDynamoDb> {
  const db = await startEmbeddedDynamoDb();
  return { endpoint: db.endpoint, client: db.client, kind: 'memory', close: db.close };
}
