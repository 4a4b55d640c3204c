/**
 * AWS contract at the worst case: the largest app validation accepts (longest names and prefixes,
 * largest allow-lists, most clusters, subnets and e-mail addresses, most batches per stack) is
 * synthesized and measured against the limits of CloudFormation, IAM, Step Functions and every API
 * that takes a generated name; one step past each limit validation refuses with a BatchConfigError
 * naming the batch (or setting), the field, the value and the fix.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { worstCaseApp } from '../../bench/worst-case';
import { type BatchConfig, BatchConfigError, CONFIG_LIMITS, validateBatchConfig } from '../../config/batch-config';
import { GENERATED_NAME_LIMITS } from '../../config/naming';
import { addBatchRunnerStacks, APP_LIMITS, MAX_BATCHES_PER_STACK } from '../../infra/batch-runner-app';
import { renderDefinition } from '../../state-machines/definition';
import {
  cloudFormationDefinition,
  newApp,
  resourcesOf,
  type SynthesizedApp,
  synthApp,
  uploadedDefinition,
} from '../infra/synth';
import { TemplateResolver } from './support/cloudformation';

/** CloudFormation quotas (user guide, "CloudFormation quotas"), and the 90 % this app stays under. */
const TEMPLATE_BYTES = 1_000_000;
const RESOURCES = 500;
const OUTPUTS = 200;
const HEADROOM = 0.9;
/** IAM quotas: inline policies of a role together 10,240 characters, a trust policy 2,048 (whitespace not counted). */
const ROLE_POLICY_CHARACTERS = 10_240;
const TRUST_POLICY_CHARACTERS = 2_048;
/** Step Functions: a definition has at most 1 MiB (CreateStateMachine, definition). */
const DEFINITION_BYTES = 1_048_576;

/** Name and text properties with the limit of the API that takes them (each API's reference). */
const PROPERTY_LIMITS: Record<string, Record<string, number>> = {
  'AWS::StepFunctions::StateMachine': { StateMachineName: 80 },
  'AWS::Scheduler::Schedule': { Name: 64, Description: 512, ScheduleExpression: 256, ScheduleExpressionTimezone: 50 },
  'AWS::Scheduler::ScheduleGroup': { Name: 64 },
  'AWS::CloudWatch::Alarm': { AlarmName: 255, AlarmDescription: 1024 },
  'AWS::CloudWatch::Dashboard': { DashboardName: 255 },
  'AWS::Logs::LogGroup': { LogGroupName: 512 },
  'AWS::IAM::Role': { RoleName: 64, Description: 1000 },
  'AWS::ECS::TaskDefinition': { Family: 255 },
  'AWS::ECS::Cluster': { ClusterName: 255 },
  'AWS::Lambda::Function': { FunctionName: 64, Description: 256 },
  'AWS::Events::Rule': { Name: 64, Description: 512 },
  'AWS::DynamoDB::Table': { TableName: 255 },
  'AWS::SNS::Topic': { TopicName: 256, DisplayName: 100 },
  'AWS::KMS::Key': { Description: 8192 },
};

interface Measured {
  readonly app: SynthesizedApp;
  readonly bytes: Record<string, number>;
}

function measure(kind: 'imported' | 'created', dependents = false): Measured {
  // One batch more than a stack takes, so that one stack is full and the next one exists.
  const { batches, props } = worstCaseApp(MAX_BATCHES_PER_STACK + 1, kind, { dependents });
  const app = synthApp(batches, props);
  const bytes: Record<string, number> = {};
  for (const name of Object.keys(app.json)) {
    const artifact = app.assembly.getStackByName(name);
    bytes[name] = readFileSync(join(app.assembly.directory, artifact.templateFile)).length;
  }
  return { app, bytes };
}

