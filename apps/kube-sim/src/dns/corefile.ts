/**
 * The Corefile (Caddyfile) syntax as CoreDNS reads it: server blocks of keys and a `{ … }`
 * body of directives, one directive per line with optional `{ … }` sub-blocks, `#` comments,
 * quoted tokens, `(snippet) { … }` definitions and `import PATTERN` (a file, a glob, or a
 * snippet), whose tokens replace the import line. Files come from a virtual file system (the
 * ConfigMaps a CoreDNS pod mounts); relative patterns resolve against the Corefile's folder.
 * A glob matching nothing imports nothing (CoreDNS logs a warning); a plain path that does not
 * exist is an error, as is an import cycle.
 */

export interface Token {
  text: string;
  file: string;
  line: number;
  /** A quoted token is never a brace. */
  quoted: boolean;
}

export interface Directive {
  name: string;
  args: string[];
  /** Lines of a `{ … }` sub-block, each parsed as a directive. */
  block?: Directive[];
  file: string;
  line: number;
}

export interface ServerBlock {
  /** As written, e.g. `.:53`, `cluster.local:53`, `dns://example.org`. */
  keys: string[];
  directives: Directive[];
  file: string;
  line: number;
}

export class CorefileError extends Error {}

/** Lists the files matching a pattern (absolute), each with its contents. */
export type FileSource = (pattern: string) => { path: string; text: string }[];

export function tokenize(text: string, file: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === '\n') {
      line++;
      i++;
    } else if (ch === ' ' || ch === '\t' || ch === '\r') i++;
    else if (ch === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (ch === '"' || ch === '`') {
      const start = line;
      let s = '';
      i++;
      while (i < text.length && text[i] !== ch) {
        if (text[i] === '\\' && ch === '"' && text[i + 1] === '"') {
          s += '"';
          i += 2;
          continue;
        }
        if (text[i] === '\n') line++;
        s += text[i];
        i++;
      }
      if (i >= text.length) throw new CorefileError(`${file}:${start}: unterminated quote`);
      i++;
      out.push({ text: s, file, line: start, quoted: true });
    } else {
      let s = '';
      while (i < text.length && !/\s/.test(text[i] as string)) {
        if (text[i] === '\\' && i + 1 < text.length) {
          s += text[i + 1];
          i += 2;
          continue;
        }
        s += text[i];
        i++;
      }
      out.push({ text: s, file, line, quoted: false });
    }
  }
  return out;
}

const isOpen = (t: Token | undefined) => t !== undefined && !t.quoted && t.text === '{';
const isClose = (t: Token | undefined) => t !== undefined && !t.quoted && t.text === '}';
const sameLine = (a: Token, b: Token) => a.file === b.file && a.line === b.line;

function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** The tokens of a balanced `{ … }` starting at `at` (the `{`); returns the inner tokens and the index after `}`. */
function balanced(tokens: Token[], at: number): { inner: Token[]; next: number } {
  let depth = 0;
  for (let i = at; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (isOpen(t)) depth++;
    else if (isClose(t)) {
      depth--;
      if (depth === 0) return { inner: tokens.slice(at + 1, i), next: i + 1 };
    }
  }
  const t = tokens[at] as Token;
  throw new CorefileError(`${t.file}:${t.line}: unmatched '{'`);
}

/**
 * Expands imports (files, globs, snippets) line by line. An `import` is recognised where a
 * line starts with it; its arguments after the pattern become `{args[0]}`… placeholders.
 */
