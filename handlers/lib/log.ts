/**
 * One JSON line per event on stdout, so CloudWatch Logs Insights can filter by field
 * (`filter batch = "missing-images"`). Task tokens are never logged in full.
 */
export function logEvent(message: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ message, ...fields }));
}

/** A short, non-secret fingerprint of a task token for logs. */
export function tokenFingerprint(token: string): string {
  return token.length <= 12 ? '***' : `${token.slice(0, 6)}...${token.slice(-6)}`;
}
