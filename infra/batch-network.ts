import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BatchConfigError } from '../config/batch-config';
import type { BatchNetworkConfig } from './batch-runner';

/**
 * An existing VPC, given by IDs so that synth needs no AWS credentials (no `Vpc.fromLookup`).
 * In cdk.json or `-c batchRunner:network='{...}'`.
 */
export interface ImportedNetwork {
  /** ID of the existing VPC, e.g. `vpc-0123456789abcdef0`. */
  readonly vpcId: string;
  /** Availability zones of `subnetIds`, in the same order (the same number of subnets in each). */
  readonly availabilityZones: readonly string[];
  /** Subnets the tasks run in (private subnets with a route to ECR/the image registry). */
  readonly subnetIds: readonly string[];
  /**
   * Security groups of the tasks (at most 5).
   * @default - a new security group without inbound rules
   */
  readonly securityGroupIds?: readonly string[];
  /**
   * Whether tasks get a public IP (only for public subnets without a NAT gateway).
   * @default 'DISABLED'
   */
  readonly assignPublicIp?: 'ENABLED' | 'DISABLED';
}

/** Properties of {@link BatchNetwork}. */
export interface BatchNetworkProps {
  /**
   * An existing VPC to run the tasks in, by IDs.
   * @default - a new VPC
   */
  readonly imported?: ImportedNetwork;
  /** Retention of the new VPC's flow logs. @default logs.RetentionDays.ONE_MONTH */
  readonly flowLogRetention?: logs.RetentionDays;
}

/**
 * The network the batches' Fargate tasks run in: an imported VPC, or a new one with two AZs, public
 * subnets with one NAT gateway (the tasks pull their images from the internet) and private subnets
 * for the tasks, with flow logs. Tasks get a security group without inbound rules.
 */
export class BatchNetwork extends Construct {
  /** The VPC (new or imported), e.g. for an `ecs.Cluster` of created batches. */
  public readonly vpc: ec2.IVpc;
  /** Subnets and security groups for `BatchRunnerProps.network`. */
  public readonly config: BatchNetworkConfig;

  constructor(scope: Construct, id: string, props: BatchNetworkProps = {}) {
    super(scope, id);
    const imported = props.imported;
    if (imported) {
      for (const field of ['vpcId', 'availabilityZones', 'subnetIds'] as const) {
        if (imported[field] === undefined || (Array.isArray(imported[field]) && imported[field].length === 0)) {
          throw new BatchConfigError(
            `network: ${field} = ${JSON.stringify(imported[field])} is invalid: give the existing VPC's ${field} in the batchRunner:network context (see README).`,
          );
        }
      }
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: imported.vpcId,
        availabilityZones: [...imported.availabilityZones],
        privateSubnetIds: [...imported.subnetIds],
      });
    } else {
      const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
        retention: props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      this.vpc = new ec2.Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: 1,
        subnetConfiguration: [
          { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
          { name: 'tasks', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        ],
        flowLogs: {
          all: {
            destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
            trafficType: ec2.FlowLogTrafficType.ALL,
          },
        },
      });
    }
    const securityGroupIds = imported?.securityGroupIds?.length
      ? [...imported.securityGroupIds]
      : [
          new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
            vpc: this.vpc,
            description:
              'batch-runner tasks: no inbound traffic, outbound to pull images and reach the batch dependencies.',
            allowAllOutbound: true,
          }).securityGroupId,
        ];
    this.config = {
      subnetIds: imported
        ? [...imported.subnetIds]
        : this.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds,
      securityGroupIds,
      assignPublicIp: imported?.assignPublicIp ?? 'DISABLED',
    };
  }
}
