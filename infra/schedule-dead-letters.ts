import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { scheduleDeadLetterAlarmName } from '../config/naming';

/** Properties of {@link ScheduleDeadLetters}. */
export interface ScheduleDeadLettersProps {
  /** Resource name prefix (the alarm is `<prefix>-schedule-dlq`). */
  readonly namePrefix: string;
  /** Where the alarm notifies (the alert topic). */
  readonly alarmAction: cloudwatch.IAlarmAction;
}

/**
 * The one dead-letter queue of every batch's schedule, and its alarm. EventBridge Scheduler parks a
 * start there after its retries; each dead-letter event names the schedule it came from, so one queue
 * serves every batch (one queue and alarm per batch cost two or three CloudFormation resources each).
 */
export class ScheduleDeadLetters extends Construct {
  /** The dead-letter queue (encrypted, 14 days' retention). */
  public readonly queue: sqs.Queue;
  /** Fires when the queue holds a message. */
  public readonly alarm: cloudwatch.Alarm;

  private dependencyRulesAllowed = false;

  /**
   * Lets the deployment's dependency rules (batches with `after`) park failed starts here too: an
   * EventBridge rule's dead-letter queue is authorised by the queue's resource policy, not by the
   * target's role. Once per deployment; the messages carry RULE_ARN and ERROR_CODE attributes.
   */
  public allowDependencyRules(ruleArnPattern: string): void {
    if (this.dependencyRulesAllowed) return;
    this.dependencyRulesAllowed = true;
    this.queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DependencyRuleDeadLetters',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
          ArnLike: { 'aws:SourceArn': ruleArnPattern },
        },
      }),
    );
  }

  constructor(scope: Construct, id: string, props: ScheduleDeadLettersProps) {
    super(scope, id);
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is the schedules' dead-letter queue itself; the schedule-dlq alarm fires when it is not empty.",
    });
    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmName: scheduleDeadLetterAlarmName(props.namePrefix),
      alarmDescription:
        "EventBridge Scheduler could not start a batch after its retries; the event is in the schedules' dead-letter queue (its SCHEDULE_ARN attribute names the batch's schedule).",
      metric: this.queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarm.addAlarmAction(props.alarmAction);
  }
}
