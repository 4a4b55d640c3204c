import type { MessageAttributeValue } from '@aws-sdk/client-sns';

/**
 * An alert in the same form as the state machine's `PublishFailureAlert` state: subject
 * `[batch-runner] <batch> <outcome>`, a plain-text body a person can act on, and the message
 * attributes `batch`, `outcome`, `severity`, `trigger` that subscriptions filter on.
 */
export interface RunAlert {
  readonly batch: string;
  readonly outcome: string;
  readonly reason: string;
  readonly trigger: string;
  readonly requestedBy: string;
  readonly executionArn: string;
  readonly taskArn: string | null;
  readonly stopReason: string | null;
  readonly taskMayStillRun: boolean;
  readonly lockStatus: string;
  readonly details: Record<string, unknown>;
  /** Which part of the runner sent the alert (message attribute `source`). */
  readonly source: string;
}

/** SNS subject limit. */
export const MAX_SUBJECT_LENGTH = 100;

/** Link to an execution in the Step Functions console (same form as the ASL's SummarizeFailure). */
export function executionConsoleUrl(executionArn: string): string {
  const region = executionArn.split(':')[3] ?? '';
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

export function alertSubject(a: Pick<RunAlert, 'batch' | 'outcome'>): string {
  return `[batch-runner] ${a.batch} ${a.outcome}`.slice(0, MAX_SUBJECT_LENGTH);
}

export function alertMessage(a: RunAlert): string {
  return [
    `Batch ${a.batch}: ${a.outcome}`,
    '',
    a.reason,
    '',
    `Trigger: ${a.trigger} (requested by ${a.requestedBy})`,
    `Execution: ${a.executionArn}`,
    `Console: ${executionConsoleUrl(a.executionArn)}`,
    `Task: ${a.taskArn ?? 'none started'}`,
    `Stop reason: ${a.stopReason ?? '-'}`,
    `Task may still run: ${a.taskMayStillRun}`,
    `Lock: ${a.lockStatus}`,
    '',
    `Details: ${JSON.stringify(a.details)}`,
  ].join('\n');
}

export function alertAttributes(a: RunAlert): Record<string, MessageAttributeValue> {
  const s = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value === '' ? '-' : value });
  return { batch: s(a.batch), outcome: s(a.outcome), severity: s('alert'), trigger: s(a.trigger), source: s(a.source) };
}
