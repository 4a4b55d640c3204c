#!/usr/bin/env node
/**
 * Demo batch `stubborn-export`: hangs and ignores SIGTERM (a worker stuck in a blocking call that
 * never checks for shutdown). Only SIGKILL at the end of the stop grace ends it (exit 137).
 */
process.on('SIGTERM', () => console.log('SIGTERM received - ignoring it, the export is "almost done"'));
console.log('exporting: waiting for a lock held by another system...');
const started = Date.now();
setInterval(() => console.log(`  still exporting (${Math.round((Date.now() - started) / 1000)} s)`), 1000);
