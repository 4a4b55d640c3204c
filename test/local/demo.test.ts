import { join } from 'node:path';
import { EXIT } from '../../cli/exit-codes';
import { runCli } from '../../cli/program';
import { readAlerts } from '../../local/local-sns';
import { cleanUpStateDir, tempStateDir } from './support';

/** `npm start` runs `batch-runner demo`: the four runs of the README, each ending as it must. */
test('demo: normal run, skipped overlap, hard-timeout kill and failure alert, with a timeline and a summary', async () => {
  const dir = tempStateDir('demo');
  const out: string[] = [];
  try {
    const code = await runCli(['--state-dir', dir, 'demo'], {
      output: { out: (t) => out.push(t), err: (t) => out.push(t) },
    });
    const text = out.join('\n');

    expect(code).toBe(EXIT.SUCCESS);
    expect(text).toMatch(/#1 sitemap-refresh\s+=> SUCCEEDED: The batch container exited with code 0\./);
    expect(text).toMatch(
      /#2 sitemap-refresh\s+=> SKIPPED: Another run holds the lock: execution demo1-sitemap-refresh-/,
    );
    expect(text).toMatch(/#3 stubborn-export\s+StopTask sent SIGTERM; SIGKILL follows after the 2 s stop grace/);
    expect(text).toMatch(/\[stubborn-export\]\s+SIGTERM received - ignoring it/);
    expect(text).toMatch(/#3 stubborn-export\s+task stopped: exit code 137 \(killed with SIGKILL/);
    const table = text.slice(text.indexOf('  RUN  BATCH'));
    // The scheduled run's slot reaches the task as BATCH_RUNNER_SCHEDULED_TIME (a whole minute, UTC).
    expect(text).toMatch(
      /\[sitemap-refresh\]\s+run context: scheduled time \d{4}-\d\d-\d\dT\d\d:\d\d:00Z, trigger schedule, attempt 1/,
    );
    expect(table).toMatch(
      /#1\s+sitemap-refresh\s+scheduled run \(its slot time reaches the task\)\s+succeeded\s+succeeded\s+0\s+\S+\s+-/,
    );
    expect(table).toMatch(
      /#2\s+sitemap-refresh\s+overlapping start while #1 runs\s+skipped\s+skipped\s+-\s+\S+\s+notice/,
    );
    expect(table).toMatch(
      /#3\s+stubborn-export\s+runaway that ignores SIGTERM\s+timed_out\s+timed_out\s+137\s+\S+\s+alert/,
    );
    expect(table).toMatch(
      /#4\s+missing-images\s+failing batch \(2 images missing\)\s+failed\s+failed\s+1\s+\S+\s+alert/,
    );
    // #5: one retry by stop code (infrastructure, not counted), one by exit code, then success; the same
    // slot on every attempt.
    expect(text).toMatch(/#5 flaky-import\s+task stopped: exit code 143 \(SpotInterruption\)/);
    expect(text).toMatch(/#5 flaky-import\s+CountInfrastructureRetry: /);
    expect(text).toMatch(/#5 flaky-import\s+task stopped: exit code 75 \(EssentialContainerExited\)/);
    expect(text).toMatch(/#5 flaky-import\s+CountBatchRetry: /);
    // Fargate Spot first; after the interruption (capacity.spot.fallbackAfter 1), on-demand Fargate.
    expect([...text.matchAll(/#5 flaky-import\s+(StartBatchTask\w*): /g)].map((m) => m[1])).toEqual([
      'StartBatchTaskOnSpot',
      'StartBatchTask',
      'StartBatchTask',
    ]);
    const slots = [
      ...text.matchAll(/\[flaky-import\]\s+run context: scheduled time (\S+), trigger schedule, attempt (\d)/g),
    ];
    expect(slots.map((m) => m[2])).toEqual(['1', '2', '3']);
    expect(new Set(slots.map((m) => m[1])).size).toBe(1);
    expect(table).toMatch(
      /#5\s+flaky-import\s+retried: Spot interruption \(then on-demand\), exit 75\s+succeeded\s+succeeded\s+0\s+\S+\s+-/,
    );
    expect(text).toContain('Subject: [batch-runner] missing-images failed');
    expect(text).toContain('After the demo: no lock held, no task running; 3 messages in');
    const alerts = readAlerts(join(dir, 'demo', 'alerts.jsonl'));
    expect(alerts.map((a) => `${a.attributes.batch}:${a.attributes.outcome}:${a.attributes.severity}`)).toEqual([
      'sitemap-refresh:skipped:notice',
      'stubborn-export:timed_out:alert',
      'missing-images:failed:alert',
    ]);
  } finally {
    await cleanUpStateDir(dir);
  }
}, 60000);

test('demo --json: the story on stderr, the five runs as one JSON value on stdout', async () => {
  const dir = tempStateDir('demo-json');
  const out: string[] = [];
  const err: string[] = [];
  try {
    const code = await runCli(['--state-dir', dir, 'demo', '--json'], {
      output: { out: (t) => out.push(t), err: (t) => err.push(t) },
    });

    expect(code).toBe(EXIT.SUCCESS);
    expect(out).toHaveLength(1);
    const result = JSON.parse(out[0]);
    expect(result.runs.map((r: { run: string; outcome: string }) => `${r.run} ${r.outcome}`)).toEqual([
      '#1 succeeded',
      '#2 skipped',
      '#3 timed_out',
      '#4 failed',
      '#5 succeeded',
    ]);
    expect(result.runs[4]).toMatchObject({ batch: 'flaky-import', outcome: 'succeeded' });
    expect(result.runs[3]).toMatchObject({
      batch: 'missing-images',
      expected: 'failed',
      exitCode: 1,
      published: 'alert',
    });
    expect(result.problems).toEqual([]);
    expect(err.join('\n')).toMatch(/#1 sitemap-refresh\s+=> SUCCEEDED/);
  } finally {
    await cleanUpStateDir(dir);
  }
}, 60000);
