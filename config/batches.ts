import type { BatchConfig } from './batch-config';

/**
 * The batches this repository deploys (`npx cdk deploy`) and runs locally (`npm start`): the three
 * nightly batches of MISSION.md, at 06:00, 07:00 and 08:00 Japan time. Edit this list to add a batch
 * (README: "Add a batch"); `validateBatchConfigs` checks it at synth time and on every CLI start.
 */
export const BATCHES: readonly BatchConfig[] = [
  {
    name: 'sitemap-refresh',
    description: 'Regenerates the sitemap (rake sitemap:refresh).',
    schedule: { cron: '0 6 * * ? *', timeZone: 'Asia/Tokyo' },
    hardTimeoutSeconds: 30 * 60,
    stopGraceSeconds: 30,
    overlapPolicy: 'skip',
    containerName: 'app',
    task: {
      kind: 'created',
      image: 'public.ecr.aws/docker/library/ruby:3.3-slim',
      command: ['bundle', 'exec', 'rake', 'sitemap:refresh'],
    },
    local: { command: ['node', 'examples/sitemap-refresh.js'], hardTimeoutSeconds: 20, stopGraceSeconds: 2 },
  },
  {
    name: 'xml-articles',
    description: 'Exports the article XML feed (rake xml:articles).',
    schedule: { cron: '0 7 * * ? *', timeZone: 'Asia/Tokyo' },
    hardTimeoutSeconds: 60 * 60,
    stopGraceSeconds: 60,
    overlapPolicy: 'wait',
    maxLockWaitMinutes: 15,
    containerName: 'app',
    overrides: { environment: ['ARTICLE_LIMIT'] },
    task: {
      kind: 'created',
      image: 'public.ecr.aws/docker/library/ruby:3.3-slim',
      command: ['bundle', 'exec', 'rake', 'xml:articles'],
    },
    local: { command: ['node', 'examples/xml-articles.js'], hardTimeoutSeconds: 20, stopGraceSeconds: 2 },
  },
  {
    name: 'missing-images',
    description:
      'Checks articles for missing images (rake missing_images:check_articles); the batch that once hung for 15 hours.',
    schedule: { cron: '0 8 * * ? *', timeZone: 'Asia/Tokyo' },
    hardTimeoutSeconds: 2 * 60 * 60,
    stopGraceSeconds: 30,
    overlapPolicy: 'skip',
    skipNotification: 'alert',
    containerName: 'app',
    overrides: { environment: ['DRY_RUN'] },
    task: {
      kind: 'created',
      image: 'public.ecr.aws/docker/library/ruby:3.3-slim',
      command: ['bundle', 'exec', 'rake', 'missing_images:check_articles'],
    },
    local: { command: ['node', 'examples/missing-images.js'], hardTimeoutSeconds: 6, stopGraceSeconds: 2 },
  },
];
