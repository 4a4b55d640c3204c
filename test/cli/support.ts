// The SDK warns once per process that Node 20 support ends in 2027; the CLI silences it the same way.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import {
  DescribeStateMachineCommand,
  type HistoryEvent,
  ListStateMachinesCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import type { AwsClients } from '../../cli/aws-clients';
import type { CliDeps } from '../../cli/context';
import { runCli } from '../../cli/program';
import { BATCHES } from '../../config/batches';
import { lockTableName, stateMachineName, TASK_LOG_STREAM_PREFIX, taskLogGroupName } from '../../config/naming';
import { renderDefinition, substitutionsFor } from '../../state-machines/definition';

export const REGION = 'ap-northeast-1';
export const ACCOUNT = '123456789012';
export const CLUSTER_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/batch-runner`;
export const familyOf = (batch: string) => `batch-runner-${batch}`;
export const smArn = (batch: string) => `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${stateMachineName(batch)}`;
export const execArn = (batch: string, name: string) =>
  `arn:aws:states:${REGION}:${ACCOUNT}:execution:${stateMachineName(batch)}:${name}`;
export const taskArn = (id: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task/batch-runner/${id}`;
export const NOW = new Date('2026-11-21T23:30:00Z');

/** Mocked AWS clients (aws-sdk-client-mock) with realistic deployed state machines for the three batches. */
export function mockAws() {
  const options = { region: REGION, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } };
  const clients: AwsClients = {
    sfn: new SFNClient(options),
    ecs: new ECSClient(options),
    dynamodb: new DynamoDBClient(options),
    scheduler: new SchedulerClient(options),
    logs: new CloudWatchLogsClient(options),
  };
  const mocks = {
    sfn: mockClient(clients.sfn),
    ecs: mockClient(clients.ecs),
    dynamodb: mockClient(clients.dynamodb),
    scheduler: mockClient(clients.scheduler),
    logs: mockClient(clients.logs),
  };
  mocks.sfn.on(ListStateMachinesCommand).resolves({
    stateMachines: [
      ...BATCHES.map((b) => ({
        name: stateMachineName(b.name),
        stateMachineArn: smArn(b.name),
        type: 'STANDARD' as const,
        creationDate: new Date('2026-11-01T00:00:00Z'),
      })),
      {
        name: 'someone-elses-machine',
        stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:someone-elses-machine`,
        type: 'STANDARD' as const,
        creationDate: new Date(),
      },
    ],
  });
  for (const batch of BATCHES) {
    mocks.sfn.on(DescribeStateMachineCommand, { stateMachineArn: smArn(batch.name) }).resolves({
      stateMachineArn: smArn(batch.name),
      name: stateMachineName(batch.name),
      definition: deployedDefinition(batch.name),
      roleArn: `arn:aws:iam::${ACCOUNT}:role/batch-runner-${batch.name}`,
      type: 'STANDARD',
      creationDate: new Date('2026-11-01T00:00:00Z'),
    });
  }
  return { clients, mocks };
}

/** The definition as CloudFormation deploys it (template + DefinitionSubstitutions). */
export function deployedDefinition(batchName: string): string {
  const batch = BATCHES.find((b) => b.name === batchName)!;
  return renderDefinition(
    substitutionsFor(batch, {
      region: REGION,
      lockTableName: lockTableName(),
      alertTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:batch-runner-alerts`,
      clusterArn: CLUSTER_ARN,
      taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${familyOf(batchName)}:3`,
      taskFamily: familyOf(batchName),
      subnetIds: ['subnet-0bcf5b43'],
      securityGroupIds: ['sg-0a1b2c3d4e5f'],
      logGroupName: taskLogGroupName(batchName),
      logStreamPrefix: TASK_LOG_STREAM_PREFIX,
      manualInputValidatorFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:batch-runner-validate-manual-input`,
      taskWatcherFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:batch-runner-task-watcher`,
      reconcilerFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:batch-runner-cleanup`,
    }),
  );
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with captured output and the given deps. */
export async function cli(argv: string[], deps: CliDeps = {}): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    now: () => NOW,
    sleep: async () => undefined,
    random: () => 'a1b2c3',
    user: 'alice@ops-laptop',
    pollMs: 0,
    ...deps,
    output: { out: (t) => out.push(t), err: (t) => err.push(t) },
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

let eventId = 0;
const T0 = new Date('2026-11-21T23:00:00Z').getTime();

/** A history event as GetExecutionHistory returns it. */
export function entered(name: string, type: string, input: unknown = {}, atSeconds = 0): HistoryEvent {
  eventId += 1;
  return {
    id: eventId,
    previousEventId: eventId - 1,
    timestamp: new Date(T0 + atSeconds * 1000),
    type: `${type}StateEntered` as HistoryEvent['type'],
    stateEnteredEventDetails: { name, input: JSON.stringify(input), inputDetails: { truncated: false } },
  };
}

export function exited(name: string, type: string, output: unknown, atSeconds = 0): HistoryEvent {
  eventId += 1;
  return {
    id: eventId,
    previousEventId: eventId - 1,
    timestamp: new Date(T0 + atSeconds * 1000),
    type: `${type}StateExited` as HistoryEvent['type'],
    stateExitedEventDetails: { name, output: JSON.stringify(output), outputDetails: { truncated: false } },
  };
}

export function resetEventIds(): void {
  eventId = 0;
}

/** The StartBatchTask exit of an execution that started `task`. */
export const startedTask = (task: string, at = 1): HistoryEvent =>
  exited(
    'StartBatchTask',
    'Task',
    { run: { trigger: 'cli' }, start: { Tasks: [{ TaskArn: task, LastStatus: 'PROVISIONING' }], Failures: [] } },
    at,
  );

/** The RunFailed entry of a FAILED execution, with the failure summary the alert used. */
export const runFailed = (summary: Record<string, unknown>, at = 60): HistoryEvent =>
  entered('RunFailed', 'Fail', { summary }, at);

export { T0 };
