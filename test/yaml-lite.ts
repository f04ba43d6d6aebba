// A reader for the small part of YAML the example manifests use, so tests can check their fields
// without a YAML dependency: block mappings and sequences by indentation, `- key: value` items,
// plain, quoted, numeric and boolean scalars, one-line flow sequences of scalars (`["ALL"]`) and
// the empty flow mapping (`{}`), `#` comments. Anything else (anchors, multi-line scalars, flow
// mappings with content, several documents) throws rather than being read wrongly.

export type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };

interface Line {
  indent: number;
  text: string;
  no: number;
}

/** The text with a comment removed: a `#` at the start or after a space, outside quotes. */
function stripComment(text: string): string {
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== '') {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || text[i - 1] === ' ')) return text.slice(0, i);
  }
  return text;
}

function scalar(raw: string, no: number): Yaml {
  const s = raw.trim();
  const fail = (): never => {
    throw new Error(`yaml-lite: line ${no}: cannot read '${s}'`);
  };
  if (s.startsWith('"')) return s.endsWith('"') && s.length > 1 ? (JSON.parse(s) as string) : fail();
  if (s.startsWith("'")) return s.endsWith("'") && s.length > 1 ? s.slice(1, -1).replaceAll("''", "'") : fail();
  if (s === '{}') return {};
  if (s.startsWith('[')) {
    if (!s.endsWith(']')) fail();
    const inner = s.slice(1, -1).trim();
    return inner === '' ? [] : inner.split(',').map((item) => (/^[[{]/.test(item.trim()) ? fail() : scalar(item, no)));
  }
  if (/^[{&*!|>%@`]/.test(s) || s === '---') fail();
  if (s === 'true' || s === 'false') return s === 'true';
  if (s === 'null' || s === '~' || s === '') return null;
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  return s;
}

/** `key: rest` split at the first `: ` (or a final `:`), the key plain or quoted. */
function keyValue(text: string): [string, string] | undefined {
  const m = /^("[^"]*"|'[^']*'|[^\s"'#:][^:]*?)\s*:(?:\s+(.*))?$/.exec(text);
  if (!m) return undefined;
  const key = m[1]!.startsWith('"') || m[1]!.startsWith("'") ? m[1]!.slice(1, -1) : m[1]!;
  return [key, m[2] ?? ''];
}

export function parseYaml(source: string): Yaml {
  const lines: Line[] = [];
  source.split('\n').forEach((raw, i) => {
    if (raw.includes('\t')) throw new Error(`yaml-lite: line ${i + 1}: a tab`);
    const text = stripComment(raw).trimEnd();
    if (text.trim() === '') return;
    lines.push({ indent: text.length - text.trimStart().length, text: text.trimStart(), no: i + 1 });
  });
  let at = 0;

  function block(indent: number): Yaml {
    const first = lines[at]!;
    if (first.indent !== indent) throw new Error(`yaml-lite: line ${first.no}: indentation ${first.indent}, expected ${indent}`);
    return first.text === '-' || first.text.startsWith('- ') ? sequence(indent) : mapping(indent);
  }

  /** The value after `key:` with nothing on its line: the block below (a sequence may sit at the key's own indentation). */
  function nested(parentIndent: number, no: number): Yaml {
    const next = lines[at];
    if (next && next.indent > parentIndent) return block(next.indent);
    if (next && next.indent === parentIndent && next.text.startsWith('- ')) return sequence(parentIndent);
    throw new Error(`yaml-lite: line ${no}: a key with no value`);
  }

  function mapping(indent: number): Yaml {
    const out: { [key: string]: Yaml } = {};
    while (at < lines.length && lines[at]!.indent === indent && !lines[at]!.text.startsWith('- ')) {
      const line = lines[at]!;
      const kv = keyValue(line.text);
      if (!kv) throw new Error(`yaml-lite: line ${line.no}: not 'key: value': '${line.text}'`);
      if (Object.hasOwn(out, kv[0])) throw new Error(`yaml-lite: line ${line.no}: '${kv[0]}' twice`);
      at++;
      out[kv[0]] = kv[1] === '' ? nested(indent, line.no) : scalar(kv[1], line.no);
    }
    if (at < lines.length && lines[at]!.indent > indent) throw new Error(`yaml-lite: line ${lines[at]!.no}: unexpected indentation`);
    return out;
  }

  function sequence(indent: number): Yaml {
    const out: Yaml[] = [];
    while (at < lines.length && lines[at]!.indent === indent && lines[at]!.text.startsWith('- ')) {
      const line = lines[at]!;
      const rest = line.text.slice(2).trimStart();
      const inner = indent + (line.text.length - rest.length);
      if (keyValue(rest) && !/^["'[{]/.test(rest)) {
        // `- key: value`: a mapping whose keys sit where `key` does; read this line as its first.
        lines[at] = { indent: inner, text: rest, no: line.no };
        out.push(mapping(inner));
      } else {
        at++;
        out.push(scalar(rest, line.no));
      }
    }
    return out;
  }

  if (lines.length === 0) return null;
  const doc = block(lines[0]!.indent);
  if (at < lines.length) throw new Error(`yaml-lite: line ${lines[at]!.no}: not read`);
  return doc;
}
