import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import {
  type FaultInjector,
  type LocalServices,
  localTaskHandlers,
  type RecordedCall,
  taskStatesOf,
} from './task-resources';

/** One event of aws-local-stepfunctions' event log (StateEntered, StateRetried, StateCaught, ...). */
export type EngineEvent = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export type ExecutionStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface LocalExecutionOptions {
  /** Rendered definition (placeholders substituted). */
  readonly definition: string;
  readonly input: unknown;
  readonly executionArn: string;
  readonly startTime?: Date;
  readonly services: LocalServices;
  readonly inject?: FaultInjector;
  /** Milliseconds per Wait state name, e.g. to run a 30 s lock wait in 5 ms in tests. */
  readonly waitTimeOverrides?: Record<string, number>;
  /** Milliseconds to wait before each retry, per state name (default: as the definition says). */
  readonly retryIntervalOverrides?: Record<string, number>;
  /** Called for every state entered, in order (live progress), with the time it was entered (epoch ms). */
  readonly onStateEntered?: (name: string, timestamp: number) => void;
  /** Aborts the execution (like StopExecution) when signalled. */
  readonly abortSignal?: AbortSignal;
  /** `$$.Execution.RedriveCount`: 0 for a new execution (as on AWS); tests set it to replay a redrive. */
  readonly redriveCount?: number;
  /** Called with every event of the engine's event log, in order (e.g. for transition coverage). */
  readonly onEvent?: (event: EngineEvent) => void;
}

export interface LocalExecutionResult {
  readonly status: ExecutionStatus;
  readonly output?: any;
  readonly error?: string;
  readonly cause?: string;
  readonly calls: RecordedCall[];
  readonly statesEntered: string[];
  readonly startedAt: number;
  readonly stoppedAt: number;
}

/**
 * Validated state machines by definition text: validating a definition takes 0.2-0.4 s of CPU, and a
 * StateMachine runs any number of executions, so the local mode validates each definition once.
 */
const machines = new Map<string, StateMachine>();
const MAX_CACHED_MACHINES = 50;

function machineFor(text: string, definition: any): StateMachine {
  let machine = machines.get(text);
  if (!machine) {
    machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
    if (machines.size >= MAX_CACHED_MACHINES) machines.delete(machines.keys().next().value as string);
    machines.set(text, machine);
  }
  return machine;
}

/**
 * Runs the real ASL definition in aws-local-stepfunctions, with every Task served by local
 * services. The Context Object carries a per-run Execution.Id/Name and a task token, which the
 * library does not fill by itself.
 */
export async function runLocalExecution(options: LocalExecutionOptions): Promise<LocalExecutionResult> {
  const definition = JSON.parse(options.definition);
  const machine = machineFor(options.definition, definition);
  const calls: RecordedCall[] = [];
  const statesEntered: string[] = [];
  const startedAt = (options.startTime ?? new Date()).getTime();
  const name = options.executionArn.split(':').pop() ?? 'local';
  const retryOverrides =
    options.retryIntervalOverrides ?? Object.fromEntries(taskStatesOf(definition).map((s) => [s.name, 0]));
  const execution = machine.run(options.input as any, {
    overrides: {
      taskResourceLocalHandlers: localTaskHandlers(definition, options.services, calls, options.inject),
      waitTimeOverrides: options.waitTimeOverrides,
      retryIntervalOverrides: retryOverrides,
    },
    context: {
      Execution: {
        Id: options.executionArn,
        Name: name,
        StartTime: new Date(startedAt).toISOString(),
        Input: options.input as any,
        RedriveCount: options.redriveCount ?? 0,
      },
      Task: { Token: `local-token:${name}` },
    } as any,
  });
  options.abortSignal?.addEventListener('abort', () => execution.abort(), { once: true });
  const collectEvents = (async () => {
    for await (const event of execution.eventLogs) {
      options.onEvent?.(event);
      if (event.type === 'StateEntered') {
        statesEntered.push(event.state.name);
        options.onStateEntered?.(event.state.name, event.timestamp);
      }
    }
  })();
  let result: Omit<LocalExecutionResult, 'calls' | 'statesEntered' | 'startedAt' | 'stoppedAt'>;
  try {
    result = { status: 'SUCCEEDED', output: await execution.result };
  } catch (err) {
    if (err instanceof ExecutionTimeoutError) result = { status: 'TIMED_OUT', error: 'States.Timeout' };
    else if (err instanceof ExecutionAbortedError) result = { status: 'ABORTED' };
    else if (err instanceof ExecutionError) {
      // ExecutionError wraps the error that ended the run (a Fail state's Error/Cause, or an uncaught one).
      const caught = ((err as Error).cause as Error | undefined) ?? (err as Error);
      result = { status: 'FAILED', error: caught.name, cause: caught.message };
    } else throw err;
  }
  await collectEvents.catch(() => undefined);
  return { ...result, calls, statesEntered, startedAt, stoppedAt: Date.now() };
}
