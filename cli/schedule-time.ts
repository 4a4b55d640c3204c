import { CronExpressionParser } from 'cron-parser';

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/**
 * Converts an EventBridge Scheduler cron (`min hour dom month dow year`, day-of-week 1-7 = SUN-SAT)
 * to cron-parser's five fields (day-of-week 0-6 = SUN-SAT), plus the year field to filter on.
 */
export function toCronParser(cron: string): { expression: string; year: string } {
  const [min, hour, dom, month, dow, year = '*'] = cron.trim().split(/\s+/);
  const shiftDay = (token: string) => (/^[1-7]$/.test(token) ? DAY_NAMES[Number(token) - 1] : token);
  const days = dow.replace(/(?<![#0-9])[1-7](?![0-9])/g, (d) => shiftDay(d)).replace(/\?/g, '*');
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

function yearMatches(field: string, y: number): boolean {
  return field.split(',').some((part) => {
    const [range, step] = part.split('/');
    const [lo, hi] = range === '*' ? [1970, 2199] : range.split('-').map(Number);
    const top = hi ?? (step ? 2199 : lo);
    return y >= lo && y <= top && (y - lo) % Number(step ?? 1) === 0;
  });
}
