import {
  alertTopicName,
  batchAlarmName,
  cleanupFunctionName,
  EXECUTION_TAG_KEY,
  executionLogGroupName,
  executionNameFromTags,
  generatedNameProblems,
  lockTableName,
  manualExecutionName,
  pausableSchedulerRolePath,
  scheduleDeadLetterAlarmName,
  scheduleGroupName,
  scheduleName,
  stateMachineArn,
  stateMachineName,
  taskGroup,
  taskLogGroupName,
  validatorFunctionName,
  watcherFunctionName,
} from '../../config/naming';

/**
 * The names the app gives AWS resources (config/naming.ts): the CLI, the reconciler and the IAM
 * policies find resources by these names, so each is the documented `<prefix>-...` form.
 */

test('every generated name, under the default prefix and under a deployment`s own', () => {
  const names = (prefix?: string) => [
    stateMachineName('nightly', prefix),
    scheduleName('nightly', prefix),
    scheduleGroupName(prefix),
    lockTableName(prefix),
    alertTopicName(prefix),
    pausableSchedulerRolePath(prefix),
    batchAlarmName('nightly', 'failed', prefix),
    scheduleDeadLetterAlarmName(prefix),
    executionLogGroupName('BatchRunnerStack', prefix),
    taskLogGroupName('nightly', prefix),
    validatorFunctionName(prefix),
    watcherFunctionName(prefix),
    cleanupFunctionName(prefix),
  ];
  expect(names()).toEqual([
    'batch-runner-nightly',
    'batch-runner-nightly',
    'batch-runner',
    'batch-runner-locks',
    'batch-runner-alerts',
    '/batch-runner/',
    'batch-runner-nightly-failed',
    'batch-runner-schedule-dlq',
    '/aws/vendedlogs/states/batch-runner-BatchRunnerStack',
    '/batch-runner/tasks/nightly',
    'batch-runner-validate-manual-input',
    'batch-runner-task-watcher',
    'batch-runner-cleanup',
  ]);
  expect(names('team-a')).toEqual(names().map((n) => n.replace('batch-runner', 'team-a')));
  expect(taskGroup('nightly')).toBe('batch-runner:nightly');
  expect(stateMachineArn('eu-west-1', '123456789012', 'nightly', 'team-a')).toBe(
    'arn:aws:states:eu-west-1:123456789012:stateMachine:team-a-nightly',
  );
});

test('a manual execution`s name: trigger, batch, the UTC second, and a random part, cut to Step Functions` 80 characters', () => {
  const at = new Date('2026-12-02T06:07:08.123Z');
  expect(manualExecutionName('cli', 'nightly', at, 'a1b2c3')).toBe('cli-nightly-20261202T060708Z-a1b2c3');
  const long = manualExecutionName('console', 'b'.repeat(40), at, 'r'.repeat(40));
  expect(long).toHaveLength(80);
  expect(long.startsWith(`console-${'b'.repeat(40)}-20261202T060708Z-`)).toBe(true);
});

test('the execution a task was started by is read back from its base64 tag, in either tag spelling', () => {
  const value = Buffer.from("manual-(re-run)!'x").toString('base64');
  expect(
    executionNameFromTags([
      { key: 'other', value: 'x' },
      { key: EXECUTION_TAG_KEY, value },
    ]),
  ).toBe("manual-(re-run)!'x");
  expect(executionNameFromTags([{ Key: EXECUTION_TAG_KEY, Value: value }])).toBe("manual-(re-run)!'x");
  expect(executionNameFromTags([{ key: 'other', value: 'x' }])).toBeUndefined();
  expect(executionNameFromTags(undefined)).toBeUndefined();
});

test('a generated name at its API`s limit fits; one character more is refused, saying how long the batch name may be', () => {
  // Schedule names: 64 characters. "batch-runner-" is 13, so a 51-character batch name fits exactly.
  expect(generatedNameProblems('b'.repeat(51))).toEqual([]);
  expect(generatedNameProblems('b'.repeat(52))).toEqual([
    `the EventBridge Scheduler schedule name "batch-runner-${'b'.repeat(52)}" has 65 characters, more than 64 (Scheduler API CreateSchedule: Name, 1-64 characters): use a batch name of at most 51 characters with prefix "batch-runner", or a shorter namePrefix.`,
  ]);
  // Under a 16-character prefix, a 68-character batch name is too long for both the schedule and the state machine.
  expect(generatedNameProblems('b'.repeat(68), 'team-a-very-long').map((p) => p.split(' "')[0])).toEqual([
    'the EventBridge Scheduler schedule name',
    'the Step Functions state machine name',
  ]);
});
