import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { BATCHES } from '../../config/batches';
import { BatchRunner } from '../../infra/batch-runner';
import { RunnerFunction } from '../../infra/runner-function';
import { ScheduledBatch } from '../../infra/scheduled-batch';
import { newApp, synthApp } from './synth';

/** cdk-nag AwsSolutions over the whole construct tree; acknowledged findings are not violations. */
function nagViolations(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks().validateScope(scope);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
}

/** Every acknowledgement in the tree: rule ID and its written reason. */
function acknowledgements(scope: IConstruct): Array<{ path: string; id: string; reason: string }> {
  return scope.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) =>
          Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id, reason })),
        ),
    );
}

describe('cdk-nag AwsSolutions', () => {
  test('the app of MISSION.md has zero unacknowledged findings (one batch pausing after repeated failures)', () => {
    const batches = BATCHES.map((b, i) => (i === 0 ? { ...b, pauseAfterConsecutiveFailures: 3 } : b));
    const s = synthApp(batches, { alertEmails: ['oncall@example.com'] });
    expect(nagViolations(s.app)).toEqual([]);
    // (CDK itself acknowledges a cfn-lint rule on stacks that read their AZs; only ours are checked.)
    const acks = acknowledgements(s.app).filter((a) => a.id.includes('AwsSolutions'));
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) {
      expect(a.id).toMatch(/^Annotation::AwsSolutions-(IAM5\[.+\]|SQS3)$/);
      // A reason a reviewer can check: says what and why, not just "needed".
      expect(a.reason.length).toBeGreaterThan(60);
    }
    // The acknowledged wildcards are exactly the justified kinds.
    const wildcards = [...new Set(acks.map((a) => a.id.replace(/^Annotation::AwsSolutions-IAM5\[|\]$/g, '')))].filter(
      (id) => id.startsWith('Resource::'),
    );
    for (const w of wildcards)
      expect(w).toMatch(
        /^Resource::(\*|arn:.*:(task\/[^/*]+\/\*|execution:batch-runner-[a-z0-9-]*\*?:\*|stateMachine:batch-runner-\*|schedule\/batch-runner\/batch-runner-\*|role\/batch-runner\/\*))$/,
      );
    // The two wildcards of pauseAfterConsecutiveFailures are among them.
    expect(wildcards.filter((w) => /schedule\/batch-runner\/|role\/batch-runner\//.test(w))).toHaveLength(2);
  });

  test("the constructs in a platform team's own stack, with imported tasks, also have zero findings", () => {
    const app = newApp();
    const stack = new Stack(app, 'Platform', { env: { account: '123456789012', region: 'eu-west-1' } });
    const runner = new BatchRunner(stack, 'Runner', {
      network: { subnetIds: ['subnet-0aaa1111'], securityGroupIds: ['sg-0ccc3333'] },
    });
    new ScheduledBatch(stack, 'Reindex', {
      runner,
      batch: {
        ...BATCHES[0],
        pauseAfterConsecutiveFailures: 2,
        task: {
          kind: 'imported',
          clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/rails',
          taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/rails-sitemap:3',
          family: 'rails-sitemap',
          executionRoleArn: 'arn:aws:iam::123456789012:role/rails-execution',
          logGroupName: '/ecs/rails',
          logStreamPrefix: 'rails',
        },
      },
    });
    app.synth();
    expect(nagViolations(app)).toEqual([]);
  });

  test('an unjustified wildcard is not waved through', () => {
    const app = newApp();
    const stack = new Stack(app, 'Loose');
    new RunnerFunction(stack, 'Fn', {
      functionName: 'loose',
      entry: 'handlers/validate-manual-input.ts',
      description: 'test',
      statements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] })],
    });
    app.synth();
    expect(nagViolations(app)).toEqual(['AwsSolutions-IAM5[Resource::*] at Loose/Fn/Role/Resource']);
  });
});
