/**
 * cache, as CoreDNS documents it: `cache [TTL] [ZONES…] { success CAP [TTL] [MINTTL]; denial
 * CAP [TTL] [MINTTL]; servfail DURATION; disable success|denial [ZONES…]; keepttl; prefetch … }`.
 * Keyed by the lower-cased question name (as the request reaches the cache: after rewrite), type,
 * DO and CD. A positive answer is kept for its smallest TTL clamped to [MINTTL 5, TTL 3600]; a
 * denial (NXDOMAIN or NODATA with an SOA) to [5, 1800]; SERVFAIL for 5 s; truncated answers,
 * other errors, an NXDOMAIN without SOA and a CNAME chain that neither reaches the asked type
 * nor carries an SOA are not kept. Every record of a cached answer carries the remaining time
 * (on the first answer, the whole duration), as CoreDNS serves them.
 */
import type { Directive } from '../corefile.js';
import { type DnsRequest, type Next, type Plugin, SetupError, type SetupContext } from '../plugin.js';
import { canonical, cloneMessage, inZone, type Message, RC, T } from '../wire.js';

interface Item {
  msg: Message;
  stored: number;
  durationS: number;
}

type Kind = 'success' | 'denial' | 'servfail' | undefined;

function kindOf(m: Message): Kind {
  if (m.tc) return undefined;
  const q = m.questions[0];
  if (q && (q.type === T.AXFR || q.type === T.IXFR)) return undefined;
  const soa = m.authorities.some((r) => r.type === T.SOA);
  if (m.answers.length && m.rcode === RC.NOERROR) {
    // A chain that does not reach the asked type, without an SOA to bound it, is not kept.
    const reaches = !q || q.type === T.ANY || q.type === T.CNAME || m.answers.some((r) => r.type === q.type);
    return reaches || soa ? 'success' : undefined;
  }
  if (m.answers.length) return undefined; // NXDOMAIN with answers: another error
  if (m.rcode === RC.NXDOMAIN) return soa ? 'denial' : undefined;
  if (m.rcode === RC.NOERROR) return soa ? 'denial' : 'success';
  if (m.rcode === RC.SERVFAIL || m.rcode === RC.NOTIMP) return 'servfail';
  return undefined;
}

function minTtl(m: Message, max: number): number {
  const rrs = [...m.answers, ...m.authorities, ...m.additionals].filter((r) => r.type !== T.OPT);
  if (rrs.length === 0) return 5;
  return Math.min(max, ...rrs.map((r) => r.ttl));
}

const int = (d: Directive, v: string | undefined, what: string): number => {
  if (v === undefined || !/^\d+$/.test(v)) throw new SetupError(d, `${what}: not a number: ${v}`);
  return Number(v);
};

const durationS = (d: Directive, v: string | undefined): number => {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(v ?? '');
  if (!m) throw new SetupError(d, `not a duration: ${v}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n;
};

export function setupCache(d: Directive, ctx: SetupContext, now: () => number = Date.now): Plugin {
  let pttl = 3600;
  let nttl = 1800;
  let minp = 5;
  let minn = 5;
  let failttl = 5;
  let keepttl = false;
  const args = [...d.args];
  if (args[0] !== undefined && /^\d+$/.test(args[0])) {
    pttl = nttl = int(d, args.shift(), 'TTL');
    if (pttl === 0) throw new SetupError(d, 'cache TTL can not be zero');
  }
  const zones = args.length ? args.map(canonical) : ctx.zones;
  const disabled: { success: string[] | undefined; denial: string[] | undefined } = { success: undefined, denial: undefined };
  for (const l of d.block ?? []) {
    switch (l.name) {
      case 'success':
      case 'denial': {
        if (l.args[1] !== undefined) {
          if (l.name === 'success') pttl = int(l, l.args[1], 'TTL');
          else nttl = int(l, l.args[1], 'TTL');
        }
        if (l.args[2] !== undefined) {
          if (l.name === 'success') minp = int(l, l.args[2], 'MINTTL');
          else minn = int(l, l.args[2], 'MINTTL');
        }
        break;
      }
      case 'servfail':
        failttl = durationS(l, l.args[0]);
        if (failttl > 300) throw new SetupError(l, 'servfail duration may not exceed 5 minutes');
        break;
      case 'disable': {
        const which = l.args[0];
        if (which !== 'success' && which !== 'denial') throw new SetupError(l, 'disable needs success or denial');
        disabled[which] = l.args.length > 1 ? l.args.slice(1).map(canonical) : ['.'];
        break;
      }
      case 'keepttl':
        keepttl = true;
        break;
      case 'prefetch':
        break; // a popularity optimisation: the answers stay the same
      default:
        throw new SetupError(l, `cache option "${l.name}" is not simulated by kube-sim`);
    }
  }
  const items = new Map<string, Item>();
  const isDisabled = (kind: 'success' | 'denial', name: string) => disabled[kind]?.some((z) => inZone(name, z)) ?? false;
  const withTtl = (m: Message, ttl: number) => {
    for (const r of [...m.answers, ...m.authorities, ...m.additionals]) if (r.type !== T.OPT) r.ttl = ttl;
    return m;
  };
  return {
    name: 'cache',
    close: () => items.clear(),
    async serve(req: DnsRequest, next: Next) {
      const q = req.msg.questions[0];
      const qname = q ? canonical(q.name) : '';
      if (!q || !zones.some((z) => inZone(qname, z))) return next(req);
      const opt = req.msg.additionals.find((r) => r.type === T.OPT);
      const key = `${qname}/${q.type}/${q.class}/${opt && opt.ttl & 0x8000 ? 1 : 0}/${req.msg.cd ? 1 : 0}`;
      const t = now();
      const hit = items.get(key);
      if (hit) {
        const left = hit.durationS - Math.floor((t - hit.stored) / 1000);
        if (left > 0) {
          const m = cloneMessage(hit.msg);
          m.id = req.msg.id;
          m.questions = req.msg.questions.map((x) => ({ ...x }));
          m.aa = true;
          return keepttl ? m : withTtl(m, left);
        }
        items.delete(key);
      }
      const res = await next(req);
      if (!res) return res;
      const kind = kindOf(res);
      let dur = 0;
      if (kind === 'success') dur = Math.max(minp, minTtl(res, pttl));
      else if (kind === 'denial') dur = Math.max(minn, minTtl(res, nttl));
      else if (kind === 'servfail') dur = failttl;
      dur = Math.floor(dur);
      const out = kind && kind !== 'servfail' ? withTtl(cloneMessage(res), dur) : res;
      const sameQuestion = res.questions[0] && canonical(res.questions[0].name) === qname && res.questions[0].type === q.type;
      if (kind && dur > 0 && sameQuestion && !(kind !== 'servfail' && isDisabled(kind, qname))) items.set(key, { msg: cloneMessage(out), stored: t, durationS: dur });
      return out;
    },
  };
}