function expand(tokens: Token[], files: FileSource, snippets: Map<string, Token[]>, chain: string[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    const prev = tokens[i - 1];
    const lineStart = !prev || !sameLine(prev, t) || isOpen(prev) || isClose(prev);
    if (!(lineStart && !t.quoted && t.text === 'import')) {
      out.push(t);
      continue;
    }
    const args: Token[] = [];
    while (i + 1 < tokens.length && sameLine(tokens[i + 1] as Token, t) && !isClose(tokens[i + 1])) args.push(tokens[++i] as Token);
    const pattern = args[0]?.text;
    if (!pattern) throw new CorefileError(`${t.file}:${t.line}: import needs a pattern`);
    const snippet = snippets.get(pattern);
    if (snippet) {
      if (chain.includes(`(${pattern})`)) throw new CorefileError(`${t.file}:${t.line}: import cycle through snippet ${pattern}`);
      out.push(...expand(snippet, files, snippets, [...chain, `(${pattern})`]));
      continue;
    }
    const abs = pattern.startsWith('/') ? pattern : `${dirname(t.file)}/${pattern}`;
    const matches = files(abs);
    if (matches.length === 0 && !/[*?[]/.test(pattern)) throw new CorefileError(`${t.file}:${t.line}: could not import ${abs}: no such file`);
    for (const f of matches) {
      if (chain.includes(f.path)) throw new CorefileError(`${t.file}:${t.line}: import cycle: ${[...chain, f.path].join(' → ')}`);
      out.push(...expand(tokenize(f.text, f.path), files, snippets, [...chain, f.path]));
    }
  }
  return out;
}

/** Directive lines of a block body (imports already expanded). */
export function parseDirectives(tokens: Token[]): Directive[] {
  const out: Directive[] = [];
  let i = 0;
  while (i < tokens.length) {
    const head = tokens[i] as Token;
    if (isOpen(head) || isClose(head)) throw new CorefileError(`${head.file}:${head.line}: unexpected '${head.text}'`);
    const d: Directive = { name: head.text.toLowerCase(), args: [], file: head.file, line: head.line };
    i++;
    while (i < tokens.length && sameLine(tokens[i] as Token, head) && !isOpen(tokens[i])) {
      if (isClose(tokens[i])) throw new CorefileError(`${head.file}:${head.line}: unexpected '}'`);
      d.args.push((tokens[i] as Token).text);
      i++;
    }
    if (isOpen(tokens[i]) && sameLine(tokens[i] as Token, head)) {
      const { inner, next } = balanced(tokens, i);
      d.block = parseDirectives(inner);
      i = next;
    }
    out.push(d);
  }
  return out;
}

/** Parses a Corefile at `path` (its text given), expanding imports through `files`. */
export function parseCorefile(text: string, path: string, files: FileSource): ServerBlock[] {
  const raw = tokenize(text, path);
  // Snippets first: `(name) { … }` at the top level, wherever they appear.
  const snippets = new Map<string, Token[]>();
  const rest: Token[] = [];
  for (let i = 0; i < raw.length; ) {
    const t = raw[i] as Token;
    const m = !t.quoted ? /^\((.+)\)$/.exec(t.text) : null;
    if (m && isOpen(raw[i + 1])) {
      const { inner, next } = balanced(raw, i + 1);
      snippets.set(m[1] as string, inner);
      i = next;
      continue;
    }
    if (isOpen(t)) {
      const { next } = balanced(raw, i);
      rest.push(...raw.slice(i, next));
      i = next;
      continue;
    }
    rest.push(t);
    i++;
  }
  const tokens = expand(rest, files, snippets, [path]);
  const blocks: ServerBlock[] = [];
  let i = 0;
  while (i < tokens.length) {
    const first = tokens[i] as Token;
    const keys: string[] = [];
    while (i < tokens.length && !isOpen(tokens[i])) {
      const t = tokens[i] as Token;
      if (isClose(t)) throw new CorefileError(`${t.file}:${t.line}: unexpected '}'`);
      // Keys end where the line ends; a key line without '{' is a single unbraced server block.
      if (keys.length && !sameLine(t, first) && !t.text.endsWith(',')) break;
      for (const k of t.text.split(',')) if (k) keys.push(k);
      i++;
    }
    if (!isOpen(tokens[i])) {
      // Caddy's unbraced form: the only server block, every remaining line is a directive.
      if (blocks.length) throw new CorefileError(`${first.file}:${first.line}: server block without '{'`);
      blocks.push({ keys, directives: parseDirectives(tokens.slice(i)), file: first.file, line: first.line });
      break;
    }
    const { inner, next } = balanced(tokens, i);
    blocks.push({ keys, directives: parseDirectives(inner), file: first.file, line: first.line });
    i = next;
  }
  return blocks;
}
