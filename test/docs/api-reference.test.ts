/**
 * The package's public API is documented (README: "Use it in your own CDK app", docs/api/): every
 * export of `batch-runner` and `batch-runner/config` has TSDoc, every property of an exported
 * interface too, every optional one says its `@default`, and the generated reference names every
 * export. (`npm run docs` regenerates docs/api/ with TypeDoc, which refuses an undocumented export.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';
import { REPO_ROOT } from '../../local/state-dir';

const ENTRY_POINTS = { 'batch-runner': 'index.ts', 'batch-runner/config': 'config/index.ts' } as const;

const program = ts.createProgram(
  Object.values(ENTRY_POINTS).map((f) => join(REPO_ROOT, f)),
  { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, strict: true, skipLibCheck: true, noEmit: true },
);
const checker = program.getTypeChecker();

function exportsOf(file: string): ts.Symbol[] {
  const source = program.getSourceFile(join(REPO_ROOT, file));
  if (!source) throw new Error(`${file} is not in the program`);
  const module = checker.getSymbolAtLocation(source);
  if (!module) throw new Error(`${file} has no exports`);
  return checker
    .getExportsOfModule(module)
    .map((s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s));
}

const hasDoc = (symbol: ts.Symbol) =>
  ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim().length > 0;
const hasDefault = (symbol: ts.Symbol) => symbol.getJsDocTags(checker).some((t) => t.name === 'default');
const where = (symbol: ts.Symbol) => {
  const d = symbol.declarations?.[0];
  return d ? `${d.getSourceFile().fileName.replace(`${REPO_ROOT}/`, '')}` : '?';
};

describe('API reference of the package', () => {
  const all = new Map<string, ts.Symbol>();
  for (const file of Object.values(ENTRY_POINTS)) for (const s of exportsOf(file)) all.set(s.getName(), s);

  it('exports the constructs, the config and the batch file loader', () => {
    expect([...all.keys()]).toEqual(
      expect.arrayContaining([
        'BatchRunner',
        'ScheduledBatch',
        'addBatchRunnerStacks',
        'BatchConfig',
        'validateBatchConfigs',
        'loadBatchFile',
        'BatchFileError',
      ]),
    );
  });

  it('documents every export, and every property of an exported interface or class', () => {
    const missing: string[] = [];
    for (const [name, symbol] of all) {
      if (!hasDoc(symbol)) missing.push(`${name} (${where(symbol)})`);
      if (!(symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.Class))) continue;
      const type = checker.getDeclaredTypeOfSymbol(symbol);
      for (const property of type.getProperties()) {
        // Members inherited from aws-cdk-lib/constructs are documented there.
        const own = (d: ts.Declaration) => !d.getSourceFile().fileName.includes('/node_modules/');
        if (!property.declarations?.some(own)) continue;
        if (property.declarations.some((d) => ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Private)) continue;
        if (!hasDoc(property)) missing.push(`${name}.${property.getName()} (${where(property)})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('gives every optional property of an exported interface its @default', () => {
    const missing: string[] = [];
    for (const [name, symbol] of all) {
      if (!(symbol.flags & ts.SymbolFlags.Interface)) continue;
      for (const property of checker.getDeclaredTypeOfSymbol(symbol).getProperties()) {
        if (property.flags & ts.SymbolFlags.Optional && !hasDefault(property)) {
          missing.push(`${name}.${property.getName()} (${where(property)})`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('has a generated reference, linked from the README, that names every export', () => {
    const reference = readFileSync(join(REPO_ROOT, 'docs', 'api', 'batch-runner.md'), 'utf8');
    const unlisted = [...all.keys()].filter(
      (name) => !new RegExp(`^### ${name.replace(/_/g, '\\\\_')}(\\(\\))?$`, 'm').test(reference),
    );
    expect(unlisted).toEqual([]);
    expect(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8')).toContain('(docs/api/README.md)');
  });
});
