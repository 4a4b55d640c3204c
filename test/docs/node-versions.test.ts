import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../local/state-dir';

/**
 * The README's "Node versions" sentence against the installed dependency tree: on every version it
 * names as clean, every installed package's `engines.node` is satisfied (so `npm ci` prints no
 * EBADENGINE warning), `package.json` declares the same, and the version it says warns really does.
 */
const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
const named = /Node versions: \*\*(\d+)\*\* \((\d+)\.(\d+) or later\) and \*\*(\d+)\*\*/.exec(README);
const warned = /Node (\d+) \((\d+)\.(\d+) or later\) also builds, tests and runs everything/.exec(README);

type Version = readonly [number, number, number];
const show = (v: Version) => v.join('.');

/** `engines.node` of every package installed under node_modules (nested ones too). */
function installedEngines(): Array<{ pkg: string; range: string }> {
  const found: Array<{ pkg: string; range: string }> = [];
  const visit = (modules: string) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('.')) continue;
      const dirs = entry.startsWith('@')
        ? readdirSync(join(modules, entry)).map((e) => join(modules, entry, e))
        : [join(modules, entry)];
      for (const dir of dirs) {
        const file = join(dir, 'package.json');
        if (!existsSync(file)) continue;
        const pkg = JSON.parse(readFileSync(file, 'utf8'));
        const range = typeof pkg.engines === 'object' ? pkg.engines?.node : undefined;
        if (typeof range === 'string') found.push({ pkg: `${pkg.name}@${pkg.version}`, range });
        visit(join(dir, 'node_modules'));
      }
    }
  };
  visit(join(REPO_ROOT, 'node_modules'));
  return found;
}

const COMPARATOR = /^(>=|<=|>|<|\^|~|=)?\s*v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?$/;

/** npm's range semantics for the forms package.json engines use (`||`, `>=`, `^`, `~`, `x` ranges). */
function satisfies(version: Version, range: string): boolean {
  const cmp = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
  return range.split('||').some((alternative) => {
    const text = alternative.trim();
    if (text === '' || text === '*' || text === 'x') return true;
    if (/\s-\s/.test(text)) throw new Error(`hyphen range "${range}" is not understood by this test: extend it`);
    // ">= 18.0.0" (a space after the operator) is one comparator.
    const parts = text.replace(/(>=|<=|>|<|\^|~|=)\s+/g, '$1').split(/\s+/);
    return parts.every((part) => {
      const m = COMPARATOR.exec(part);
      if (!m) throw new Error(`range "${range}" is not understood by this test: extend it`);
      const num = (s: string | undefined) => (s === undefined || /[xX*]/.test(s) ? undefined : Number(s));
      const [major, minor, patch] = [num(m[2]), num(m[3]), num(m[4])];
      if (major === undefined) return true;
      const low: Version = [major, minor ?? 0, patch ?? 0];
      // The first version past a partial one: 20 -> 21.0.0, 20.9 -> 20.10.0.
      const pastPartial: Version =
        minor === undefined ? [major + 1, 0, 0] : patch === undefined ? [major, minor + 1, 0] : low;
      switch (m[1]) {
        case '>=':
          return cmp(version, low) >= 0;
        case '>':
          return patch === undefined ? cmp(version, pastPartial) >= 0 : cmp(version, low) > 0;
        case '<':
          return cmp(version, low) < 0;
        case '<=':
          return patch === undefined ? cmp(version, pastPartial) < 0 : cmp(version, low) <= 0;
        case '^': {
          const high: Version =
            major > 0 ? [major + 1, 0, 0] : minor !== undefined && minor > 0 ? [0, minor + 1, 0] : pastPartial;
          return cmp(version, low) >= 0 && cmp(version, high) < 0;
        }
        case '~':
          return (
            cmp(version, low) >= 0 && cmp(version, minor === undefined ? [major + 1, 0, 0] : [major, minor + 1, 0]) < 0
          );
        default:
          return patch === undefined
            ? cmp(version, low) >= 0 && cmp(version, pastPartial) < 0
            : cmp(version, low) === 0;
      }
    });
  });
}

describe('Node versions the README names', () => {
  test('the README has its "Node versions" sentence', () => {
    expect(named).not.toBeNull();
    expect(warned).not.toBeNull();
    expect(named![1]).toBe(named![2]);
  });

  const [, line, major, minor, other] = named ?? [];
  // The first and a late release of each line the README names.
  const clean: Version[] = [
    [Number(major), Number(minor), 0],
    [Number(line), 99, 0],
    [Number(other), 0, 0],
    [Number(other), 99, 0],
  ];

  test('every installed package accepts them: npm ci prints no engine warning', () => {
    const engines = installedEngines();
    expect(engines.length).toBeGreaterThan(100);
    expect(engines.map((e) => e.pkg)).toContain('aws-local-stepfunctions@3.0.0');
    const refusing = clean.flatMap((v) =>
      engines.filter((e) => !satisfies(v, e.range)).map((e) => `Node ${show(v)}: ${e.pkg} wants "${e.range}"`),
    );
    expect(refusing).toEqual([]);
  });

  test('package.json engines says the same: those versions, not the one before', () => {
    const range = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).engines.node;
    for (const v of clean) expect([show(v), satisfies(v, range)]).toEqual([show(v), true]);
    expect(satisfies([Number(major), Number(minor) - 1, 0], range)).toBe(false);
  });

  test('the version the README says warns does warn, for the one package it names (if that changes, so must the README)', () => {
    const old: Version = [Number(warned![2]), Number(warned![3]), 0];
    const refusing = installedEngines().filter((e) => !satisfies(old, e.range));
    expect(refusing.map((e) => e.pkg)).toEqual(['aws-local-stepfunctions@3.0.0']);
  });

  test.each([
    ['>=20.0.0', [20, 0, 0], true],
    ['>= 18.0.0', [17, 9, 9], false],
    ['^20.19.0 || ^22.13.0 || >=24', [22, 12, 0], false],
    ['^20.19.0 || ^22.13.0 || >=24', [22, 13, 0], true],
    ['^20.19.0 || ^22.13.0 || >=24', [23, 0, 0], false],
    ['18 || 20 || >=22', [21, 0, 0], false],
    ['20 || >=22', [20, 5, 1], true],
    ['6.* || 8.* || >= 10.*', [9, 0, 0], false],
    ['^12.22.0 || ^14.17.0 || >=16.0.0', [24, 0, 0], true],
    ['*', [0, 1, 0], true],
  ] as const)('the range check reads npm ranges: "%s" with %j is %s', (range, version, expected) => {
    expect(satisfies(version, range)).toBe(expected);
  });
});
