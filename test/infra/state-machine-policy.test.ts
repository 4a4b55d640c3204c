import { BATCHES } from '../../config/batches';
import { JUSTIFIED_EXTRA_SIDS } from '../../infra/state-machine-policy';
import { readDefinitionTemplate } from '../../state-machines/definition';
import { asArray, type SynthesizedApp, synthApp } from './synth';

/**
 * Proof that each state machine role grants every API action the ASL calls and nothing else beyond
 * a listed, justified set. The actions are derived from the ASL file itself, so a new Task state
 * (or a change from request-response to .sync) fails this test until the policy follows.
 */

/** Every Task state of a definition, including Map item processors and Parallel branches. */
function taskStates(states: Record<string, any>): Array<{ name: string; state: any }> {
  return Object.entries(states).flatMap(([name, state]) => [
    ...(state.Type === 'Task' ? [{ name, state }] : []),
    ...(state.Type === 'Map' ? taskStates((state.ItemProcessor ?? state.Iterator).States) : []),
    ...(state.Type === 'Parallel' ? state.Branches.flatMap((b: any) => taskStates(b.States)) : []),
  ]);
}

/** IAM service prefixes of the SDK service names Step Functions uses in `aws-sdk:<service>:<action>`. */
const IAM_PREFIX: Record<string, string> = {
  sfn: 'states',
  ecs: 'ecs',
  dynamodb: 'dynamodb',
  sns: 'sns',
  lambda: 'lambda',
};

/** Optimized integrations (`arn:aws:states:::<service>:<action>`) and the IAM actions they need. */
const OPTIMIZED: Record<string, string[]> = {
  'dynamodb:putItem': ['dynamodb:PutItem'],
  'dynamodb:getItem': ['dynamodb:GetItem'],
  'dynamodb:deleteItem': ['dynamodb:DeleteItem'],
  'dynamodb:updateItem': ['dynamodb:UpdateItem'],
  'sns:publish': ['sns:Publish'],
  'lambda:invoke': ['lambda:InvokeFunction'],
  'events:putEvents': ['events:PutEvents'],
  'ecs:runTask': ['ecs:RunTask', 'iam:PassRole'],
};

