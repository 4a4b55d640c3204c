import { scheduleGroupName, scheduleName } from '../../config/naming';
import { recordResume } from '../../handlers/lib/pause-record';
import { setScheduleState, type ScheduleStateChange } from '../../handlers/lib/schedule-state';
import type { CliContext } from '../context';
import { UserError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { json } from '../format';

/**
 * `pause <batch>` / `resume <batch>`: sets the batch's EventBridge Scheduler schedule DISABLED or
 * ENABLED (handlers/lib/schedule-state.ts, the same code the reconciler pauses with: every field read
 * by GetSchedule is sent back unchanged). Manual runs are not affected. `resume` first records the
 * resume time on the batch's pause item (`pause#<batch>`), so that the failures before it no longer
 * count towards `pauseAfterConsecutiveFailures`.
 */
export async function scheduleCommand(
  ctx: CliContext,
  batchName: string,
  desired: 'ENABLED' | 'DISABLED',
  options: { json?: boolean },
): Promise<ExitCode> {
  const batch = ctx.batch(batchName, false);
  if (batch.after?.length) {
    // No schedule to pause: the dependency rule of the same name starts the batch.
    throw new UserError(
      `${batch.name} has no schedule: it runs after ${batch.after[0]} succeeds (EventBridge rule ${scheduleName(batch.name, ctx.prefix)})`,
      `pause the upstream with "batch-runner pause ${batch.after[0]}", or turn the rule off: aws events ${desired === 'DISABLED' ? 'disable' : 'enable'}-rule --name ${scheduleName(batch.name, ctx.prefix)} (add --event-bus-name when the lifecycle events go to another bus).`,
      EXIT.USAGE,
    );
  }
  const Name = scheduleName(batch.name, ctx.prefix);
  const GroupName = scheduleGroupName(ctx.prefix);
  const scheduler = ctx.aws().scheduler;
  let change: ScheduleStateChange;
  try {
    if (desired === 'ENABLED') {
      const { lockTableName } = await ctx.resolver().resolve(batch);
      await recordResume(ctx.aws().dynamodb, lockTableName, batch.name, ctx.now().getTime());
    }
    change = await setScheduleState(scheduler, { Name, GroupName }, desired);
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') {
      throw new UserError(
        `schedule "${Name}" (group "${GroupName}") of ${batch.name} was not found`,
        'deploy it with "npx cdk deploy", or check --region, --profile and --prefix.',
        EXIT.ENVIRONMENT,
      );
    }
    throw err;
  }
  const verb = desired === 'DISABLED' ? 'paused' : 'resumed';
  const { before, schedule: current } = change;
  if (options.json) {
    ctx.output.out(
      json({
        batch: batch.name,
        schedule: Name,
        group: GroupName,
        before,
        state: desired,
        changed: before !== desired,
      }),
    );
  } else if (before === desired) {
    ctx.output.out(
      `${batch.name}: schedule ${Name} is already ${desired === 'DISABLED' ? 'paused' : 'enabled'}; nothing changed.`,
    );
  } else {
    const next =
      desired === 'DISABLED'
        ? `no scheduled runs until: batch-runner resume ${batch.name} (manual runs still work)`
        : `scheduled runs resume (${current.ScheduleExpression} ${current.ScheduleExpressionTimezone ?? 'UTC'})`;
    ctx.output.out(`${batch.name}: ${verb} schedule ${Name} (group ${GroupName}): ${next}.`);
  }
  return EXIT.SUCCESS;
}
