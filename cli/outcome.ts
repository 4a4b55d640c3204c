import { EXIT, type ExitCode } from './exit-codes';

/** What happened to a run, in the words of the state machine's output (`outcome`), plus execution-level ends. */
export type Outcome =
  | 'running'
  | 'succeeded'
  | 'skipped'
  | 'failed'
  | 'timed_out'
  | 'could_not_start'
  | 'invalid_input'
  | 'replaced'
  | 'aborted';

export interface RunOutcome {
  readonly outcome: Outcome;
  /** `BatchRunner.*` error name of a failed run. */
  readonly error?: string;
  readonly reason?: string;
  readonly exitCode?: number | null;
  readonly taskArn?: string;
  readonly logUrl?: string;
  readonly stoppedReason?: string;
  /** Skips: the execution holding the lock. */
  readonly lockHolder?: string;
  /** Successes: the task's run time (startedAt to stoppedAt), and the durationGuards notice if one was sent. */
  readonly durationSeconds?: number;
  readonly notice?: string;
}

/** Error names of the state machine's Fail state (`RunFailed`) that are not plain failures. */
const ERROR_OUTCOMES: Record<string, Outcome> = {
  'BatchRunner.TimedOut': 'timed_out',
  'BatchRunner.CouldNotStart': 'could_not_start',
  'BatchRunner.InvalidInput': 'invalid_input',
};

const parse = (text: unknown): any => {
  if (typeof text !== 'string') return text ?? undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/**
 * The outcome of an execution from what DescribeExecution says (status, output, error, cause) and,
 * for FAILED runs, the failure summary the execution carried into its `RunFailed` state (it holds the
 * task, exit code and log link; the Fail state's Cause only holds the reason).
 */
export function outcomeOf(execution: {
  status: string;
  output?: unknown;
  error?: string;
  cause?: string;
  failureSummary?: any;
}): RunOutcome {
  switch (execution.status) {
    case 'RUNNING':
    case 'PENDING_REDRIVE':
      return { outcome: 'running' };
    case 'SUCCEEDED': {
      const out = parse(execution.output) ?? {};
      const task = out.task ?? {};
      return {
        outcome: out.outcome === 'skipped' ? 'skipped' : 'succeeded',
        reason: out.reason,
        exitCode: task.exitCode ?? (out.outcome === 'skipped' ? undefined : null),
        taskArn: task.taskArn,
        logUrl: task.logUrl ?? undefined,
        stoppedReason: task.stoppedReason ?? undefined,
        lockHolder: out.lockHolder,
        ...(typeof task.durationSeconds === 'number' ? { durationSeconds: task.durationSeconds } : {}),
        ...(typeof task.durationNotice?.message === 'string' ? { notice: task.durationNotice.message } : {}),
      };
    }
    case 'FAILED': {
      const details = execution.failureSummary?.details ?? {};
      const task = details.task ?? {};
      return {
        outcome: ERROR_OUTCOMES[execution.error ?? ''] ?? 'failed',
        error: execution.error,
        reason: execution.cause ?? details.reason,
        exitCode: task.exitCode ?? undefined,
        taskArn: task.taskArn ?? details.taskArn,
        logUrl: task.logUrl ?? details.logUrl,
        // stoppedTask is the described task as ECS reports it (PascalCase), see RecordStoppedTask.
        stoppedReason: task.stoppedReason ?? details.stoppedTask?.StoppedReason,
      };
    }
    case 'TIMED_OUT':
      return {
        outcome: 'timed_out',
        error: execution.error ?? 'States.Timeout',
        reason: execution.cause ?? 'The execution ran into its own TimeoutSeconds.',
      };
    default:
      // Overlap policy `replace`: a newer run stopped this one (StopExecution with BatchRunner.Replaced).
      if (execution.error === 'BatchRunner.Replaced')
        return {
          outcome: 'replaced',
          error: execution.error,
          reason: execution.cause ?? 'Replaced by a newer run (overlap policy replace).',
        };
      return {
        outcome: 'aborted',
        error: execution.error,
        reason: execution.cause ?? 'The execution was stopped (StopExecution).',
      };
  }
}

export function exitCodeFor(outcome: Outcome): ExitCode {
  switch (outcome) {
    case 'succeeded':
      return EXIT.SUCCESS;
    case 'skipped':
      return EXIT.SKIPPED;
    case 'timed_out':
      return EXIT.TIMED_OUT;
    case 'could_not_start':
      return EXIT.COULD_NOT_START;
    case 'invalid_input':
      return EXIT.USAGE;
    case 'replaced':
      return EXIT.REPLACED;
    default:
      return EXIT.FAILED;
  }
}

/** Who started a run, from its input: the scheduler's, a dependency rule's, the CLI's, or the console's (`{}`). */
export function triggerOfInput(input: unknown): { trigger: string; requestedBy?: string; reason?: string } {
  const i = (parse(input) ?? {}) as Record<string, unknown>;
  const trigger = typeof i.trigger === 'string' ? i.trigger : 'console';
  const upstream = (i.upstream ?? {}) as Record<string, unknown>;
  return {
    trigger,
    requestedBy:
      typeof i.requestedBy === 'string'
        ? i.requestedBy
        : trigger === 'schedule'
          ? 'EventBridge Scheduler'
          : trigger === 'dependency'
            ? 'EventBridge rule'
            : undefined,
    reason:
      typeof i.reason === 'string'
        ? i.reason
        : trigger === 'dependency' && typeof upstream.batch === 'string'
          ? `after ${upstream.batch} succeeded (execution ${String(upstream.executionArn)})`
          : undefined,
  };
}
