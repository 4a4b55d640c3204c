import type { BatchConfig } from '../config/batch-config';
import { BATCHES } from '../config/batches';

/**
 * Batches that exist only in the local mode, to show the hard timeout and retries: they are never deployed
 * (`config/batches.ts` is what the CDK app deploys). Their local timeouts are short so that the demo
 * and the tests see the runner stop them within seconds.
 */
export const DEMO_BATCHES: readonly BatchConfig[] = [
  {
    name: 'runaway-report',
    description: 'Demo: hangs like the 15-hour missing_images run; exits on SIGTERM.',
    schedule: { cron: '0 9 * * ? *', timeZone: 'Asia/Tokyo' },
    hardTimeoutSeconds: 3600,
    stopGraceSeconds: 30,
    containerName: 'app',
    task: { kind: 'created', image: 'public.ecr.aws/docker/library/node:22-slim', command: ['node', 'runaway.js'] },
    local: { command: ['node', 'examples/runaway.js'], hardTimeoutSeconds: 5, stopGraceSeconds: 2 },
  },
  {
    name: 'stubborn-export',
    description: 'Demo: hangs and ignores SIGTERM; only SIGKILL after the stop grace ends it.',
    schedule: { cron: '0 10 * * ? *', timeZone: 'Asia/Tokyo' },
    hardTimeoutSeconds: 3600,
    stopGraceSeconds: 30,
    containerName: 'app',
    task: { kind: 'created', image: 'public.ecr.aws/docker/library/node:22-slim', command: ['node', 'stubborn.js'] },
    local: { command: ['node', 'examples/stubborn.js'], hardTimeoutSeconds: 5, stopGraceSeconds: 2 },
  },
  {
    name: 'flaky-import',
    description:
      'Demo: runs on Fargate Spot; interrupted once, it falls back to on-demand Fargate, where its feed is not ready (exit 75); retried by failure reason.',
    schedule: { cron: '0 11 * * ? *', timeZone: 'Asia/Tokyo' },
    hardTimeoutSeconds: 3600,
    stopGraceSeconds: 30,
    containerName: 'app',
    capacity: { spot: { fallbackAfter: 1 } },
    retry: { attempts: 2, backoffSeconds: 1, on: { exitCodes: [75], stopCodes: ['SpotInterruption'] } },
    task: {
      kind: 'created',
      image: 'public.ecr.aws/docker/library/node:22-slim',
      command: ['node', 'flaky-import.js'],
    },
    local: { command: ['node', 'examples/flaky-import.js'], hardTimeoutSeconds: 20, stopGraceSeconds: 2 },
  },
];

/** What `--local` and the demo can run: the deployed batches plus the demo-only ones. */
export const LOCAL_BATCHES: readonly BatchConfig[] = [...BATCHES, ...DEMO_BATCHES];
