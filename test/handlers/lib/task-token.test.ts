import 'aws-sdk-client-mock-jest';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { answerTaskToken, MAX_CAUSE_LENGTH, MAX_ERROR_LENGTH } from '../../../handlers/lib/task-token';
import { REGION } from '../fixtures/events';

/**
 * Answering a waitForTaskToken state (handlers/lib/task-token.ts) against Step Functions mocked in its
 * wire shapes. SendTaskFailure takes an error of at most 256 characters and a cause of at most 32768
 * (Step Functions API reference), so longer ones are cut rather than refused.
 */

const sfn = new SFNClient({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const sfnMock = mockClient(sfn);
beforeEach(() => {
  sfnMock.reset();
  sfnMock.on(SendTaskFailureCommand).resolves({});
  sfnMock.on(SendTaskSuccessCommand).resolves({});
});

test('a failure is sent with its error and cause cut to the API`s limits', async () => {
  expect(
    await answerTaskToken(sfn, 'token', { kind: 'failure', error: 'E'.repeat(300), cause: 'c'.repeat(40_000) }),
  ).toBe('answered');
  const [call] = sfnMock.commandCalls(SendTaskFailureCommand);
  expect(call.args[0].input).toEqual({
    taskToken: 'token',
    error: 'E'.repeat(MAX_ERROR_LENGTH),
    cause: 'c'.repeat(MAX_CAUSE_LENGTH),
  });
});

test('a success is sent with its output as JSON', async () => {
  await answerTaskToken(sfn, 'token', { kind: 'success', output: { exitCode: 0 } });
  expect(sfnMock).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token', output: '{"exitCode":0}' });
});

// The Step Functions API reference's errors of SendTaskSuccess/SendTaskFailure for a token that is done.
test.each(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist'])(
  '%s: the token can no longer be answered, which is not an error',
  async (name) => {
    sfnMock.on(SendTaskSuccessCommand).rejects(Object.assign(new Error(name), { name }));
    expect(await answerTaskToken(sfn, 'token', { kind: 'success', output: {} })).toBe('token no longer valid');
  },
);

test('any other error is thrown', async () => {
  sfnMock
    .on(SendTaskFailureCommand)
    .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
  await expect(answerTaskToken(sfn, 'token', { kind: 'failure', error: 'E', cause: 'c' })).rejects.toThrow(
    'Rate exceeded',
  );
});
