#!/usr/bin/env node
/**
 * The local mode's shared DynamoDB: one dynalite server per state directory, on 127.0.0.1, with its
 * data in LevelDB (`<state-dir>/dynamodb-data`). LevelDB can be opened by one process only, so every
 * CLI process talks to this one server over HTTP instead of opening the files itself; that is what lets
 * two terminals contend for the same lock with DynamoDB's real conditional writes.
 *
 * Started on demand, detached, by `connectSharedDynamoDb()` (shared-dynamodb.ts); writes
 * `<state-dir>/dynamodb.json` ({pid, port, endpoint}) once it answers requests; exits after
 * `--idle-seconds` without a request (clients ping it while they are open), or on SIGTERM. It prefers
 * the port it had last time, so a client that outlives a restart usually reconnects unchanged.
 *
 * Usage: node local/dynamodb-server.js --dir <state-dir> [--idle-seconds 120]
 */
const { existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } = require('node:fs');
const http = require('node:http');
const { join } = require('node:path');
const dynalite = require('dynalite');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const dir = option('dir');
if (!dir) {
  process.stderr.write('usage: dynamodb-server.js --dir <state-dir> [--idle-seconds N]\n');
  process.exit(2);
}
const idleSeconds = Number(option('idle-seconds', '120'));
const stateFile = join(dir, 'dynamodb.json');
const log = (message) => process.stdout.write(`${new Date().toISOString()} [dynamodb ${process.pid}] ${message}\n`);

function readState() {
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8'));
  } catch {
    return undefined;
  }
}

function writeState(state) {
  const tmp = `${stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, stateFile);
}

mkdirSync(dir, { recursive: true });
const server = dynalite({ path: join(dir, 'dynamodb-data'), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
let lastRequestAt = Date.now();
server.on('request', () => {
  lastRequestAt = Date.now();
});

let shuttingDown = false;
function shutdown(why, code = 0) {
  if (shuttingDown) return;
  shuttingDown = true;
  log(`stopping: ${why}`);
  const current = readState();
  if (current && current.pid === process.pid) {
    try {
      unlinkSync(stateFile);
    } catch {}
  }
  const timer = setTimeout(() => process.exit(code), 3000);
  timer.unref();
  server.close(() => process.exit(code));
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
// dynalite throws "Database is not open" from a request handler when another process holds the
// LevelDB files: that server is the one to use, this one must go.
process.on('uncaughtException', (err) => {
  log(`fatal: ${err?.stack ? err.stack : err}`);
  shutdown('uncaught exception', 1);
});

/** A ListTables request to ourselves: proves LevelDB is open before we advertise the port. */
function selfCheck(port) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        headers: {
          'Content-Type': 'application/x-amz-json-1.0',
          'X-Amz-Target': 'DynamoDB_20120810.ListTables',
          'X-Amz-Date': '20260101T000000Z',
          Authorization:
            'AWS4-HMAC-SHA256 Credential=local/20260101/local/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0',
        },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`self-check: HTTP ${res.statusCode} ${body}`)),
        );
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
}

function listen(port) {
  return new Promise((resolve, reject) => {
    const onError = (err) => reject(err);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve(server.address().port);
    });
  });
}

async function main() {
  const previous = readState();
  let port;
  try {
    port = await listen(previous && Number.isInteger(previous.port) ? previous.port : 0);
  } catch {
    port = await listen(0);
  }
  await selfCheck(port);
  writeState({
    pid: process.pid,
    port,
    endpoint: `http://127.0.0.1:${port}`,
    startedAt: new Date().toISOString(),
    idleSeconds,
  });
  log(`listening on 127.0.0.1:${port}, data in ${join(dir, 'dynamodb-data')}, exits after ${idleSeconds} s idle`);
  const check = setInterval(
    () => {
      const current = readState();
      if (!current || current.pid !== process.pid) {
        if (!existsSync(stateFile) || (current && current.pid !== process.pid))
          shutdown('state file no longer names this server');
        return;
      }
      if (Date.now() - lastRequestAt > idleSeconds * 1000) shutdown(`idle for ${idleSeconds} s`);
    },
    Math.min(5000, Math.max(200, (idleSeconds * 1000) / 4)),
  );
  check.unref();
}

main().catch((err) => {
  log(`could not start: ${err?.message ? err.message : err}`);
  process.exit(1);
});
