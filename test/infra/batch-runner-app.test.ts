import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { BATCHES } from '../../config/batches';
import { deriveTimings } from '../../config/timings';
import { missedRunWindowHours } from '../../infra/batch-alarms';
import { MAX_BATCHES_PER_STACK } from '../../infra/batch-runner-app';
import { placeholdersIn, readDefinitionTemplate, renderDefinition } from '../../state-machines/definition';
import {
  asArray,
  cloudFormationDefinition,
  iamStatements,
  resourcesOf,
  type SynthesizedApp,
  synthApp,
  uploadedDefinition,
} from './synth';

// One synth for the whole file: the three batches of MISSION.md, as `npx cdk synth` builds them.
let s: SynthesizedApp;
let shared: any;
let batches: any;
const spawned: string[] = [];

beforeAll(() => {
  // Record every child process CDK starts while bundling: esbuild is expected, docker never.
  // (The CommonJS module object itself: CDK calls child_process.<fn> through it at run time.)
  const cp: Record<string, (...args: unknown[]) => unknown> = require('node:child_process');
  const names = ['spawnSync', 'execSync', 'execFileSync', 'spawn', 'execFile'];
  const originals = names.map((fn) => cp[fn]);
  names.forEach((fn, i) => {
    cp[fn] = (cmd: unknown, ...rest: unknown[]) => {
      spawned.push(`${cmd} ${JSON.stringify(rest[0] ?? '')}`);
      return originals[i](cmd, ...rest);
    };
  });
  try {
    s = synthApp(BATCHES, {}, { bundle: true });
  } finally {
    names.forEach((fn, i) => {
      cp[fn] = originals[i];
    });
  }
  shared = s.json[s.shared.stackName];
  batches = s.json[s.batchStacks[0].stackName];
});

const byName = (type: string, nameProp: string, template = batches) =>
  Object.fromEntries(
    Object.values(resourcesOf(template, type)).map((r: any) => [r.Properties[nameProp], r.Properties]),
  );

