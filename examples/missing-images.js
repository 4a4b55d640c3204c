#!/usr/bin/env node
/**
 * Batch `missing-images` (rake missing_images:check_articles): checks that every image an article of
 * fixtures/articles.json refers to exists under fixtures/images (IMAGES_DIR to check elsewhere).
 * Exits 1 when images are missing - the fixture has two missing on purpose, so this batch shows the
 * failure alert - unless DRY_RUN (an allowed operator override) is "1" or "true": then it only reports.
 */
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { EXAMPLES_DIR, fixture, holdIfAsked, step, stopOnSigterm } = require('./lib/workload');

stopOnSigterm('stopping the image check');

async function main() {
  const imagesDir = process.env.IMAGES_DIR || join(EXAMPLES_DIR, 'fixtures', 'images');
  const dryRun = /^(1|true)$/i.test(process.env.DRY_RUN ?? '');
  const articles = fixture('articles.json');
  const missing = [];
  let checked = 0;
  for (const article of articles) {
    await step();
    for (const image of article.images) {
      checked += 1;
      if (!existsSync(join(imagesDir, image))) {
        missing.push({ article: article.id, image });
        console.log(`  article ${article.id}: missing ${image}`);
      }
    }
  }
  await holdIfAsked();
  console.log(`${checked} images checked in ${articles.length} articles, ${missing.length} missing`);
  if (missing.length > 0 && !dryRun) {
    console.error(`error: ${missing.length} images are missing (set DRY_RUN=1 to report without failing)`);
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(`image check failed: ${err.stack || err}`);
  process.exit(1);
});
