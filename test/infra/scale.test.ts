import { CFN_LIMITS, measureInfra, syntheticBatches } from '../../bench/infra-bench';
import { MAX_BATCHES_PER_STACK } from '../../infra/batch-runner-app';

describe('scale: 200 batches', () => {
  test("synthesize into stacks that each stay within CloudFormation's limits", () => {
    const row = measureInfra(syntheticBatches(200), {}, { bundle: false });
    expect(row.stacks).toBe(1 + Math.ceil(200 / 15));
    expect(row.maxResourcesPerStack).toBeLessThan(CFN_LIMITS.resourcesPerStack);
    expect(row.maxOutputsPerStack).toBeLessThan(CFN_LIMITS.outputsPerStack);
    expect(row.maxTemplateBytes).toBeLessThan(CFN_LIMITS.templateBytes);
    // Shared resources do not grow with the number of batches.
    expect(row.sharedResources).toBe(measureInfra(syntheticBatches(1), {}, { bundle: false }).sharedResources);
    expect(row.resourcesPerBatch).toBeLessThan(20);
  });

  test(`the largest allowed stack (${MAX_BATCHES_PER_STACK} batches) still fits in a 1 MB template`, () => {
    const row = measureInfra(
      syntheticBatches(MAX_BATCHES_PER_STACK),
      { batchesPerStack: MAX_BATCHES_PER_STACK },
      { bundle: false },
    );
    expect(row.stacks).toBe(2);
    expect(row.maxTemplateBytes).toBeLessThan(CFN_LIMITS.templateBytes);
  });
});
