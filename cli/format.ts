/** Where the CLI writes: stdout for results, stderr for progress and errors (so `--json | jq` works). */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Streams whose reader went away (EPIPE, e.g. `| head -3`): nothing more is written to them. */
const closedStreams = new Set<NodeJS.WriteStream>();

/** Records that the reader of stdout or stderr has gone; later output to it is dropped. */
export function markOutputClosed(stream: NodeJS.WriteStream): void {
  closedStreams.add(stream);
}

function writeLine(stream: NodeJS.WriteStream, text: string): void {
  if (closedStreams.has(stream) || stream.destroyed) return;
  stream.write(`${text}\n`);
}

export const processOutput: Output = {
  out: (text) => writeLine(process.stdout, text),
  err: (text) => writeLine(process.stderr, text),
};

/** A plain-text table: columns padded to their widest cell, no borders. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : (c ?? '').padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `1h 02m 03s`, `4m 05s`, `6.2s`. */
export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0
    ? `${h}h ${String(m).padStart(2, '0')}m ${String(sec).padStart(2, '0')}s`
    : `${m}m ${String(sec).padStart(2, '0')}s`;
}

/** `2026-11-21 23:00:05Z` (UTC, second precision). */
export function timestamp(value: Date | string | number | undefined): string {
  if (value === undefined) return '-';
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return '-';
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** A time in a given IANA time zone: `2026-11-22 06:00 Asia/Tokyo`. */
export function zonedTime(value: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(value)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${timeZone}`;
}

export function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** The last segment of an ARN (execution name, task id). */
export const shortArn = (arn: string | undefined): string => (arn ? (arn.split(/[:/]/).pop() ?? arn) : '-');

export const json = (value: unknown): string => JSON.stringify(value, null, 2);
