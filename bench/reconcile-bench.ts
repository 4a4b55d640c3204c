import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { handleReconcilerEvent } from '../handlers/cleanup';
import type { ReconcileWorld } from '../handlers/lib/reconcile';
import { RECONCILER_INTERVAL_SECONDS } from '../config/timings';
import { ensureLockTable, startEmbeddedDynamoDb } from '../local/lock-store';
import { readDefinitionTemplate, renderDefinition, substitutionsFor } from '../state-machines/definition';
import { BATCHES } from '../config/batches';
import type { DeploymentBindings } from '../state-machines/definition';

/** Figures of the reconciler: how fast a lost event is made up for, how late a stop can be in an outage. */
export interface ReconcileBench {
  /** A task stopped and its ECS event was lost: at most one pass interval, plus the measured pass. */
  readonly lostEventDetectionSeconds: number;
  readonly passMilliseconds: number;
  /**
   * Deadline to StopTask when Lambda (the watcher and the reconciler) is down at the deadline: the
   * definition stops the task itself after WaitForTaskToStop's retries, whose worst-case backoff is
   * read from the definition.
   */
  readonly stopLatencyUnderOutageSeconds: number;
}

const BINDINGS: DeploymentBindings = {
  region: 'ap-northeast-1',
  lockTableName: 'bench-locks',
  alertTopicArn: 'arn:aws:sns:ap-northeast-1:123456789012:batch-runner-alerts',
  clusterArn: 'arn:aws:ecs:ap-northeast-1:123456789012:cluster/batch-runner',
  taskDefinitionArn: 'arn:aws:ecs:ap-northeast-1:123456789012:task-definition/x:1',
  taskFamily: 'x',
  subnetIds: ['subnet-1'],
  securityGroupIds: ['sg-1'],
  logGroupName: '/x',
  logStreamPrefix: 'batch',
  manualInputValidatorFunctionArn: 'arn:aws:lambda:ap-northeast-1:123456789012:function:v',
  taskWatcherFunctionArn: 'arn:aws:lambda:ap-northeast-1:123456789012:function:w',
  reconcilerFunctionArn: 'arn:aws:lambda:ap-northeast-1:123456789012:function:r',
};

/** Worst case of a Retry block: every attempt's delay at its cap (full jitter only shortens it). */
function worstRetrySeconds(retrier: {
  IntervalSeconds?: number;
  BackoffRate?: number;
  MaxAttempts?: number;
  MaxDelaySeconds?: number;
}): number {
  let total = 0;
  for (let i = 0; i < (retrier.MaxAttempts ?? 3); i++) {
    const delay = (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** i;
    total += Math.min(delay, retrier.MaxDelaySeconds ?? Infinity);
  }
  return total;
}

export async function benchReconciler(): Promise<ReconcileBench> {
  const definition = JSON.parse(renderDefinition(substitutionsFor(BATCHES[0], BINDINGS), readDefinitionTemplate()));
  const watcherRetry = definition.States.WaitForTaskToStop.Retry.find((r: any) =>
    r.ErrorEquals.includes('Lambda.ServiceException'),
  );
  // Each failed attempt also waits for Lambda's own error (seconds), counted here as the 1 s the invoke takes.
  const stopLatencyUnderOutageSeconds = worstRetrySeconds(watcherRetry) + (watcherRetry.MaxAttempts + 1) * 1;

  // One scheduled pass against a watched task that stopped while its event was lost (dynalite lock table).
  const db = await startEmbeddedDynamoDb();
  try {
    await ensureLockTable(db.client, 'bench-locks');
    const owner = 'arn:aws:states:ap-northeast-1:123456789012:execution:batch-runner-x:run';
    const taskArn = 'arn:aws:ecs:ap-northeast-1:123456789012:task/batch-runner/t1';
    await db.client.send(
      new PutItemCommand({
        TableName: 'bench-locks',
        Item: {
          batch: { S: 'x' },
          owner: { S: owner },
          acquiredAt: { S: new Date().toISOString() },
          taskArn: { S: taskArn },
          taskToken: { S: 'token' },
          containerName: { S: 'app' },
        },
      }),
    );
    let answered = false;
    const world: ReconcileWorld = {
      listRunnerTasks: async () => [],
      describeTasks: async () => [
        {
          taskArn,
          clusterArn: BINDINGS.clusterArn,
          lastStatus: 'STOPPED',
          desiredStatus: 'STOPPED',
          batch: 'x',
          executionName: 'run',
          described: { TaskArn: taskArn, LastStatus: 'STOPPED', Containers: [{ Name: 'app', ExitCode: 0 }] },
        },
      ],
      stopTask: async () => undefined,
      describeExecution: async () => ({ status: 'RUNNING' }),
      answerToken: async () => {
        answered = true;
        return 'answered';
      },
      publish: async () => undefined,
      listStateMachines: async () => [],
      listEndedExecutions: async () => [],
    };
    const log = console.log;
    console.log = () => undefined;
    const started = performance.now();
    await handleReconcilerEvent(
      { source: 'aws.events', 'detail-type': 'Scheduled Event' },
      {
        world,
        dynamodb: db.client,
        config: {
          lockTableName: 'bench-locks',
          namePrefix: 'batch-runner',
          clusterArns: [BINDINGS.clusterArn],
          stopConfirmSeconds: 1,
          pollIntervalMs: 10,
        },
      },
    );
    const passMilliseconds = Math.round(performance.now() - started);
    console.log = log;
    if (!answered) throw new Error('the reconciler pass did not answer the stopped task`s token');
    return {
      lostEventDetectionSeconds: RECONCILER_INTERVAL_SECONDS + Math.ceil(passMilliseconds / 1000),
      passMilliseconds,
      stopLatencyUnderOutageSeconds,
    };
  } finally {
    await db.close();
  }
}
