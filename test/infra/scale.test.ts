import { CFN_LIMITS, measureAddedBatch, measureInfra, syntheticBatches } from '../../bench/infra-bench';
import { BATCHES } from '../../config/batches';
import { MAX_BATCHES_PER_STACK } from '../../infra/batch-runner-app';
import { renderDefinition, substitutionsFor } from '../../state-machines/definition';

const BINDINGS = {
  region: 'ap-northeast-1',
  lockTableName: 'batch-runner-locks',
  alertTopicArn: 'arn:aws:sns:ap-northeast-1:123456789012:batch-runner-alerts',
  clusterArn: 'arn:aws:ecs:ap-northeast-1:123456789012:cluster/batch-runner',
  taskDefinitionArn: 'arn:aws:ecs:ap-northeast-1:123456789012:task-definition/batch-runner-sitemap-refresh:1',
  taskFamily: 'batch-runner-sitemap-refresh',
  subnetIds: ['subnet-0aaa1111'],
  securityGroupIds: ['sg-0ccc3333'],
  logGroupName: '/batch-runner/tasks/sitemap-refresh',
  logStreamPrefix: 'batch',
  manualInputValidatorFunctionArn:
    'arn:aws:lambda:ap-northeast-1:123456789012:function:batch-runner-validate-manual-input',
  taskWatcherFunctionArn: 'arn:aws:lambda:ap-northeast-1:123456789012:function:batch-runner-task-watcher',
  reconcilerFunctionArn: 'arn:aws:lambda:ap-northeast-1:123456789012:function:batch-runner-cleanup',
};

describe('scale: 200 batches', () => {
  test("synthesize into 1 + 200 / 40 stacks that each stay within CloudFormation's limits", () => {
    const row = measureInfra(syntheticBatches(200), {}, { bundle: false });
    expect(MAX_BATCHES_PER_STACK).toBeGreaterThanOrEqual(40);
    expect(row.stacks).toBe(1 + Math.ceil(200 / MAX_BATCHES_PER_STACK));
    expect(row.maxResourcesPerStack).toBeLessThan(CFN_LIMITS.resourcesPerStack * 0.9);
    expect(row.maxOutputsPerStack).toBeLessThan(CFN_LIMITS.outputsPerStack);
    expect(row.maxTemplateBytes).toBeLessThan(CFN_LIMITS.templateBytes * 0.9);
    // Shared resources do not grow with the number of batches.
    expect(row.sharedResources).toBe(measureInfra(syntheticBatches(1), {}, { bundle: false }).sharedResources);
  });

  test('one more batch costs at most 10 resources with an imported task definition, and no copy of the definition', () => {
    const imported = measureAddedBatch('imported');
    const created = measureAddedBatch('created');
    expect(imported.resources).toBeLessThanOrEqual(10);
    expect(imported.resources).toBe(7); // state machine + role, schedule + role, three alarms
    expect(created.resources).toBe(imported.resources + 4); // task definition, task and execution roles, log group
    // The ASL alone is ~32 KB even without whitespace; a batch that embedded it would cost more.
    const compactAsl = JSON.stringify(JSON.parse(renderDefinition(substitutionsFor(BATCHES[0], BINDINGS)))).length;
    expect(compactAsl).toBeGreaterThan(25_000);
    expect(imported.bytes).toBeLessThan(compactAsl * 0.6);
    expect(created.bytes).toBeLessThan(compactAsl * 0.6);
  });
});
