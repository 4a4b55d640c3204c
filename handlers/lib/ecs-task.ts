import type { DescribedTask } from './task-outcome';

/**
 * An ECS task in camelCase, as both the ECS "Task State Change" event `detail` (timestamps as ISO
 * strings) and the SDK's DescribeTasks response (timestamps as Date) carry it. Only the fields the
 * runner reads are listed.
 */
export interface CamelCaseTask {
  readonly taskArn?: string;
  readonly clusterArn?: string;
  readonly group?: string;
  readonly lastStatus?: string;
  readonly desiredStatus?: string;
  readonly stopCode?: string;
  readonly stoppedReason?: string;
  readonly startedAt?: string | Date;
  readonly stoppedAt?: string | Date;
  readonly launchType?: string;
  readonly capacityProviderName?: string;
  readonly containers?: ReadonlyArray<{
    readonly name?: string;
    readonly exitCode?: number;
    readonly reason?: string;
    readonly lastStatus?: string;
  }>;
}

/** The EventBridge event ECS emits when a task changes state. */
export interface EcsTaskStateChangeEvent {
  readonly version?: string;
  readonly id?: string;
  readonly 'detail-type': 'ECS Task State Change';
  readonly source: 'aws.ecs';
  readonly account?: string;
  readonly time?: string;
  readonly region?: string;
  readonly resources?: readonly string[];
  readonly detail: CamelCaseTask & { readonly taskArn: string };
}

const timestamp = (t: string | Date | undefined): string | undefined => (t instanceof Date ? t.toISOString() : t);

/**
 * Converts a camelCase task (ECS event detail or SDK response) into the PascalCase shape Step
 * Functions' ECS integration returns, which `evaluateStoppedTask` reads.
 */
export function toDescribedTask(task: CamelCaseTask & { readonly taskArn: string }): DescribedTask {
  return {
    TaskArn: task.taskArn,
    LastStatus: task.lastStatus,
    StopCode: task.stopCode,
    StoppedReason: task.stoppedReason,
    StartedAt: timestamp(task.startedAt),
    StoppedAt: timestamp(task.stoppedAt),
    LaunchType: task.launchType,
    CapacityProviderName: task.capacityProviderName,
    Containers: (task.containers ?? []).map((c) => ({
      Name: c.name,
      ExitCode: c.exitCode,
      Reason: c.reason,
      LastStatus: c.lastStatus,
    })),
  };
}

/** `arn:aws:ecs:<region>:<account>:task/<cluster>/<id>` -> the cluster's ARN (long ARN format). */
export function clusterArnOfTask(taskArn: string): string | undefined {
  const m = /^(arn:[^:]+:ecs:[^:]+:\d{12}):task\/([^/]+)\/[^/]+$/.exec(taskArn);
  return m ? `${m[1]}:cluster/${m[2]}` : undefined;
}

/** The region part of any ARN. */
export function regionOfArn(arn: string): string {
  return arn.split(':')[3] ?? '';
}
