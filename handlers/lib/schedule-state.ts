import {
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  type SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';

/**
 * Enabling and disabling a batch's EventBridge Scheduler schedule, shared by the CLI (`pause`,
 * `resume`) and the reconciler (`pauseAfterConsecutiveFailures`), so both change a schedule the same
 * way. UpdateSchedule replaces the whole schedule: every field it does not receive is reset to its
 * default ("we recommend that you call GetSchedule and make a note of all optional parameters",
 * Scheduler API reference, UpdateSchedule). So every field GetSchedule returned is sent back unchanged,
 * with only `State` changed.
 */

/** A schedule's state as Scheduler reports it. */
export type ScheduleState = 'ENABLED' | 'DISABLED';

/** Which schedule: its name and its group. */
export interface ScheduleRef {
  readonly Name: string;
  readonly GroupName: string;
}

/** What {@link setScheduleState} did. */
export interface ScheduleStateChange {
  /** The state before the call (Scheduler's default, ENABLED, when GetSchedule names none). */
  readonly before: ScheduleState;
  /** Whether UpdateSchedule was sent (false: the schedule already had the desired state). */
  readonly changed: boolean;
  /** The schedule as GetSchedule returned it, before the change. */
  readonly schedule: GetScheduleCommandOutput;
}

/** GetSchedule; a missing schedule throws Scheduler's `ResourceNotFoundException` for the caller to explain. */
export async function readSchedule(scheduler: SchedulerClient, ref: ScheduleRef): Promise<GetScheduleCommandOutput> {
  return scheduler.send(new GetScheduleCommand({ Name: ref.Name, GroupName: ref.GroupName }));
}

/** The current state of a schedule read by {@link readSchedule}. */
export const stateOf = (schedule: GetScheduleCommandOutput): ScheduleState =>
  schedule.State === 'DISABLED' ? 'DISABLED' : 'ENABLED';

/**
 * Sets a schedule ENABLED or DISABLED: GetSchedule, then (only if the state differs) UpdateSchedule
 * with every field sent back. Needs `scheduler:GetSchedule`, `scheduler:UpdateSchedule` and
 * `iam:PassRole` on the schedule's target role (Scheduler checks it on every update).
 */
export async function setScheduleState(
  scheduler: SchedulerClient,
  ref: ScheduleRef,
  desired: ScheduleState,
): Promise<ScheduleStateChange> {
  const schedule = await readSchedule(scheduler, ref);
  const before = stateOf(schedule);
  if (before === desired) return { before, changed: false, schedule };
  await scheduler.send(
    new UpdateScheduleCommand({
      Name: ref.Name,
      GroupName: ref.GroupName,
      ScheduleExpression: schedule.ScheduleExpression,
      ScheduleExpressionTimezone: schedule.ScheduleExpressionTimezone,
      StartDate: schedule.StartDate,
      EndDate: schedule.EndDate,
      Description: schedule.Description,
      FlexibleTimeWindow: schedule.FlexibleTimeWindow,
      Target: schedule.Target,
      KmsKeyArn: schedule.KmsKeyArn,
      ActionAfterCompletion: schedule.ActionAfterCompletion,
      State: desired,
    }),
  );
  return { before, changed: true, schedule };
}
