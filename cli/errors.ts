import { EXIT, type ExitCode } from './exit-codes';

/**
 * An error the operator can fix: printed as "error: <what>" and "fix: <how>", without a stack trace,
 * and mapped to its exit code.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
    readonly exitCode: ExitCode = EXIT.USAGE,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

const CREDENTIAL_ERRORS = [
  'CredentialsProviderError',
  'ExpiredTokenException',
  'ExpiredToken',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'InvalidClientTokenId',
];
const ACCESS_ERRORS = ['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation'];
const NETWORK_CODES = ['ENOTFOUND', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN'];

/** Turns an AWS SDK error into a UserError with a fix, or returns undefined if it is not one we know. */
export function explainAwsError(err: unknown): UserError | undefined {
  const e = err as { name?: string; message?: string; code?: string; $metadata?: unknown };
  const name = e?.name ?? '';
  const message = e?.message ?? String(err);
  if (CREDENTIAL_ERRORS.includes(name) || /Could not load credentials/i.test(message)) {
    return new UserError(
      `no valid AWS credentials (${name}: ${message})`,
      'sign in (e.g. "aws sso login --profile <p>") and pass --profile <p>, or set AWS_PROFILE / AWS_ACCESS_KEY_ID. To try it without AWS, add --local.',
      EXIT.ENVIRONMENT,
    );
  }
  if (/Region is missing/i.test(message)) {
    return new UserError(
      'no AWS region configured',
      'pass --region <region> (e.g. --region ap-northeast-1) or set AWS_REGION.',
      EXIT.ENVIRONMENT,
    );
  }
  if (ACCESS_ERRORS.includes(name)) {
    return new UserError(
      `access denied: ${message}`,
      'ask for the batch-runner operator permissions on this account, or use another --profile.',
      EXIT.ENVIRONMENT,
    );
  }
  if (
    NETWORK_CODES.includes(e?.code ?? '') ||
    NETWORK_CODES.some((c) => message.includes(c)) ||
    name === 'TimeoutError'
  ) {
    return new UserError(`cannot reach AWS: ${message}`, 'check the network and --region; retry.', EXIT.ENVIRONMENT);
  }
  return undefined;
}
