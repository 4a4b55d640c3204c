import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { ScheduledBatch } from './scheduled-batch';

/** Properties of {@link BatchDashboard}. */
export interface BatchDashboardProps {
  /** Name of the CloudWatch dashboard (unique in the account and region). */
  readonly dashboardName: string;
  /** The batches shown, one row each. */
  readonly batches: readonly ScheduledBatch[];
  /** Extra alarms shown on top (e.g. the runner's handler-failures alarm). @default - none */
  readonly runnerAlarms?: readonly cloudwatch.IAlarm[];
}

/**
 * One CloudWatch dashboard row per batch: executions by outcome, execution time against the hard
 * timeout, and the batch's alarms.
 */
export class BatchDashboard extends Construct {
  /** The CloudWatch dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: BatchDashboardProps) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(7),
    });
    if (props.runnerAlarms?.length) {
      this.dashboard.addWidgets(
        new cloudwatch.AlarmStatusWidget({ title: 'Runner', alarms: [...props.runnerAlarms], width: 24, height: 2 }),
      );
    }
    for (const b of props.batches) {
      const sm = b.stateMachine;
      const hourly = { period: Duration.hours(1), statistic: 'Sum' };
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: `${b.batch.name}: executions per hour (${b.batch.schedule.cron} ${b.batch.schedule.timeZone})`,
          width: 9,
          height: 6,
          left: [
            sm.metricStarted({ ...hourly, label: 'started' }),
            sm.metricSucceeded({ ...hourly, label: 'succeeded or skipped' }),
            sm.metricFailed({ ...hourly, label: 'failed' }),
            sm.metricTimedOut({ ...hourly, label: 'timed out' }),
            sm.metricAborted({ ...hourly, label: 'aborted' }),
          ],
        }),
        new cloudwatch.GraphWidget({
          title: `${b.batch.name}: execution time (s)`,
          width: 9,
          height: 6,
          left: [
            new cloudwatch.MathExpression({
              expression: 'm / 1000',
              usingMetrics: { m: sm.metric('ExecutionTime', { period: Duration.hours(1), statistic: 'Maximum' }) },
              label: 'longest execution',
              period: Duration.hours(1),
            }),
          ],
          leftAnnotations: [
            { value: b.timings.hardTimeoutSeconds, label: 'hard timeout', color: cloudwatch.Color.RED },
          ],
        }),
        new cloudwatch.AlarmStatusWidget({
          title: `${b.batch.name}: alarms`,
          alarms: b.alarms.all,
          width: 6,
          height: 6,
        }),
      );
    }
  }
}
