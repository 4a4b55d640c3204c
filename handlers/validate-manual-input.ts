import {
  policyFromPayload,
  type ValidationResult,
  type ValidatorBatchPayload,
  validateManualInput,
} from './lib/manual-input';

/** Payload the state machine's ValidateManualInput state sends. */
export interface ValidateManualInputEvent {
  readonly input: unknown;
  readonly batch: ValidatorBatchPayload;
}

/**
 * Lambda: validates a console/CLI input. Invalid input is an answer (`validation.valid = false`),
 * not an error, so the state machine can alert with the message and end `invalid_input`.
 */
export const handler = async (event: ValidateManualInputEvent): Promise<ValidationResult> =>
  validateManualInput(event.input, policyFromPayload(event.batch));
