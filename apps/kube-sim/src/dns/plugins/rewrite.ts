/**
 * rewrite, the `name` field, as CoreDNS documents it: `rewrite [continue|stop] name
 * [exact|prefix|suffix|substring|regex] FROM TO [answer auto | answer name FROM TO | answer value FROM TO]`,
 * also in the block form `rewrite [continue|stop] { name … }`. Matching is on the lower-cased
 * question name; exact and suffix FROM/TO are made absolute and lower-case. The request's
 * question is rewritten and the response is reverted: the original question is restored and the
 * response rules map names back, in every section — record owners, and with `answer auto` or
 * `answer value` also names in record data (CNAME targets, SOA MNAME, …). For `suffix … answer
 * auto` the reverse rule is the suffix rule with FROM and TO exchanged; for exact it is always on.
 * Several matching rules: `continue` applies the next rule too, `stop` (the default) ends.
 */
import type { Directive } from '../corefile.js';
import { type DnsRequest, type Next, type Plugin, SetupError } from '../plugin.js';
import { canonical, cloneMessage, type Message, type RR, T } from '../wire.js';

type Rewriter = (s: string) => string;

interface ResponseRule {
  names: boolean;
  values: boolean;
  rewrite: Rewriter;
}

interface NameRule {
  mode: 'stop' | 'continue';
  /** The rewritten name, or undefined when the rule does not match; with the response rules it brings. */
  apply(qname: string): { name: string; responses: ResponseRule[] } | undefined;
}

const suffixRewriter = (from: string, to: string): Rewriter => (s) => (s.endsWith(from) ? s.slice(0, s.length - from.length) + to : s);

/** Maps a name and its subdomains (label-wise) from one name to another: the auto rule of non-suffix rewrites. */
const remapRewriter = (orig: string, replacement: string): Rewriter => (s) => {
  if (s === orig) return replacement;
  const i = s.length - orig.length;
  if (i > 0 && s[i - 1] === '.' && s.slice(i) === orig) return s.slice(0, i) + replacement;
  return s;
};

/** Go regexp `{n}` templates over a JS RegExp. */
function regexRewriter(pattern: RegExp, template: string): Rewriter {
  return (s) => {
    const m = pattern.exec(s);
    if (!m) return s;
    let out = template;
    m.forEach((g, i) => {
      out = out.replaceAll(`{${i}}`, g ?? '');
    });
    return out;
  };
}

function compile(d: Directive, re: string): RegExp {
  if (re.length > 10000) throw new SetupError(d, 'regex too long');
  try {
    return new RegExp(re);
  } catch (err) {
    throw new SetupError(d, `invalid regex ${re}: ${(err as Error).message}`);
  }
}

const abs = (n: string) => canonical(n);

function parseAnswers(d: Directive, args: string[]): { auto: boolean; rules: ResponseRule[] } {
  const rules: ResponseRule[] = [];
  let auto = false;
  for (let i = 0; i < args.length; ) {
    if (args[i] !== 'answer') throw new SetupError(d, `expected "answer", got "${args[i]}"`);
    const kind = args[i + 1];
    if (kind === 'auto') {
      auto = true;
      i += 2;
    } else if (kind === 'name' || kind === 'value') {
      const from = args[i + 2];
      const to = args[i + 3];
      if (from === undefined || to === undefined) throw new SetupError(d, `answer ${kind} needs FROM and TO`);
      rules.push({ names: kind === 'name', values: kind === 'value', rewrite: regexRewriter(compile(d, from), to) });
      i += 4;
    } else throw new SetupError(d, `unknown answer rewrite "${kind}"`);
  }
  return { auto, rules };
}

