#!/usr/bin/env node
/**
 * Batch `xml-articles` (rake xml:articles): exports the newest articles of fixtures/articles.json as
 * an RSS 2.0 feed, articles.xml. ARTICLE_LIMIT (an allowed operator override) limits the count.
 */
const { renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { escapeXml, fixture, holdIfAsked, outputDir, step, stopOnSigterm } = require('./lib/workload');

stopOnSigterm('stopping; the previous feed stays in place');

async function main() {
  const limitText = process.env.ARTICLE_LIMIT;
  const limit = limitText === undefined ? Number.POSITIVE_INFINITY : Number(limitText);
  if (!Number.isInteger(limit) && limit !== Number.POSITIVE_INFINITY) {
    console.error(`ARTICLE_LIMIT=${limitText} is not a whole number`);
    process.exit(2);
  }
  const articles = fixture('articles.json')
    .sort((a, b) => b.publishedAt.localeCompare(a.publishedAt))
    .slice(0, limit);
  console.log(`exporting ${articles.length} articles${limitText ? ` (ARTICLE_LIMIT=${limitText})` : ''}`);
  const items = [];
  for (const a of articles) {
    await step();
    items.push(
      [
        '    <item>',
        `      <title>${escapeXml(a.title)}</title>`,
        `      <link>${escapeXml(a.url)}</link>`,
        `      <guid isPermaLink="false">article-${a.id}</guid>`,
        `      <pubDate>${new Date(a.publishedAt).toUTCString()}</pubDate>`,
        `      <description>${escapeXml(a.summary)}</description>`,
        '    </item>',
      ].join('\n'),
    );
    console.log(`  article ${a.id}: ${a.title}`);
  }
  await holdIfAsked();
  const xml = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<rss version="2.0">',
    '  <channel>',
    '    <title>news.example.com articles</title>',
    '    <link>https://news.example.com/articles</link>',
    '    <description>Newest articles</description>',
    ...items,
    '  </channel>',
    '</rss>',
    '',
  ].join('\n');
  const target = join(outputDir(), 'articles.xml');
  writeFileSync(`${target}.tmp`, xml);
  renameSync(`${target}.tmp`, target);
  console.log(`wrote ${items.length} items to ${target}`);
}

main().catch((err) => {
  console.error(`xml export failed: ${err.stack || err}`);
  process.exit(1);
});
