import { arnFinding, flattenReference, literal, TASKS_OF_A_CLUSTER, wildcardFindings } from '../../infra/iam-wildcards';

describe('IAM wildcard findings as cdk-nag names them', () => {
  const joined = (...parts: unknown[]) => ({ 'Fn::Join': ['', parts] });

  test('flattens references', () => {
    expect(
      flattenReference(
        joined(
          'arn:',
          { Ref: 'AWS::Partition' },
          ':ecs:',
          { Ref: 'AWS::Region' },
          ':task/',
          { Ref: 'ClusterEB0386A7' },
          '/*',
        ),
      ),
    ).toBe('arn:<AWS::Partition>:ecs:<AWS::Region>:task/<ClusterEB0386A7>/*');
    expect(flattenReference({ 'Fn::GetAtt': ['Table', 'Arn'] })).toBe('<Table.Arn>');
    expect(flattenReference({ 'Fn::ImportValue': 'Shared:ExportsOutputRefCluster' })).toBe(
      'Shared:ExportsOutputRefCluster',
    );
  });

  test('lists wildcard actions and resources of Allow statements only', () => {
    expect(
      wildcardFindings({
        Statement: [
          { Effect: 'Allow', Action: ['ecs:ListTasks'], Resource: '*' },
          { Effect: 'Allow', Action: 's3:Get*', Resource: 'arn:aws:s3:::b/key' },
          { Effect: 'Deny', Action: '*', Resource: '*' },
        ],
      }),
    ).toEqual(['Resource::*', 'Action::s3:Get*']);
  });

  test('the justified patterns match local, imported and literal renderings, and nothing wider', () => {
    expect(
      TASKS_OF_A_CLUSTER.test(
        'Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<ClusterEB0386A7>/*',
      ),
    ).toBe(true);
    expect(
      TASKS_OF_A_CLUSTER.test(
        'Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/Shared:ExportsOutputRefCluster/*',
      ),
    ).toBe(true);
    expect(TASKS_OF_A_CLUSTER.test('Resource::arn:aws:ecs:eu-west-1:123456789012:task/rails/*')).toBe(true);
    expect(TASKS_OF_A_CLUSTER.test('Resource::arn:aws:ecs:eu-west-1:123456789012:task/*')).toBe(false);
    expect(TASKS_OF_A_CLUSTER.test('Resource::arn:aws:ecs:*:*:task/rails/*')).toBe(false);
    const executions = arnFinding('states', literal('execution:batch-runner-xml-articles:*'));
    expect(
      executions.test(
        'Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:batch-runner-xml-articles:*',
      ),
    ).toBe(true);
    expect(executions.test('Resource::arn:aws:states:eu-west-1:123456789012:execution:batch-runner-*:*')).toBe(false);
  });
});
