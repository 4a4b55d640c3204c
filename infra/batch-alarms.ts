import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { BatchConfigError } from '../config/batch-config';
import { batchAlarmName } from '../config/naming';

/** Properties of {@link BatchAlarms}. */
export interface BatchAlarmsProps {
  /** The batch the alarms watch (part of their names and descriptions). */
  readonly batchName: string;
  /** Resource name prefix of the deployment (alarm names start with it). */
  readonly namePrefix: string;
  /** The batch's state machine, whose execution metrics the alarms read. */
  readonly stateMachine: sfn.IStateMachine;
  /** Hard timeout of one run, in seconds (the near-hard-timeout alarm fires at a share of it). */
  readonly hardTimeoutSeconds: number;
  /** The state machine's top-level TimeoutSeconds: how late a run may legitimately end. */
  readonly executionTimeoutSeconds: number;
  /** Hours between two expected successful runs. */
  readonly expectedIntervalHours: number;
  /**
   * For a batch with `after`: the upstream batch, named in the missed-run alarm's description.
   * @default - none
   */
  readonly upstream?: string;
  /**
   * For a batch with `after`: how much later than its slot the batch may start (the execution
   * timeouts of its upstream chain); the missed-run window grows by it.
   * @default 0
   */
  readonly upstreamDelaySeconds?: number;
  /** Where alarms notify (the alert topic). */
  readonly alarmAction: cloudwatch.IAlarmAction;
  /**
   * Whether the `failed` alarm (failed, timed out or aborted executions) also notifies. Off by
   * default: the runner already sends exactly one alert for each of those runs (the state machine or
   * the cleanup handler), and an alarm notification on the same topic would make it two. It still
   * shows on the dashboard.
   * @default false
   */
  readonly notifyOnExecutionAlarms?: boolean;
  /**
   * Whether the missed-run and near-hard-timeout alarms notify (off only for the selftest canary).
   * @default true
   */
  readonly notifyOnAlarms?: boolean;
  /**
   * Share of the hard timeout at which the run-time alarm fires.
   * @default 0.8
   */
  readonly nearHardTimeoutRatio?: number;
}

/** CloudWatch keeps alarm evaluation ranges of hourly periods to 7 days (168 periods). */
export const MAX_MISSED_RUN_WINDOW_HOURS = 168;

/** Hours of silence after which a batch counts as missed: its interval plus the longest legitimate run, plus one hour. */
export function missedRunWindowHours(expectedIntervalHours: number, executionTimeoutSeconds: number): number {
  return expectedIntervalHours + Math.ceil(executionTimeoutSeconds / 3600) + 1;
}

/**
 * The alarms of one batch, three CloudFormation resources (each batch costs resources in a stack that
 * holds at most 500, so an alarm must earn its place):
 * - `failed`: any execution that failed, timed out or was aborted (one metric-math alarm over the
 *   three 5-minute sums; the runner alerts each such run itself, the alarm is the dashboard's view
 *   and an optional second notification);
 * - `missed-run`: no successful execution in the batch's interval plus a grace. Hourly sums of
 *   ExecutionsSucceeded with missing data treated as breaching, all periods of the window must
 *   breach: it fires when the schedule never fires, is disabled, or every run fails. (A skipped run
 *   also ends SUCCEEDED, and sends its own notice.) Right after the first deploy it is in ALARM until
 *   the batch first succeeds;
 * - `near-hard-timeout`: an execution took more than 80 % of the hard timeout (ExecutionTime is
 *   emitted when the execution ends), a warning before runs start being killed.
 * A schedule that could not start its state machine is caught by the runner's one `schedule-dlq`
 * alarm on the dead-letter queue all schedules share (infra/schedule-dead-letters.ts).
 */