describe('the app of MISSION.md: three JST batches', () => {
  test('one shared stack and one batch stack (3 batches fit in one)', () => {
    expect(s.shared.stackName).toBe('BatchRunner-Shared');
    expect(s.batchStacks.map((b) => b.stackName)).toEqual(['BatchRunner-Batches-1']);
    expect(MAX_BATCHES_PER_STACK).toBeGreaterThanOrEqual(40);
  });

  test("three EventBridge Scheduler schedules at 06:00, 07:00 and 08:00 Asia/Tokyo, retrying into the runner's one encrypted DLQ", () => {
    const schedules = byName('AWS::Scheduler::Schedule', 'Name');
    expect(Object.keys(schedules).sort()).toEqual(BATCHES.map((b) => `batch-runner-${b.name}`).sort());
    const expected: Record<string, string> = {
      'sitemap-refresh': 'cron(0 6 * * ? *)',
      'xml-articles': 'cron(0 7 * * ? *)',
      'missing-images': 'cron(0 8 * * ? *)',
    };
    for (const [batch, cron] of Object.entries(expected)) {
      const p = schedules[`batch-runner-${batch}`];
      expect(p).toMatchObject({
        ScheduleExpression: cron,
        ScheduleExpressionTimezone: 'Asia/Tokyo',
        GroupName: 'batch-runner',
        State: 'ENABLED',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 } },
      });
      // Exactly the shape RouteInput lets through without the validator.
      expect(p.Target.Input).toBe('{"trigger":"schedule","scheduledTime":"<aws.scheduler.scheduled-time>"}');
      // The shared stack's queue, exported: one DLQ for every schedule instead of one per batch.
      expect(p.Target.DeadLetterConfig.Arn).toEqual({
        'Fn::ImportValue': expect.stringMatching(/ScheduleDeadLetters.*Queue.*Arn/),
      });
    }
    expect(new Set(Object.values<any>(schedules).map((p) => JSON.stringify(p.Target.DeadLetterConfig))).size).toBe(1);
    s.batchTemplates[0].resourceCountIs('AWS::SQS::Queue', 0);
    const [queueId] = Object.keys(resourcesOf(shared, 'AWS::SQS::Queue')).filter((id) =>
      id.includes('ScheduleDeadLetters'),
    );
    expect(shared.Resources[queueId].Properties).toMatchObject({ SqsManagedSseEnabled: true });
    s.sharedTemplate.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test("the scheduler's role may start only its own state machine and write only to the schedules' DLQ", () => {
    for (const role of Object.values(resourcesOf(batches, 'AWS::IAM::Role')).filter(
      (r: any) => r.Properties.Policies?.[0]?.PolicyName === 'Schedule',
    )) {
      const statements = role.Properties.Policies[0].PolicyDocument.Statement;
      expect(statements.map((x: any) => x.Action)).toEqual(['states:StartExecution', 'sqs:SendMessage']);
      expect(statements[0].Resource).toEqual({ Ref: expect.stringMatching(/StateMachine/) });
      expect(statements[1].Resource).toEqual({
        'Fn::ImportValue': expect.stringMatching(/ScheduleDeadLetters.*Queue.*Arn/),
      });
      // Scheduler presents the schedule *group* ARN (Scheduler user guide, "Confused deputy prevention").
      const sourceArn = role.Properties.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals['aws:SourceArn'];
      expect(JSON.stringify(sourceArn)).toMatch(/:scheduler:.*:schedule-group\/batch-runner"\]/);
      expect(JSON.stringify(sourceArn)).not.toMatch(/:schedule\//);
    }
  });

  test("one state machine per batch, named from config/naming.ts, logging ALL with execution data to the stack's log group, tracing on", () => {
    const machines = byName('AWS::StepFunctions::StateMachine', 'StateMachineName');
    expect(Object.keys(machines).sort()).toEqual(BATCHES.map((b) => `batch-runner-${b.name}`).sort());
    for (const p of Object.values<any>(machines)) {
      expect(p.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
      expect(p.TracingConfiguration).toEqual({ Enabled: true });
      const logGroupId = p.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
      expect(batches.Resources[logGroupId].Properties).toMatchObject({
        LogGroupName: '/aws/vendedlogs/states/batch-runner-BatchRunner-Batches-1',
        RetentionInDays: 30,
      });
    }
    // The stack's executions, and each created batch's container.
    s.batchTemplates[0].resourceCountIs(
      'AWS::Logs::LogGroup',
      1 + BATCHES.filter((b) => b.task.kind === 'created').length,
    );
  });

  test('the definition is the ASL file itself, uploaded once as an S3 asset, with a substitution for every placeholder and no other', () => {
    const template = readDefinitionTemplate();
    const machines = Object.values<any>(resourcesOf(batches, 'AWS::StepFunctions::StateMachine'));
    expect(machines).toHaveLength(3);
    for (const m of machines) {
      expect(m.Properties.DefinitionString).toBeUndefined();
      // Byte for byte the file, placeholders and all: what CloudFormation substitutes.
      expect(uploadedDefinition(s.assembly, s.batchStacks[0].stackName, m)).toBe(template);
      expect(Object.keys(m.Properties.DefinitionSubstitutions).sort()).toEqual(placeholdersIn(template));
    }
    // One object for every batch.
    expect(new Set(machines.map((m) => JSON.stringify(m.Properties.DefinitionS3Location))).size).toBe(1);
    expect(JSON.stringify(batches)).not.toContain('AcquireLock');
  });

  test('the substitutions render a valid definition once CloudFormation resolves them (subnets as a JSON array)', () => {
    const p = byName('AWS::StepFunctions::StateMachine', 'StateMachineName')['batch-runner-missing-images'];
    // Stand-in values for CloudFormation's intrinsic functions.
    const resolve = (v: any): string =>
      typeof v === 'string'
        ? v
        : v['Fn::Join']
          ? v['Fn::Join'][1].map(resolve).join(v['Fn::Join'][0])
          : `resolved-${Object.keys(v)[0]}`;
    const subs = Object.fromEntries(Object.entries<any>(p.DefinitionSubstitutions).map(([k, v]) => [k, resolve(v)]));
    const uploaded = uploadedDefinition(s.assembly, s.batchStacks[0].stackName, { Properties: p });
    const definition = cloudFormationDefinition(uploaded, subs);
    // CloudFormation replaces plain text; the ASL tests and the local mode render with escaping. No
    // value here needs escaping, so both produce the same definition.
    expect(definition).toEqual(JSON.parse(renderDefinition(subs, uploaded)));
    expect(definition.States.StartBatchTask.Parameters.NetworkConfiguration.AwsvpcConfiguration).toEqual({
      Subnets: ['resolved-Fn::ImportValue', 'resolved-Fn::ImportValue'],
      SecurityGroups: ['resolved-Fn::ImportValue'],
      AssignPublicIp: 'DISABLED',
    });
    const t = deriveTimings(BATCHES.find((b) => b.name === 'missing-images')!);
    expect(definition.TimeoutSeconds).toBe(t.executionTimeoutSeconds);
    expect(subs).toMatchObject({
      BatchName: 'missing-images',
      OverlapPolicy: 'skip',
      SkipNotification: 'alert',
      HardTimeoutSeconds: '7200',
      TaskFamily: 'batch-runner-missing-images',
    });
  });

  test('created task definitions: Fargate, the batch container with its stop grace, awslogs to /batch-runner/tasks/<batch>', () => {
    s.batchTemplates[0].hasResourceProperties('AWS::ECS::TaskDefinition', {
      Family: 'batch-runner-xml-articles',
      RequiresCompatibilities: ['FARGATE'],
      NetworkMode: 'awsvpc',
      ContainerDefinitions: [
        Match.objectLike({
          Name: 'app',
          Essential: true,
          StopTimeout: 60,
          Command: ['bundle', 'exec', 'rake', 'xml:articles'],
          LogConfiguration: Match.objectLike({
            LogDriver: 'awslogs',
            Options: Match.objectLike({ 'awslogs-stream-prefix': 'batch' }),
          }),
        }),
      ],
    });
    s.batchTemplates[0].hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/batch-runner/tasks/xml-articles',
      RetentionInDays: 30,
    });
    s.sharedTemplate.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterName: 'batch-runner',
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
  });
});

describe('shared resources', () => {
  test('lock table: on demand, point-in-time recovery, encrypted, TTL attribute expiresAt, key "batch"', () => {
    s.sharedTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'batch-runner-locks',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'batch', KeyType: 'HASH' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  test('alert topic: KMS encrypted with a rotating key that CloudWatch alarms may use, TLS enforced', () => {
    const [topic] = Object.values<any>(resourcesOf(shared, 'AWS::SNS::Topic'));
    expect(topic.Properties).toMatchObject({
      TopicName: 'batch-runner-alerts',
      KmsMasterKeyId: { 'Fn::GetAtt': [expect.stringMatching(/AlertTopicKey/), 'Arn'] },
    });
    s.sharedTemplate.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
    s.sharedTemplate.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    s.sharedTemplate.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('three Lambda handlers: Node.js 24, ARM64, own log group with retention, hand-written role without managed policies', () => {
    const functions = byName('AWS::Lambda::Function', 'FunctionName', shared);
    expect(Object.keys(functions).sort()).toEqual([
      'batch-runner-cleanup',
      'batch-runner-task-watcher',
      'batch-runner-validate-manual-input',
    ]);
    for (const [name, p] of Object.entries<any>(functions)) {
      expect(p).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
      const logGroup = shared.Resources[p.LoggingConfig.LogGroup.Ref].Properties;
      expect(logGroup).toEqual({ LogGroupName: `/aws/lambda/${name}`, RetentionInDays: 30 });
      const role = shared.Resources[p.Role['Fn::GetAtt'][0]].Properties;
      expect(role.ManagedPolicyArns).toBeUndefined();
    }
    expect(functions['batch-runner-cleanup'].Environment.Variables).toMatchObject({
      NAME_PREFIX: 'batch-runner',
      STOP_CONFIRM_SECONDS: '180',
    });
    expect(functions['batch-runner-cleanup'].Timeout).toBe(300);
    s.sharedTemplate.resourceCountIs('AWS::IAM::Policy', 1); // only the VPC flow log role's, written by CDK
  });

  test('handlers are bundled by the local esbuild, never by Docker', () => {
    expect(spawned.some((c) => /esbuild/.test(c))).toBe(true);
    expect(spawned.filter((c) => /docker/i.test(c))).toEqual([]);
    for (const p of Object.values<any>(byName('AWS::Lambda::Function', 'FunctionName', shared))) {
      const assetDir = join(s.assembly.directory, `asset.${p.Code.S3Key.replace(/\.zip$/, '')}`);
      expect(existsSync(join(assetDir, 'index.js'))).toBe(true);
    }
  });

  test("cleanup rule: Step Functions status FAILED, TIMED_OUT, ABORTED of the runner's state machines only", () => {
    s.sharedTemplate.hasResourceProperties('AWS::Events::Rule', {
      Name: 'batch-runner-execution-ended',
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
          stateMachineArn: [{ prefix: { 'Fn::Join': ['', Match.arrayWith([':stateMachine:batch-runner-'])] } }],
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('Cleanup'), 'Arn'] },
          DeadLetterConfig: Match.anyValue(),
        }),
      ],
    });
  });

  test("task watcher rule: ECS STOPPED of tasks in a batch-runner group on the runner's cluster", () => {
    s.sharedTemplate.hasResourceProperties('AWS::Events::Rule', {
      Name: 'batch-runner-task-stopped',
      EventPattern: {
        source: ['aws.ecs'],
        'detail-type': ['ECS Task State Change'],
        detail: {
          lastStatus: ['STOPPED'],
          group: [{ prefix: 'batch-runner:' }],
          clusterArn: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('Cluster'), 'Arn'] }],
        },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('TaskWatcher'), 'Arn'] } })],
    });
  });

  test('failed handler deliveries and invocations land in an encrypted queue with an alarm to the alert topic', () => {
    s.sharedTemplate.resourceCountIs('AWS::Lambda::EventInvokeConfig', 2);
    s.sharedTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'batch-runner-handler-failures',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlertTopic') }],
    });
  });
});

