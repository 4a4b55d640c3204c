import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';

/** What a waitForTaskToken state is answered with. */
export type TokenAnswer =
  | { readonly kind: 'success'; readonly output: unknown }
  | { readonly kind: 'failure'; readonly error: string; readonly cause: string };

export type TokenAnswerResult = 'answered' | 'token no longer valid';

/**
 * Errors that mean the token cannot be answered any more: the wait chunk timed out (the next chunk
 * registers a new token), the state was already answered by the other path (event vs. chunk start),
 * or the execution ended. None of them is a failure of the watcher.
 */
export const STALE_TOKEN_ERRORS: readonly string[] = ['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist'];

/** SendTaskFailure limits: error 256 characters, cause 32768 characters. */
export const MAX_ERROR_LENGTH = 256;
export const MAX_CAUSE_LENGTH = 32768;

/** Answers a task token; a stale token is reported, not thrown. */
export async function answerTaskToken(
  sfn: SFNClient,
  taskToken: string,
  answer: TokenAnswer,
): Promise<TokenAnswerResult> {
  try {
    if (answer.kind === 'success') {
      await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(answer.output) }));
    } else {
      await sfn.send(
        new SendTaskFailureCommand({
          taskToken,
          error: answer.error.slice(0, MAX_ERROR_LENGTH),
          cause: answer.cause.slice(0, MAX_CAUSE_LENGTH),
        }),
      );
    }
    return 'answered';
  } catch (err) {
    if (STALE_TOKEN_ERRORS.includes((err as Error).name)) return 'token no longer valid';
    throw err;
  }
}