/** Extra permissions of the `.sync` pattern (Step Functions polls and manages an EventBridge rule). */
const SYNC_EXTRAS: Record<string, string[]> = {
  'ecs:runTask': ['ecs:StopTask', 'ecs:DescribeTasks', 'events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
};

/** The IAM actions one Task state needs. */
function actionsFor(state: any): string[] {
  const m = /^arn:aws:states:::(aws-sdk:)?([a-z0-9]+):([A-Za-z]+)(\.sync|\.waitForTaskToken)?(:2)?$/.exec(
    state.Resource,
  );
  if (!m) throw new Error(`unmapped Task resource ${state.Resource}: add it to the test's map`);
  const [, sdk, service, action, pattern] = m;
  const key = `${service}:${action}`;
  let actions: string[];
  if (sdk) {
    const prefix = IAM_PREFIX[service];
    if (!prefix) throw new Error(`unmapped SDK service ${service}`);
    actions = [`${prefix}:${action[0].toUpperCase()}${action.slice(1)}`];
    if (key === 'ecs:runTask') actions.push('iam:PassRole');
  } else {
    if (!OPTIMIZED[key]) throw new Error(`unmapped optimized integration ${key}`);
    actions = [...OPTIMIZED[key]];
  }
  if (pattern === '.sync') {
    if (!SYNC_EXTRAS[key]) throw new Error(`unmapped .sync integration ${key}`);
    actions.push(...SYNC_EXTRAS[key]);
  }
  // RunTask with Tags in the request: tag-on-create needs ecs:TagResource.
  if (key === 'ecs:runTask' && state.Parameters?.Tags !== undefined) actions.push('ecs:TagResource');
  return actions;
}

const definition = JSON.parse(readDefinitionTemplate().replace(/\$\{[A-Za-z0-9]+\}/g, '0'));
const derived = new Map<string, string[]>();
for (const { name, state } of taskStates(definition.States)) {
  for (const action of actionsFor(state)) derived.set(action, [...(derived.get(action) ?? []), name]);
}

/** Beyond the ASL's calls: exactly these, each in a statement with the Sid that says why. */
const JUSTIFIED: Record<string, string[]> = {
  [JUSTIFIED_EXTRA_SIDS.logDelivery]: [
    'logs:CreateLogDelivery',
    'logs:GetLogDelivery',
    'logs:UpdateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:DescribeResourcePolicies',
    'logs:DescribeLogGroups',
  ],
  [JUSTIFIED_EXTRA_SIDS.tracing]: [
    'xray:PutTraceSegments',
    'xray:PutTelemetryRecords',
    'xray:GetSamplingRules',
    'xray:GetSamplingTargets',
  ],
  [JUSTIFIED_EXTRA_SIDS.topicKey]: ['kms:GenerateDataKey', 'kms:Decrypt'],
};

let s: SynthesizedApp;
let template: any;
const statementsOf = (batch: string): any[] => {
  const sm = Object.values<any>(template.Resources).find(
    (r) => r.Type === 'AWS::StepFunctions::StateMachine' && r.Properties.StateMachineName === `batch-runner-${batch}`,
  );
  const role = template.Resources[sm.Properties.RoleArn['Fn::GetAtt'][0]];
  expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  expect(role.Properties.Policies).toHaveLength(1);
  return role.Properties.Policies[0].PolicyDocument.Statement;
};
const granting = (statements: any[], action: string) => statements.filter((st) => asArray(st.Action).includes(action));

beforeAll(() => {
  s = synthApp(BATCHES);
  template = s.json[s.batchStacks[0].stackName];
});

describe('actions derived from state-machines/batch-runner.asl.json', () => {
  test('the derivation sees every Task state, including the Map item processor', () => {
    expect(derived.get('ecs:StopTask')).toEqual(expect.arrayContaining(['StopRunningCopy', 'StopBatchTask']));
    expect(derived.get('lambda:InvokeFunction')).toEqual([
      'ValidateManualInput',
      'SettleStaleLock',
      'WaitForTaskToStop',
      'ReleaseLockAfterFailure',
    ]);
    expect(derived.get('events:PutEvents')).toEqual([
      'PublishSkippedEvent',
      'PublishStartedEvent',
      'PublishSucceededEvent',
      'PublishFailedEvent',
    ]);
    expect([...derived.keys()].sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'ecs:DescribeTasks',
      'ecs:ListTasks',
      'ecs:RunTask',
      'ecs:StopTask',
      'ecs:TagResource',
      'events:PutEvents',
      'iam:PassRole',
      'lambda:InvokeFunction',
      'sns:Publish',
      'states:DescribeExecution',
      'states:StopExecution',
    ]);
  });

  test('the map knows the .sync extras, so switching RunTask to .sync would demand them', () => {
    expect(actionsFor({ Resource: 'arn:aws:states:::ecs:runTask.sync' })).toEqual([
      'ecs:RunTask',
      'iam:PassRole',
      'ecs:StopTask',
      'ecs:DescribeTasks',
      'events:PutTargets',
      'events:PutRule',
      'events:DescribeRule',
    ]);
    expect(actionsFor({ Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken' })).toEqual([
      'lambda:InvokeFunction',
    ]);
    expect(() => actionsFor({ Resource: 'arn:aws:states:::glue:startJobRun.sync' })).toThrow(/unmapped/);
  });
});

describe.each(BATCHES.map((b) => b.name))('state machine role of %s', (batch) => {
  test('grants every derived action and, beyond them, only the justified set', () => {
    const statements = statementsOf(batch);
    const granted = new Set(statements.flatMap((st) => asArray<string>(st.Action)));
    for (const action of derived.keys())
      expect({ action, granted: granted.has(action) }).toEqual({ action, granted: true });
    const extra = [...granted].filter((a) => !derived.has(a)).sort();
    expect(extra).toEqual(Object.values(JUSTIFIED).flat().sort());
    for (const [sid, actions] of Object.entries(JUSTIFIED)) {
      const st = statements.find((x) => x.Sid === sid);
      expect([...asArray(st?.Action)].sort()).toEqual([...actions].sort());
    }
    for (const st of statements) expect(st.Effect).toBe('Allow');
  });

  test("DynamoDB: only the lock table, only this batch's item (dynamodb:LeadingKeys)", () => {
    const [st] = granting(statementsOf(batch), 'dynamodb:PutItem');
    expect([...asArray(st.Action)].sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(st.Resource).toEqual({ 'Fn::ImportValue': expect.stringMatching(/LockTable.*Arn/) });
    expect(st.Condition).toEqual({ 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [batch] } });
  });

  test("RunTask: only this batch's task definition, only on its cluster", () => {
    const [st] = granting(statementsOf(batch), 'ecs:RunTask');
    expect(st.Resource).toEqual({ Ref: expect.stringMatching(/TaskDefinition/) });
    expect(st.Condition).toEqual({
      ArnEquals: { 'ecs:cluster': { 'Fn::ImportValue': expect.stringMatching(/Cluster.*Arn/) } },
    });
  });

  test('PassRole: only the task role and execution role, only to ECS tasks', () => {
    const [st] = granting(statementsOf(batch), 'iam:PassRole');
    expect(st.Resource).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/TaskRole/), 'Arn'] },
      { 'Fn::GetAtt': [expect.stringMatching(/ExecutionRole/), 'Arn'] },
    ]);
    expect(st.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
  });

  test("StopTask, DescribeTasks, ListTasks: the batch's cluster only (ecs:cluster condition); TagResource only at RunTask", () => {
    const statements = statementsOf(batch);
    for (const action of ['ecs:StopTask', 'ecs:DescribeTasks', 'ecs:ListTasks']) {
      const [st] = granting(statements, action);
      expect(st.Condition.ArnEquals['ecs:cluster']).toEqual({
        'Fn::ImportValue': expect.stringMatching(/Cluster.*Arn/),
      });
    }
    const [tag] = granting(statements, 'ecs:TagResource');
    expect(tag.Condition).toEqual({ StringEquals: { 'ecs:CreateAction': 'RunTask' } });
    expect(JSON.stringify(tag.Resource)).toMatch(/:task\/.*\/\*/);
  });

  test("DescribeExecution and StopExecution: only executions of this batch's own state machine", () => {
    const [st] = granting(statementsOf(batch), 'states:DescribeExecution');
    expect([...asArray(st.Action)].sort()).toEqual(['states:DescribeExecution', 'states:StopExecution']);
    expect(st.Resource['Fn::Join'][1].at(-1)).toBe(`:execution:batch-runner-${batch}:*`);
  });

  test('SNS: only the alert topic; Lambda: only the validator, the watcher and the reconciler', () => {
    const statements = statementsOf(batch);
    expect(granting(statements, 'sns:Publish')[0].Resource).toEqual({
      'Fn::ImportValue': expect.stringMatching(/AlertTopic/),
    });
    expect(granting(statements, 'lambda:InvokeFunction')[0].Resource).toEqual([
      { 'Fn::ImportValue': expect.stringMatching(/ValidateManualInput/) },
      { 'Fn::ImportValue': expect.stringMatching(/TaskWatcher/) },
      { 'Fn::ImportValue': expect.stringMatching(/Cleanup/) },
    ]);
  });

  test("alert records: put and update only under keys of this batch's own executions", () => {
    const [st] = granting(statementsOf(batch), 'dynamodb:UpdateItem');
    expect(st.Sid).toBe('AlertItems');
    expect([...asArray(st.Action)].sort()).toEqual(['dynamodb:PutItem', 'dynamodb:UpdateItem']);
    const keys = JSON.stringify(st.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys']);
    expect(keys).toContain(`alert#arn:`);
    expect(keys).toContain(`:execution:batch-runner-${batch}:*`);
  });
});