describe('alarms and dashboard', () => {
  const alarms = () => byName('AWS::CloudWatch::Alarm', 'AlarmName');

  test('three alarms per batch, and one on the shared schedule DLQ', () => {
    for (const b of BATCHES) {
      const names = Object.keys(alarms()).filter((n) => n.startsWith(`batch-runner-${b.name}-`));
      expect(names.sort()).toEqual(
        ['failed', 'missed-run', 'near-hard-timeout'].map((x) => `batch-runner-${b.name}-${x}`),
      );
    }
    expect(Object.keys(alarms())).toHaveLength(3 * BATCHES.length);
  });

  test('missed run: hourly succeeded counts over interval + grace, missing data breaching, so it fires when nothing runs at all', () => {
    for (const b of BATCHES) {
      const window = missedRunWindowHours(24, deriveTimings(b).executionTimeoutSeconds);
      expect(alarms()[`batch-runner-${b.name}-missed-run`]).toMatchObject({
        Namespace: 'AWS/States',
        MetricName: 'ExecutionsSucceeded',
        Statistic: 'Sum',
        Period: 3600,
        EvaluationPeriods: window,
        DatapointsToAlarm: window,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        TreatMissingData: 'breaching',
        AlarmActions: [{ 'Fn::ImportValue': expect.stringMatching(/AlertTopic/) }],
      });
    }
    expect(alarms()['batch-runner-missing-images-missed-run'].EvaluationPeriods).toBe(28);
  });

  test('one alarm counts failed, timed out and aborted executions; it does not notify, because the runner already alerted once', () => {
    const failed = alarms()['batch-runner-sitemap-refresh-failed'];
    expect(failed).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(failed.AlarmActions).toBeUndefined();
    const expression = failed.Metrics.find((m: any) => m.Expression);
    expect(expression).toMatchObject({ Expression: 'FILL(f, 0) + FILL(t, 0) + FILL(a, 0)', ReturnData: true });
    const inputs = Object.fromEntries(
      failed.Metrics.filter((m: any) => m.MetricStat).map((m: any) => [m.Id, m.MetricStat]),
    );
    expect(inputs).toEqual({
      f: expect.objectContaining({
        Metric: expect.objectContaining({ MetricName: 'ExecutionsFailed' }),
        Stat: 'Sum',
        Period: 300,
      }),
      t: expect.objectContaining({
        Metric: expect.objectContaining({ MetricName: 'ExecutionsTimedOut' }),
        Stat: 'Sum',
        Period: 300,
      }),
      a: expect.objectContaining({
        Metric: expect.objectContaining({ MetricName: 'ExecutionsAborted' }),
        Stat: 'Sum',
        Period: 300,
      }),
    });
    for (const m of Object.values<any>(inputs))
      expect(m.Metric.Dimensions).toEqual([
        { Name: 'StateMachineArn', Value: { Ref: expect.stringMatching(/^sitemaprefresh/) } },
      ]);
  });

  test("near hard timeout at 80 % of each batch's own hard timeout; the schedules' DLQ not empty", () => {
    expect(alarms()['batch-runner-sitemap-refresh-near-hard-timeout']).toMatchObject({
      MetricName: 'ExecutionTime',
      Statistic: 'Maximum',
      Threshold: 1440000,
    });
    expect(alarms()['batch-runner-missing-images-near-hard-timeout'].Threshold).toBe(5760000);
    expect(byName('AWS::CloudWatch::Alarm', 'AlarmName', shared)['batch-runner-schedule-dlq']).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [expect.stringMatching(/ScheduleDeadLetters/), 'QueueName'] } },
      ],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      AlarmActions: [{ Ref: expect.stringMatching(/AlertTopic/) }],
    });
  });

  test('one dashboard with a row per batch', () => {
    const [dashboard] = Object.values<any>(resourcesOf(batches, 'AWS::CloudWatch::Dashboard'));
    expect(dashboard.Properties.DashboardName).toBe('batch-runner');
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const b of BATCHES) expect(body).toContain(`${b.name}: executions per hour`);
    expect(body).toContain('hard timeout');
    // The runner's alarms on top, the schedules' DLQ among them.
    expect(body).toContain('ScheduleDeadLetters');
  });
});

