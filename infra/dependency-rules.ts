import { Fn, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { BatchRunner } from './batch-runner';

/**
 * ARN pattern of the deployment's dependency rules (every rule is named `<prefix>-<batch>`), as
 * EventBridge presents it in `aws:SourceArn`: `rule/<name>` on the default bus, `rule/<bus>/<name>` on
 * another. A pattern rather than the list of rule ARNs: a trust policy holds at most 2,048 characters
 * (a stack of 40 dependent batches would need ~4,400), and the rules name the role, so the role cannot
 * name the rules' ARN attributes without a circular dependency.
 */
export function dependencyRuleArnPattern(runner: BatchRunner): string {
  const bus = runner.eventBus ? '*/' : '';
  return Fn.sub(`arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/${bus}${runner.namePrefix}-*`);
}

/**
 * The one role of a stack's dependency rules (batches with `after`): EventBridge assumes it, only
 * for the deployment's rules of this account, to start the dependent state machines of this stack
 * and nothing else. One role per stack rather than per batch: a stack's template budget is spent.
 */
export class DependencyRole extends Construct {
  /** The role EventBridge assumes. */
  public readonly role: iam.Role;
  private readonly start: iam.PolicyStatement;

  /** The stack's one dependency role, created with the stack's first dependent batch. */
  static of(stack: Stack, runner: BatchRunner): DependencyRole {
    const id = `DependencyRole-${runner.namePrefix}`;
    return (stack.node.tryFindChild(id) as DependencyRole | undefined) ?? new DependencyRole(stack, id, runner);
  }

  private constructor(scope: Construct, id: string, runner: BatchRunner) {
    super(scope, id);
    const stack = Stack.of(this);
    this.start = new iam.PolicyStatement({ sid: 'StartDependents', actions: ['states:StartExecution'] });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': dependencyRuleArnPattern(runner) },
        },
      }),
      description: `Dependency rules of ${runner.namePrefix} in this stack: start the dependent state machines.`,
      inlinePolicies: { Start: new iam.PolicyDocument({ statements: [this.start] }) },
    });
    runner.scheduleDeadLetters.allowDependencyRules(dependencyRuleArnPattern(runner));
  }

  /** Lets the role start one more dependent state machine. */
  public allowStart(stateMachineArn: string): void {
    this.start.addResources(stateMachineArn);
  }
}
