import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/** IAM service prefix of each AWS SDK v3 client package the handlers use. */
const SERVICE_OF_PACKAGE: Record<string, string> = {
  '@aws-sdk/client-dynamodb': 'dynamodb',
  '@aws-sdk/client-ecs': 'ecs',
  '@aws-sdk/client-scheduler': 'scheduler',
  '@aws-sdk/client-sfn': 'states',
  '@aws-sdk/client-sns': 'sns',
};

/** The project's own modules a handler's code can load at run time: relative imports that are not `import type`. */
export function reachableModules(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'(\.[^']+)';/gms)) {
      if (m[1]) continue; // erased at compile time
      const base = resolve(dirname(file), m[2]);
      const target = [`${base}.ts`, `${base}.js`, join(base, 'index.ts')].find((f) => existsSync(f));
      if (!target) throw new Error(`${relative(ROOT, file)}: cannot resolve ${m[2]}`);
      visit(target);
    }
  };
  visit(join(ROOT, entry));
  return [...seen].map((f) => relative(ROOT, f)).sort();
}

/**
 * Every SDK command a module constructs (`new XCommand(`), as `<service>:<Action>`, with the client
 * package it is imported from.
 */
export function commandsConstructedIn(file: string): string[] {
  const source = readFileSync(join(ROOT, file), 'utf8');
  const packageOf = new Map<string, string>();
  for (const m of source.matchAll(/^import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'(@aws-sdk\/client-[a-z0-9-]+)';/gm))
    for (const name of m[1].split(',').map((n) => n.trim().replace(/^type\s+/, '')))
      if (name) packageOf.set(name, m[2]);
  const out = new Set<string>();
  for (const m of source.matchAll(/\bnew\s+([A-Z][A-Za-z0-9]*Command)\s*\(/g)) {
    const pkg = packageOf.get(m[1]);
    if (!pkg) throw new Error(`${file}: ${m[1]} is not imported from an AWS SDK client package`);
    const service = SERVICE_OF_PACKAGE[pkg];
    if (!service) throw new Error(`${file}: ${pkg} has no IAM service prefix here; add it to SERVICE_OF_PACKAGE`);
    out.add(`${service}:${m[1].replace(/Command$/, '')}`);
  }
  return [...out].sort();
}

/** Every SDK command the code reachable from a handler entry constructs (an over-approximation of its calls). */
export function commandsReachableFrom(entry: string): string[] {
  return [...new Set(reachableModules(entry).flatMap(commandsConstructedIn))].sort();
}