describe.each([
  ['imported', ''],
  ['created', ''],
  ['imported', ', every batch but the first after the first (dependency rules)'],
] as const)('the largest app validation accepts, %s task definitions%s', (kind, dependents) => {
  let m: Measured;
  beforeAll(() => {
    m = measure(kind, dependents !== '');
  });

  test(`a full stack holds ${MAX_BATCHES_PER_STACK} batches; every stack is under 90 % of 1,000,000 bytes, 500 resources and 200 outputs`, () => {
    const [first, second] = m.app.batchStacks.map((s) => s.stackName);
    expect(Object.keys(resourcesOf(m.app.json[first], 'AWS::StepFunctions::StateMachine'))).toHaveLength(
      MAX_BATCHES_PER_STACK,
    );
    expect(Object.keys(resourcesOf(m.app.json[second], 'AWS::StepFunctions::StateMachine'))).toHaveLength(1);
    const over: string[] = [];
    for (const [name, template] of Object.entries<any>(m.app.json)) {
      const resources = Object.keys(template.Resources).length;
      const outputs = Object.keys(template.Outputs ?? {}).length;
      if (m.bytes[name] > TEMPLATE_BYTES * HEADROOM) over.push(`${name}: ${m.bytes[name]} bytes`);
      if (resources > RESOURCES * HEADROOM) over.push(`${name}: ${resources} resources`);
      if (outputs > OUTPUTS * HEADROOM) over.push(`${name}: ${outputs} outputs`);
    }
    expect(over).toEqual([]);
    // The budget is spent: the full stack uses most of it (a measurement, not a formality).
    expect(m.bytes[first]).toBeGreaterThan(TEMPLATE_BYTES * HEADROOM * 0.7);
  });

  test('every generated name and text is within the limit of the API that takes it', () => {
    const checked = new Set<string>();
    const over: string[] = [];
    for (const template of Object.values<any>(m.app.json))
      for (const [id, r] of Object.entries<any>(template.Resources)) {
        for (const [property, max] of Object.entries(PROPERTY_LIMITS[r.Type] ?? {})) {
          const value = r.Properties?.[property];
          if (typeof value !== 'string') continue;
          checked.add(`${r.Type}.${property}`);
          if (value.length > max) over.push(`${id}.${property}: ${value.length} > ${max}`);
        }
      }
    for (const [name, template] of Object.entries<any>(m.app.json)) {
      if (name.length > 128) over.push(`stack name ${name}`); // CloudFormation stack names
      for (const o of Object.values<any>(template.Outputs ?? {}))
        if (o.Export?.Name?.length > 255) over.push(`export ${o.Export.Name}`); // export names
    }
    expect(over).toEqual([]);
    // Names made from the batch name that are not resource properties (e.g. the ECS task group).
    const { batches, props } = worstCaseApp(1, kind);
    for (const { make, maxLength } of GENERATED_NAME_LIMITS)
      expect(make(batches[0].name, props.namePrefix as string).length).toBeLessThanOrEqual(maxLength);
    // The names that grow with the configuration were all seen.
    for (const seen of [
      'AWS::StepFunctions::StateMachine.StateMachineName',
      'AWS::Scheduler::Schedule.Name',
      'AWS::CloudWatch::Alarm.AlarmName',
      ...(dependents ? ['AWS::Events::Rule.Name', 'AWS::Events::Rule.Description'] : []),
      'AWS::Logs::LogGroup.LogGroupName',
    ])
      expect(checked).toContain(seen);
  });

  test("every role's policies are within IAM's size limits once CloudFormation resolves them", () => {
    const resolver = new TemplateResolver(m.app.json);
    const size = (doc: unknown) => JSON.stringify(doc).replace(/\s/g, '').length;
    let largest = 0;
    const over: string[] = [];
    for (const [stack, template] of Object.entries<any>(m.app.json)) {
      // Inline policies, and attached AWS::IAM::Policy documents, counted against each role they attach to.
      const perRole = new Map<string, number>();
      for (const [id, role] of Object.entries<any>(resourcesOf(template, 'AWS::IAM::Role'))) {
        const inline = (role.Properties.Policies ?? []).map((p: any) => resolver.resolve(stack, p.PolicyDocument));
        perRole.set(
          id,
          inline.reduce((n: number, d: unknown) => n + size(d), 0),
        );
        const trust = size(resolver.resolve(stack, role.Properties.AssumeRolePolicyDocument));
        if (trust > TRUST_POLICY_CHARACTERS * HEADROOM) over.push(`${id} trust policy: ${trust}`);
      }
      for (const p of Object.values<any>(resourcesOf(template, 'AWS::IAM::Policy')))
        for (const role of p.Properties.Roles ?? [])
          if (role.Ref)
            perRole.set(
              role.Ref,
              (perRole.get(role.Ref) ?? 0) + size(resolver.resolve(stack, p.Properties.PolicyDocument)),
            );
      for (const [id, total] of perRole) {
        largest = Math.max(largest, total);
        if (total > ROLE_POLICY_CHARACTERS * HEADROOM) over.push(`${id} policies: ${total}`);
        if (process.env.SHOW_SIZES) process.stdout.write(`${kind} ${id} ${total}\n`);
      }
    }
    expect(over).toEqual([]);
    // With imported tasks on the most clusters, the handlers' roles (which name every cluster) come
    // close: the cluster limit is what keeps them under.
    if (kind === 'imported') expect(largest).toBeGreaterThan(ROLE_POLICY_CHARACTERS * 0.6);
    else expect(largest).toBeGreaterThan(2_000);
  });

  test('every definition CloudFormation makes from the S3 object parses, fits Step Functions, and needs no escaping', () => {
    const resolver = new TemplateResolver(m.app.json);
    let count = 0;
    for (const stack of m.app.batchStacks.map((s) => s.stackName))
      for (const r of Object.values<any>(resourcesOf(m.app.json[stack], 'AWS::StepFunctions::StateMachine'))) {
        const uploaded = uploadedDefinition(m.app.assembly, stack, r);
        const substitutions = resolver.resolve(stack, r.Properties.DefinitionSubstitutions);
        const definition = cloudFormationDefinition(uploaded, substitutions);
        const text = JSON.stringify(definition);
        expect(Buffer.byteLength(text)).toBeLessThanOrEqual(DEFINITION_BYTES * HEADROOM);
        // CloudFormation replaces text without escaping; the local mode and the ASL tests escape. With
        // no value that needs it (validation refuses quotes, backslashes and control characters where
        // a value lands in a JSON string), both are the same definition.
        expect(definition).toEqual(JSON.parse(renderDefinition(substitutions, uploaded)));
        count++;
      }
    expect(count).toBe(MAX_BATCHES_PER_STACK + 1);
  });
});

