/**
 * Static reading of an ASL definition (JSONPath): which paths each state reads, where each Task's
 * result lands, and which paths are known to be present on entry to each state (IsPresent guards),
 * computed over the state graph. Used to prove that no path reads a key an AWS API may omit: such a
 * read raises States.Runtime, which no Catch can handle.
 */
type Json = any;

export interface Read {
  readonly state: string;
  readonly path: string;
  /** 'result': read from the Task's raw result (ResultSelector); 'input': from the state input. */
  readonly against: 'input' | 'result';
  /** Paths known present for this read beyond the state's entry facts (earlier And conjuncts). */
  readonly guardedBy: readonly string[];
}

const PATH_FIELDS = ['InputPath', 'OutputPath', 'ItemsPath', 'SecondsPath', 'TimestampPath', 'ErrorPath', 'CausePath'];

/** `$.a.b[0]` paths inside a string (intrinsic function arguments included), Context Object excluded. */
export function pathsIn(text: string): string[] {
  return [...text.matchAll(/(?<![$\w])\$(?:\.[A-Za-z0-9_]+|\[\d+\])+/g)].map((m) => m[0]);
}

function templateReads(state: string, template: Json, against: Read['against'], out: Read[]): void {
  if (template === null || typeof template !== 'object') return;
  for (const [k, v] of Object.entries<Json>(template)) {
    if (k.endsWith('.$') && typeof v === 'string')
      for (const path of pathsIn(v)) out.push({ state, path, against, guardedBy: [] });
    else templateReads(state, v, against, out);
  }
}

/** The IsPresent-true paths a condition asserts when it matches (top level or And conjuncts). */
function presentWhenMatched(rule: Json): string[] {
  if (rule.IsPresent === true) return [rule.Variable];
  if (rule.And) return rule.And.flatMap(presentWhenMatched);
  return [];
}

/** The path a rule asserts present when it does *not* match: `Not IsPresent X`. */
function presentWhenNotMatched(rule: Json): string[] {
  if (rule.Not?.IsPresent === true && rule.Not.Variable) return [rule.Not.Variable];
  if (rule.IsPresent === false) return [rule.Variable];
  return [];
}

function ruleReads(state: string, rule: Json, known: string[], out: Read[]): string[] {
  // Returns what the rule asserts for later conjuncts (And evaluates in order).
  if (rule.And) {
    let acc = [...known];
    for (const c of rule.And) acc = [...acc, ...ruleReads(state, c, acc, out)];
    return acc.slice(known.length);
  }
  if (rule.Or) {
    for (const c of rule.Or) ruleReads(state, c, known, out);
    return [];
  }
  if (rule.Not) {
    ruleReads(state, rule.Not, known, out);
    return [];
  }
  if (rule.Variable && rule.IsPresent === undefined)
    out.push({ state, path: rule.Variable, against: 'input', guardedBy: known });
  for (const [k, v] of Object.entries<Json>(rule))
    if (k.endsWith('Path') && k !== 'Variable' && typeof v === 'string' && v.startsWith('$.'))
      out.push({ state, path: v, against: 'input', guardedBy: known });
  return rule.IsPresent === true ? [rule.Variable] : [];
}

/** Every read of every top-level state. */
export function readsOf(definition: Json): Read[] {
  const out: Read[] = [];
  for (const [name, s] of Object.entries<Json>(definition.States)) {
    for (const f of PATH_FIELDS)
      if (typeof s[f] === 'string')
        for (const path of pathsIn(s[f])) out.push({ state: name, path, against: 'input', guardedBy: [] });
    templateReads(name, s.Parameters, 'input', out);
    templateReads(name, s.ResultSelector, 'result', out);
    if (s.Type === 'Choice') {
      let notMatched: string[] = [];
      for (const rule of s.Choices) {
        ruleReads(name, rule, notMatched, out);
        notMatched = [...notMatched, ...presentWhenNotMatched(rule)];
      }
    }
  }
  return out;
}

/** Where a state writes into its input (ResultPath; '$' replaces it all; null writes nothing). */
function writesOf(s: Json): Array<string | null> {
  const main =
    s.Type === 'Choice' || s.Type === 'Wait' || s.Type === 'Succeed' || s.Type === 'Fail'
      ? null
      : s.ResultPath === undefined
        ? '$'
        : s.ResultPath;
  return [main, ...(s.OutputPath && s.OutputPath !== '$' ? ['$'] : [])];
}

const covers = (fact: string, path: string) =>
  fact === path || fact.startsWith(`${path}.`) || fact.startsWith(`${path}[`);
const killedBy = (fact: string, write: string | null) => write !== null && (write === '$' || covers(fact, write));

/** Entry facts per state: paths present on every path into it. */
export function presentOnEntry(definition: Json): Map<string, Set<string>> {
  const states = definition.States as Record<string, Json>;
  const entry = new Map<string, Set<string> | null>(Object.keys(states).map((n) => [n, null]));
  entry.set(definition.StartAt, new Set());
  const edges = (name: string, facts: Set<string>): Array<[string, Set<string>]> => {
    const s = states[name];
    const after = (extra: string[], writes: Array<string | null>) => {
      const kept = [...facts, ...extra].filter((f) => !writes.some((w) => killedBy(f, w)));
      return new Set(kept);
    };
    const out: Array<[string, Set<string>]> = [];
    if (s.Type === 'Choice') {
      let notMatched: string[] = [];
      for (const rule of s.Choices) {
        out.push([rule.Next, after([...notMatched, ...presentWhenMatched(rule)], [])]);
        notMatched = [...notMatched, ...presentWhenNotMatched(rule)];
      }
      if (s.Default) out.push([s.Default, after(notMatched, [])]);
      return out;
    }
    if (s.Next) out.push([s.Next, after([], writesOf(s))]);
    for (const c of s.Catch ?? []) out.push([c.Next, after([], [c.ResultPath === undefined ? '$' : c.ResultPath])]);
    return out;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (const name of Object.keys(states)) {
      const facts = entry.get(name);
      if (!facts) continue;
      for (const [next, f] of edges(name, facts)) {
        const prev = entry.get(next);
        const merged = prev === null || prev === undefined ? f : new Set([...prev].filter((x) => f.has(x)));
        if (prev === null || prev === undefined || merged.size !== prev.size) {
          entry.set(next, merged);
          changed = true;
        }
      }
    }
  }
  return new Map([...entry].map(([k, v]) => [k, v ?? new Set()]));
}

export const isCovered = (facts: Iterable<string>, path: string) => [...facts].some((f) => covers(f, path));

/** `$.a.B[0].c` into ['a', 'B', 0, 'c']. */
export function segmentsOf(path: string): Array<string | number> {
  return [...path.slice(1).matchAll(/\.([A-Za-z0-9_]+)|\[(\d+)\]/g)].map((m) =>
    m[1] !== undefined ? m[1] : Number(m[2]),
  );
}
