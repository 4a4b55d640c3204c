import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BatchNetwork } from '../../infra/batch-network';

const stack = () => new Stack(new App(), 'Net');

describe('BatchNetwork', () => {
  test('default: a new VPC with private subnets for the tasks, one NAT gateway, flow logs, and an inbound-closed security group', () => {
    const s = stack();
    const net = new BatchNetwork(s, 'Network');
    const t = Template.fromStack(s);
    t.resourceCountIs('AWS::EC2::VPC', 1);
    t.resourceCountIs('AWS::EC2::NatGateway', 1);
    t.resourceCountIs('AWS::EC2::FlowLog', 1);
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [{ CidrIp: '0.0.0.0/0', IpProtocol: '-1' }],
    });
    expect(
      t.toJSON().Resources[Object.keys(t.findResources('AWS::EC2::SecurityGroup'))[0]].Properties.SecurityGroupIngress,
    ).toBeUndefined();
    expect(net.config.subnetIds).toHaveLength(2);
    expect(net.config.assignPublicIp).toBe('DISABLED');
  });

  test('imported by IDs (no lookup, no credentials): no VPC resources, the given subnets and security groups', () => {
    const s = stack();
    const net = new BatchNetwork(s, 'Network', {
      imported: {
        vpcId: 'vpc-0123',
        availabilityZones: ['ap-northeast-1a', 'ap-northeast-1c'],
        subnetIds: ['subnet-a', 'subnet-c'],
        securityGroupIds: ['sg-1'],
      },
    });
    expect(Object.keys(Template.fromStack(s).toJSON().Resources ?? {})).toEqual([]);
    expect(net.config).toEqual({
      subnetIds: ['subnet-a', 'subnet-c'],
      securityGroupIds: ['sg-1'],
      assignPublicIp: 'DISABLED',
    });
  });

  test('imported without security groups: one is created in the imported VPC', () => {
    const s = stack();
    new BatchNetwork(s, 'Network', {
      imported: {
        vpcId: 'vpc-0123',
        availabilityZones: ['ap-northeast-1a'],
        subnetIds: ['subnet-a'],
        assignPublicIp: 'ENABLED',
      },
    });
    Template.fromStack(s).hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: 'vpc-0123' });
  });

  test('an incomplete import is refused with the field and the fix', () => {
    expect(
      () =>
        new BatchNetwork(stack(), 'Network', {
          imported: { vpcId: 'vpc-0123', availabilityZones: [], subnetIds: ['subnet-a'] },
        }),
    ).toThrow(
      /network: availabilityZones = \[\] is invalid: give the existing VPC's availabilityZones in the batchRunner:network context/,
    );
  });
});
