import type { ExecutionDetail } from '../backend';
import type { CliContext } from '../context';
import { UserError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { duration, json, timestamp } from '../format';
import { palette, type Presentation } from '../terminal';
import { storyOf } from '../state-story';
import { outcomeText } from './shared';
import { localFlag, resolveTarget } from './target';

export interface ShowOptions {
  readonly local?: boolean;
  readonly json?: boolean;
}

/**
 * `show <execution>` (or a batch: its newest execution): one execution with its outcome, trigger,
 * timings, task, exit code, stop reason, log and console links, and its states as a timeline.
 * `--json` prints the same as one JSON object.
 */
export async function showCommand(ctx: CliContext, ref: string, options: ShowOptions): Promise<ExitCode> {
  const local = options.local ?? false;
  const backend = await ctx.backend(local);
  try {
    const { batch, executionArn } = await resolveTarget(ctx, backend, ref, local, 'newest');
    const detail = await backend.describeExecution(batch, executionArn);
    if (!detail)
      throw new UserError(
        `execution ${executionArn} does not exist`,
        `list executions with: batch-runner history ${batch.name}${localFlag(local)}`,
      );
    ctx.output.out(options.json ? json(detail) : showText(detail, local, ctx.ui));
    return EXIT.SUCCESS;
  } finally {
    await backend.close();
  }
}

/** The text of `show`: a header, labelled facts, the state timeline, and what to do next. */
export function showText(
  d: ExecutionDetail,
  local: boolean,
  ui: Pick<Presentation, 'time' | 'out'> = { time: timestamp, out: palette(false) },
): string {
  const flag = localFlag(local);
  const lines = [
    `${d.name}  ${d.status}  ${d.status === 'RUNNING' ? `in ${d.currentState ?? '?'}` : ui.out.outcome(outcomeText(d.outcome))}`,
  ];
  const row = (label: string, value: string | undefined) => {
    if (value !== undefined && value !== '') lines.push(`  ${label.padEnd(10)} ${value}`);
  };
  row('batch', d.batch);
  row(
    'trigger',
    `${d.trigger}${d.requestedBy ? ` by ${d.requestedBy}` : ''}${d.inputReason ? ` ("${d.inputReason}")` : ''}`,
  );
  row('started', ui.time(d.startDate));
  row(
    d.stopDate ? 'ended' : 'running',
    d.stopDate ? `${ui.time(d.stopDate)} (took ${duration(d.durationMs)})` : `for ${duration(d.durationMs)}`,
  );
  if (d.status !== 'RUNNING') row('result', [d.outcome.error, d.outcome.reason].filter(Boolean).join(': '));
  if (d.task) {
    const exit = d.task.exitCode !== undefined && d.task.exitCode !== null ? `, exit code ${d.task.exitCode}` : '';
    row('task', `${d.task.taskArn} (${d.task.lastStatus ?? 'no longer known to ECS'}${exit})`);
    row('stopped', d.task.stoppedReason);
    row('logs', d.task.logUrl);
  } else row('task', 'none started');
  if (d.outcome.lockHolder) row('holder', d.outcome.lockHolder);
  row('execution', d.executionArn);
  row('console', d.consoleUrl);
  lines.push('', 'States:');
  if (d.states.length === 0) lines.push('  (none recorded)');
  const t0 = d.startDate ? Date.parse(d.startDate) : undefined;
  for (const s of d.states) {
    const at = t0 !== undefined && s.enteredAt ? `+${duration(Date.parse(s.enteredAt) - t0)}` : '';
    const took =
      s.enteredAt && s.exitedAt ? duration(Date.parse(s.exitedAt) - Date.parse(s.enteredAt)) : s.exitedAt ? '' : '…';
    lines.push(`  ${at.padEnd(9)} ${s.name.padEnd(28)} ${took.padEnd(8)} ${storyOf(s.name) ?? ''}`.trimEnd());
  }
  lines.push('');
  if (d.status === 'RUNNING')
    lines.push(`follow it: batch-runner watch ${d.name}${flag}   stop it: batch-runner stop ${d.name}${flag}`);
  else lines.push(`run it again with the same input: batch-runner rerun ${d.name}${flag}`);
  return lines.join('\n');
}
