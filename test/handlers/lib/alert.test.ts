import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  alertAttributes,
  alertMessage,
  alertSubject,
  executionConsoleUrl,
  type RunAlert,
} from '../../../handlers/lib/alert';
import { executionArn, REGION, taskArn } from '../fixtures/events';

/**
 * The state machine's own alert states (ComposeFailureAlert through MarkAlertDelivered): the
 * reconciler's alerts must read the same.
 */
const asl = readFileSync(join(__dirname, '../../../state-machines/batch-runner.asl.json'), 'utf8');
const publishState = (() => {
  const start = asl.indexOf('"ComposeFailureAlert": {');
  return asl.slice(start, asl.indexOf('"RunFailed": {', start));
})();

const alert: RunAlert = {
  batch: 'xml-articles',
  outcome: 'aborted',
  reason: 'The execution was stopped before it finished.',
  trigger: 'console',
  requestedBy: 'console user (see CloudTrail StartExecution)',
  executionArn: executionArn('e1', 'xml-articles'),
  taskArn: taskArn('t1'),
  stopReason: 'batch-runner cleanup: execution e1 ended ABORTED',
  taskMayStillRun: false,
  lockStatus: 'released',
  details: { status: 'ABORTED' },
  source: 'cleanup',
};

describe('cleanup alerts read like the state machine alerts', () => {
  test('subject: "[batch-runner] <batch> <outcome>", as PublishFailureAlert formats it', () => {
    expect(publishState).toContain(`'[batch-runner] \${BatchName} {}'`);
    expect(alertSubject(alert)).toBe('[batch-runner] xml-articles aborted');
  });

  test('the body carries the lines of PublishFailureAlert plus the task and its stop reason', () => {
    const body = alertMessage(alert);
    for (const label of [
      `Batch \${BatchName}: {}`,
      'Trigger: {} (requested by {})',
      'Execution: {}',
      'Console: {}',
      'Task may still run: {}',
      'Lock: {}',
      'Details: {}',
    ]) {
      expect(publishState).toContain(label);
    }
    expect(body.split('\n')).toEqual([
      'Batch xml-articles: aborted',
      '',
      'The execution was stopped before it finished.',
      '',
      'Trigger: console (requested by console user (see CloudTrail StartExecution))',
      `Execution: ${alert.executionArn}`,
      `Console: https://${REGION}.console.aws.amazon.com/states/home?region=${REGION}#/v2/executions/details/${alert.executionArn}`,
      `Task: ${taskArn('t1')}`,
      'Stop reason: batch-runner cleanup: execution e1 ended ABORTED',
      'Task may still run: false',
      'Lock: released',
      '',
      'Details: {"status":"ABORTED"}',
    ]);
  });

  test('message attributes include every attribute the state machine sets (subscription filters keep working)', () => {
    const aslAttributes = [
      ...publishState.slice(publishState.indexOf('"MessageAttributes"')).matchAll(/"(\w+)": \{\s*"DataType"/g),
    ].map((m) => m[1]);
    expect(aslAttributes).toEqual(['batch', 'outcome', 'severity', 'trigger']);
    const attrs = alertAttributes(alert);
    for (const name of aslAttributes) expect(attrs[name]).toMatchObject({ DataType: 'String' });
    expect(attrs.severity.StringValue).toBe('alert');
  });

  test('console link has the same form as the ASL SummarizeFailure link', () => {
    expect(asl).toContain(
      `'https://\${Region}.console.aws.amazon.com/states/home?region=\${Region}#/v2/executions/details/{}'`,
    );
    expect(executionConsoleUrl(alert.executionArn)).toBe(
      `https://${REGION}.console.aws.amazon.com/states/home?region=${REGION}#/v2/executions/details/${alert.executionArn}`,
    );
  });

  test('a long batch name still gives a subject within the SNS limit of 100 characters', () => {
    expect(
      alertSubject({ batch: 'b'.repeat(40), outcome: 'execution_timed_out_with_a_very_long_outcome_name' }).length,
    ).toBeLessThanOrEqual(100);
  });
});
