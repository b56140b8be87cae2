import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface NetworkProps {
  /** 0: public subnets only (workers get public IPs, no inbound rules, no NAT bill). */
  natGateways: number;
  logRetentionDays: number;
}

/**
 * The workers only make outbound calls (ECR, S3, SQS, CloudWatch). By default they sit in public
 * subnets behind a security group with no inbound rules, which saves a NAT gateway (~$33/month
 * plus $0.045/GB, and every photo passes through it). With `-c natGateways=1` they move to private
 * subnets. An S3 gateway endpoint (free) keeps photo traffic off the NAT in that case. Flow logs
 * record rejected traffic (what matters for a fleet with no inbound rules; ALL would log every
 * photo transfer at CloudWatch Logs ingestion prices).
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  readonly workerSubnets: ec2.SubnetSelection;
  readonly publicWorkers: boolean;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    this.publicWorkers = props.natGateways === 0;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: props.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        ...(this.publicWorkers ? [] : [{ name: 'workers', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 }]),
      ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    this.vpc.addFlowLog('FlowLogs', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogGroup', {
          retention: props.logRetentionDays as logs.RetentionDays,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      ),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    this.workerSubnets = { subnetType: this.publicWorkers ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS };
  }
}