describe('one step past each limit, validation refuses with the batch, field, value and fix', () => {
  const [worst] = worstCaseApp(1, 'imported').batches;
  const [created] = worstCaseApp(1, 'created').batches;
  const imported = worst.task as Extract<BatchConfig['task'], { kind: 'imported' }>;
  const createdTask = created.task as Extract<BatchConfig['task'], { kind: 'created' }>;
  const arnHead = imported.clusterArn.slice(0, imported.clusterArn.indexOf(':cluster/'));
  const cases: Array<[string, BatchConfig, RegExp]> = [
    [
      'a cron of more than 250 characters',
      { ...worst, schedule: { ...worst.schedule, cron: `${worst.schedule.cron},2198,2199` } },
      /schedule\.cron = ".*" is invalid: use at most 250 characters/,
    ],
    [
      `${CONFIG_LIMITS.environmentOverrides + 1} environment names`,
      {
        ...worst,
        overrides: { environment: Array.from({ length: CONFIG_LIMITS.environmentOverrides + 1 }, (_, i) => `E${i}`) },
      },
      /overrides\.environment = \[.*\] is invalid: allow at most 20 environment names/,
    ],
    [
      'environment names of more characters than the budget',
      { ...worst, overrides: { environment: [...(worst.overrides?.environment ?? []).slice(1), 'X'.repeat(64)] } },
      /overrides\.environment = \[.*\] is invalid: the allowed names take \d+ characters with their commas, more than 384/,
    ],
    [
      `a cluster name of ${CONFIG_LIMITS.ecsNameLength + 1} characters`,
      {
        ...worst,
        task: { ...imported, clusterArn: `${arnHead}:cluster/${'c'.repeat(CONFIG_LIMITS.ecsNameLength + 1)}` },
      },
      new RegExp(
        `task\\.clusterArn = "arn:.*" is invalid: give the full cluster ARN.*at most ${CONFIG_LIMITS.ecsNameLength} characters`,
      ),
    ],
    [
      `a task definition family of ${CONFIG_LIMITS.ecsNameLength + 1} characters`,
      {
        ...worst,
        task: {
          ...imported,
          taskDefinitionArn: `${arnHead}:task-definition/${'f'.repeat(CONFIG_LIMITS.ecsNameLength + 1)}:1`,
          family: 'f'.repeat(CONFIG_LIMITS.ecsNameLength + 1),
        },
      },
      new RegExp(
        `task\\.taskDefinitionArn = "arn:.*" is invalid: .*families have at most ${CONFIG_LIMITS.ecsNameLength} characters`,
      ),
    ],
    [
      'a role name of 65 characters',
      { ...worst, task: { ...imported, executionRoleArn: `arn:aws:iam::123456789012:role/${'r'.repeat(65)}` } },
      /task\.executionRoleArn = "arn:.*" is invalid: IAM role names have at most 64 characters and paths at most 64; this one has 65 and 1/,
    ],
    [
      'a role path of 65 characters',
      { ...worst, task: { ...imported, taskRoleArn: `arn:aws:iam::123456789012:role/${'p'.repeat(63)}/task` } },
      /task\.taskRoleArn = "arn:.*" is invalid: .*this one has 4 and 65/,
    ],
    [
      'a log group name of 257 characters',
      { ...worst, task: { ...imported, logGroupName: `/${'g'.repeat(256)}` } },
      /task\.logGroupName = "\/g+" is invalid: give the container's CloudWatch Logs log group: 1-256 characters/,
    ],
    [
      'a log stream prefix of 65 characters',
      { ...worst, task: { ...imported, logStreamPrefix: 's'.repeat(65) } },
      /task\.logStreamPrefix = "s+" is invalid: give the awslogs-stream-prefix of the container: 1-64 printable ASCII characters/,
    ],
    [
      'a log stream prefix with a quote (it lands in a JSON string of the definition)',
      { ...worst, task: { ...imported, logStreamPrefix: 'app"' } },
      /task\.logStreamPrefix = "app\\"" is invalid/,
    ],
    [
      'an image of 256 characters',
      { ...created, task: { ...createdTask, image: 'i'.repeat(256) } },
      /task\.image = "i+" is invalid: give the container image.*at most 255/,
    ],
    [
      `${CONFIG_LIMITS.commandArguments + 1} command arguments`,
      {
        ...created,
        task: { ...createdTask, command: Array.from({ length: CONFIG_LIMITS.commandArguments + 1 }, () => 'a') },
      },
      /task\.command = \[.*\] is invalid: use at most 64 arguments and 512 characters in all/,
    ],
    [
      'a command of 513 characters',
      { ...created, task: { ...createdTask, command: ['a'.repeat(513)] } },
      /task\.command = \[.*\] is invalid: use at most 64 arguments and 512 characters in all/,
    ],
  ];

  test.each(cases)('%s', (_, batch, message) => {
    const thrown = (() => {
      try {
        validateBatchConfig(batch);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(BatchConfigError);
    expect((thrown as Error).message).toMatch(new RegExp(`^batch "${batch.name}": `));
    expect((thrown as Error).message).toMatch(message);
  });

  test('the worst case itself is accepted (each case above is one step past it)', () => {
    expect(worst.schedule.cron.length).toBeGreaterThan(CONFIG_LIMITS.cronLength - 5);
    expect(() => validateBatchConfig(worst)).not.toThrow();
    expect(() => validateBatchConfig(created)).not.toThrow();
  });

  const app = worstCaseApp(2, 'imported');
  const appCases: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      `${MAX_BATCHES_PER_STACK + 1} batches per stack`,
      { batchesPerStack: MAX_BATCHES_PER_STACK + 1 },
      /batchesPerStack = 41 is invalid: use a whole number from 1 to 40/,
    ],
    [
      'a stack name prefix of 31 characters',
      { stackNamePrefix: 'S'.repeat(APP_LIMITS.stackNamePrefixLength + 1) },
      /stackNamePrefix = "S+" is invalid: use 1-30 characters/,
    ],
    [
      `${APP_LIMITS.alertEmails + 1} alert e-mail addresses`,
      { alertEmails: Array.from({ length: APP_LIMITS.alertEmails + 1 }, (_, i) => `a${i}@example.com`) },
      /alertEmails = \[.*\] is invalid: give at most 20 addresses/,
    ],
    [
      `${APP_LIMITS.subnets + 4} subnets`,
      {
        network: {
          ...app.props.network,
          subnetIds: Array.from({ length: APP_LIMITS.subnets + 4 }, (_, i) => `subnet-${String(i).padStart(17, '0')}`),
        },
      },
      /network\.subnetIds = \[.*\] is invalid: give 1-16 subnet IDs/,
    ],
    [
      `${APP_LIMITS.securityGroups + 1} security groups`,
      {
        network: {
          ...app.props.network,
          securityGroupIds: Array.from(
            { length: APP_LIMITS.securityGroups + 1 },
            (_, i) => `sg-${String(i).padStart(17, '0')}`,
          ),
        },
      },
      /network\.securityGroupIds = \[.*\] is invalid: give at most 5 security group IDs/,
    ],
  ];

  test.each(appCases)('%s', (_, change, message) => {
    expect(() => addBatchRunnerStacks(newApp(), { batches: app.batches, ...app.props, ...change })).toThrow(message);
  });

  test(`a ${APP_LIMITS.clusters + 1}th cluster is refused, naming the batch that brings it`, () => {
    const { batches, props } = worstCaseApp(APP_LIMITS.clusters + 1, 'imported');
    const distinct = batches.map((b, i) =>
      b.task.kind === 'imported'
        ? {
            ...b,
            task: { ...b.task, clusterArn: b.task.clusterArn.replace(/cluster\/cluster\d+/, `cluster/cluster${i}`) },
          }
        : b,
    );
    const last = distinct.at(-1) as BatchConfig;
    expect(() => addBatchRunnerStacks(newApp(), { batches: distinct, ...props })).toThrow(
      new RegExp(
        `^batch "${last.name}": task\\.clusterArn = ".*" is invalid: the batches use more than 4 ECS clusters.*run the batches on at most 4 clusters`,
      ),
    );
    // And at the limit it is accepted.
    expect(() => addBatchRunnerStacks(newApp(), { batches: distinct.slice(0, -1), ...props })).not.toThrow();
  });
});
