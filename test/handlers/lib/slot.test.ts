import { parseSlot } from '../../../handlers/lib/manual-input';

/**
 * The slot a manual run stands for (`run --for`, `backfill`, the `scheduledTime` of a manual input):
 * any ISO 8601 time with an offset, normalised to the form Scheduler's <aws.scheduler.scheduled-time>
 * takes (UTC, seconds, no fraction), so that it claims the same slot key as the scheduled run would.
 */

const FIX =
  'write the slot as an ISO 8601 time with its offset, to the minute, e.g. 2026-12-01T06:00+09:00 or 2026-11-30T21:00:00Z.';

test.each([
  ['2026-12-01T06:00+09:00', '2026-11-30T21:00:00Z'],
  ['2026-11-30T21:00:00Z', '2026-11-30T21:00:00Z'],
  ['2026-11-30T21:00Z', '2026-11-30T21:00:00Z'],
  ['2026-11-30T21:00:00.000Z', '2026-11-30T21:00:00Z'],
  ['2026-12-01T06:00-05:30', '2026-12-01T11:30:00Z'],
  ['2026-12-01T06:00+14:00', '2026-11-30T16:00:00Z'],
  ['2026-12-01T06:00-14:00', '2026-12-01T20:00:00Z'],
  ['2028-02-29T00:00Z', '2028-02-29T00:00:00Z'],
  ['2000-01-01T00:00Z', '2000-01-01T00:00:00Z'],
  ['2199-12-31T23:59Z', '2199-12-31T23:59:00Z'],
])('%s is the slot %s', (text, slot) => {
  expect(parseSlot(text)).toBe(slot);
});

test.each([
  [20261201, `must be a string: ${FIX}`],
  ['2026-12-01 06:00+09:00', `is not an ISO 8601 time with an offset: ${FIX}`],
  ['2026-12-01T06:00', `is not an ISO 8601 time with an offset: ${FIX}`],
  ['2026-12-01T06:00+09:75', `is not an ISO 8601 time with an offset: ${FIX}`],
  ['2026-12-01T06:00:30Z', `is not a whole minute: schedules fire on whole minutes; ${FIX}`],
  ['2026-12-01T06:00:00.5Z', `is not a whole minute: schedules fire on whole minutes; ${FIX}`],
  ['2026-02-29T06:00Z', `is not a valid date and time: ${FIX}`],
  ['2026-04-31T06:00Z', `is not a valid date and time: ${FIX}`],
  ['2026-13-01T06:00Z', `is not a valid date and time: ${FIX}`],
  ['2026-12-00T06:00Z', `is not a valid date and time: ${FIX}`],
  ['2026-12-01T24:00Z', `is not a valid date and time: ${FIX}`],
  ['2026-12-01T06:60Z', `is not a valid date and time: ${FIX}`],
  ['2026-12-01T06:00+14:01', `has an offset beyond ±14:00: ${FIX}`],
  ['2026-12-01T06:00-15:00', `has an offset beyond ±14:00: ${FIX}`],
  ['2000-01-01T08:59+09:00', `is outside the years 2000-2199: ${FIX}`],
  ['2200-01-01T00:00Z', `is outside the years 2000-2199: ${FIX}`],
])('%j is refused: %s', (text, problem) => {
  expect(parseSlot(text)).toEqual({ problem });
});
