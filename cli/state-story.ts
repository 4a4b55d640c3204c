/**
 * One line per state of batch-runner.asl.json, for `run --wait`, `run --local` and the demo: the
 * console graph's story in words. States without a line (bookkeeping Pass and Choice states) are not
 * printed.
 */
export const STATE_STORY: Readonly<Record<string, string>> = {
  ClaimScheduledSlot: 'claiming the scheduled slot',
  RecordSkipDuplicateSlot: 'the scheduled slot already ran or runs (duplicate delivery): skipping',
  RecordSkipSlotAlreadyClaimed: 'the slot this run stands for already ran or runs: skipping',
  ValidateManualInput: 'validating the manual input',
  RejectInvalidInput: 'input rejected: nothing started, lock untouched',
  AcquireLock: 'acquiring the lock',
  ReadLockHolder: 'lock is taken: reading who holds it',
  CheckLockHolderLiveness: 'checking whether the lock holder still runs',
  SettleStaleLock: 'lock holder has ended: stopping its task if needed, then releasing its lock',
  RecordSkipPreviousTaskStopping: "the previous run's task has not stopped yet: skipping",
  WaitForLock: 'lock held by a live run: waiting (overlap policy wait)',
  StopLockHolder: 'lock held by a live run: stopping it (overlap policy replace)',
  RecordSkipLockHeld: 'lock held by a live run: skipping',
  RecordSkipLockHeldSinceUnknown: 'lock held by a live run: skipping',
  CheckRunningTasks: 'checking for running tasks of the family',
  StopRunningCopies: 'stopping running copies (overlap policy replace)',
  RecordSkipTaskRunning: 'a task of the family is already running: skipping',
  CheckStoppingTasks: 'checking for tasks of the family still stopping',
  RecordSkipTaskStopping: 'a task of the family is still stopping: skipping',
  ConfirmLockAfterRedrive: 'redriven: checking the lock is still ours',
  RecordRedriveWithoutLock: 'redriven without the lock: nothing started',
  NotifySkipped: 'publishing the skip notice',
  StartBatchTask: 'starting the task',
  BackOffBeforeRetryingStart: 'ECS did not start the task: backing off before retrying',
  CountBatchRetry: 'the exit code is in retry.on.exitCodes: the run tries again',
  CountInfrastructureRetry:
    'the stop code is in retry.on.stopCodes (infrastructure): the run tries again, without using up retry.attempts',
  BackOffBeforeRetryingTask: 'the failed task is STOPPED and the lock kept: waiting before the next attempt',
  WaitForTaskToStop: 'task running: waiting for it to stop',
  RecordHardTimeout: 'hard timeout reached',
  StopBatchTask: 'stopping the task (StopTask: SIGTERM, SIGKILL after the stop grace)',
  ConfirmTaskStopped: 'checking that the task has stopped',
  RecordTaskFailure: 'the batch container exited non-zero',
  RecordCouldNotStart: 'ECS could not start the task',
  RecordWatchError: 'could not watch the task: stopping it',
  NoteTaskMayStillRun: 'stop not confirmed: the task may still run',
  ReleaseLock: 'releasing the lock',
  PublishStartedEvent: 'putting the "Batch Run Started" event on the bus',
  HasDurationGuards: 'checking the run time against durationGuards',
  CheckDuration: 'comparing the run time with durationGuards',
  RecordTooShort: 'the task ran less than durationGuards.minDurationSeconds',
  RecordNearHardTimeout: 'the task ran more than durationGuards.nearHardTimeoutShare of the hard timeout',
  NotifyDuration: 'publishing the duration notice',
  PublishSucceededEvent: 'putting the "Batch Run Succeeded" event on the bus',
  PublishSkippedEvent: 'putting the "Batch Run Skipped" event on the bus',
  PublishFailedEvent: 'putting the "Batch Run Failed" event on the bus',
  ReleaseLockAfterSkip: 'releasing the lock',
  ReleaseLockAfterFailure: 'releasing the lock once the task is confirmed stopped',
  RecordLockLost: 'the lock belonged to another execution at release',
  RecordOwedAlert: 'recording the alert',
  PublishFailureAlert: 'sending the alert',
  Skipped: 'skipped',
  RunFailed: 'failed',
};

export function storyOf(state: string): string | undefined {
  return STATE_STORY[state];
}
