import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** One entry of package-lock.json's `packages` (lockfile v3). */
interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

export interface ConsumerManifest {
  readonly name: string;
  readonly dependencies: Record<string, string>;
  readonly devDependencies: Record<string, string>;
}

/** The package.json fields of the packed tarball that npm records in a lock entry. */
export interface PackedPackage {
  readonly name: string;
  readonly version: string;
  readonly license?: string;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly bin?: Record<string, string>;
  readonly engines?: Record<string, string>;
}

/** sha512 Subresource Integrity of a file, as npm writes it. */
export function integrityOf(file: string): string {
  return `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
}

/**
 * A package-lock.json for the consumer app, so that `npm ci --offline` installs it from the npm cache
 * that this repository's own `npm ci` filled, without the registry: the packed tarball as a `file:`
 * dependency, and every other package at exactly the version and place (hoisted or nested) this
 * repository's lockfile has it, taken from the closure of what the consumer needs (Node's resolution
 * rule over the lockfile's paths). npm installs the tarball itself: its `exports`, `files` and `bin`
 * are what users get.
 */
export function consumerLockfile(
  repoLock: { packages: Record<string, LockEntry> },
  consumer: ConsumerManifest,
  packed: PackedPackage,
  tarball: { readonly spec: string; readonly integrity: string },
): object {
  const source = repoLock.packages;
  const packages: Record<string, LockEntry> = {};
  const resolveFrom = (from: string, name: string): string | undefined => {
    // Node's rule: <from>/node_modules/<name>, then each parent folder's node_modules, then the top.
    let dir = from;
    for (;;) {
      const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
      if (source[candidate] || packages[candidate]) return candidate;
      if (!dir) return undefined;
      const up = dir.lastIndexOf('/node_modules/');
      dir = up < 0 ? '' : dir.slice(0, up);
    }
  };
  const queue: Array<[string, string, boolean]> = []; // [from, name, optional]
  const visit = (path: string) => {
    const entry = packages[path];
    for (const name of Object.keys(entry.dependencies ?? {})) queue.push([path, name, false]);
    for (const name of Object.keys(entry.optionalDependencies ?? {})) queue.push([path, name, true]);
    for (const name of Object.keys(entry.peerDependencies ?? {})) {
      queue.push([path, name, entry.peerDependenciesMeta?.[name]?.optional === true]);
    }
  };
  packages['node_modules/' + packed.name] = {
    version: packed.version,
    resolved: tarball.spec,
    integrity: tarball.integrity,
    license: packed.license,
    dependencies: packed.dependencies,
    peerDependencies: packed.peerDependencies,
    bin: packed.bin,
    engines: packed.engines,
  };
  visit('node_modules/' + packed.name);
  for (const name of [...Object.keys(consumer.dependencies), ...Object.keys(consumer.devDependencies)]) {
    if (name !== packed.name) queue.push(['', name, false]);
  }
  while (queue.length > 0) {
    const [from, name, optional] = queue.shift()!;
    const path = resolveFrom(from, name);
    if (!path) {
      if (optional) continue;
      throw new Error(
        `${name} (needed by ${from || 'the consumer app'}) is not in this repository's package-lock.json`,
      );
    }
    if (packages[path]) continue;
    // The repository's dev/peer flags describe its own tree, not the consumer's: npm recomputes them.
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = source[path];
    packages[path] = entry;
    visit(path);
  }
  return {
    name: consumer.name,
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': {
        name: consumer.name,
        version: '1.0.0',
        dependencies: consumer.dependencies,
        devDependencies: consumer.devDependencies,
      },
      ...Object.fromEntries(
        Object.keys(packages)
          .sort()
          .map((p) => [p, packages[p]]),
      ),
    },
  };
}
