import { GetScheduleCommand, type GetScheduleCommandOutput, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { scheduleGroupName, scheduleName } from '../../config/naming';
import type { CliContext } from '../context';
import { UserError } from '../errors';
import { EXIT, type ExitCode } from '../exit-codes';
import { json } from '../format';

/**
 * `pause <batch>` / `resume <batch>`: sets the batch's EventBridge Scheduler schedule DISABLED or
 * ENABLED. UpdateSchedule replaces the whole schedule, so every field read by GetSchedule is sent
 * back unchanged. Manual runs are not affected.
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
  let current: GetScheduleCommandOutput;
  try {
    current = await scheduler.send(new GetScheduleCommand({ Name, GroupName }));
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
  const before = current.State ?? 'ENABLED';
  if (before !== desired) {
    await scheduler.send(
      new UpdateScheduleCommand({
        Name,
        GroupName,
        ScheduleExpression: current.ScheduleExpression,
        ScheduleExpressionTimezone: current.ScheduleExpressionTimezone,
        StartDate: current.StartDate,
        EndDate: current.EndDate,
        Description: current.Description,
        FlexibleTimeWindow: current.FlexibleTimeWindow,
        Target: current.Target,
        KmsKeyArn: current.KmsKeyArn,
        ActionAfterCompletion: current.ActionAfterCompletion,
        State: desired,
      }),
    );
  }
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
