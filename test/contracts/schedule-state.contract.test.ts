/**
 * AWS contract: UpdateSchedule replaces the whole schedule ("if you do not set an optional field in your
 * request, that field will be set to its system-default value", Scheduler API reference), so the shared
 * pause/resume (handlers/lib/schedule-state.ts) must send back every member GetSchedule returns that
 * UpdateSchedule takes. Checked against AWS's own model (npm `aws-sdk` v2 `apis/scheduler-*.min.json`),
 * so a member Scheduler adds later fails this test instead of being reset silently.
 */
import { GetScheduleCommand, SchedulerClient, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { setScheduleState } from '../../handlers/lib/schedule-state';
import { membersOf, ServiceModel } from './support/service-models';

const model = new ServiceModel('scheduler');
const members = (action: string, which: 'input' | 'output') => [
  ...membersOf(model, model.operation(action)[which]).keys(),
];

test('every member GetSchedule returns that UpdateSchedule takes is sent back; only State changes', async () => {
  const shared = members('GetSchedule', 'output').filter((m) => members('UpdateSchedule', 'input').includes(m));
  // A value for each shared member, as GetSchedule returns it (structure members as opaque objects).
  const answer = Object.fromEntries(shared.map((m) => [m, { value: m }]));
  const scheduler = new SchedulerClient({
    region: 'ap-northeast-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  const mock = mockClient(scheduler);
  mock
    .on(GetScheduleCommand)
    .resolves({ ...(answer as any), Name: 'batch-runner-x', GroupName: 'batch-runner', State: 'ENABLED' });
  mock.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn' });

  await setScheduleState(scheduler, { Name: 'batch-runner-x', GroupName: 'batch-runner' }, 'DISABLED');

  const sent = mock.commandCalls(UpdateScheduleCommand)[0].args[0].input as unknown as Record<string, unknown>;
  expect(shared.length).toBeGreaterThanOrEqual(10);
  for (const m of shared) {
    if (m === 'State') expect(sent.State).toBe('DISABLED');
    else if (m === 'Name' || m === 'GroupName') expect(sent[m]).toBe(m === 'Name' ? 'batch-runner-x' : 'batch-runner');
    else expect({ member: m, sent: sent[m] }).toEqual({ member: m, sent: { value: m } });
  }
  // ClientToken is UpdateSchedule's own (idempotency), not a field of the schedule.
  expect(members('UpdateSchedule', 'input').filter((m) => !shared.includes(m))).toEqual(['ClientToken']);
});
