/** Thrown for a configuration that must not be deployed or run. */
export class BatchConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BatchConfigError';
  }
}

/** Refuses one field of one batch: what was wrong (field and value) and how to fix it. */
export function failField(batch: string, field: string, value: unknown, fix: string): never {
  throw new BatchConfigError(`batch "${batch}": ${field} = ${JSON.stringify(value)} is invalid: ${fix}`);
}
