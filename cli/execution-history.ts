import { isStartTaskState } from '../state-machines/definition';
import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';

/** Events of an execution, newest first when `reverse`, at most `max`. */
export async function historyEvents(
  sfn: SFNClient,
  executionArn: string,
  options: { reverse: boolean; max: number },
): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        reverseOrder: options.reverse,
        maxResults: Math.min(1000, options.max - events.length),
        includeExecutionData: true,
        nextToken,
      }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken && events.length < options.max);
  return events;
}

/** Name of the state an event entered, if it is a `*StateEntered` event. */
export const enteredState = (event: HistoryEvent): string | undefined =>
  event.type?.endsWith('StateEntered') ? event.stateEnteredEventDetails?.name : undefined;

const parse = (text: string | undefined): any => {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
};

/** The failure summary a FAILED execution carried into its `RunFailed` state (task, exit code, log link). */
export function failureSummaryOf(events: readonly HistoryEvent[]): any {
  const runFailed = events.find((e) => enteredState(e) === 'RunFailed');
  return parse(runFailed?.stateEnteredEventDetails?.input)?.summary;
}

/** The task the execution started (its newest `StartBatchTask` result), from any order of events. */
export function startedTaskArnOf(events: readonly HistoryEvent[]): string | undefined {
  const exits = events
    .filter((e) => e.type === 'TaskStateExited' && isStartTaskState(e.stateExitedEventDetails?.name))
    .sort((a, b) => (b.id ?? 0) - (a.id ?? 0));
  for (const e of exits) {
    const arn = parse(e.stateExitedEventDetails?.output)?.start?.Tasks?.[0]?.TaskArn;
    if (typeof arn === 'string') return arn;
  }
  return undefined;
}

/** The newest state entered, with when. */
export function currentStateOf(events: readonly HistoryEvent[]): { name: string; at?: Date } | undefined {
  const newest = [...events].sort((a, b) => (b.id ?? 0) - (a.id ?? 0)).find((e) => enteredState(e) !== undefined);
  return newest ? { name: enteredState(newest)!, at: newest.timestamp } : undefined;
}
