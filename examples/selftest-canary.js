#!/usr/bin/env node
/**
 * The local stand-in of the selftest canary (config/selftest-batch.ts): sleeps SELFTEST_SLEEP_SECONDS,
 * then exits with SELFTEST_EXIT_CODE; SIGTERM ends it with 143 unless SELFTEST_IGNORE_SIGTERM=true.
 */
const sleepSeconds = Number(process.env.SELFTEST_SLEEP_SECONDS ?? '1');
const exitCode = Number(process.env.SELFTEST_EXIT_CODE ?? '0');
const ignoreSigterm = process.env.SELFTEST_IGNORE_SIGTERM === 'true';
process.on('SIGTERM', () => {
  if (ignoreSigterm) {
    console.log('selftest canary: SIGTERM received, ignoring it');
    return;
  }
  console.log('selftest canary: SIGTERM, exiting 143');
  process.exit(143);
});
console.log(
  `selftest canary: sleeping ${sleepSeconds} s, then exit ${exitCode}${ignoreSigterm ? ' (ignoring SIGTERM)' : ''}`,
);
setTimeout(() => process.exit(exitCode), sleepSeconds * 1000);
