import type { BatchConfig } from '../../config/batch-config';
import { BATCHES } from '../../config/batches';
import { resourcesOf, synthApp } from './synth';

/**
 * The app's own cluster and Fargate Spot (config/capacity.ts): RunTask on FARGATE_SPOT fails unless the
 * cluster has that capacity provider, so the app associates the Fargate providers with the cluster it
 * creates, and only when a created batch uses them.
 */
const associations = (batches: readonly BatchConfig[]) => {
  const s = synthApp(batches);
  return Object.values<any>(resourcesOf(s.json[s.shared.stackName], 'AWS::ECS::ClusterCapacityProviderAssociations'));
};

test('a created batch on Fargate Spot: the created cluster has FARGATE and FARGATE_SPOT', () => {
  const onSpot = { ...BATCHES[0], capacity: { spot: { fallbackAfter: 2 } } } as BatchConfig;
  const [association, ...more] = associations([onSpot, ...BATCHES.slice(1)]);
  expect(more).toEqual([]);
  expect(association.Properties.CapacityProviders).toEqual(['FARGATE', 'FARGATE_SPOT']);
  expect(association.Properties.Cluster).toEqual({ Ref: expect.stringMatching(/^Cluster/) });
});

test('without Spot or a strategy the cluster is left as it was (no association resource)', () => {
  expect(associations(BATCHES)).toEqual([]);
});