function nameRule(d: Directive, mode: 'stop' | 'continue', args: string[]): NameRule {
  const types = ['exact', 'prefix', 'suffix', 'substring', 'regex'];
  let type = 'exact';
  let rest = args;
  if (args.length >= 3 && types.includes(args[0]?.toLowerCase() ?? '')) {
    type = (args[0] as string).toLowerCase();
    rest = args.slice(1);
  } else if (args.length > 2) throw new SetupError(d, `unknown name match type "${args[0]}"`);
  let [from = '', to = ''] = rest;
  if (!from || !to) throw new SetupError(d, 'name needs FROM and TO');
  if (type !== 'regex') {
    from = from.toLowerCase();
    to = to.toLowerCase();
  }
  if (type === 'exact' || type === 'suffix') {
    from = abs(from);
    to = abs(to);
  }
  const { auto, rules } = parseAnswers(d, rest.slice(2));
  const dynamic = (orig: string, rewritten: string): ResponseRule[] => (auto ? [{ names: true, values: true, rewrite: remapRewriter(rewritten, orig) }] : []);
  switch (type) {
    case 'exact':
      // Answers of an exact rewrite are always mapped back.
      return { mode, apply: (q) => (q === from ? { name: to, responses: [{ names: true, values: true, rewrite: remapRewriter(to, from) }, ...rules] } : undefined) };
    case 'suffix': {
      const back: ResponseRule[] = auto ? [{ names: true, values: true, rewrite: suffixRewriter(to, from) }] : [];
      return { mode, apply: (q) => (q.endsWith(from) ? { name: q.slice(0, q.length - from.length) + to, responses: [...back, ...rules] } : undefined) };
    }
    case 'prefix':
      return {
        mode,
        apply: (q) => {
          if (!q.startsWith(from)) return undefined;
          const name = to + q.slice(from.length);
          return { name, responses: [...dynamic(q, name), ...rules] };
        },
      };
    case 'substring':
      return {
        mode,
        apply: (q) => {
          if (!q.includes(from)) return undefined;
          const name = q.replaceAll(from, to);
          return { name, responses: [...dynamic(q, name), ...rules] };
        },
      };
    default: {
      const re = compile(d, from);
      const template = abs(to);
      return {
        mode,
        apply: (q) => {
          if (!re.test(q)) return undefined;
          const name = regexRewriter(re, template)(q);
          return { name, responses: [...dynamic(q, name), ...rules] };
        },
      };
    }
  }
}

/** One `rewrite` directive's rules (inline or block form). */
function rulesOf(d: Directive): NameRule[] {
  let args = d.args;
  let mode: 'stop' | 'continue' = 'stop';
  if (args[0] === 'stop' || args[0] === 'continue') {
    mode = args[0];
    args = args.slice(1);
  }
  const lines: { field: string; args: string[]; d: Directive }[] = [];
  if (d.block) {
    if (args.length) throw new SetupError(d, 'a rewrite block takes only continue|stop before it');
    // Block form: `name …` lines; an `answer name …` line belongs to the name line before it.
    for (const l of d.block) {
      if (l.name === 'answer') {
        const prev = lines[lines.length - 1];
        if (!prev) throw new SetupError(l, 'answer without a name rule before it');
        prev.args.push('answer', ...l.args);
      } else lines.push({ field: l.name, args: [...l.args], d: l });
    }
  } else {
    const [field = '', ...rest] = args;
    lines.push({ field: field.toLowerCase(), args: rest, d });
  }
  return lines.map((l) => {
    if (l.field !== 'name') throw new SetupError(l.d, `rewrite field "${l.field}" is not simulated by kube-sim (only name)`);
    return nameRule(l.d, mode, l.args);
  });
}

function revert(res: Message, original: Message['questions'], responses: ResponseRule[]): Message {
  const out = cloneMessage(res);
  out.questions = original.map((q) => ({ ...q }));
  const fix = (rr: RR) => {
    // Response rules run in reverse order of the request rules.
    for (let i = responses.length - 1; i >= 0; i--) {
      const r = responses[i] as ResponseRule;
      if (r.names) rr.name = r.rewrite(rr.name);
      if (!r.values) continue;
      if (typeof rr.data === 'string' && rr.type !== T.A && rr.type !== T.AAAA) rr.data = r.rewrite(rr.data);
      else if (rr.type === T.SOA && typeof rr.data === 'object' && 'mname' in rr.data) rr.data.mname = r.rewrite(rr.data.mname);
      else if (rr.type === T.MX && typeof rr.data === 'object' && 'exchange' in rr.data) rr.data.exchange = r.rewrite(rr.data.exchange);
      else if (rr.type === T.SRV && typeof rr.data === 'object' && 'target' in rr.data) rr.data.target = r.rewrite(rr.data.target);
    }
  };
  if (responses.length) for (const rr of [...out.authorities, ...out.answers, ...out.additionals]) if (rr.type !== T.OPT) fix(rr);
  return out;
}

export function setupRewrite(directives: Directive[]): Plugin {
  const rules = directives.flatMap(rulesOf);
  return {
    name: 'rewrite',
    async serve(req: DnsRequest, next: Next) {
      const q = req.msg.questions[0];
      if (!q) return next(req);
      const original = req.msg.questions.map((x) => ({ ...x }));
      const responses: ResponseRule[] = [];
      let name = canonical(q.name);
      let changed = false;
      for (const rule of rules) {
        const r = rule.apply(name);
        if (!r) continue;
        name = r.name;
        changed = true;
        responses.push(...r.responses);
        if (rule.mode === 'stop') break;
      }
      if (!changed) return next(req);
      const rewritten = { ...req, msg: { ...req.msg, questions: [{ ...q, name }, ...req.msg.questions.slice(1)] } };
      const res = await next(rewritten);
      return res && revert(res, original, responses);
    },
  };
}
