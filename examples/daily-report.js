#!/usr/bin/env node
/**
 * Batch `daily-report` (README, "Add a batch"): counts the articles of fixtures/articles.json
 * per day and writes daily-report.json. DRY_RUN=true (an allowed operator override) prints the report
 * without writing it. Exit 0 on success.
 */
const { renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { fixture, holdIfAsked, outputDir, step, stopOnSigterm } = require('./lib/workload');

stopOnSigterm('stopping; the previous report stays in place');

async function main() {
  const articles = fixture('articles.json');
  console.log(`building the daily report from ${articles.length} articles`);
  const perDay = {};
  for (const a of articles) {
    await step();
    const day = a.publishedAt.slice(0, 10);
    perDay[day] = (perDay[day] ?? 0) + 1;
  }
  await holdIfAsked();
  const report = { generatedAt: new Date().toISOString(), articlesPerDay: perDay };
  if (process.env.DRY_RUN === 'true') {
    console.log(`dry run: ${JSON.stringify(report)}`);
    return;
  }
  const target = join(outputDir(), 'daily-report.json');
  writeFileSync(`${target}.tmp`, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(`${target}.tmp`, target);
  console.log(`wrote the report for ${Object.keys(perDay).length} days to ${target}`);
}

main().catch((err) => {
  console.error(`daily report failed: ${err.stack || err}`);
  process.exit(1);
});
