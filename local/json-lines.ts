import { appendFileSync, existsSync, readFileSync } from 'node:fs';

/**
 * The local mode's record files (alerts.jsonl, events.jsonl): one JSON value per line, appended as it
 * happens, so that another terminal (or `tail -f`) sees each record at once.
 */
export function appendJsonLine(path: string, value: unknown): void {
  appendFileSync(path, `${JSON.stringify(value)}\n`);
}

/** Every record of a JSON Lines file, oldest first; a line cut short by a crash mid-write is skipped. */
export function readJsonLines<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as T];
      } catch {
        return [];
      }
    });
}
