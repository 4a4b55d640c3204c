import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { type BatchConfig, BatchConfigError } from '../../config/batch-config';
import { BATCHES } from '../../config/batches';
import { BatchRunner } from '../../infra/batch-runner';
import { addBatchRunnerStacks, MAX_BATCHES_PER_STACK } from '../../infra/batch-runner-app';
import { importedBatchTask } from '../../infra/batch-task-target';
import { ScheduledBatch } from '../../infra/scheduled-batch';
import { asArray, iamStatements, newApp, resourcesOf } from './synth';

/**
 * The constructs as a platform team would drop them into its own stack: batches imported by ARN
 * (existing cluster and task definitions), its own network and alert topic. One synth for the file.
 */
const ACCOUNT = '123456789012';
const REGION = 'ap-northeast-1';
const CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/rails-prod`;

const imported = (name: string, taskDefinitionArn: string, extra: Partial<BatchConfig> = {}): BatchConfig => ({
  name,
  schedule: { cron: '30 2 * * ? *', timeZone: 'Asia/Tokyo' },
  hardTimeoutSeconds: 3600,
  containerName: 'rails',
  task: {
    kind: 'imported',
    clusterArn: CLUSTER,
    taskDefinitionArn,
    family: taskDefinitionArn.split('/')[1].split(':')[0],
    executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/rails-execution`,
    taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/rails-task`,
    logGroupName: '/ecs/rails-prod',
    logStreamPrefix: 'rails',
  },
  ...extra,
});

function platformStack(options: { withTopic?: boolean; emails?: string[] } = {}) {
  const app = newApp();
  const stack = new Stack(app, 'Platform', { env: { account: ACCOUNT, region: REGION } });
  const runner = new BatchRunner(stack, 'Runner', {
    network: {
      subnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222'],
      securityGroupIds: ['sg-0ccc3333'],
      assignPublicIp: 'DISABLED',
    },
    alertTopic: options.withTopic
      ? sns.Topic.fromTopicArn(stack, 'OpsTopic', `arn:aws:sns:${REGION}:${ACCOUNT}:ops-alerts`)
      : undefined,
    alertEmails: options.emails,
  });
  const pinned = new ScheduledBatch(stack, 'Reindex', {
    runner,
    batch: imported('search-reindex', `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/rails-reindex:42`),
  });
  const latest = new ScheduledBatch(stack, 'Digest', {
    runner,
    batch: imported('mail-digest', `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/rails-digest`),
  });
  return { app, stack, runner, pinned, latest };
}

let p: ReturnType<typeof platformStack>;
let t: any;
beforeAll(() => {
  p = platformStack({ withTopic: true, emails: ['oncall@example.com'] });
  t = Template.fromStack(p.stack).toJSON();
});

const roleOf = (batch: ScheduledBatch) =>
  t.Resources[p.stack.getLogicalId(batch.stateMachineRole.node.defaultChild as never)];
const statement = (batch: ScheduledBatch, action: string) =>
  roleOf(batch).Properties.Policies[0].PolicyDocument.Statement.find((s: any) => asArray(s.Action).includes(action));

describe('ScheduledBatch with task.kind "imported"', () => {
  test('creates no cluster and no task definition', () => {
    expect(Object.keys(resourcesOf(t, 'AWS::ECS::Cluster'))).toEqual([]);
    expect(Object.keys(resourcesOf(t, 'AWS::ECS::TaskDefinition'))).toEqual([]);
  });

  test('RunTask on exactly the pinned revision, or on every revision of the family when the ARN names none', () => {
    expect(statement(p.pinned, 'ecs:RunTask').Resource).toBe(
      `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/rails-reindex:42`,
    );
    expect(statement(p.latest, 'ecs:RunTask').Resource).toBe(
      `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/rails-digest:*`,
    );
    expect(statement(p.pinned, 'ecs:RunTask').Condition).toEqual({ ArnEquals: { 'ecs:cluster': CLUSTER } });
  });

  test('PassRole on the imported execution and task roles only', () => {
    expect(statement(p.pinned, 'iam:PassRole').Resource).toEqual([
      `arn:aws:iam::${ACCOUNT}:role/rails-execution`,
      `arn:aws:iam::${ACCOUNT}:role/rails-task`,
    ]);
  });

  test('tasks of the imported cluster only, for the state machine and for the handlers', () => {
    expect(statement(p.pinned, 'ecs:StopTask').Resource).toBe(`arn:aws:ecs:${REGION}:${ACCOUNT}:task/rails-prod/*`);
    const handlerStatements = iamStatements(t).filter(
      (x) => asArray<string>(x.statement.Action).includes('ecs:DescribeTasks') && /Watcher|Cleanup/.test(x.resource),
    );
    expect(handlerStatements).toHaveLength(2);
    for (const { statement: st } of handlerStatements) {
      expect(st.Resource).toEqual([`arn:aws:ecs:${REGION}:${ACCOUNT}:task/rails-prod/*`]);
      expect(st.Condition).toEqual({ ArnEquals: { 'ecs:cluster': [CLUSTER] } });
    }
    const [rule] = Object.values<any>(resourcesOf(t, 'AWS::Events::Rule')).filter(
      (r) => r.Properties.Name === 'batch-runner-task-stopped',
    );
    expect(rule.Properties.EventPattern.detail.clusterArn).toEqual([CLUSTER]);
  });

  test('substitutions: the imported family, log group and the literal network', () => {
    expect(p.pinned.definitionSubstitutions).toMatchObject({
      TaskFamily: 'rails-reindex',
      TaskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/rails-reindex:42`,
      ClusterArn: CLUSTER,
      ContainerName: 'rails',
      LogGroupName: '/ecs/rails-prod',
      LogStreamPrefix: 'rails',
      SubnetIdsJson: '["subnet-0aaa1111","subnet-0bbb2222"]',
      SecurityGroupIdsJson: '["sg-0ccc3333"]',
      Region: REGION,
    });
  });

  test('a supplied alert topic: no KMS key created, and no KMS statement for the state machine', () => {
    expect(Object.keys(resourcesOf(t, 'AWS::KMS::Key'))).toEqual([]);
    expect(Object.keys(resourcesOf(t, 'AWS::SNS::Topic'))).toEqual([]);
    expect(statement(p.pinned, 'kms:Decrypt')).toBeUndefined();
    expect(statement(p.pinned, 'sns:Publish').Resource).toBe(`arn:aws:sns:${REGION}:${ACCOUNT}:ops-alerts`);
  });

  test('alert e-mails become subscriptions of the alert topic', () => {
    const subs = Object.values<any>(resourcesOf(t, 'AWS::SNS::Subscription')).map((r) => r.Properties);
    expect(subs).toEqual([
      { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:ops-alerts` },
    ]);
  });

  test('importedBatchTask refuses a cluster ARN token it cannot derive the task pattern from', () => {
    const task = imported('x-batch', `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/x:1`).task;
    const token = new Stack().formatArn({ service: 'ecs', resource: 'cluster', resourceName: 'c' });
    expect(() =>
      importedBatchTask({ ...(task as Extract<BatchConfig['task'], { kind: 'imported' }>), clusterArn: token }),
    ).toThrow(/pass a literal cluster ARN/);
  });
});

describe('pauseAfterConsecutiveFailures: what a batch that sets it adds, and only then', () => {
  const cleanupStatements = (template: any, runner: BatchRunner) =>
    template.Resources[Stack.of(runner).getLogicalId(runner.cleanup.role.node.defaultChild as never)].Properties
      .Policies[0].PolicyDocument.Statement;
  const scheduleOf = (template: any, batch: ScheduledBatch) =>
    template.Resources[Stack.of(batch).getLogicalId(batch.schedule!.node.defaultChild as never)].Properties;
  const schedulerRoleOf = (template: any, batch: ScheduledBatch) => {
    const roleArn = scheduleOf(template, batch).Target.RoleArn['Fn::GetAtt'][0];
    return template.Resources[roleArn].Properties;
  };

  test('without it: no Scheduler statement for the reconciler, the plain schedule input, no role path', () => {
    const sids = cleanupStatements(t, p.runner).map((st: any) => st.Sid);
    expect(sids).not.toContain('PauseSchedulesAfterRepeatedFailures');
    expect(sids).not.toContain('PassTheSchedulesRoleBack');
    expect(JSON.parse(scheduleOf(t, p.pinned).Target.Input)).toEqual({
      trigger: 'schedule',
      scheduledTime: '<aws.scheduler.scheduled-time>',
    });
    expect(schedulerRoleOf(t, p.pinned).Path).toBeUndefined();
  });

  test('with it: N in the schedule input, the scheduler role under /<prefix>/, Scheduler and PassRole (to Scheduler only) for the reconciler', () => {
    const app = newApp();
    const stack = new Stack(app, 'Pausing', { env: { account: ACCOUNT, region: REGION } });
    const runner = new BatchRunner(stack, 'Runner', {
      network: { subnetIds: ['subnet-0aaa1111'], securityGroupIds: ['sg-0ccc3333'], assignPublicIp: 'DISABLED' },
    });
    const pausing = new ScheduledBatch(stack, 'Reindex', {
      runner,
      batch: imported('search-reindex', `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/rails-reindex:42`, {
        pauseAfterConsecutiveFailures: 3,
      }),
    });
    const plain = new ScheduledBatch(stack, 'Digest', {
      runner,
      batch: imported('mail-digest', `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/rails-digest`),
    });
    new ScheduledBatch(stack, 'Export', {
      runner,
      batch: imported('nightly-export', `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/rails-export`, {
        pauseAfterConsecutiveFailures: 1,
      }),
    });
    const template = Template.fromStack(stack).toJSON();
    expect(JSON.parse(scheduleOf(template, pausing).Target.Input)).toEqual({
      trigger: 'schedule',
      scheduledTime: '<aws.scheduler.scheduled-time>',
      pauseAfter: 3,
    });
    expect(schedulerRoleOf(template, pausing).Path).toBe('/batch-runner/');
    expect(schedulerRoleOf(template, plain).Path).toBeUndefined();
    const statements = cleanupStatements(template, runner);
    expect(statements.find((st: any) => st.Sid === 'PauseSchedulesAfterRepeatedFailures')).toEqual({
      Sid: 'PauseSchedulesAfterRepeatedFailures',
      Effect: 'Allow',
      Action: ['scheduler:GetSchedule', 'scheduler:UpdateSchedule'],
      Resource: {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, `:scheduler:${REGION}:${ACCOUNT}:schedule/batch-runner/batch-runner-*`],
        ],
      },
    });
    expect(statements.find((st: any) => st.Sid === 'PassTheSchedulesRoleBack')).toEqual({
      Sid: 'PassTheSchedulesRoleBack',
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${ACCOUNT}:role/batch-runner/*`]] },
      Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    });
    // Added once, however many batches set it.
    expect(statements.filter((st: any) => st.Sid === 'PassTheSchedulesRoleBack')).toHaveLength(1);
  });
});

describe('configuration errors stop the synth with a message naming the batch, the field, the value and the fix', () => {
  const stackWithoutBundling = () => new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
  const runnerIn = (stack: Stack) =>
    new BatchRunner(stack, 'Runner', { network: { subnetIds: ['subnet-1'], securityGroupIds: ['sg-1'] } });

  test('a created task without a cluster', () => {
    const stack = stackWithoutBundling();
    expect(() => new ScheduledBatch(stack, 'B', { runner: runnerIn(stack), batch: BATCHES[0] })).toThrow(
      /batch "sitemap-refresh": task.kind = "created" needs a cluster: pass BatchRunnerProps.cluster/,
    );
  });

  test('two batches with the same name in one runner', () => {
    const stack = stackWithoutBundling();
    const runner = runnerIn(stack);
    const batch = imported('dup-batch', `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/x:1`);
    new ScheduledBatch(stack, 'A', { runner, batch });
    expect(() => new ScheduledBatch(stack, 'B', { runner, batch })).toThrow(
      /batch "dup-batch": name = "dup-batch" is invalid: batch names must be unique/,
    );
  });

  test('an invalid batch config is refused by the shared validator (bad cron)', () => {
    const stack = stackWithoutBundling();
    const batch = imported('bad-cron', `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/x:1`, {
      schedule: { cron: '0 25 * * ? *', timeZone: 'Asia/Tokyo' },
    });
    expect(() => new ScheduledBatch(stack, 'B', { runner: runnerIn(stack), batch })).toThrow(
      /batch "bad-cron": schedule.cron = "0 25 \* \* \? \*" is invalid/,
    );
  });

  test('an interval the missed-run alarm cannot watch (CloudWatch looks back at most 7 days)', () => {
    const stack = stackWithoutBundling();
    const batch = imported('weekly-report', `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/x:1`, {
      schedule: { cron: '0 6 ? * MON *', timeZone: 'Asia/Tokyo', expectedIntervalHours: 168 },
    });
    expect(() => new ScheduledBatch(stack, 'B', { runner: runnerIn(stack), batch })).toThrow(
      /batch "weekly-report": schedule.expectedIntervalHours = 168 is invalid: .* use at most 165 h/,
    );
  });

  test('a prefix and batch name whose schedule name would exceed 64 characters (valid each on its own)', () => {
    const stack = stackWithoutBundling();
    const runner = new BatchRunner(stack, 'Runner', {
      namePrefix: 'a'.repeat(30),
      network: { subnetIds: ['subnet-1'], securityGroupIds: ['sg-1'] },
    });
    const name = `b${'x'.repeat(38)}z`; // 40 characters: the longest valid batch name
    const batch = imported(name, `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/x:1`);
    let thrown: unknown;
    try {
      new ScheduledBatch(stack, 'B', { runner, batch });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(BatchConfigError);
    expect(() => {
      throw thrown;
    }).toThrow(
      /batch "bx+z": name = "bx+z" is too long: the EventBridge Scheduler schedule name "a{30}-bx+z" has 71 characters, more than 64 .* use a batch name of at most 33 characters with prefix "a{30}", or a shorter namePrefix\./,
    );
  });

  test('a runner without batches', () => {
    const app = newApp();
    const stack = new Stack(app, 'Empty');
    runnerIn(stack);
    expect(() => app.synth()).toThrow(/BatchRunner has no batches/);
  });

  test('a name prefix that would break resource names, an empty network', () => {
    expect(
      () =>
        new BatchRunner(stackWithoutBundling(), 'R', {
          namePrefix: 'Batch_Runner',
          network: { subnetIds: ['s'], securityGroupIds: [] },
        }),
    ).toThrow(/namePrefix = "Batch_Runner" is invalid/);
    expect(
      () => new BatchRunner(stackWithoutBundling(), 'R', { network: { subnetIds: [], securityGroupIds: [] } }),
    ).toThrow(/network.subnetIds is empty/);
  });

  test('more batches per stack than the measured worst case allows', () => {
    expect(() =>
      addBatchRunnerStacks(newApp(), { batches: BATCHES, batchesPerStack: MAX_BATCHES_PER_STACK + 1 }),
    ).toThrow(
      new RegExp(
        `batchesPerStack = ${MAX_BATCHES_PER_STACK + 1} is invalid: use a whole number from 1 to ${MAX_BATCHES_PER_STACK} \\(CloudFormation's 500-resource and 1 MB template limits`,
      ),
    );
  });
});
