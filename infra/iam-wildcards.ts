import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';

/** A wildcard the runner's IAM needs, recognised by pattern, and why it cannot be narrower. */
export interface JustifiedWildcard {
  /** Matched against the cdk-nag finding, e.g. `Resource::arn:<AWS::Partition>:ecs:...:task/<cluster>/*`. */
  readonly finding: RegExp;
  /** Why the wildcard cannot be narrower (the cdk-nag acknowledgement's reason). */
  readonly reason: string;
}

/** A CloudFormation value flattened the way cdk-nag names findings (Ref -> `<Id>`, GetAtt -> `<Id.Attr>`). */
export function flattenReference(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/}/g, '>');
  const v = value as Record<string, any>;
  if (v['Fn::Join']) return (v['Fn::Join'][1] as unknown[]).map(flattenReference).join(v['Fn::Join'][0]);
  if (v['Fn::Sub']) return flattenReference(v['Fn::Sub']);
  if (v['Fn::GetAtt']) return `<${flattenReference(v['Fn::GetAtt'][0])}.${flattenReference(v['Fn::GetAtt'][1])}>`;
  if (v['Fn::ImportValue']) return flattenReference(v['Fn::ImportValue']);
  if (v.Ref) return `<${flattenReference(v.Ref)}>`;
  return JSON.stringify(value);
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The wildcard findings (cdk-nag AwsSolutions-IAM5 format) of a resolved policy document. */
export function wildcardFindings(document: { Statement?: Array<Record<string, any>> }): string[] {
  const found = new Set<string>();
  for (const s of document.Statement ?? []) {
    if (s.Effect !== 'Allow') continue;
    for (const action of asArray<string>(s.Action)) if (action.includes('*')) found.add(`Action::${action}`);
    for (const resource of asArray<unknown>(s.Resource).map(flattenReference))
      if (resource.includes('*')) found.add(`Resource::${resource}`);
  }
  return [...found];
}

/**
 * Acknowledges, with its reason, every wildcard of a role's inline policies that matches one of the
 * justified patterns; any other wildcard stays a cdk-nag finding and fails the synth. Runs at
 * validation time, after cross-stack references are resolved, so the finding text is the one cdk-nag
 * sees (an import of another stack's export reads differently from a local Ref).
 */
export function acknowledgeJustifiedWildcards(role: iam.Role, justified: readonly JustifiedWildcard[]): void {
  role.node.addValidation({
    validate: () => {
      const cfn = role.node.defaultChild as iam.CfnRole;
      const stack = Stack.of(role);
      const policies = (stack.resolve(cfn.policies) ?? []) as Array<{ policyDocument: unknown }>;
      for (const policy of policies) {
        const document = stack.resolve(stack.resolve(policy).policyDocument);
        for (const finding of wildcardFindings(document)) {
          const match = justified.find((j) => j.finding.test(finding));
          if (match) Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason: match.reason });
        }
      }
      return [];
    },
  });
}

/** One ARN field as cdk-nag renders it: a literal, or a flattened reference such as `<AWS::Region>`. */
const F = '(?:<[^>]*>|[^:<>*]+)';

/** A finding on an ARN resource `arn:<partition>:<service>:<region>:<account>:<rest>`; `rest` is a regex source. */
export function arnFinding(service: string, rest: string): RegExp {
  return new RegExp(`^Resource::arn:${F}:${service}:${F}:${F}:${rest}$`);
}

/** A regex source matching `text` literally (its `*` included). */
export const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `arn:<partition>:ecs:<region>:<account>:task/<cluster>/*` in any rendering of the three. */
export const TASKS_OF_A_CLUSTER = arnFinding('ecs', 'task/[^/*]+/\\*');
