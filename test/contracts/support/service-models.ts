/**
 * AWS's own service models, offline: the API models shipped in the npm `aws-sdk` (v2) package
 * (`apis/<service>-<version>.min.json`: operations, members, required members, types) and the
 * modeled exceptions and enums of the v3 clients. Nothing here is written by hand but the map from
 * the ASL's service names to the model files.
 */
import * as dynamodb from '@aws-sdk/client-dynamodb';
import * as ecs from '@aws-sdk/client-ecs';
import * as eventbridge from '@aws-sdk/client-eventbridge';
import * as sfn from '@aws-sdk/client-sfn';
import * as sns from '@aws-sdk/client-sns';

const MODEL_FILES: Record<string, string> = {
  ecs: 'ecs-2014-11-13',
  sfn: 'states-2016-11-23',
  dynamodb: 'dynamodb-2012-08-10',
  sns: 'sns-2010-03-31',
  lambda: 'lambda-2015-03-31',
  events: 'eventbridge-2015-10-07',
  scheduler: 'scheduler-2021-06-30',
};

export interface Shape {
  readonly type?: string;
  readonly members?: Record<string, Shape & { shape?: string }>;
  readonly required?: string[];
  readonly member?: Shape & { shape?: string };
  readonly value?: Shape & { shape?: string };
  readonly shape?: string;
}

export class ServiceModel {
  private readonly model: any;
  constructor(readonly service: string) {
    const file = MODEL_FILES[service];
    if (!file) throw new Error(`no model file for service ${service}`);
    this.model = require(`aws-sdk/apis/${file}.min.json`);
  }

  operation(action: string): { input: Shape; output: Shape } {
    const name = action[0].toUpperCase() + action.slice(1);
    const op = this.model.operations[name];
    if (!op) throw new Error(`${this.service} has no operation ${name}`);
    return {
      input: this.resolve(op.input ?? { type: 'structure', members: {} }),
      output: this.resolve(op.output ?? { type: 'structure', members: {} }),
    };
  }

  /** Follows `shape` references; a shape without a type is a string in the min.json format. */
  resolve(s: Shape & { shape?: string }): Shape {
    const target = s.shape ? { ...this.model.shapes[s.shape], ...s, shape: undefined } : s;
    if (target.shape) return this.resolve(target);
    return { ...target, type: target.type ?? 'string' };
  }
}

/**
 * Step Functions passes SDK parameters and results in PascalCase even where the API is camelCase
 * (developer guide, "AWS SDK service integrations": API naming conventions).
 */
export const pascal = (member: string) => member[0].toUpperCase() + member.slice(1);

/** Members of a structure by their PascalCase name, with whether the model requires them. */
export function membersOf(model: ServiceModel, shape: Shape): Map<string, { shape: Shape; required: boolean }> {
  const out = new Map<string, { shape: Shape; required: boolean }>();
  for (const [name, m] of Object.entries(shape.members ?? {}))
    out.set(pascal(name), { shape: model.resolve(m), required: (shape.required ?? []).includes(name) });
  return out;
}

const CLIENTS: Record<string, { module: Record<string, any>; base: string }> = {
  DynamoDB: { module: dynamodb, base: 'DynamoDBServiceException' },
  Ecs: { module: ecs, base: 'ECSServiceException' },
  Sfn: { module: sfn, base: 'SFNServiceException' },
  SNS: { module: sns, base: 'SNSServiceException' },
  EventBridge: { module: eventbridge, base: 'EventBridgeServiceException' },
};

/**
 * Error names Step Functions can report for a service, by its rule: "ServiceName.ErrorName", always
 * with the `Exception` suffix even where the API reference omits it (developer guide, "AWS SDK service
 * integrations"; optimized integrations use the same Java class names), plus the generic name of
 * unmodeled errors.
 */
export function modeledErrorNames(prefix: string): Set<string> {
  const client = CLIENTS[prefix];
  if (!client) throw new Error(`no client for error prefix ${prefix}`);
  const base = client.module[client.base];
  const names = Object.entries(client.module)
    .filter(([, v]) => typeof v === 'function' && v.prototype instanceof base)
    .map(([name]) => `${prefix}.${name.endsWith('Exception') ? name : `${name}Exception`}`);
  return new Set(names);
}

/** Values of a v3 client enum named like the member (e.g. `LaunchType`), if the client has one. */
export function enumValues(service: string, member: string): string[] | undefined {
  const module = { ecs, sfn, dynamodb, sns }[service as 'ecs'] as Record<string, any> | undefined;
  const e = module?.[member];
  if (!e || typeof e !== 'object' || Array.isArray(e)) return undefined;
  const values = Object.values(e);
  return values.length > 0 && values.every((v) => typeof v === 'string') ? (values as string[]) : undefined;
}
