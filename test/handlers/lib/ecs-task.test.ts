import { clusterArnOfTask, regionOfArn, toDescribedTask } from '../../../handlers/lib/ecs-task';
import { evaluateStoppedTask } from '../../../handlers/lib/task-outcome';
import { CLUSTER_ARN, ecsTaskStateChange, REGION, sdkTask, taskArn } from '../fixtures/events';

describe('toDescribedTask', () => {
  test('turns an ECS Task State Change event detail into the PascalCase task the outcome logic reads', () => {
    const { detail } = ecsTaskStateChange({ taskArn: taskArn('t1'), exitCode: 2, sidecarExitCode: 137 });
    expect(toDescribedTask(detail)).toEqual({
      TaskArn: taskArn('t1'),
      LastStatus: 'STOPPED',
      StopCode: 'EssentialContainerExited',
      StoppedReason: 'Essential container in task exited',
      StartedAt: '2026-11-12T23:00:23.004Z',
      StoppedAt: '2026-11-12T23:31:45.000Z',
      LaunchType: 'FARGATE',
      CapacityProviderName: undefined,
      Containers: [
        { Name: 'app', ExitCode: 2, Reason: undefined, LastStatus: 'STOPPED' },
        { Name: 'log-router', ExitCode: 137, Reason: undefined, LastStatus: 'STOPPED' },
      ],
    });
  });

  test('turns an SDK DescribeTasks task (Date timestamps) into the same shape, so both paths give the same verdict', () => {
    const fromSdk = toDescribedTask(sdkTask({ taskArn: taskArn('t1'), lastStatus: 'STOPPED', exitCode: 2 }));
    const fromEvent = toDescribedTask(ecsTaskStateChange({ taskArn: taskArn('t1'), exitCode: 2 }).detail);
    expect(fromSdk.StartedAt).toBe('2026-11-12T23:00:23.004Z');
    expect(evaluateStoppedTask(fromSdk, 'app', null)).toEqual(evaluateStoppedTask(fromEvent, 'app', null));
  });
});

describe('evaluateStoppedTask', () => {
  test('a STOPPED task ECS describes with only its ARN and status still gets exitCode and stopCode (null): the definition`s ShouldRetryTask reads both', () => {
    const verdict = evaluateStoppedTask({ TaskArn: taskArn('t2'), LastStatus: 'STOPPED' }, 'app', null);
    expect(verdict).toEqual({
      ok: false,
      error: 'BatchRunner.TaskFailed',
      summary: expect.objectContaining({ taskArn: taskArn('t2'), exitCode: null, stopCode: null, containers: [] }),
    });
  });

  test('the batch container`s exit code decides, not a sidecar`s', () => {
    const task = toDescribedTask(
      ecsTaskStateChange({ taskArn: taskArn('t3'), exitCode: 0, sidecarExitCode: 137 }).detail,
    );
    expect(evaluateStoppedTask(task, 'app', null)).toMatchObject({ ok: true, summary: { exitCode: 0 } });
    expect(evaluateStoppedTask(task, 'log-router', null)).toMatchObject({ ok: false, summary: { exitCode: 137 } });
  });
});

describe('ARN helpers', () => {
  test('cluster of a long-format task ARN', () => {
    expect(clusterArnOfTask(taskArn('0f9e8d'))).toBe(CLUSTER_ARN);
    expect(clusterArnOfTask('arn:aws:ecs:ap-northeast-1:123456789012:task/0f9e8d')).toBeUndefined();
  });
  test('region of an ARN', () => {
    expect(regionOfArn(taskArn('x'))).toBe(REGION);
  });
});
