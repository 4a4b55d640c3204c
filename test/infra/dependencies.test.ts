import { AwsSolutionsChecks } from 'cdk-nag';
import { type BatchConfig, BatchConfigError } from '../../config/batch-config';
import { BATCHES } from '../../config/batches';
import { missedRunWindowHours } from '../../infra/batch-alarms';
import { deriveTimings } from '../../config/timings';
import { DEPENDENCY_INPUT_TEMPLATE } from '../../state-machines/run-events';
import { resourcesOf, synthApp } from './synth';

/**
 * Dependencies (`after`): a dependent batch gets an EventBridge rule on its upstream's success in
 * place of a Scheduler schedule; the rules of a stack share one role; failed starts go to the
 * schedules' dead-letter queue; the missed-run alarm waits for the upstream chain.
 */
const [, articles] = BATCHES;
const sitemap: BatchConfig = {
  ...BATCHES[0],
  name: 'xml-sitemap',
  description: 'Builds the XML sitemap from the article feed.',
  schedule: articles.schedule,
  after: [articles.name],
};
const ping: BatchConfig = { ...BATCHES[0], name: 'sitemap-ping', schedule: articles.schedule, after: [sitemap.name] };

describe('a batch with after', () => {
  const s = synthApp([...BATCHES, sitemap, ping]);
  const [batchStack] = s.batchStacks.map((b) => s.json[b.stackName]);
  const shared = s.json[s.shared.stackName];
  const rules = resourcesOf(batchStack, 'AWS::Events::Rule');
  const ruleOf = (name: string) => Object.values<any>(rules).find((r) => r.Properties.Name === `batch-runner-${name}`);

  test('has a rule on the upstream`s success of this deployment, and no schedule', () => {
    const schedules = Object.values<any>(resourcesOf(batchStack, 'AWS::Scheduler::Schedule')).map(
      (r) => r.Properties.Name,
    );
    expect(schedules.sort()).toEqual(BATCHES.map((b) => `batch-runner-${b.name}`).sort());
    expect(Object.keys(rules)).toHaveLength(2);
    const rule = ruleOf('xml-sitemap').Properties;
    expect(rule.State).toBe('ENABLED');
    expect(rule.EventBusName).toBeUndefined(); // the default bus, where the state machines put their events
    expect(rule.EventPattern).toEqual({
      source: ['batch-runner'],
      'detail-type': ['Batch Run Succeeded'],
      resources: [expect.anything()],
      detail: { batch: ['xml-articles'] },
    });
    expect(JSON.stringify(rule.EventPattern.resources)).toContain(':stateMachine:batch-runner-xml-articles');
    const [target] = rule.Targets;
    expect(target.InputTransformer).toEqual({
      InputPathsMap: {
        batch: '$.detail.batch',
        executionArn: '$.detail.executionArn',
        scheduledTime: '$.detail.scheduledTime',
      },
      InputTemplate: DEPENDENCY_INPUT_TEMPLATE,
    });
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 });
    expect(JSON.stringify(target.DeadLetterConfig)).toContain('ScheduleDeadLetters');
    expect(ruleOf('sitemap-ping').Properties.EventPattern.detail).toEqual({ batch: ['xml-sitemap'] });
  });

  test('the rules of a stack share one role, which may start only the dependent state machines', () => {
    const roles = Object.values<any>(resourcesOf(batchStack, 'AWS::IAM::Role')).filter((r) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('events.amazonaws.com'),
    );
    expect(roles).toHaveLength(1);
    const [statement] = roles[0].Properties.Policies[0].PolicyDocument.Statement;
    expect(statement.Action).toBe('states:StartExecution');
    expect(statement.Resource).toHaveLength(2);
    const trust = roles[0].Properties.AssumeRolePolicyDocument.Statement[0].Condition;
    expect(JSON.stringify(trust.ArnLike['aws:SourceArn'])).toContain(':rule/batch-runner-*');
    expect(trust.StringEquals['aws:SourceAccount']).toBeDefined();
  });

  test('the schedules` dead-letter queue accepts the deployment`s rules (a rule`s DLQ is authorised by the queue policy)', () => {
    const policies = Object.values<any>(resourcesOf(shared, 'AWS::SQS::QueuePolicy'));
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    const rule = statements.find((st: any) => st.Sid === 'DependencyRuleDeadLetters');
    expect(rule).toMatchObject({
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Principal: { Service: 'events.amazonaws.com' },
    });
  });

  test('the missed-run alarm waits for the upstream chain and names the upstream', () => {
    const alarms = Object.values<any>(resourcesOf(batchStack, 'AWS::CloudWatch::Alarm'));
    const missed = (name: string) =>
      alarms.find((a) => a.Properties.AlarmName === `batch-runner-${name}-missed-run`).Properties;
    const exec = (b: BatchConfig) => deriveTimings(b).executionTimeoutSeconds;
    expect(missed('xml-articles').EvaluationPeriods).toBe(missedRunWindowHours(24, exec(articles)));
    expect(missed('xml-sitemap').EvaluationPeriods).toBe(missedRunWindowHours(24, exec(sitemap) + exec(articles)));
    expect(missed('sitemap-ping').EvaluationPeriods).toBe(
      missedRunWindowHours(24, exec(ping) + exec(sitemap) + exec(articles)),
    );
    expect(missed('xml-sitemap').AlarmDescription).toContain('after xml-articles succeeds');
  });

  test('cdk-nag finds nothing unacknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(s.app);
    expect(
      report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`)),
    ).toEqual([]);
  });

  test('on a bus the platform names, the rule listens there', () => {
    const bus = 'arn:aws:events:ap-northeast-1:123456789012:event-bus/platform';
    const c = synthApp([...BATCHES, sitemap], {
      eventBusArn: bus,
      env: { account: '123456789012', region: 'ap-northeast-1' },
    });
    const [r] = Object.values<any>(resourcesOf(c.json[c.batchStacks[0].stackName], 'AWS::Events::Rule'));
    expect(r.Properties.EventBusName).toBe(bus);
  });
});

describe('refused at synth with the batch, field, value and fix', () => {
  const refused = (batches: BatchConfig[]) => {
    try {
      synthApp(batches);
    } catch (err) {
      expect(err).toBeInstanceOf(BatchConfigError);
      return (err as Error).message;
    }
    throw new Error('not refused');
  };
  test('an unknown upstream', () => {
    expect(refused([...BATCHES, { ...sitemap, after: ['xml-artcles'] }])).toMatch(
      /^batch "xml-sitemap": after = \["xml-artcles"\] is invalid: there is no batch "xml-artcles" in this deployment; name one of sitemap-refresh, xml-articles, missing-images/,
    );
  });
  test('itself', () => {
    expect(refused([...BATCHES, { ...sitemap, after: ['xml-sitemap'] }])).toContain('a batch cannot run after itself');
  });
  test('a cycle, named by its path', () => {
    const a = { ...sitemap, name: 'a-batch', after: ['b-batch'] };
    const b = { ...sitemap, name: 'b-batch', after: ['a-batch'] };
    expect(refused([...BATCHES, a, b])).toContain('the dependencies form a cycle, a-batch -> b-batch -> a-batch');
  });
});
