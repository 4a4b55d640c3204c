#!/usr/bin/env node
/**
 * The local ECS agent for one task: runs the batch's local command and does what ECS does around a
 * container, independently of the runner that started it (a runner killed mid-run leaves its task
 * running, exactly like a Step Functions execution stopped by hand leaves its ECS task running).
 *
 * - Started detached by LocalEcs.runTask (its own process group and session: Ctrl-C in the runner's
 *   terminal does not reach it); runs the command in a process group of its own, output to
 *   `<task-dir>/output.log` (the runner tails it with a `[batch]` prefix).
 * - Records the task's life in `<task-dir>/state.json`: RUNNING with pids, then STOPPED with exit code,
 *   stop code and reason, in the shape local-ecs.ts turns into a DescribeTasks answer.
 * - StopTask = SIGTERM to this agent (the reason is in `<task-dir>/stop.json`): it sends SIGTERM to the
 *   container's process group and SIGKILL after the stop grace, like ECS's `stopTimeout`.
 * - A container killed by a signal exits with 128 + signal number (143 for SIGTERM, 137 for SIGKILL),
 *   as Docker reports it.
 *
 * Usage: node local/task-agent.js <task-dir>
 */
const { spawn } = require('node:child_process');
const { closeSync, openSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { constants } = require('node:os');
const { join } = require('node:path');

// Caught from the first line on (the default action would kill this agent without a record). The
// handler runs only after this script's synchronous part, when the container has been spawned.
process.on('SIGTERM', onStopTask);
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);

const dir = process.argv[2];
const spec = JSON.parse(readFileSync(join(dir, 'spec.json'), 'utf8'));
const stateFile = join(dir, 'state.json');

function startTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

let state = {
  agentPid: process.pid,
  agentStartTicks: startTicks(process.pid),
  lastStatus: 'PENDING',
  desiredStatus: 'RUNNING',
};

function save(patch) {
  state = { ...state, ...patch };
  const tmp = `${stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, stateFile);
}

function readStopRequest() {
  try {
    return JSON.parse(readFileSync(join(dir, 'stop.json'), 'utf8'));
  } catch {
    return { reason: 'Task stopped by user', requestedAt: Date.now() };
  }
}

save({});
const logFd = openSync(spec.logPath, 'a');
const [file, ...args] = spec.command;
let child;
let finished = false;
let stopRequest;
let killedAfterGrace = false;

function signalGroup(signal) {
  if (!child || child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {}
  }
}

/**
 * A disruption the workload asked to play (BATCH_RUNNER_LOCAL_SIMULATED_STOP_FILE): on ECS the
 * infrastructure, not the container, decides a task's stop code; locally the workload names it.
 */
function readSimulatedStop() {
  const file = spec.environment.BATCH_RUNNER_LOCAL_SIMULATED_STOP_FILE;
  try {
    const { stopCode, stoppedReason } = JSON.parse(readFileSync(file, 'utf8'));
    return typeof stopCode === 'string' ? { stopCode, stoppedReason: String(stoppedReason ?? stopCode) } : undefined;
  } catch {
    return undefined;
  }
}

function finish(exitCode, extra = {}) {
  if (finished) return;
  finished = true;
  // Whatever the container left behind in its process group goes with it, as with a container.
  signalGroup('SIGKILL');
  const stopped = stopRequest !== undefined;
  const simulated = stopped ? undefined : readSimulatedStop();
  save({
    lastStatus: 'STOPPED',
    desiredStatus: 'STOPPED',
    exitCode,
    stopCode: stopped ? 'UserInitiated' : 'EssentialContainerExited',
    stoppedReason: stopped ? stopRequest.reason : 'Essential container in task exited',
    containerReason: killedAfterGrace
      ? `killed with SIGKILL: still running ${spec.stopGraceSeconds} s after SIGTERM (stop grace)`
      : undefined,
    stoppedAt: Date.now(),
    ...extra,
    ...simulated,
  });
  closeSync(logFd);
  process.exit(0);
}

function onStopTask() {
  if (stopRequest || finished) return;
  stopRequest = readStopRequest();
  if (!child) {
    // Stopped while still PENDING (simulated): nothing ran, the task stops at once.
    finish(null, { stoppingAt: Date.now() });
    return;
  }
  save({ desiredStatus: 'STOPPED', stoppingAt: Date.now(), stopRequestedReason: stopRequest.reason });
  signalGroup('SIGTERM');
  setTimeout(() => {
    if (finished) return;
    killedAfterGrace = true;
    signalGroup('SIGKILL');
  }, spec.stopGraceSeconds * 1000);
}

// Local only: BATCH_RUNNER_LOCAL_SIMULATED_PENDING_SECONDS keeps the task PENDING that long before the
// container starts (an image pull or ENI attachment that hangs), to exercise startTimeoutSeconds.
const pendingSeconds = Number(spec.environment.BATCH_RUNNER_LOCAL_SIMULATED_PENDING_SECONDS ?? 0);
if (pendingSeconds > 0) setTimeout(startContainer, pendingSeconds * 1000);
else startContainer();

function startContainer() {
  if (finished) return;
  try {
    child = spawn(file, args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.environment },
      stdio: ['ignore', logFd, logFd],
      detached: true,
    });
  } catch (err) {
    finish(null, { stopCode: 'TaskFailedToStart', stoppedReason: `CannotStartContainerError: ${err.message}` });
  }
  child.on('spawn', () => {
    save({ lastStatus: 'RUNNING', childPid: child.pid, childStartTicks: startTicks(child.pid), startedAt: Date.now() });
  });
  child.on('error', (err) => {
    finish(null, { stopCode: 'TaskFailedToStart', stoppedReason: `CannotStartContainerError: ${err.message}` });
  });
  child.on('exit', (code, signal) => {
    finish(code !== null ? code : 128 + (constants.signals[signal] || 0), signal ? { signal } : {});
  });
}
