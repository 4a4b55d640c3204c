const SENTINEL = (name: string) => `"@@batch-runner-placeholder:${name}@@"`;
const SENTINEL_PATTERN = /"@@batch-runner-placeholder:([A-Za-z0-9]+)@@"/g;

/**
 * The ASL template without insignificant whitespace, placeholders kept as they are.
 *
 * Every state machine embeds the whole definition in its template (`DefinitionString`), and a
 * CloudFormation template may not exceed 1 MB: the pretty-printed file costs about 55 KB per batch
 * once JSON-escaped, the compact form about 35 KB, which decides how many batches fit in one stack.
 *
 * The template is not JSON until substituted (numeric and array placeholders are unquoted), so
 * placeholders outside strings are swapped for string sentinels, the JSON is re-serialised compactly,
 * and the sentinels swapped back. Placeholders inside strings are untouched.
 */
export function compactDefinitionTemplate(template: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (inString) {
      out += c;
      if (c === '\\') {
        out += template[i + 1];
        i++;
      } else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '$' && template[i + 1] === '{') {
      const end = template.indexOf('}', i);
      const name = template.slice(i + 2, end);
      if (end < 0 || !/^[A-Za-z0-9]+$/.test(name))
        throw new Error(`unterminated placeholder at offset ${i} of the ASL template`);
      out += SENTINEL(name);
      i = end;
    } else out += c;
  }
  return JSON.stringify(JSON.parse(out)).replace(SENTINEL_PATTERN, (_, name: string) => `\${${name}}`);
}
