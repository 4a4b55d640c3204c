#!/usr/bin/env node
/**
 * Demo batch `runaway-report`: hangs the way the 15-hour missing_images run did (a request that never
 * answers), printing a heartbeat. It stops cleanly on SIGTERM (exit 143), so the hard timeout's
 * StopTask ends it within the stop grace.
 */
const { stopOnSigterm } = require('./lib/workload');

stopOnSigterm('giving up on the report and exiting');
console.log('building the report: waiting for images.example.com to answer...');
const started = Date.now();
setInterval(() => console.log(`  still waiting (${Math.round((Date.now() - started) / 1000)} s)`), 1000);