describe('IAM across the app', () => {
  const functionStatements = (name: string) => {
    const fn = Object.values<any>(resourcesOf(shared, 'AWS::Lambda::Function')).find(
      (r) => r.Properties.FunctionName === name,
    );
    return shared.Resources[fn.Properties.Role['Fn::GetAtt'][0]].Properties.Policies[0].PolicyDocument
      .Statement as any[];
  };
  const actionsBySid = (name: string) =>
    Object.fromEntries(functionStatements(name).map((st) => [st.Sid, [...asArray<string>(st.Action)].sort()]));

  test('validator: nothing but its own logs', () => {
    expect(actionsBySid('batch-runner-validate-manual-input')).toEqual({
      OwnLogGroup: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    });
  });

  test("task watcher: lock items, task tokens of the runner's state machines, DescribeTasks on the runner's clusters", () => {
    expect(actionsBySid('batch-runner-task-watcher')).toEqual({
      OwnLogGroup: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      LockItems: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      AnswerTaskTokens: ['states:SendTaskFailure', 'states:SendTaskSuccess'],
      DescribeBatchTasks: ['ecs:DescribeTasks'],
      ReportFailedAsyncInvocations: ['sqs:SendMessage'],
    });
    const tokens = functionStatements('batch-runner-task-watcher').find((st) => st.Sid === 'AnswerTaskTokens');
    expect(tokens.Resource['Fn::Join'][1].at(-1)).toBe(':stateMachine:batch-runner-*');
  });

  test('reconciler (the cleanup function): locks, alert records only for PutItem, owner status, tokens, list/stop runner tasks, publish', () => {
    expect(actionsBySid('batch-runner-cleanup')).toEqual({
      OwnLogGroup: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      ReadLocksAndAlertRecords: ['dynamodb:GetItem', 'dynamodb:Scan'],
      ReleaseLocksAndNotePendingStops: ['dynamodb:DeleteItem', 'dynamodb:UpdateItem'],
      AlertRecordsOnly: ['dynamodb:PutItem'],
      OwnerStatus: ['states:DescribeExecution'],
      SweepEndedExecutions: ['states:ListExecutions'],
      FindTheRunnersStateMachines: ['states:ListStateMachines'],
      AnswerTaskTokens: ['states:SendTaskFailure', 'states:SendTaskSuccess'],
      ListRunnerTasks: ['ecs:ListTasks'],
      DescribeBatchTasks: ['ecs:DescribeTasks'],
      StopBatchTasks: ['ecs:StopTask'],
      PublishAlerts: ['sns:Publish'],
      AlertTopicKey: ['kms:Decrypt', 'kms:GenerateDataKey'],
      ReportFailedAsyncInvocations: ['sqs:SendMessage'],
    });
    const statements = functionStatements('batch-runner-cleanup');
    expect(statements.find((st) => st.Sid === 'AlertRecordsOnly').Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['alert#*'] },
    });
    expect(statements.find((st) => st.Sid === 'StopBatchTasks').Condition).toEqual({
      ArnEquals: { 'ecs:cluster': [{ 'Fn::GetAtt': [expect.stringMatching(/^Cluster/), 'Arn'] }] },
      // Only tasks the runner tagged when it started them.
      Null: { 'aws:ResourceTag/batch-runner:batch': 'false' },
    });
    expect(statements.find((st) => st.Sid === 'ListRunnerTasks').Condition).toEqual({
      ArnEquals: { 'ecs:cluster': [{ 'Fn::GetAtt': [expect.stringMatching(/^Cluster/), 'Arn'] }] },
    });
    expect(statements.find((st) => st.Sid === 'OwnerStatus').Resource['Fn::Join'][1].at(-1)).toBe(
      ':execution:batch-runner-*:*',
    );
  });

  test('the reconciler runs every 60 s whatever events arrive, and an alarm watches undelivered alerts', () => {
    const rules = Object.values<any>(shared.Resources).filter((r) => r.Type === 'AWS::Events::Rule');
    const schedule = rules.find((r) => r.Properties.ScheduleExpression);
    expect(schedule.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(JSON.stringify(schedule.Properties.Targets)).toContain('Cleanup');
    const alarm = Object.values<any>(shared.Resources).find(
      (r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.MetricName === 'OldestUndeliveredAlertSeconds',
    );
    expect(alarm.Properties).toMatchObject({ Namespace: 'BatchRunner', Threshold: 300, Statistic: 'Maximum' });
  });

  test('no statement grants Action "*" or a whole service', () => {
    const all = [...iamStatements(shared), ...iamStatements(batches)];
    expect(all.length).toBeGreaterThan(20);
    for (const { resource, statement } of all) {
      for (const action of asArray<string>(statement.Action)) {
        expect({ resource, action }).toEqual({ resource, action: expect.not.stringMatching(/^\*$|:\*$/) });
      }
    }
  });
});

describe('snapshot', () => {
  test('whole app, asset hashes blanked', () => {
    const blank = (template: any) => {
      const text = JSON.stringify(template).replace(/[0-9a-f]{64}(\.zip|\.json)?/g, '<asset-hash>$1');
      const parsed = JSON.parse(text);
      for (const [id, r] of Object.entries<any>(parsed.Resources))
        if (r.Type === 'AWS::CDK::Metadata') delete parsed.Resources[id];
      delete parsed.Conditions?.CDKMetadataAvailable;
      return parsed;
    };
    expect({ shared: blank(shared), batches: blank(batches) }).toMatchSnapshot();
  });
});
