/**
 * Resolves the intrinsic functions of synthesized CloudFormation templates to the concrete values a
 * deployment in one account and region would have, so that policies can be simulated with real ARNs.
 *
 * Physical names follow CloudFormation's documented Ref/GetAtt return values per resource type (the
 * "Return values" section of each resource's page in the CloudFormation user guide). Resources
 * without an explicit name get `<LogicalId>` as their generated name: what matters to IAM is that
 * each resource has one stable, distinct ARN. Anything the resolver does not know throws, so a new
 * intrinsic or type cannot be skipped silently.
 */
export const ACCOUNT = '123456789012';
export const REGION = 'ap-northeast-1';

type Json = any;
type Templates = Record<string, Json>;

function physicalName(type: string, id: string, p: Json): string {
  const named: Record<string, string> = {
    'AWS::DynamoDB::Table': 'TableName',
    'AWS::SNS::Topic': 'TopicName',
    'AWS::StepFunctions::StateMachine': 'StateMachineName',
    'AWS::Lambda::Function': 'FunctionName',
    'AWS::ECS::Cluster': 'ClusterName',
    'AWS::IAM::Role': 'RoleName',
    'AWS::Logs::LogGroup': 'LogGroupName',
    'AWS::SQS::Queue': 'QueueName',
    'AWS::Scheduler::ScheduleGroup': 'Name',
    'AWS::Scheduler::Schedule': 'Name',
    'AWS::ECS::TaskDefinition': 'Family',
  };
  const prop = named[type];
  return (prop && typeof p?.[prop] === 'string' ? p[prop] : undefined) ?? id;
}

export class TemplateResolver {
  private readonly exports = new Map<string, { stack: string; value: Json }>();

  constructor(private readonly templates: Templates) {
    for (const [stack, t] of Object.entries(templates))
      for (const o of Object.values<Json>(t.Outputs ?? {}))
        if (o.Export?.Name) this.exports.set(o.Export.Name, { stack, value: o.Value });
  }

  /** The template's resource, or throws. */
  resource(stack: string, id: string): Json {
    const r = this.templates[stack]?.Resources?.[id];
    if (!r) throw new Error(`no resource ${id} in stack ${stack}`);
    return r;
  }

  ref(stack: string, id: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Region': REGION,
      'AWS::AccountId': ACCOUNT,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': stack,
    };
    if (pseudo[id]) return pseudo[id];
    const param = this.templates[stack]?.Parameters?.[id];
    if (param) return String(param.Default ?? id);
    const r = this.resource(stack, id);
    const p = this.resolve(stack, r.Properties ?? {});
    const name = physicalName(r.Type, id, p);
    switch (r.Type) {
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${REGION}:${ACCOUNT}:${name}`;
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name}`;
      case 'AWS::ECS::TaskDefinition':
        return `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${name}:1`;
      case 'AWS::SQS::Queue':
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;
      case 'AWS::EC2::Subnet':
        return `subnet-${id.toLowerCase()}`;
      case 'AWS::EC2::VPC':
        return `vpc-${id.toLowerCase()}`;
      case 'AWS::KMS::Key':
        return `${id.toLowerCase()}-0000-4000-8000-000000000000`;
      default:
        return name;
    }
  }

  getAtt(stack: string, id: string, attribute: string): string {
    const r = this.resource(stack, id);
    const name = this.ref(stack, id);
    const arns: Record<string, () => string> = {
      'AWS::DynamoDB::Table': () => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`,
      'AWS::Lambda::Function': () => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
      'AWS::ECS::Cluster': () => `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${name}`,
      // A role's path is part of its ARN (`role/<path>/<name>`).
      'AWS::IAM::Role': () => `arn:aws:iam::${ACCOUNT}:role${r.Properties?.Path ?? '/'}${name}`,
      'AWS::Logs::LogGroup': () => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}:*`,
      'AWS::SQS::Queue': () => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name.split('/').pop()}`,
      'AWS::KMS::Key': () => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${name}`,
      'AWS::Scheduler::ScheduleGroup': () => `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule-group/${name}`,
      'AWS::SNS::Topic': () => name,
      'AWS::StepFunctions::StateMachine': () => name,
    };
    if (attribute === 'Arn' && arns[r.Type]) return arns[r.Type]();
    if (attribute === 'TopicArn' && r.Type === 'AWS::SNS::Topic') return name;
    if (attribute === 'GroupId' && r.Type === 'AWS::EC2::SecurityGroup') return `sg-${id.toLowerCase()}`;
    if (attribute === 'QueueName' && r.Type === 'AWS::SQS::Queue') return name.split('/').pop() as string;
    throw new Error(`GetAtt ${id}.${attribute} (${r.Type}) is not known to the resolver`);
  }

  /** Resolves every intrinsic in `value` (deeply). */
  resolve(stack: string, value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolve(stack, v));
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
      const [fn] = keys;
      const arg = value[fn];
      switch (fn) {
        case 'Ref':
          return this.ref(stack, arg);
        case 'Fn::GetAtt': {
          const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split('.');
          return this.getAtt(stack, id, attribute);
        }
        case 'Fn::Join': {
          const [sep, parts] = arg;
          return (this.resolve(stack, parts) as Json[]).join(sep);
        }
        case 'Fn::Select': {
          const [index, list] = arg;
          return (this.resolve(stack, list) as Json[])[Number(this.resolve(stack, index))];
        }
        case 'Fn::Split': {
          const [sep, s] = arg;
          return String(this.resolve(stack, s)).split(sep);
        }
        case 'Fn::GetAZs':
          return [`${REGION}a`, `${REGION}c`, `${REGION}d`];
        case 'Fn::ImportValue': {
          const name = this.resolve(stack, arg);
          const e = this.exports.get(name);
          if (!e) throw new Error(`no export ${name}`);
          return this.resolve(e.stack, e.value);
        }
        case 'Fn::Sub': {
          const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
          const rv = this.resolve(stack, vars);
          return String(text).replace(/\$\{([^}]+)\}/g, (_, name: string) => {
            if (rv[name] !== undefined) return String(rv[name]);
            if (name.includes('.')) {
              const [id, attribute] = name.split('.');
              return this.getAtt(stack, id, attribute);
            }
            return this.ref(stack, name);
          });
        }
        default:
          throw new Error(`${fn} is not known to the resolver`);
      }
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(stack, v)]));
  }
}
