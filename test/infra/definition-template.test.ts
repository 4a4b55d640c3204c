import { BATCHES } from '../../config/batches';
import { compactDefinitionTemplate } from '../../infra/definition-template';
import {
  placeholdersIn,
  readDefinitionTemplate,
  renderDefinition,
  substitutionsFor,
} from '../../state-machines/definition';

const bindings = {
  region: 'ap-northeast-1',
  lockTableName: 'batch-runner-locks',
  alertTopicArn: 'arn:aws:sns:ap-northeast-1:123456789012:batch-runner-alerts',
  clusterArn: 'arn:aws:ecs:ap-northeast-1:123456789012:cluster/batch-runner',
  taskDefinitionArn: 'arn:aws:ecs:ap-northeast-1:123456789012:task-definition/batch-runner-xml-articles:3',
  taskFamily: 'batch-runner-xml-articles',
  subnetIds: ['subnet-1', 'subnet-2'],
  securityGroupIds: ['sg-1'],
  logGroupName: '/batch-runner/tasks/xml-articles',
  logStreamPrefix: 'batch',
  manualInputValidatorFunctionArn: 'arn:aws:lambda:ap-northeast-1:123456789012:function:v',
  taskWatcherFunctionArn: 'arn:aws:lambda:ap-northeast-1:123456789012:function:w',
  reconcilerFunctionArn: 'arn:aws:lambda:ap-northeast-1:123456789012:function:r',
};

describe('compactDefinitionTemplate', () => {
  const template = readDefinitionTemplate();
  const compact = compactDefinitionTemplate(template);

  test('keeps every placeholder, quoted and unquoted', () => {
    expect(placeholdersIn(compact)).toEqual(placeholdersIn(template));
    expect(compact).toContain(`"Subnets":\${SubnetIdsJson}`);
    expect(compact).toContain(`"TimeoutSeconds":\${ExecutionTimeoutSeconds}`);
  });

  test('renders to exactly the same definition as the file, for every batch', () => {
    for (const batch of BATCHES) {
      const subs = substitutionsFor(batch, bindings);
      expect(JSON.parse(renderDefinition(subs, compact))).toEqual(JSON.parse(renderDefinition(subs, template)));
    }
  });

  test('is markedly smaller than the pretty-printed file (template size decides batches per stack)', () => {
    expect(compact.length).toBeLessThan(template.length * 0.75);
    expect(compact).not.toMatch(/\n/);
  });

  test('leaves placeholders and braces inside strings alone', () => {
    expect(compactDefinitionTemplate(`{\n  "a": "x \${Name} {} \\" y",\n  "n": \${Num}\n}`)).toBe(
      `{"a":"x \${Name} {} \\" y","n":\${Num}}`,
    );
  });
});
