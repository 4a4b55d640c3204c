import { EXIT } from '../../cli/exit-codes';
import { runCli } from '../../cli/program';
import { nextRunTime } from '../../cli/schedule-time';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { ExecutionRegistry } from '../../local/execution-registry';
import { readBusEvents } from '../../local/local-events';
import { RUN_EVENT_DETAIL_SCHEMAS } from '../../state-machines/run-events';
import { alertsIn, cleanUpStateDir, tempStateDir } from './support';

/** backfill and run --for in the local mode: the real ASL, the slot claims in the shared dynalite, tasks as child processes. */
async function cliIn(dir: string, argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['--state-dir', dir, ...argv], {
    output: { out: (t) => out.push(t), err: (t) => err.push(t) },
    user: 'oncall@test',
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

const minute = (d: Date) => `${d.toISOString().slice(0, 16)}Z`;

describe('backfill in the local mode', () => {
  const dir = tempStateDir('backfill');
  const previousStep = process.env.EXAMPLE_STEP_MS;
  beforeAll(() => {
    process.env.EXAMPLE_STEP_MS = '5';
  });
  afterAll(async () => {
    if (previousStep === undefined) delete process.env.EXAMPLE_STEP_MS;
    else process.env.EXAMPLE_STEP_MS = previousStep;
    await cleanUpStateDir(dir);
  });

  // Three daily slots of sitemap-refresh (06:00 Asia/Tokyo) that have passed.
  const to = new Date();
  const from = new Date(to.getTime() - 3 * 86_400_000 + 60_000);
  const range = ['--from', minute(from), '--to', minute(to)];
  const slots = [0, 1, 2].reduce<Date[]>(
    (acc) => [...acc, nextRunTime('0 6 * * ? *', 'Asia/Tokyo', acc.at(-1) ?? new Date(from.getTime() - 1))!],
    [],
  );

  test('runs each slot once, oldest first, each as run --for; a second backfill finds them all run and starts nothing', async () => {
    const first = await cliIn(dir, ['backfill', 'sitemap-refresh', ...range, '--local', '--json']);

    expect(first.code).toBe(EXIT.SUCCESS);
    const result = JSON.parse(first.stdout);
    expect(result.summary).toEqual({ slots: 3, succeeded: 3, alreadyRun: 0, wouldRun: 0, notRun: 0 });
    expect(result.slots.map((s: any) => s.scheduledTime)).toEqual(slots.map((s) => `${s.toISOString().slice(0, 19)}Z`));
    const runs = new ExecutionRegistry(dir).list('sitemap-refresh');
    expect(runs).toHaveLength(3);
    for (const run of runs) {
      expect(run.status).toBe('SUCCEEDED');
      expect(run.statesEntered).toEqual(
        expect.arrayContaining(['DoesRunStandForSlot', 'ClaimScheduledSlot', 'ReleaseLock']),
      );
    }
    // One after another: each run started after the previous one ended.
    const byStart = [...runs].sort((a, b) => Date.parse(a.startDate) - Date.parse(b.startDate));
    for (let i = 1; i < byStart.length; i++)
      expect(Date.parse(byStart[i].startDate)).toBeGreaterThanOrEqual(Date.parse(byStart[i - 1].stopDate!));

    // The lifecycle events of the three runs, on the local bus (events.jsonl), each valid by its schema.
    const ajv = new Ajv2020();
    const events = readBusEvents(join(dir, 'events.jsonl'));
    expect(events.map((e) => `${e.detailType}:${e.detail.run.scheduledTime}`)).toEqual(
      result.slots.flatMap((s: any) => [
        `Batch Run Started:${s.scheduledTime}`,
        `Batch Run Succeeded:${s.scheduledTime}`,
      ]),
    );
    for (const e of events) {
      expect(e.source).toBe('batch-runner');
      expect(ajv.validate(RUN_EVENT_DETAIL_SCHEMAS[e.detailType as 'Batch Run Started'], e.detail)).toBe(true);
    }

    const again = await cliIn(dir, ['backfill', 'sitemap-refresh', ...range, '--local']);
    expect(again.code).toBe(EXIT.SUCCESS);
    expect(again.stdout).toBe('backfill of sitemap-refresh: 3 slots: 0 succeeded, 3 already run, 0 not run');
    expect(new ExecutionRegistry(dir).list('sitemap-refresh')).toHaveLength(3);
  });

  test('run --for a slot the backfill ran is skipped with a notice naming the slot (exit 4)', async () => {
    const slot = `${slots[1].toISOString().slice(0, 19)}Z`;
    const r = await cliIn(dir, ['run', 'sitemap-refresh', '--for', slot, '--local']);

    expect(r.code).toBe(EXIT.SKIPPED);
    expect(r.stdout).toContain(`The slot ${slot} this run stands for has already been claimed`);
    expect(alertsIn(dir).at(-1)).toMatchObject({ subject: '[batch-runner] sitemap-refresh skipped (cli)' });
    expect(readBusEvents(join(dir, 'events.jsonl')).at(-1)).toMatchObject({
      detailType: 'Batch Run Skipped',
      detail: { batch: 'sitemap-refresh', details: { duplicateSlot: slot }, run: { scheduledTime: slot } },
    });
  });
});
