import { logLineProblems } from '../../support/documented-logs';
import { logEvent, tokenFingerprint } from '../../../handlers/lib/log';

describe('the handlers` log lines', () => {
  test('one JSON line per event, its fields beside the message (CloudWatch Logs Insights filters by field)', () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      logEvent('task stopped', { batch: 'missing-images', ok: true });
      logEvent('reconciler pass');
      expect(log.mock.calls).toEqual([
        ['{"message":"task stopped","batch":"missing-images","ok":true}'],
        ['{"message":"reconciler pass"}'],
      ]);
    } finally {
      log.mockRestore();
    }
  });

  test('a task token is logged as its first and last six characters only; a short one not at all', () => {
    const token = 'AQCEAAAAKgAAAAMAAAAAAAAAAR1chunk1secretpart';
    expect(tokenFingerprint(token)).toBe('AQCEAA...etpart');
    expect(tokenFingerprint(token)).not.toContain('secret');
    expect(tokenFingerprint('123456789012')).toBe('***');
    expect(tokenFingerprint('1234567890123')).toBe('123456...890123');
  });
});

test('the README`s Log lines check finds a line that is not JSON, an undocumented message and a missing field', () => {
  expect(
    logLineProblems([
      'plain text',
      JSON.stringify({ message: 'something new' }),
      JSON.stringify({ message: 'deadline reached', taskArn: 'arn:aws:ecs:ap-northeast-1:123456789012:task/c/1' }),
      JSON.stringify({ message: 'deadline reached', taskArn: 'arn', deadlineAt: 1 }),
      JSON.stringify({ _aws: { Timestamp: 0 }, ReconcileErrors: 0 }),
    ]),
  ).toEqual([
    'not one JSON object: plain text',
    `message "something new" is not in README.md's Log lines table`,
    '"deadline reached" lacks deadlineAt',
  ]);
});
