import { App } from 'aws-cdk-lib';
import { CONTEXT_KEYS, contextSettings } from '../../infra/context-settings';

const settings = (context: Record<string, unknown>) => contextSettings(new App({ context }));

describe('app settings from the CDK context (cdk.json or -c key=value)', () => {
  test('nothing set: defaults everywhere, environment-agnostic', () => {
    expect(settings({})).toEqual({});
  });

  test('alert e-mails from a comma-separated string or a JSON array; empty means none', () => {
    expect(settings({ [CONTEXT_KEYS.alertEmails]: 'a@example.com, b@example.com' }).alertEmails).toEqual([
      'a@example.com',
      'b@example.com',
    ]);
    expect(settings({ [CONTEXT_KEYS.alertEmails]: '["a@example.com"]' }).alertEmails).toEqual(['a@example.com']);
    expect(settings({ [CONTEXT_KEYS.alertEmails]: '' }).alertEmails).toBeUndefined();
    expect(() => settings({ [CONTEXT_KEYS.alertEmails]: 'ops-at-example' })).toThrow(
      /batchRunner:alertEmails: "ops-at-example" is not an e-mail address/,
    );
  });

  test('an existing VPC as JSON (no lookup, so synth needs no credentials)', () => {
    const network = { vpcId: 'vpc-0123', availabilityZones: ['ap-northeast-1a'], subnetIds: ['subnet-1'] };
    expect(settings({ [CONTEXT_KEYS.network]: JSON.stringify(network) }).network).toEqual(network);
    expect(() => settings({ [CONTEXT_KEYS.network]: '{"vpcId": ' })).toThrow(
      /context batchRunner:network = .* is invalid: .*give valid JSON/,
    );
    expect(() => settings({ [CONTEXT_KEYS.network]: 'vpc-0123' })).toThrow(
      /batchRunner:network = "vpc-0123" is invalid: give \{"vpcId"/,
    );
  });

  test('account and region only together', () => {
    expect(settings({ [CONTEXT_KEYS.account]: '123456789012', [CONTEXT_KEYS.region]: 'ap-northeast-1' }).env).toEqual({
      account: '123456789012',
      region: 'ap-northeast-1',
    });
    expect(() => settings({ [CONTEXT_KEYS.region]: 'ap-northeast-1' })).toThrow(
      /batchRunner:account and batchRunner:region go together/,
    );
  });

  test('prefixes and batches per stack', () => {
    expect(
      settings({
        [CONTEXT_KEYS.namePrefix]: 'batch-runner-stg',
        [CONTEXT_KEYS.stackNamePrefix]: 'Stg',
        [CONTEXT_KEYS.batchesPerStack]: '10',
      }),
    ).toEqual({
      namePrefix: 'batch-runner-stg',
      stackNamePrefix: 'Stg',
      batchesPerStack: 10,
    });
  });
});
