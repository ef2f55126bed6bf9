/**
 * kubernetes, the part of the CoreDNS plugin a pod's lookups rely on, read from the simulated
 * cluster's own stores: `<svc>.<ns>.svc.<zone>` answers the Service's cluster IPs (A for IPv4,
 * AAAA for IPv6), a headless Service its ready endpoint addresses, an ExternalName Service a
 * CNAME; `<a-b-c-d>.<ns>.pod.<zone>` (pods insecure) the address in its name. A missing name is
 * NXDOMAIN, a name with nothing of the asked type NODATA, both with the zone's SOA
 * (`ns.dns.<zone> hostmaster.<zone>`, minimum = the TTL). Options: `ttl N` (default 5), `pods
 * insecure|disabled|verified`, `fallthrough [ZONES…]` (an NXDOMAIN in those zones goes to the
 * next plugin instead). Reverse zones (in-addr.arpa, ip6.arpa) are not answered here: with
 * fallthrough they go on, as in the kubeadm Corefile.
 */
import type { KubeObject } from '@fedns/kubewire';
import type { Directive } from '../corefile.js';
import { type DnsRequest, type Next, type Plugin, SetupError, type SetupContext } from '../plugin.js';
import { canonical, inZone, type Message, RC, type RR, replyTo, T } from '../wire.js';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export function setupKubernetes(d: Directive, ctx: SetupContext): Plugin {
  const zones = d.args.length ? d.args.map(canonical) : ctx.zones;
  let ttl = 5;
  let pods = 'disabled';
  let fallthrough: string[] | undefined;
  for (const l of d.block ?? []) {
    switch (l.name) {
      case 'ttl':
        ttl = Number(l.args[0]);
        if (!Number.isInteger(ttl) || ttl < 0 || ttl > 3600) throw new SetupError(l, 'ttl must be 0-3600');
        break;
      case 'pods':
        if (!['insecure', 'disabled', 'verified'].includes(l.args[0] ?? '')) throw new SetupError(l, `unknown pods mode ${l.args[0]}`);
        pods = l.args[0] as string;
        break;
      case 'fallthrough':
        fallthrough = l.args.length ? l.args.map(canonical) : ['.'];
        break;
      case 'endpoint':
      case 'kubeconfig':
      case 'namespaces':
      case 'labels':
      case 'namespace_labels':
      case 'noendpoints':
      case 'endpoint_pod_names':
      case 'ignore':
      case 'multicluster':
      case 'startup_timeout':
      case 'apiserver_qps':
      case 'apiserver_burst':
      case 'apiserver_max_inflight':
        break; // how CoreDNS reaches the API, or options the simulation's answers do not depend on
      default:
        throw new SetupError(l, `kubernetes option "${l.name}" is not simulated by kube-sim`);
    }
  }
  const { services, endpointSlices, namespaces } = ctx.stores;

  const soa = (zone: string): RR => ({
    name: zone,
    type: T.SOA,
    class: 1,
    ttl,
    data: { mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial: Math.floor(Date.now() / 1000) >>> 0, refresh: 7200, retry: 1800, expire: 86400, minimum: ttl },
  });

  const readyAddresses = (ns: string, svc: string): string[] => {
    const out = new Set<string>();
    for (const s of endpointSlices.list({ namespace: ns }).items) {
      if (s.metadata.labels?.[SERVICE_NAME_LABEL] !== svc) continue;
      for (const ep of (s.endpoints ?? []) as { addresses: string[]; conditions?: { ready?: boolean } }[]) {
        if (ep.conditions?.ready === false) continue;
        for (const a of ep.addresses) out.add(a);
      }
    }
    return [...out];
  };

  /** The records of `name` (every type), or undefined when the name does not exist. */
  const lookup = (name: string, zone: string): RR[] | undefined => {
    const rel = name === zone ? [] : name.slice(0, name.length - zone.length - 1).split('.');
    const rec = (type: number, data: string): RR => ({ name, type, class: 1, ttl, data });
    if (rel.length === 0) return [soa(zone)];
    const last = rel[rel.length - 1];
    if (last === 'svc') {
      if (rel.length === 1) return [];
      const ns = rel[rel.length - 2] as string;
      if (rel.length === 2) return namespaces.get(undefined, ns) ? [] : undefined;
      if (rel.length !== 3) return undefined;
      const svc: KubeObject | undefined = services.get(ns, rel[0] as string);
      if (!svc) return undefined;
      if (svc.spec?.type === 'ExternalName') return svc.spec.externalName ? [rec(T.CNAME, canonical(svc.spec.externalName))] : undefined;
      const ips: string[] = svc.spec?.clusterIP === 'None' ? readyAddresses(ns, rel[0] as string) : ((svc.spec?.clusterIPs ?? [svc.spec?.clusterIP]) as string[]).filter(Boolean);
      return ips.map((ip) => rec(ip.includes(':') ? T.AAAA : T.A, ip));
    }
    if (last === 'pod' && pods !== 'disabled') {
      if (rel.length === 1) return [];
      if (rel.length === 2) return namespaces.get(undefined, rel[0] as string) ? [] : undefined;
      if (rel.length !== 3) return undefined;
      const label = rel[0] as string;
      if (/^\d+-\d+-\d+-\d+$/.test(label)) return [rec(T.A, label.replaceAll('-', '.'))];
      return undefined;
    }
    return undefined;
  };

  return {
    name: 'kubernetes',
    async serve(req: DnsRequest, next: Next): Promise<Message | undefined> {
      const q = req.msg.questions[0];
      const qname = q ? canonical(q.name) : '.';
      const zone = zones.filter((z) => inZone(qname, z)).sort((a, b) => b.length - a.length)[0];
      if (!q || !zone) return next(req);
      const reverse = zone.endsWith('in-addr.arpa.') || zone.endsWith('ip6.arpa.');
      const records = reverse ? undefined : lookup(qname, zone);
      if (records === undefined && fallthrough?.some((z) => inZone(qname, z))) return next(req);
      const res = replyTo(req.msg, records === undefined ? RC.NXDOMAIN : RC.NOERROR);
      res.aa = true;
      const wanted = (records ?? []).filter((r) => r.type === q.type || q.type === T.ANY || r.type === T.CNAME);
      if (wanted.length) res.answers = wanted.map((r) => ({ ...r, name: q.name }));
      else res.authorities = [soa(zone)];
      return res;
    },
  };
}
