import 'aws-sdk-client-mock-jest';
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { readExecutionFacts } from '../../../handlers/lib/execution-history';
import { CLUSTER_ARN, executionArn, REGION, startOutput, stateEntered, stateExited, taskArn } from '../fixtures/events';

const sfn = new SFNClient({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const sfnMock = mockClient(sfn);
beforeEach(() => sfnMock.reset());

describe('readExecutionFacts', () => {
  test('finds the started task and a published alert, reading newest first and stopping early', async () => {
    sfnMock
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({
        events: [
          stateExited('PublishFailureAlert', { summary: {} }),
          stateEntered('PublishFailureAlert'),
          stateEntered('SummarizeFailure'),
        ],
        nextToken: 'page-2',
      })
      .resolvesOnce({ events: [stateExited('StartBatchTask', startOutput(taskArn('t1')))], nextToken: 'page-3' })
      .resolves({ events: [stateEntered('AcquireLock')] });
    const facts = await readExecutionFacts(sfn, executionArn('e1'));
    expect(facts).toEqual({
      startedTask: { taskArn: taskArn('t1'), clusterArn: CLUSTER_ARN },
      alertPublished: true,
      complete: true,
    });
    expect(sfnMock).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, 2);
    expect(sfnMock).toHaveReceivedNthCommandWith(2, GetExecutionHistoryCommand, {
      nextToken: 'page-2',
      reverseOrder: true,
      includeExecutionData: true,
    });
  });

  test('after capacity failures the latest StartBatchTask with a task wins', async () => {
    sfnMock.on(GetExecutionHistoryCommand).resolves({
      events: [
        stateExited('StartBatchTask', startOutput(taskArn('second'))),
        stateExited('StartBatchTask', startOutput(undefined)),
      ],
    });
    expect((await readExecutionFacts(sfn, executionArn('e1'))).startedTask?.taskArn).toBe(taskArn('second'));
  });

  test('only capacity failures: no started task, whole history read', async () => {
    sfnMock
      .on(GetExecutionHistoryCommand)
      .resolves({ events: [stateExited('StartBatchTask', startOutput(undefined))] });
    expect(await readExecutionFacts(sfn, executionArn('e1'))).toEqual({ alertPublished: false, complete: true });
  });

  test('an alert whose Catch fired is not published', async () => {
    sfnMock
      .on(GetExecutionHistoryCommand)
      .resolves({ events: [stateExited('PublishFailureAlert', { alertError: { Error: 'SNS.NotFoundException' } })] });
    expect((await readExecutionFacts(sfn, executionArn('e1'))).alertPublished).toBe(false);
  });

  test('a truncated alert output is treated as not published (better two alerts than none) and flagged incomplete', async () => {
    sfnMock
      .on(GetExecutionHistoryCommand)
      .resolves({ events: [stateExited('PublishFailureAlert', { summary: {} }, true)] });
    expect(await readExecutionFacts(sfn, executionArn('e1'))).toEqual({ alertPublished: false, complete: false });
  });
});
