import { DescribeTasksCommand } from '@aws-sdk/client-ecs';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import type { CliContext } from './context';
import type { Deployment } from './deployment';
import { UserError } from './errors';
import { enteredState, startedTaskArnOf } from './execution-history';
import { EXIT } from './exit-codes';
import { duration, progressOfTask, shortArn } from './format';
import { storyOf } from './state-story';

/** Events newer than `afterId`, oldest first (pages backwards from the newest until it reaches `afterId`). */
export async function eventsAfter(ctx: CliContext, executionArn: string, afterId: number): Promise<HistoryEvent[]> {
  const fresh: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ctx.aws().sfn.send(
      new GetExecutionHistoryCommand({
        executionArn,
        reverseOrder: true,
        maxResults: 100,
        includeExecutionData: true,
        nextToken,
      }),
    );
    const events = page.events ?? [];
    fresh.push(...events.filter((e) => (e.id ?? 0) > afterId));
    if (events.some((e) => (e.id ?? 0) <= afterId)) break;
    nextToken = page.nextToken;
  } while (nextToken && fresh.length < 10000);
  return fresh.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
}

/** Resolves after `ms`, or throws (exit 130) when the operator presses Ctrl-C. */
export async function pause(ctx: CliContext, ms: number, executionArn: string): Promise<void> {
  // A local execution (region "local") runs in the process of its `run --local`, not on AWS.
  const local = executionArn.split(':')[3] === 'local';
  const name = executionArn.split(':').pop();
  const interrupted = () =>
    new UserError(
      `stopped watching; the execution continues: ${executionArn}`,
      `watch it again with "batch-runner watch ${name}${local ? ' --local' : ''}", or stop it: batch-runner stop ${name}${local ? ' --local' : ''}`,
      EXIT.INTERRUPTED,
    );
  await sleepUnlessInterrupted(ctx, ms, interrupted);
}

/** Resolves after `ms`, or rejects with `interrupted()` as soon as the operator presses Ctrl-C. */
export async function sleepUnlessInterrupted(ctx: CliContext, ms: number, interrupted: () => Error): Promise<void> {
  if (ctx.signal?.aborted) throw interrupted();
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(interrupted());
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    ctx
      .sleep(ms)
      .then(() => {
        ctx.signal?.removeEventListener('abort', onAbort);
        resolve();
      })
      .catch(reject);
  });
}

/**
 * `run --wait` against AWS: follows the execution's history and prints each state as it is entered
 * (the console graph's story), the task it started, and every `progressEveryMs` the task's status
 * and elapsed time against the hard timeout when nothing else was printed for that long. Returns when
 * the execution has ended.
 */
export async function watchExecution(
  ctx: CliContext,
  deployment: Deployment,
  executionArn: string,
  startDate: Date,
): Promise<{ described: DescribeExecutionCommandOutput; events: HistoryEvent[] }> {
  const events: HistoryEvent[] = [];
  let lastId = 0;
  let taskArn: string | undefined;
  let taskSince: Date | undefined;
  let lastProgressAt = ctx.now().getTime();
  const hardMs = deployment.hardTimeoutSeconds * 1000;
  // Progress lines come while nothing else is printed.
  const say = (line: string) => {
    lastProgressAt = ctx.now().getTime();
    ctx.output.err(line);
  };
  const absorb = (fresh: HistoryEvent[]) => {
    for (const e of fresh) {
      events.push(e);
      lastId = Math.max(lastId, e.id ?? 0);
      const state = enteredState(e);
      const at = e.timestamp ? `+${duration(e.timestamp.getTime() - startDate.getTime())}` : '';
      if (state) {
        const story = storyOf(state);
        if (state === 'WaitForTaskToStop' && !taskSince) taskSince = e.timestamp;
        if (story) say(`  ${at.padEnd(9)} ${state}: ${story}`);
      }
      if (!taskArn && e.type === 'TaskStateExited') {
        taskArn = startedTaskArnOf([e]);
        if (taskArn) say(`  ${at.padEnd(9)} task ${shortArn(taskArn)} started (hard timeout ${duration(hardMs)})`);
      }
    }
  };
  for (;;) {
    absorb(await eventsAfter(ctx, executionArn, lastId));
    const described = await ctx.aws().sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status !== 'RUNNING') {
      absorb(await eventsAfter(ctx, executionArn, lastId));
      return { described, events };
    }
    const now = ctx.now().getTime();
    if (taskArn && taskSince && now - lastProgressAt >= ctx.progressEveryMs) {
      lastProgressAt = now;
      let status = 'status unknown';
      if (deployment.clusterArn) {
        const { tasks } = await ctx
          .aws()
          .ecs.send(new DescribeTasksCommand({ cluster: deployment.clusterArn, tasks: [taskArn] }));
        status = tasks?.[0]?.lastStatus ?? 'MISSING';
      }
      ctx.output.err(progressOfTask(status, now - taskSince.getTime(), hardMs));
    }
    await pause(ctx, ctx.pollMs, executionArn);
  }
}
