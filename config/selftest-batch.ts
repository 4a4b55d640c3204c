import type { BatchConfig } from './batch-config';

/**
 * The canary batch of `batch-runner selftest`: deployed only when the app is asked
 * (`npx cdk deploy --all -c batchRunner:selftest=true`, infra/context-settings.ts), never by default.
 * A small public image whose command sleeps, exits or ignores SIGTERM as the execution input tells it
 * through three environment overrides, which only this batch allows.
 */
export const SELFTEST_ENV = {
  /** Seconds the container sleeps before it exits (default 1). */
  sleepSeconds: 'SELFTEST_SLEEP_SECONDS',
  /** The container's exit code (default 0). */
  exitCode: 'SELFTEST_EXIT_CODE',
  /** `true`: SIGTERM is ignored (`trap '' TERM`), so only SIGKILL after the stop grace ends it. */
  ignoreSigterm: 'SELFTEST_IGNORE_SIGTERM',
} as const;

/**
 * The canary's command (busybox sh). `sleep & wait` lets a SIGTERM trap run at once; with
 * SELFTEST_IGNORE_SIGTERM=true the trap is `''` and the shell ignores SIGTERM.
 */
export const SELFTEST_CANARY_SCRIPT = [
  `trap 'echo "selftest canary: SIGTERM, exiting 143"; exit 143' TERM`,
  `if [ "\${${SELFTEST_ENV.ignoreSigterm}:-false}" = true ]; then trap '' TERM; echo "selftest canary: ignoring SIGTERM"; fi`,
  `echo "selftest canary: sleeping \${${SELFTEST_ENV.sleepSeconds}:-1} s, then exit \${${SELFTEST_ENV.exitCode}:-0}"`,
  `sleep "\${${SELFTEST_ENV.sleepSeconds}:-1}" & wait $!`,
  `exit "\${${SELFTEST_ENV.exitCode}:-0}"`,
].join('; ');

export const SELFTEST_BATCH: BatchConfig = {
  name: 'selftest-canary',
  description:
    'The canary of batch-runner selftest: sleeps, exits or ignores SIGTERM as its input says. Deployed only with -c batchRunner:selftest=true; its schedule stays disabled.',
  // Never fires on its own: the schedule is created disabled (infra/batch-runner-app.ts); selftest
  // starts the canary through a one-off at() schedule of its own.
  schedule: { cron: '0 0 1 1 ? *', timeZone: 'UTC', expectedIntervalHours: 24 },
  // Short enough for selftest's hard-timeout check (Fargate needs ~30-60 s to start a task; the
  // deadline counts from RunTask), long enough for a task to be running when it is stopped.
  hardTimeoutSeconds: 90,
  stopGraceSeconds: 10,
  overlapPolicy: 'skip',
  skipNotification: 'notice',
  containerName: 'canary',
  overrides: { environment: [SELFTEST_ENV.sleepSeconds, SELFTEST_ENV.exitCode, SELFTEST_ENV.ignoreSigterm] },
  task: {
    kind: 'created',
    image: 'public.ecr.aws/docker/library/busybox:1.37',
    command: ['sh', '-c', SELFTEST_CANARY_SCRIPT],
    cpu: 256,
    memoryMiB: 512,
  },
  // The same behaviour as a child process (`batch-runner selftest --local`).
  local: { command: ['node', 'examples/selftest-canary.js'], hardTimeoutSeconds: 5, stopGraceSeconds: 1 },
};
