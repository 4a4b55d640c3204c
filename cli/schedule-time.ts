import { CronExpressionParser } from 'cron-parser';

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/**
 * Converts an EventBridge Scheduler cron (`min hour dom month dow year`, day-of-week 1-7 = SUN-SAT)
 * to cron-parser's five fields (day-of-week 0-6 = SUN-SAT), plus the year field to filter on.
 */
export function toCronParser(cron: string): { expression: string; year: string } {
  const [min, hour, dom, month, dow, year = '*'] = cron.trim().split(/\s+/);
  const shiftDay = (token: string) => (/^[1-7]$/.test(token) ? DAY_NAMES[Number(token) - 1] : token);
  // L alone is the last day of the week (Saturday); cron-parser knows L only after a day (6L).
  const days = (dow === 'L' ? 'SAT' : dow)
    .replace(/(?<![#0-9])[1-7](?![0-9])/g, (d) => shiftDay(d))
    .replace(/\?/g, '*');
  return { expression: [min, hour, dom.replace(/\?/g, '*'), month, days].join(' '), year };
}

/** When a schedule fires next after `from`, in absolute time; undefined if it cannot be computed. */
export function nextRunTime(cron: string, timeZone: string, from: Date): Date | undefined {
  try {
    const { expression, year } = toCronParser(cron);
    const it = CronExpressionParser.parse(expression, { tz: timeZone, currentDate: from });
    for (let i = 0; i < 1000; i++) {
      const next = it.next().toDate();
      if (
        year === '*' ||
        yearMatches(year, Number(new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric' }).format(next)))
      )
        return next;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/**
 * The slots of a schedule from `from` to `to` (both included), in order, at most `limit` of them
 * (`truncated` says there were more): the times Scheduler fires the cron in its time zone.
 */
export function slotsBetween(
  cron: string,
  timeZone: string,
  from: Date,
  to: Date,
  limit: number,
): { slots: Date[]; truncated: boolean } {
  const slots: Date[] = [];
  let cursor = new Date(from.getTime() - 1);
  for (;;) {
    const next = nextRunTime(cron, timeZone, cursor);
    if (next === undefined || next.getTime() > to.getTime()) return { slots, truncated: false };
    if (slots.length === limit) return { slots, truncated: true };
    slots.push(next);
    cursor = next;
  }
}

/** Whether `at` is a slot of the schedule (a time Scheduler fires it). */
export function isSlotOf(cron: string, timeZone: string, at: Date): boolean {
  return nextRunTime(cron, timeZone, new Date(at.getTime() - 1))?.getTime() === at.getTime();
}

/** The slot of the schedule last at or before `at` (searching back up to a year), if any. */
export function previousSlot(cron: string, timeZone: string, at: Date): Date | undefined {
  for (const hours of [1, 24, 8 * 24, 32 * 24, 366 * 24]) {
    const { slots } = slotsBetween(cron, timeZone, new Date(at.getTime() - hours * 3_600_000), at, 1000);
    if (slots.length > 0) return previousIn(slots, cron, timeZone, at);
  }
  return undefined;
}

// A window with more than 1000 slots has its last one within the last 1000: walk on from there.
function previousIn(slots: Date[], cron: string, timeZone: string, at: Date): Date {
  let last = slots.at(-1)!;
  for (;;) {
    const next = nextRunTime(cron, timeZone, last);
    if (next === undefined || next.getTime() > at.getTime()) return last;
    last = next;
  }
}

function yearMatches(field: string, y: number): boolean {
  return field.split(',').some((part) => {
    const [range, step] = part.split('/');
    const [lo, hi] = range === '*' ? [1970, 2199] : range.split('-').map(Number);
    const top = hi ?? (step ? 2199 : lo);
    return y >= lo && y <= top && (y - lo) % Number(step ?? 1) === 0;
  });
}
