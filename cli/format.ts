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

export interface TableOptions {
  /**
   * The width lines must fit (a terminal's columns): the widest columns are cut, with an ellipsis, down
   * to at least their header or 8 characters, so that lines do not wrap. @default - full values (scripts)
   */
  readonly width?: number;
  /**
   * The columns that may be cut to fit `width`, in the order they give way (each down to its header or
   * 8 characters before the next one is cut). @default - every column, widest first
   */
  readonly cut?: readonly number[];
  /** Styles a cell's text (colour) after it has been cut and before it is padded. @default - as is */
  readonly paint?: (text: string, column: number) => string;
}

/** Narrowest a column is cut to when fitting a width (its header, if longer, stays whole). */
const MIN_COLUMN = 8;

/** A plain-text table: columns padded to their widest cell, no borders; cut to `width` if given. */
export function table(
  headers: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  options: TableOptions = {},
): string {
  const natural = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const widths = fitWidths(headers, natural, options.width, options.cut);
  const paint = options.paint ?? ((text: string) => text);
  const line = (cells: readonly string[], header: boolean) =>
    headers
      .map((_, i) => {
        const text = cut(cells[i] ?? '', widths[i]);
        const painted = header ? text : paint(text, i);
        return i === headers.length - 1 ? painted : painted + ' '.repeat(widths[i] - text.length);
      })
      .join('  ')
      .trimEnd();
  return [line(headers, true), ...rows.map((r) => line(r, false))].join('\n');
}

/**
 * Column widths that fit `width` (2 spaces between columns): the `cut` columns in their order, each down
 * to its floor; without `cut`, the widest column loses a character at a time.
 */
function fitWidths(
  headers: readonly string[],
  natural: readonly number[],
  width: number | undefined,
  cut: readonly number[] | undefined,
): number[] {
  const widths = [...natural];
  if (width === undefined) return widths;
  const floor = (i: number) => Math.min(natural[i], Math.max(headers[i].length, MIN_COLUMN));
  let excess = widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1) - width;
  if (cut) {
    for (const i of cut) {
      const by = Math.max(0, Math.min(excess, widths[i] - floor(i)));
      widths[i] -= by;
      excess -= by;
    }
    return widths;
  }
  while (excess > 0) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      if (widths[i] > floor(i) && (widest < 0 || widths[i] > widths[widest])) widest = i;
    }
    if (widest < 0) break;
    widths[widest] -= 1;
    excess -= 1;
  }
  return widths;
}

/** `text` cut to `max` characters, the last one an ellipsis. */
function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text;
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

/** `task RUNNING: 4m 05s of 1h 00m 00s hard timeout`, the progress line of a task while nothing else happens. */
export function progressOfTask(status: string, elapsedMs: number, hardTimeoutMs: number): string {
  return `            task ${status}: ${duration(elapsedMs)} of ${duration(hardTimeoutMs)} hard timeout`;
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

/** `text` on one line: runs of white space (newlines too) become one space. */
export const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

export function truncate(text: string, max: number): string {
  const line = oneLine(text);
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The last segment of an ARN (execution name, task id). */
export const shortArn = (arn: string | undefined): string => (arn ? (arn.split(/[:/]/).pop() ?? arn) : '-');

export const json = (value: unknown): string => JSON.stringify(value, null, 2);
