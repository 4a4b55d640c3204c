import type { BatchConfig } from '../../config/batch-config';
import { BATCHES } from '../../config/batches';
import { deriveTimings } from '../../config/timings';
import {
  consoleFragmentEncode,
  type DeploymentBindings,
  placeholdersIn,
  readDefinitionTemplate,
  renderDefinition,
  substitutionsFor,
} from '../../state-machines/definition';

/**
 * The one substitution map per batch (state-machines/definition.ts) that CDK hands CloudFormation as
 * DefinitionSubstitutions, the ASL tests render, and the local mode runs: each placeholder's value, and
 * rendering as CloudFormation substitutes (plain text, so a value is escaped for the JSON string it sits in).
 */

const REGION = 'ap-northeast-1';
const ACCOUNT = '123456789012';
const bindings: DeploymentBindings = {
  region: REGION,
  lockTableName: 'batch-runner-locks',
  alertTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:batch-runner-alerts`,
  clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/batch-runner`,
  taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/sitemap-refresh:7`,
  taskFamily: 'sitemap-refresh',
  subnetIds: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'],
  securityGroupIds: ['sg-0123456789abcdef0'],
  logGroupName: '/batch-runner/tasks/sitemap-refresh',
  logStreamPrefix: 'batch',
  manualInputValidatorFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:batch-runner-validate`,
  taskWatcherFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:batch-runner-watcher`,
  reconcilerFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:batch-runner-reconciler`,
};
const batch: BatchConfig = BATCHES[0];

describe('the substitutions of one batch', () => {
  test('every placeholder of the template has its value, and no value is left over', () => {
    expect(Object.keys(substitutionsFor(batch, bindings)).sort()).toEqual(placeholdersIn(readDefinitionTemplate()));
  });

  test('the deployment`s resources, the batch`s settings and its timings, each where the template expects it', () => {
    const t = deriveTimings(batch);
    expect(substitutionsFor(batch, bindings)).toMatchObject({
      BatchName: 'sitemap-refresh',
      Region: REGION,
      LockTableName: 'batch-runner-locks',
      AlertTopicArn: bindings.alertTopicArn,
      EventBus: 'default',
      ClusterArn: bindings.clusterArn,
      TaskDefinitionArn: bindings.taskDefinitionArn,
      TaskFamily: 'sitemap-refresh',
      ContainerName: 'app',
      SubnetIdsJson: '["subnet-0a1b2c3d","subnet-4e5f6a7b"]',
      SecurityGroupIdsJson: '["sg-0123456789abcdef0"]',
      AssignPublicIp: 'DISABLED',
      LogGroupName: '/batch-runner/tasks/sitemap-refresh',
      LogStreamPrefix: 'batch',
      LogGroupUrlPath: '$252Fbatch-runner$252Ftasks$252Fsitemap-refresh',
      LogStreamUrlPrefix: 'batch$252Fapp$252F',
      ManualInputValidatorFunctionArn: bindings.manualInputValidatorFunctionArn,
      TaskWatcherFunctionArn: bindings.taskWatcherFunctionArn,
      ReconcilerFunctionArn: bindings.reconcilerFunctionArn,
      AllowedEnvironmentOverrides: '',
      AllowCommandOverride: 'false',
      OverlapPolicy: 'skip',
      AttemptPolicy: '{"context":true}',
      SkipNotification: 'notice',
      HardTimeoutSeconds: '1800',
      WaitChunkSeconds: String(t.waitChunkSeconds),
      WaitChunkCount: String(t.waitChunkCount),
      StopConfirmIntervalSeconds: String(t.stopConfirmIntervalSeconds),
      StopConfirmAttempts: String(t.stopConfirmAttempts),
      LockWaitIntervalSeconds: String(t.lockWaitIntervalSeconds),
      LockWaitAttempts: String(t.lockWaitAttempts),
      StartAttempts: String(t.startAttempts),
      StartBackoffSeconds: String(t.startBackoffSeconds),
      ExecutionTimeoutSeconds: String(t.executionTimeoutSeconds),
    });
    // A chunked wait covers the hard timeout (config/timings.ts).
    expect(t.waitChunkCount * t.waitChunkSeconds).toBeGreaterThanOrEqual(1800);
  });

  test('what a batch may override, its overlap policy, its skip notices and a deployment`s own bus and public IP', () => {
    const s = substitutionsFor(
      {
        ...batch,
        overrides: { environment: ['ARTICLE_LIMIT', 'DRY_RUN'], command: true },
        overlapPolicy: 'replace',
        skipNotification: 'none',
      } as BatchConfig,
      { ...bindings, eventBus: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/batch-runs`, assignPublicIp: 'ENABLED' },
    );
    expect(s).toMatchObject({
      AllowedEnvironmentOverrides: 'ARTICLE_LIMIT,DRY_RUN',
      AllowCommandOverride: 'true',
      OverlapPolicy: 'replace',
      SkipNotification: 'none',
      EventBus: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/batch-runs`,
      AssignPublicIp: 'ENABLED',
    });
  });
});

describe('rendering as CloudFormation substitutes', () => {
  const template = '{"Comment":"${Name} runs","Subnets":${SubnetIdsJson},"Count":${Count}}';

  test('a quoted placeholder`s value is escaped for its JSON string; the JSON placeholders are inserted as they are', () => {
    const rendered = renderDefinition({ Name: 'say "hi"\\', SubnetIdsJson: '["subnet-1"]', Count: '3' }, template);
    expect(JSON.parse(rendered)).toEqual({ Comment: 'say "hi"\\ runs', Subnets: ['subnet-1'], Count: 3 });
  });

  test('a placeholder without a value, or a value without a placeholder, is refused naming both lists', () => {
    expect(() => renderDefinition({ Name: 'x', SubnetIdsJson: '[]' }, template)).toThrow(
      'state machine template and substitutions disagree: missing ["Count"], unused [].',
    );
    expect(() => renderDefinition({ Name: 'x', SubnetIdsJson: '[]', Count: '1', Extra: 'y' }, template)).toThrow(
      'state machine template and substitutions disagree: missing [], unused ["Extra"].',
    );
  });

  test('a rendering that is not JSON is refused', () => {
    expect(() => renderDefinition({ Name: 'x', SubnetIdsJson: '[', Count: '1' }, template)).toThrow(SyntaxError);
  });

  test('placeholders are listed once each, sorted; the console fragment encodes "/" as CloudWatch`s $252F', () => {
    expect(placeholdersIn('${B}${A}${B} $notOne ${with-dash}')).toEqual(['A', 'B']);
    expect(consoleFragmentEncode('/ecs/nightly job')).toBe('$252Fecs$252Fnightly$2520job');
  });
});
