import type { BatchConfig } from '../../../config/batch-config';
import { cloudFormationDefinition, resourcesOf, synthApp, uploadedDefinition } from '../../infra/synth';
import { ACCOUNT, TemplateResolver } from './cloudformation';

/** One batch of the synthesized app with every value CloudFormation would resolve, resolved. */
export interface DeployedBatch {
  readonly name: string;
  readonly stateMachineArn: string;
  readonly stateMachineName: string;
  /** The definition as Step Functions would run it: the uploaded S3 object with CloudFormation's substitutions applied. */
  readonly definition: any;
  readonly roleArn: string;
  readonly rolePolicies: any[];
  readonly trustPolicy: any;
  /** Roles of the task definition (what RunTask passes). */
  readonly passedRoleArns: string[];
  /**
   * The role of the batch's schedule (what UpdateSchedule passes back when the reconciler pauses it);
   * undefined for a batch with `after`, which an EventBridge rule starts instead of a schedule.
   */
  readonly schedulerRoleArn: string | undefined;
  /** Whether the batch sets pauseAfterConsecutiveFailures (its schedule's input carries `pauseAfter`). */
  readonly pausable: boolean;
}

export interface DeployedRole {
  readonly stack: string;
  readonly logicalId: string;
  readonly arn: string;
  readonly trustPolicy: any;
  /** Inline policies and attached AWS::IAM::Policy documents. */
  readonly policies: any[];
}

export interface DeployedApp {
  readonly batches: DeployedBatch[];
  readonly roles: DeployedRole[];
  readonly scheduleGroupArn: string;
  readonly clusterArn: string;
  /** Function ARNs, roles and resolved environment variables by FunctionName. */
  readonly functions: Record<string, { arn: string; roleArn: string; environment: Record<string, string> }>;
  /** The alert topic's customer managed key (publishers need it). */
  readonly alertTopicKeyArn: string;
  /** Its key policy (KMS authorizes a key only if its key policy allows, or delegates to IAM). */
  readonly alertTopicKeyPolicy: any;
}

/** Synthesizes the app as `cdk synth` would and resolves it to the values of one account and region. */
export function deployApp(batches: readonly BatchConfig[]): DeployedApp {
  const s = synthApp(batches);
  const resolver = new TemplateResolver(s.json);
  const roles: DeployedRole[] = [];
  const attached = new Map<string, any[]>();
  for (const [stack, t] of Object.entries<any>(s.json))
    for (const p of Object.values<any>(resourcesOf(t, 'AWS::IAM::Policy'))) {
      const doc = resolver.resolve(stack, p.Properties.PolicyDocument);
      for (const role of p.Properties.Roles ?? []) {
        const arn = `arn:aws:iam::${ACCOUNT}:role/${resolver.resolve(stack, role)}`;
        attached.set(arn, [...(attached.get(arn) ?? []), doc]);
      }
    }
  for (const [stack, t] of Object.entries<any>(s.json))
    for (const [logicalId, r] of Object.entries<any>(resourcesOf(t, 'AWS::IAM::Role'))) {
      const arn = resolver.getAtt(stack, logicalId, 'Arn');
      roles.push({
        stack,
        logicalId,
        arn,
        trustPolicy: resolver.resolve(stack, r.Properties.AssumeRolePolicyDocument),
        policies: [
          ...(r.Properties.Policies ?? []).map((p: any) => resolver.resolve(stack, p.PolicyDocument)),
          ...(attached.get(arn) ?? []),
        ],
      });
    }
  const roleByArn = new Map(roles.map((r) => [r.arn, r]));
  const deployed: DeployedBatch[] = [];
  for (const [stack, t] of Object.entries<any>(s.json))
    for (const [logicalId, r] of Object.entries<any>(resourcesOf(t, 'AWS::StepFunctions::StateMachine'))) {
      const p = r.Properties;
      const substitutions = resolver.resolve(stack, p.DefinitionSubstitutions);
      const definition = cloudFormationDefinition(uploadedDefinition(s.assembly, stack, r), substitutions);
      const roleArn = resolver.resolve(stack, p.RoleArn);
      const role = roleByArn.get(roleArn);
      if (!role) throw new Error(`role ${roleArn} of ${logicalId} not found`);
      const taskDefinitions = Object.values<any>(resourcesOf(t, 'AWS::ECS::TaskDefinition')).filter(
        (td) => td.Properties.Family === substitutions.TaskFamily,
      );
      const passedRoleArns = taskDefinitions.flatMap((td) =>
        [td.Properties.TaskRoleArn, td.Properties.ExecutionRoleArn]
          .filter((x) => x !== undefined)
          .map((x) => resolver.resolve(stack, x)),
      );
      const schedule = Object.values<any>(resourcesOf(t, 'AWS::Scheduler::Schedule')).find(
        (sc) => resolver.resolve(stack, sc.Properties.Target.Arn) === resolver.ref(stack, logicalId),
      );
      const dependencyRule = Object.values<any>(resourcesOf(t, 'AWS::Events::Rule')).some((rule) =>
        (rule.Properties.Targets ?? []).some(
          (target: any) => resolver.resolve(stack, target.Arn) === resolver.ref(stack, logicalId),
        ),
      );
      if (!schedule && !dependencyRule) throw new Error(`neither a schedule nor a dependency rule starts ${logicalId}`);
      deployed.push({
        name: substitutions.BatchName,
        schedulerRoleArn: schedule && resolver.resolve(stack, schedule.Properties.Target.RoleArn),
        pausable:
          schedule !== undefined &&
          'pauseAfter' in JSON.parse(resolver.resolve(stack, schedule.Properties.Target.Input)),
        stateMachineName: p.StateMachineName,
        stateMachineArn: resolver.ref(stack, logicalId),
        definition,
        roleArn,
        rolePolicies: role.policies,
        trustPolicy: role.trustPolicy,
        passedRoleArns,
      });
    }
  const shared = s.shared.stackName;
  const sharedTemplate = s.json[shared];
  const only = (type: string) => {
    const ids = Object.keys(resourcesOf(sharedTemplate, type));
    if (ids.length !== 1) throw new Error(`expected one ${type} in ${shared}, found ${ids.length}`);
    return ids[0];
  };
  const functions: DeployedApp['functions'] = {};
  for (const [id, f] of Object.entries<any>(resourcesOf(sharedTemplate, 'AWS::Lambda::Function')))
    functions[f.Properties.FunctionName] = {
      arn: resolver.getAtt(shared, id, 'Arn'),
      roleArn: resolver.resolve(shared, f.Properties.Role),
      environment: resolver.resolve(shared, f.Properties.Environment?.Variables ?? {}),
    };
  return {
    batches: deployed,
    roles,
    scheduleGroupArn: resolver.getAtt(shared, only('AWS::Scheduler::ScheduleGroup'), 'Arn'),
    clusterArn: resolver.getAtt(shared, only('AWS::ECS::Cluster'), 'Arn'),
    functions,
    alertTopicKeyArn: resolver.getAtt(shared, only('AWS::KMS::Key'), 'Arn'),
    alertTopicKeyPolicy: resolver.resolve(
      shared,
      resourcesOf(sharedTemplate, 'AWS::KMS::Key')[only('AWS::KMS::Key')].Properties.KeyPolicy,
    ),
  };
}
