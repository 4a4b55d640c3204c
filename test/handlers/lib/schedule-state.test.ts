import 'aws-sdk-client-mock-jest';
import {
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { setScheduleState, stateOf } from '../../../handlers/lib/schedule-state';
import { ACCOUNT, REGION } from '../fixtures/events';

/**
 * Pausing and resuming a schedule (handlers/lib/schedule-state.ts, used by the reconciler's pause and
 * the CLI's pause/resume) against Scheduler mocked in its wire shapes. UpdateSchedule replaces the
 * whole schedule, so every field GetSchedule returned goes back (test/contracts/schedule-state.contract.test.ts
 * checks that list against Scheduler's service model).
 */

const scheduler = new SchedulerClient({
  region: REGION,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const schedulerMock = mockClient(scheduler);
const ref = { Name: 'batch-runner-missing-images', GroupName: 'batch-runner' };
const schedule = (state?: 'ENABLED' | 'DISABLED'): GetScheduleCommandOutput => ({
  $metadata: {},
  Arn: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/batch-runner/batch-runner-missing-images`,
  Name: ref.Name,
  GroupName: ref.GroupName,
  ScheduleExpression: 'cron(0 8 * * ? *)',
  ScheduleExpressionTimezone: 'Asia/Tokyo',
  FlexibleTimeWindow: { Mode: 'OFF' },
  Target: {
    Arn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:batch-runner-missing-images`,
    RoleArn: `arn:aws:iam::${ACCOUNT}:role/batch-runner/scheduler`,
    Input: '{"trigger":"schedule","scheduledTime":"<aws.scheduler.scheduled-time>"}',
  },
  ...(state ? { State: state } : {}),
});

beforeEach(() => schedulerMock.reset());

test('a schedule without a State is ENABLED (Scheduler`s default)', () => {
  expect(stateOf(schedule())).toBe('ENABLED');
  expect(stateOf(schedule('DISABLED'))).toBe('DISABLED');
});

test('pausing an enabled schedule: GetSchedule by name and group, then UpdateSchedule with its fields and the new state', async () => {
  schedulerMock.on(GetScheduleCommand).resolves(schedule('ENABLED'));
  schedulerMock.on(UpdateScheduleCommand).resolves({ ScheduleArn: schedule().Arn });

  const change = await setScheduleState(scheduler, ref, 'DISABLED');

  expect(change).toEqual({ before: 'ENABLED', changed: true, schedule: schedule('ENABLED') });
  expect(schedulerMock).toHaveReceivedCommandWith(GetScheduleCommand, ref);
  expect(schedulerMock).toHaveReceivedCommandWith(UpdateScheduleCommand, {
    ...ref,
    ScheduleExpression: 'cron(0 8 * * ? *)',
    ScheduleExpressionTimezone: 'Asia/Tokyo',
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: schedule().Target,
    State: 'DISABLED',
  });
});

test('a schedule already in the desired state is not updated', async () => {
  schedulerMock.on(GetScheduleCommand).resolves(schedule('DISABLED'));

  expect(await setScheduleState(scheduler, ref, 'DISABLED')).toMatchObject({ before: 'DISABLED', changed: false });
  expect(schedulerMock).not.toHaveReceivedCommand(UpdateScheduleCommand);
});