describe('the lifecycle events bus', () => {
  test('default: each state machine may put events on the default bus of its own stack`s account and region only', () => {
    const statements = asArray(
      Object.values<any>(s.json[s.batchStacks[0].stackName].Resources).find(
        (r) => r.Type === 'AWS::IAM::Role' && r.Properties.Policies?.[0]?.PolicyName === 'StateMachine',
      ).Properties.Policies[0].PolicyDocument.Statement,
    );
    const put = statements.filter((x: any) => asArray(x.Action).includes('events:PutEvents'));
    expect(put).toHaveLength(1);
    expect(put[0].Resource).toEqual({
      'Fn::Sub': 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default',
    });
    const sm = Object.values<any>(s.json[s.batchStacks[0].stackName].Resources).find(
      (r) => r.Type === 'AWS::StepFunctions::StateMachine',
    );
    expect(sm.Properties.DefinitionSubstitutions.EventBus).toBe('default');
  });

  test('a bus the platform names (eventBusArn): the definition and the policy name that bus', () => {
    const bus = 'arn:aws:events:ap-northeast-1:123456789012:event-bus/platform-events';
    const app = synthApp(BATCHES.slice(0, 1), { eventBusArn: bus });
    const template = app.json[app.batchStacks[0].stackName];
    const sm = Object.values<any>(template.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine');
    expect(sm.Properties.DefinitionSubstitutions.EventBus).toBe(bus);
    const role = Object.values<any>(template.Resources).find(
      (r) => r.Type === 'AWS::IAM::Role' && r.Properties.Policies?.[0]?.PolicyName === 'StateMachine',
    );
    const put = asArray(role.Properties.Policies[0].PolicyDocument.Statement).filter((x: any) =>
      asArray(x.Action).includes('events:PutEvents'),
    );
    expect(put.map((x: any) => x.Resource)).toEqual([bus]);
  });

  test('an eventBusArn that is not an event bus ARN is refused with the fix', () => {
    expect(() => synthApp(BATCHES.slice(0, 1), { eventBusArn: 'platform-events' })).toThrow(
      /eventBusArn = "platform-events" is not an event bus ARN: give arn:aws:events:<region>:<account>:event-bus\/<name>/,
    );
  });
});
