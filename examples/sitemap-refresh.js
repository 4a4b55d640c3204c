#!/usr/bin/env node
/**
 * Batch `sitemap-refresh` (rake sitemap:refresh): writes sitemap.xml from the page list in
 * fixtures/pages.json. Exit 0 on success. Writes to a temporary file and renames it, so a run stopped
 * half-way never leaves a truncated sitemap.
 */
const { renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const {
  describeRunContext,
  escapeXml,
  fixture,
  holdIfAsked,
  outputDir,
  step,
  stopOnSigterm,
} = require('./lib/workload');

stopOnSigterm('stopping; the previous sitemap stays in place');

async function main() {
  const { baseUrl, pages } = fixture('pages.json');
  console.log(`refreshing the sitemap: ${pages.length} pages of ${baseUrl}`);
  console.log(describeRunContext());
  const entries = [];
  for (const page of pages) {
    await step();
    entries.push(
      [
        '  <url>',
        `    <loc>${escapeXml(baseUrl + page.path)}</loc>`,
        `    <lastmod>${page.updatedAt}</lastmod>`,
        `    <changefreq>${page.changefreq}</changefreq>`,
        `    <priority>${page.priority.toFixed(1)}</priority>`,
        '  </url>',
      ].join('\n'),
    );
    if (entries.length % 4 === 0) console.log(`  ${entries.length}/${pages.length} pages`);
  }
  await holdIfAsked();
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n${entries.join('\n')}\n</urlset>\n`;
  const target = join(outputDir(), 'sitemap.xml');
  writeFileSync(`${target}.tmp`, xml);
  renameSync(`${target}.tmp`, target);
  console.log(`wrote ${entries.length} URLs to ${target}`);
}

main().catch((err) => {
  console.error(`sitemap refresh failed: ${err.stack || err}`);
  process.exit(1);
});