export class BatchAlarms extends Construct {
  /** An execution failed, timed out or was aborted (metric math over the three counts). */
  public readonly failed: cloudwatch.Alarm;
  /**
   * No successful execution within the expected interval plus the longest legitimate run (fires even if the schedule never fires).
   */
  public readonly missedRun: cloudwatch.Alarm;
  /** An execution took more than `nearHardTimeoutRatio` of the hard timeout. */
  public readonly nearHardTimeout: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: BatchAlarmsProps) {
    super(scope, id);
    const sm = props.stateMachine;
    const name = (suffix: string) => batchAlarmName(props.batchName, suffix, props.namePrefix);
    const fiveMinuteSum = { period: Duration.minutes(5), statistic: 'Sum' };
    this.failed = new cloudwatch.Alarm(this, 'failed', {
      alarmName: name('failed'),
      alarmDescription: `An execution of batch ${props.batchName} failed, timed out or was stopped before it finished. The runner sent an alert with the details.`,
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(f, 0) + FILL(t, 0) + FILL(a, 0)',
        usingMetrics: {
          f: sm.metricFailed(fiveMinuteSum),
          t: sm.metricTimedOut(fiveMinuteSum),
          a: sm.metricAborted(fiveMinuteSum),
        },
        label: 'failed, timed out or aborted',
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // A dependent batch starts only when its upstream chain has run: its window also covers the
    // chain's execution timeouts.
    const windowHours = missedRunWindowHours(
      props.expectedIntervalHours,
      props.executionTimeoutSeconds + (props.upstreamDelaySeconds ?? 0),
    );
    if (windowHours > MAX_MISSED_RUN_WINDOW_HOURS) {
      throw new BatchConfigError(
        `batch "${props.batchName}": schedule.expectedIntervalHours = ${props.expectedIntervalHours} is invalid: the missed-run alarm needs the interval plus ${windowHours - props.expectedIntervalHours} h of grace, and CloudWatch alarms look back at most ${MAX_MISSED_RUN_WINDOW_HOURS} h; use at most ${MAX_MISSED_RUN_WINDOW_HOURS - (windowHours - props.expectedIntervalHours)} h.`,
      );
    }
    this.missedRun = new cloudwatch.Alarm(this, 'missed-run', {
      alarmName: name('missed-run'),
      alarmDescription: props.upstream
        ? `Batch ${props.batchName} has not completed successfully in ${windowHours} h (expected every ${props.expectedIntervalHours} h, after ${props.upstream} succeeds): ${props.upstream} did not succeed, its success did not start this batch (rule, dead-letter queue), or every run failed.`
        : `Batch ${props.batchName} has not completed successfully in ${windowHours} h (expected every ${props.expectedIntervalHours} h): the schedule did not fire, is disabled, or every run failed.`,
      metric: sm.metricSucceeded({ period: Duration.hours(1), statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: windowHours,
      datapointsToAlarm: windowHours,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    const ratio = props.nearHardTimeoutRatio ?? 0.8;
    this.nearHardTimeout = new cloudwatch.Alarm(this, 'near-hard-timeout', {
      alarmName: name('near-hard-timeout'),
      alarmDescription: `An execution of batch ${props.batchName} took more than ${Math.round(ratio * 100)} % of its hard timeout (${props.hardTimeoutSeconds} s): raise the timeout or find out why the batch got slower.`,
      metric: sm.metric('ExecutionTime', {
        period: Duration.minutes(5),
        statistic: 'Maximum',
        unit: cloudwatch.Unit.MILLISECONDS,
      }),
      threshold: Math.round(props.hardTimeoutSeconds * ratio * 1000),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    if (props.notifyOnAlarms ?? true)
      for (const alarm of [this.missedRun, this.nearHardTimeout]) alarm.addAlarmAction(props.alarmAction);
    if (props.notifyOnExecutionAlarms) this.failed.addAlarmAction(props.alarmAction);
  }

  /** The three alarms, for a dashboard or a composite alarm. */
  public get all(): cloudwatch.Alarm[] {
    return [this.failed, this.missedRun, this.nearHardTimeout];
  }
}
