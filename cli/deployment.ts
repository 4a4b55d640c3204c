import { DescribeStateMachineCommand, ListStateMachinesCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { BatchConfig } from '../config/batch-config';
import { lockTableName, stateMachineName, TASK_LOG_STREAM_PREFIX, taskLogGroupName } from '../config/naming';
import { UserError } from './errors';
import { EXIT } from './exit-codes';

/**
 * A batch as deployed: its state machine, found by the name `config/naming.ts` gives it (never a
 * hand-copied ARN), and the resources its definition names (lock table, cluster, family, log group),
 * read back from the deployed definition so the CLI looks where the runner really works.
 */
export interface Deployment {
  readonly batch: BatchConfig;
  readonly stateMachineName: string;
  readonly stateMachineArn: string;
  readonly region: string;
  readonly account: string;
  readonly lockTableName: string;
  /** Undefined only if the definition does not name it and the config does not either. */
  readonly clusterArn?: string;
  readonly family: string;
  readonly containerName: string;
  readonly logGroupName: string;
  readonly logStreamPrefix: string;
  readonly hardTimeoutSeconds: number;
}

export const executionConsoleUrl = (region: string, executionArn: string) =>
  `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;

/** Finds deployed state machines by name (one ListStateMachines walk per CLI run). */
export class DeploymentResolver {
  private arns?: Map<string, string>;
  private readonly resolved = new Map<string, Deployment>();

  constructor(
    private readonly sfn: SFNClient,
    readonly prefix: string,
  ) {}

  async region(): Promise<string> {
    const region = await this.sfn.config.region();
    if (!region)
      throw new UserError('no AWS region configured', 'pass --region <region> or set AWS_REGION.', EXIT.ENVIRONMENT);
    return region;
  }

  /** The state machine ARN of a batch, or undefined if none of that name exists. */
  async stateMachineArn(batchName: string): Promise<string | undefined> {
    if (!this.arns) {
      const arns = new Map<string, string>();
      let nextToken: string | undefined;
      do {
        const page = await this.sfn.send(new ListStateMachinesCommand({ nextToken, maxResults: 1000 }));
        for (const sm of page.stateMachines ?? [])
          if (sm.name && sm.stateMachineArn) arns.set(sm.name, sm.stateMachineArn);
        nextToken = page.nextToken;
      } while (nextToken);
      this.arns = arns;
    }
    return this.arns.get(stateMachineName(batchName, this.prefix));
  }

  /** The deployment of a batch; a UserError (exit 6) with the fix if it is not deployed. */
  async resolve(batch: BatchConfig): Promise<Deployment> {
    const cached = this.resolved.get(batch.name);
    if (cached) return cached;
    const name = stateMachineName(batch.name, this.prefix);
    const arn = await this.stateMachineArn(batch.name);
    const region = await this.region();
    if (!arn) {
      throw new UserError(
        `state machine "${name}" of batch "${batch.name}" was not found in region ${region}`,
        `deploy it with "npx cdk deploy", or check --region, --profile and --prefix (now "${this.prefix}"). To try the batch without AWS: batch-runner run ${batch.name} --local`,
        EXIT.ENVIRONMENT,
      );
    }
    const described = await this.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    const d = definitionFacts(described?.definition);
    const deployment: Deployment = {
      batch,
      stateMachineName: name,
      stateMachineArn: arn,
      region,
      account: arn.split(':')[4],
      lockTableName: d.lockTableName ?? lockTableName(this.prefix),
      clusterArn: d.clusterArn ?? (batch.task.kind === 'imported' ? batch.task.clusterArn : undefined),
      family: d.family ?? (batch.task.kind === 'imported' ? batch.task.family : batch.name),
      containerName: d.containerName ?? batch.containerName,
      logGroupName:
        d.logGroupName ??
        (batch.task.kind === 'imported' ? batch.task.logGroupName : taskLogGroupName(batch.name, this.prefix)),
      logStreamPrefix:
        d.logStreamPrefix ?? (batch.task.kind === 'imported' ? batch.task.logStreamPrefix : TASK_LOG_STREAM_PREFIX),
      hardTimeoutSeconds: d.hardTimeoutSeconds ?? batch.hardTimeoutSeconds,
    };
    this.resolved.set(batch.name, deployment);
    return deployment;
  }
}

/** What the deployed definition (batch-runner.asl.json, substituted) says about the batch's resources. */
export function definitionFacts(definition: string | undefined): {
  lockTableName?: string;
  clusterArn?: string;
  family?: string;
  containerName?: string;
  logGroupName?: string;
  logStreamPrefix?: string;
  hardTimeoutSeconds?: number;
} {
  let states: Record<string, any>;
  try {
    states = JSON.parse(definition ?? '{}').States ?? {};
  } catch {
    return {};
  }
  const watch = states.WaitForTaskToStop?.Parameters?.Payload?.batch ?? {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    lockTableName: str(states.AcquireLock?.Parameters?.TableName),
    clusterArn: str(states.CheckRunningTasks?.Parameters?.Cluster),
    family: str(states.CheckRunningTasks?.Parameters?.Family),
    containerName: str(watch.containerName),
    logGroupName: str(watch.logGroupName),
    logStreamPrefix: str(watch.logStreamPrefix),
    hardTimeoutSeconds: typeof watch.hardTimeoutSeconds === 'number' ? watch.hardTimeoutSeconds : undefined,
  };
}
