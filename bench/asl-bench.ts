import { BATCHES } from '../config/batches';
import { deriveTimings } from '../config/timings';
import { runScenario, ScriptedAws, startLockStore } from '../test/support/asl-harness';

/** Figures of the state machine itself, measured by executing the real ASL offline. */
export interface StateMachineFigures {
  readonly happyPathStates: number;
  readonly happyPathStateNames: readonly string[];
  readonly callsBeforeRunTask: number;
  /** Per configured batch: transitions per hour while waiting = measured transitions per chunk x chunks per hour. */
  readonly waitTransitionsPerHour: Record<string, number>;
  readonly transitionsPerWaitChunk: number;
  /** Per configured batch: the configured upper bound between deadline and StopTask. */
  readonly stopLatencyBoundSeconds: Record<string, number>;
  /** Measured offline: deadline (task start + hard timeout) to the StopTask call. */
  readonly stopLatencySeconds: number;
  /** Measured offline: task stopped (watcher answered) to the runner's next state. */
  readonly completionLatencySeconds: number;
  /** Per configured batch: how late the end is noticed if the ECS STOPPED event is lost. */
  readonly lostEventDetectionSeconds: Record<string, number>;
}

export async function benchStateMachine(): Promise<StateMachineFigures> {
  const db = await startLockStore();
  try {
    const happy = await runScenario(db, new ScriptedAws(), { name: 'BenchHappyPath' });
    const callsBeforeRunTask = happy.calls.findIndex((c) => c.state === 'StartBatchTask');

    // Waiting: a task that never ends, 4 chunks of 1 s before the hard timeout.
    const chunks = 4;
    const hangAws = new ScriptedAws();
    hangAws.watch = 'hang';
    const hang = await runScenario(db, hangAws, {
      name: 'BenchWaiting',
      substitutions: { WaitChunkSeconds: '1', WaitChunkCount: String(chunks), HardTimeoutSeconds: String(chunks) },
    });
    const start = hang.statesEntered.indexOf('WaitForTaskToStop');
    const end = hang.statesEntered.indexOf('RecordHardTimeout');
    const transitionsPerWaitChunk = (end - start) / chunks;
    const runTask = hang.calls.find((c) => c.state === 'StartBatchTask');
    const stopTask = hang.calls.find((c) => c.state === 'StopBatchTask');
    const stopLatencySeconds = runTask && stopTask ? (stopTask.at - runTask.at) / 1000 - chunks : Number.NaN;

    // Completion: the watcher answers 200 ms after it is called; how soon is the next state entered?
    const doneAws = new ScriptedAws();
    let answeredAt = 0;
    doneAws.whileTaskRuns = async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      answeredAt = Date.now();
    };
    const done = await runScenario(db, doneAws, { name: 'BenchCompletion' });
    const release = done.calls.find((c) => c.state === 'ReleaseLock');
    const completionLatencySeconds = release ? (release.at - answeredAt) / 1000 : Number.NaN;

    const perBatch = <T>(f: (t: ReturnType<typeof deriveTimings>) => T) =>
      Object.fromEntries(BATCHES.map((b) => [b.name, f(deriveTimings(b))]));
    return {
      happyPathStates: happy.statesEntered.length,
      happyPathStateNames: happy.statesEntered,
      callsBeforeRunTask,
      transitionsPerWaitChunk,
      waitTransitionsPerHour: perBatch(
        (t) => Math.round(transitionsPerWaitChunk * (3600 / t.waitChunkSeconds) * 10) / 10,
      ),
      stopLatencyBoundSeconds: perBatch((t) => t.stopLatencyBoundSeconds),
      stopLatencySeconds: Math.round(stopLatencySeconds * 1000) / 1000,
      completionLatencySeconds: Math.round(completionLatencySeconds * 1000) / 1000,
      lostEventDetectionSeconds: perBatch((t) => t.lostEventDetectionSeconds),
    };
  } finally {
    await db.close();
  }
}
