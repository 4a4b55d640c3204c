import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What README.md's "Outcomes" table promises a user about a FAILED run: for each `BatchRunner.*` error
 * (the Fail state's Error), the outcome its alert subject, its `outcome` message attribute (what SNS
 * subscription filters match) and its "Batch Run Failed" event carry. Read from the README itself, so
 * the definition is held to the documented contract, not to a copy of it in a test.
 */
export function documentedOutcomeOfErrors(readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8')) {
  const section = readme.split(/^### Outcomes$/m)[1]?.split(/^#{1,3} /m)[0];
  if (section === undefined) throw new Error('README.md has no "### Outcomes" section');
  const outcomeOf = new Map<string, string>();
  for (const row of section.split('\n').filter((line) => line.startsWith('| `'))) {
    const [outcomeCell, , errorCell] = row.split('|').slice(1);
    const outcome = /`([a-z_]+)`/.exec(outcomeCell)?.[1];
    for (const [error] of errorCell.matchAll(/BatchRunner\.\w+/g)) {
      const earlier = outcomeOf.get(error);
      if (outcome === undefined || (earlier !== undefined && earlier !== outcome))
        throw new Error(`README.md's Outcomes table gives ${error} no single outcome: "${row}"`);
      outcomeOf.set(error, outcome);
    }
  }
  return outcomeOf;
}

const OUTCOME_OF_ERROR = documentedOutcomeOfErrors();

/**
 * The problems with what one FAILED run told its users, compared with the README: each alert it
 * published (severity `alert`) and each "Batch Run Failed" event must name the documented outcome of
 * its error. Empty when the run kept the contract (or did not fail with a `BatchRunner.*` error).
 */
export function outcomeContractProblems(
  run: { status: string; error?: string },
  alerts: ReadonlyArray<Record<string, any>>,
  busEvents: ReadonlyArray<Record<string, any>>,
): string[] {
  if (run.status !== 'FAILED' || !run.error?.startsWith('BatchRunner.')) return [];
  const expected = OUTCOME_OF_ERROR.get(run.error);
  if (expected === undefined) return [`the error ${run.error} is not in README.md's Outcomes table`];
  const problems: string[] = [];
  for (const alert of alerts.filter((a) => a.MessageAttributes?.severity?.StringValue === 'alert')) {
    const said = alert.MessageAttributes?.outcome?.StringValue;
    if (said !== expected || !String(alert.Subject).endsWith(` ${expected}`))
      problems.push(`its alert "${alert.Subject}" (outcome attribute ${said}) does not say ${expected}`);
  }
  for (const event of busEvents.filter((e) => e.DetailType === 'Batch Run Failed')) {
    const said = JSON.parse(JSON.stringify(event.Detail)).outcome;
    if (said !== expected) problems.push(`its "Batch Run Failed" event says outcome ${said}, not ${expected}`);
  }
  return problems.map((p) => `A run that failed with ${run.error}: ${p} (README.md, "Outcomes").`);
}
