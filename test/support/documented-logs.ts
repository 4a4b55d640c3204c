import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * README.md's "Log lines" table: each `message` the Lambda functions log, and the fields every line of
 * it carries. Read from the README itself, so the functions are held to what operators were told
 * (their Logs Insights queries filter on these), not to a copy of it in a test.
 */
export function documentedLogLines(
  readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8'),
): Map<string, string[]> {
  const section = readme.split(/^### Log lines \(CloudWatch Logs\)$/m)[1]?.split(/^#{1,3} /m)[0];
  if (section === undefined) throw new Error('README.md has no "### Log lines (CloudWatch Logs)" section');
  const fieldsOf = new Map<string, string[]>();
  for (const row of section.split('\n').filter((line) => line.startsWith('| `'))) {
    const cells = row.split(' | ');
    const message = /^\| `([^`]+)`$/.exec(cells[0])?.[1];
    const fields = [...(cells[3] ?? '').matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]);
    if (message === undefined || fields.length === 0)
      throw new Error(`README.md's Log lines table: unreadable row "${row}"`);
    fieldsOf.set(message, fields);
  }
  return fieldsOf;
}

const FIELDS_OF = documentedLogLines();

/**
 * The problems of the lines a function wrote to stdout, compared with the README: each must be one
 * JSON object whose `message` the table lists, with every field the table gives it. The embedded
 * metric line (`_aws`) is documented beside the table and passed over.
 */
export function logLineProblems(lines: readonly unknown[]): string[] {
  const problems: string[] = [];
  for (const line of lines) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(String(line));
    } catch {
      problems.push(`not one JSON object: ${String(line).slice(0, 120)}`);
      continue;
    }
    if ('_aws' in parsed) continue;
    const fields = FIELDS_OF.get(String(parsed.message));
    if (fields === undefined) {
      problems.push(`message ${JSON.stringify(parsed.message)} is not in README.md's Log lines table`);
      continue;
    }
    const missing = fields.filter((f) => !(f in parsed));
    if (missing.length > 0) problems.push(`"${parsed.message}" lacks ${missing.join(', ')}`);
  }
  return problems;
}

/**
 * For a test file whose console.log is a jest spy: checks what was logged since the last call against
 * the README, then forgets it. Call it in afterEach.
 */
export function expectDocumentedLogLines(): void {
  const spy = jest.mocked(console.log);
  const lines = spy.mock.calls.map((args) => args[0]);
  spy.mockClear();
  expect(logLineProblems(lines)).toEqual([]);
}
