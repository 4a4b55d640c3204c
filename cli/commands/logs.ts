import { existsSync, readFileSync } from 'node:fs';
import { GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import type { LocalRuntime } from '../../local/local-runtime';
import type { CliContext } from '../context';
import type { Deployment } from '../deployment';
import { UserError } from '../errors';
import { historyEvents, startedTaskArnOf } from '../execution-history';
import { EXIT, type ExitCode } from '../exit-codes';
import { timestamp } from '../format';
import { pause } from '../watch';

export interface LogsOptions {
  readonly execution?: string;
  readonly follow?: boolean;
  readonly local?: boolean;
  readonly json?: boolean;
}

/** How many recent executions `logs` looks through for one that started a task. */
const SEARCH_DEPTH = 10;

/**
 * `logs <batch> [--execution ID] [--follow]`: the batch container's log stream of an execution's task
 * (default: the newest execution that started one). With --follow, keeps printing until the execution
 * ends. `--json` prints JSON Lines (one JSON object per log event and line, streamed):
 * {timestamp, message} on AWS, {message} locally.
 */
export async function logsCommand(ctx: CliContext, batchName: string, options: LogsOptions): Promise<ExitCode> {
  const local = options.local ?? false;
  const batch = ctx.batch(batchName, local);
  if (local) {
    const runtime = await ctx.openLocal({});
    try {
      return await localLogs(ctx, runtime, batch.name, options);
    } finally {
      await runtime.close();
    }
  }
  const d = await ctx.resolver().resolve(batch);
  const execution = await findTask(ctx, d, options.execution);
  if (!execution) return noLogsYet(ctx, batch.name, `none of the last ${SEARCH_DEPTH} executions`, false);
  const { executionArn, taskArn } = execution;
  const taskId = taskArn.split('/').pop()!;
  const logStreamName = `${d.logStreamPrefix}/${d.containerName}/${taskId}`;
  ctx.output.err(`logs of ${executionArn.split(':').pop()}, task ${taskId}\n  ${d.logGroupName} ${logStreamName}`);
  let nextToken: string | undefined;
  const print = (events: Array<{ timestamp?: number; message?: string }>) => {
    for (const e of events) {
      const message = (e.message ?? '').replace(/\n$/, '');
      ctx.output.out(
        options.json
          ? JSON.stringify({ timestamp: new Date(e.timestamp ?? 0).toISOString(), message })
          : `${timestamp(e.timestamp)}  ${message}`,
      );
    }
  };
  const drain = async () => {
    for (;;) {
      let page: { events?: Array<{ timestamp?: number; message?: string }>; nextForwardToken?: string };
      try {
        page = await ctx.aws().logs.send(
          new GetLogEventsCommand({
            logGroupName: d.logGroupName,
            logStreamName,
            startFromHead: true,
            ...(nextToken ? { nextToken } : {}),
          }),
        );
      } catch (err) {
        if ((err as Error).name === 'ResourceNotFoundException') return false;
        throw err;
      }
      print(page.events ?? []);
      const same = page.nextForwardToken === nextToken;
      nextToken = page.nextForwardToken;
      if (same || (page.events ?? []).length === 0) return true;
    }
  };
  let found = await drain();
  if (options.follow) {
    for (;;) {
      const { status } = await ctx.aws().sfn.send(new DescribeExecutionCommand({ executionArn }));
      if (status !== 'RUNNING') break;
      await pause(ctx, ctx.pollMs, executionArn);
      found = (await drain()) || found;
    }
    found = (await drain()) || found;
  }
  if (!found) {
    throw new UserError(
      `log stream ${logStreamName} does not exist in ${d.logGroupName}`,
      "the task may not have started logging yet (try again, or --follow), or its logs expired; check the task definition's awslogs settings.",
      EXIT.FAILED,
    );
  }
  return EXIT.SUCCESS;
}

async function findTask(
  ctx: CliContext,
  d: Deployment,
  execution: string | undefined,
): Promise<{ executionArn: string; taskArn: string } | undefined> {
  const sfn = ctx.aws().sfn;
  if (execution) {
    const executionArn = execution.startsWith('arn:')
      ? execution
      : `arn:aws:states:${d.region}:${d.account}:execution:${d.stateMachineName}:${execution}`;
    try {
      await sfn.send(new DescribeExecutionCommand({ executionArn }));
    } catch (err) {
      if (['ExecutionDoesNotExist', 'InvalidArn'].includes((err as Error).name)) {
        throw new UserError(
          `execution "${execution}" of ${d.batch.name} does not exist`,
          `list executions with: batch-runner history ${d.batch.name}`,
        );
      }
      throw err;
    }
    const taskArn = startedTaskArnOf(await historyEvents(sfn, executionArn, { reverse: true, max: 1000 }));
    if (!taskArn)
      throw new UserError(
        `execution ${execution} started no task, so it has no logs`,
        `see why with: batch-runner history ${d.batch.name}`,
      );
    return { executionArn, taskArn };
  }
  const { executions } = await sfn.send(
    new ListExecutionsCommand({ stateMachineArn: d.stateMachineArn, maxResults: SEARCH_DEPTH }),
  );
  for (const e of executions ?? []) {
    const taskArn = startedTaskArnOf(await historyEvents(sfn, e.executionArn!, { reverse: true, max: 1000 }));
    if (taskArn) return { executionArn: e.executionArn!, taskArn };
  }
  return undefined;
}

/**
 * No run has started a task yet: nothing to print, which is not a usage error (exit 0, a note on
 * stderr, nothing on stdout - also none with --json).
 */
function noLogsYet(ctx: CliContext, batch: string, which: string, local: boolean): ExitCode {
  const flag = local ? ' --local' : '';
  ctx.output.err(
    `no logs yet: ${which} of ${batch} started a task.\n  see what happened: batch-runner history ${batch}${flag}\n  start a run: batch-runner run ${batch}${flag}`,
  );
  return EXIT.SUCCESS;
}

async function localLogs(
  ctx: CliContext,
  runtime: LocalRuntime,
  batch: string,
  options: LogsOptions,
): Promise<ExitCode> {
  const records = runtime.registry.list(batch);
  const record = options.execution
    ? runtime.registry.get(options.execution)
    : records.find((r) => r.taskArn || r.status === 'RUNNING');
  if (!options.execution && !record) return noLogsYet(ctx, batch, 'no local execution', true);
  if (!record || record.batch !== batch) {
    throw new UserError(
      `execution "${options.execution}" of ${batch} does not exist in ${ctx.stateDir}`,
      `list executions with: batch-runner history ${batch} --local`,
    );
  }
  const taskArn = () => runtime.registry.get(record.name)?.taskArn ?? runtime.ecs.runningTasksOf(batch).at(-1)?.TaskArn;
  let offset = 0;
  const drain = () => {
    const arn = taskArn();
    if (!arn) return;
    const path = runtime.ecs.logPathOf(arn);
    if (!existsSync(path)) return;
    const text = readFileSync(path, 'utf8');
    const fresh = text.slice(offset);
    const complete = fresh.slice(0, fresh.lastIndexOf('\n') + 1);
    offset += complete.length;
    for (const line of complete.split('\n').slice(0, -1))
      ctx.output.out(options.json ? JSON.stringify({ message: line }) : line);
  };
  drain();
  if (options.follow) {
    while (runtime.registry.get(record.name)?.status === 'RUNNING') {
      await pause(ctx, Math.min(ctx.pollMs, 500), record.executionArn);
      drain();
    }
    drain();
  }
  if (!taskArn())
    throw new UserError(
      `execution ${record.name} started no task, so it has no logs`,
      `see why with: batch-runner history ${batch} --local`,
    );
  return EXIT.SUCCESS;
}
