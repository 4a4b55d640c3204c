/**
 * How the CLI presents text on a terminal: colour (only on a TTY, off with NO_COLOR or --no-color),
 * relative times (on a terminal, absolute with --absolute-times or when piped) and the width tables fit.
 * `--json` never goes through any of it: JSON carries ISO 8601 times and no colour.
 */
import { timestamp } from './format';

/** What the CLI knows about where its output goes. @default - neither stream is a terminal */
export interface TerminalInfo {
  readonly stdout: { readonly isTTY: boolean; readonly columns?: number };
  readonly stderr: { readonly isTTY: boolean };
}

export const NOT_A_TERMINAL: TerminalInfo = { stdout: { isTTY: false }, stderr: { isTTY: false } };

/** The terminal of this process (cli/main.ts). */
export function processTerminal(): TerminalInfo {
  return {
    stdout: { isTTY: Boolean(process.stdout.isTTY), columns: process.stdout.columns },
    stderr: { isTTY: Boolean(process.stderr.isTTY) },
  };
}

/** Colours for one stream; every function returns its text unchanged when colour is off. */
export interface Palette {
  readonly enabled: boolean;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  bold(text: string): string;
  /** Colours a leading outcome word: succeeded green; failed, timed_out, ... red; skipped yellow. */
  outcome(text: string): string;
  /** `error:` in red. */
  errorLabel(): string;
  /** `fix:` highlighted. */
  fixLabel(): string;
  /** `warning:` in yellow. */
  warningLabel(): string;
}

const sgr =
  (on: boolean, open: number, close: number) =>
  (text: string): string =>
    on && text ? `\u001b[${open}m${text}\u001b[${close}m` : text;

const OUTCOME_WORD = /^(succeeded|failed|timed_out|could_not_start|invalid_input|aborted|replaced|skipped)\b/;

export function palette(enabled: boolean): Palette {
  const red = sgr(enabled, 31, 39);
  const green = sgr(enabled, 32, 39);
  const yellow = sgr(enabled, 33, 39);
  const cyan = sgr(enabled, 36, 39);
  const bold = sgr(enabled, 1, 22);
  return {
    enabled,
    red,
    green,
    yellow,
    cyan,
    bold,
    outcome(text) {
      const m = OUTCOME_WORD.exec(text);
      if (!m) return text;
      const word = m[1];
      const paint = word === 'succeeded' ? green : word === 'skipped' ? yellow : red;
      return paint(word) + text.slice(word.length);
    },
    errorLabel: () => bold(red('error:')),
    fixLabel: () => bold(cyan('fix:')),
    warningLabel: () => yellow('warning:'),
  };
}

/**
 * Whether to colour a stream: never with --no-color; FORCE_COLOR (as Node reads it: any value but 0
 * or false) turns it on even when piped; otherwise NO_COLOR (any non-empty value, no-color.org) or
 * TERM=dumb turn it off, and a TTY turns it on.
 */
export function colorWanted(isTTY: boolean, env: NodeJS.ProcessEnv, colorFlag: boolean = true): boolean {
  if (!colorFlag) return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !['0', 'false'].includes(force.trim().toLowerCase());
  if (env.NO_COLOR) return false;
  if (env.TERM === 'dumb') return false;
  return isTTY;
}

/** `12 s ago`, `3 min ago`, `5 h ago`, `2 days ago`, `in 4 h`; older than 60 days: the date. */
export function relativeTime(value: Date | string | number | undefined, now: Date): string {
  if (value === undefined) return '-';
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return '-';
  const diff = now.getTime() - d.getTime();
  const s = Math.floor(Math.abs(diff) / 1000);
  if (s < 1) return 'just now';
  const amount =
    s < 60
      ? `${s} s`
      : s < 3600
        ? `${Math.floor(s / 60)} min`
        : s < 48 * 3600
          ? `${Math.floor(s / 3600)} h`
          : s < 60 * 86400
            ? `${Math.floor(s / 86400)} days`
            : undefined;
  if (amount === undefined) return timestamp(d).slice(0, 10);
  return diff >= 0 ? `${amount} ago` : `in ${amount}`;
}

/** How the commands present text (never JSON). */
export interface Presentation {
  /** Colours for stdout and stderr. */
  readonly out: Palette;
  readonly err: Palette;
  /** The width stdout tables fit (a terminal's columns); undefined: full values (piped output). */
  readonly width?: number;
  readonly relativeTimes: boolean;
  /** A time for people: `3 min ago` on a terminal, `2026-11-21 23:00:05Z` with --absolute-times or piped. */
  time(value: Date | string | number | undefined): string;
}

export interface PresentationOptions {
  /** false with --no-color. */
  readonly color?: boolean;
  readonly absoluteTimes?: boolean;
}

export function presentation(
  terminal: TerminalInfo,
  env: NodeJS.ProcessEnv,
  options: PresentationOptions,
  now: () => Date,
): Presentation {
  const relativeTimes = terminal.stdout.isTTY && !options.absoluteTimes;
  const columns = terminal.stdout.columns;
  return {
    out: palette(colorWanted(terminal.stdout.isTTY, env, options.color)),
    err: palette(colorWanted(terminal.stderr.isTTY, env, options.color)),
    width: terminal.stdout.isTTY && columns && columns > 0 ? columns : undefined,
    relativeTimes,
    time: (value) => (relativeTimes ? relativeTime(value, now()) : timestamp(value)),
  };
}
