import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';

/** What the cleanup handler needs to know from an ended execution's history. */
export interface ExecutionFacts {
  /** The task the execution's last `StartBatchTask` state started, if any. */
  readonly startedTask?: { readonly taskArn: string; readonly clusterArn?: string };
  /** True when `PublishFailureAlert` exited without its Catch firing: the alert reached SNS. */
  readonly alertPublished: boolean;
  /** False when a page limit or a truncated state output left the answer uncertain. */
  readonly complete: boolean;
}

/** State names in state-machines/batch-runner.asl.json the cleanup handler reads. */
export const START_STATE = 'StartBatchTask';
export const ALERT_STATE = 'PublishFailureAlert';
/** An execution has at most 25,000 history events; 25 pages of 1,000 read all of it. */
export const MAX_HISTORY_PAGES = 25;

const parse = (text: string | undefined): any => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/**
 * Reads the history newest-first and stops as soon as it knows both facts. The alert counts as
 * published only if the state's output carries no `alertError` (its Catch writes the SNS error
 * there); when the output is truncated or unreadable the handler cannot tell and treats the alert
 * as not published: a second alert is better than none.
 */
export async function readExecutionFacts(sfn: SFNClient, executionArn: string): Promise<ExecutionFacts> {
  let startedTask: ExecutionFacts['startedTask'];
  let alertSeen = false;
  let alertPublished = false;
  let complete = true;
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_HISTORY_PAGES; page++) {
    const res = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        reverseOrder: true,
        includeExecutionData: true,
        maxResults: 1000,
        nextToken,
      }),
    );
    for (const event of res.events ?? []) {
      const exited = stateExit(event);
      if (!exited) continue;
      if (exited.name === ALERT_STATE && !alertSeen) {
        alertSeen = true;
        const output = parse(exited.output);
        if (output === undefined || exited.truncated) complete = false;
        alertPublished = output !== undefined && !exited.truncated && output.alertError === undefined;
      }
      if (exited.name === START_STATE && startedTask === undefined) {
        const output = parse(exited.output);
        if (output === undefined) {
          complete = false;
          continue;
        }
        const task = output?.start?.Tasks?.[0];
        if (typeof task?.TaskArn === 'string') {
          startedTask =
            typeof task.ClusterArn === 'string'
              ? { taskArn: task.TaskArn, clusterArn: task.ClusterArn }
              : { taskArn: task.TaskArn };
        }
      }
    }
    nextToken = res.nextToken;
    if (!nextToken || startedTask !== undefined) break;
    if (page === MAX_HISTORY_PAGES - 1) complete = false;
  }
  return startedTask === undefined ? { alertPublished, complete } : { startedTask, alertPublished, complete };
}

function stateExit(event: HistoryEvent): { name: string; output?: string; truncated: boolean } | undefined {
  const details = event.stateExitedEventDetails;
  if (event.type !== 'TaskStateExited' || details?.name === undefined) return undefined;
  return { name: details.name, output: details.output, truncated: details.outputDetails?.truncated === true };
}
