import type { LocalRuntimeEvent } from '../../local/local-runtime';
import { cleanUpStateDir, memoryRuntime, tempStateDir } from './support';

/**
 * A run's story is told in the order it happened: every line the task printed, then "task stopped",
 * then the states after the stop (ReleaseLock, ...). The runner used to learn of the stop from one
 * poller and tail the output with another, so ReleaseLock could come before the last lines, or the
 * last lines could be lost when the run ended first.
 */
describe('local run output order', () => {
  const dir = tempStateDir('order');
  afterAll(() => cleanUpStateDir(dir));

  test('the task output and its stop come before the states that follow the stop, in every run', async () => {
    const { runtime, events } = await memoryRuntime(dir);
    try {
      for (let i = 0; i < 6; i++) {
        events.length = 0;
        const r = await runtime.start('sitemap-refresh', { trigger: 'cli', reason: `order ${i}` });
        // Status with error and cause, so that a failure says why.
        expect([r.status, r.error, r.cause]).toEqual(['SUCCEEDED', undefined, undefined]);
        // The runtime reports some events a tick late; let them arrive.
        await new Promise((resolve) => setTimeout(resolve, 50));
        const story = events.map(describeEvent).filter((e): e is string => e !== undefined);
        const lastOutput = story.lastIndexOf('output: wrote 12 URLs');
        expect(lastOutput).toBeGreaterThan(-1);
        expect(story.indexOf('task-stopped')).toBeGreaterThan(lastOutput);
        expect(story.indexOf('state: ReleaseLock')).toBeGreaterThan(story.indexOf('task-stopped'));
      }
    } finally {
      await runtime.close();
    }
  }, 60000);
});

function describeEvent(e: LocalRuntimeEvent): string | undefined {
  if (e.type === 'task-output') return `output: ${e.line.replace(/ to .*$/, '')}`;
  if (e.type === 'task-stopped') return 'task-stopped';
  if (e.type === 'state-entered') return `state: ${e.state}`;
  return undefined;
}
