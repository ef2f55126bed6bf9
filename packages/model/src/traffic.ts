/**
 * The syntax of the traffic-policy annotations (issue 14): weights, routing
 * and probes. Each parser returns the value or the reason it is not one, so
 * the API can refuse a bad annotation with a 422 naming it, and the
 * controller can read a stored one without re-validating.
 */
import type { ProbeSpec, Routing } from './types.js';

export const MAX_WEIGHT = 1000;

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** `gce-us-east1b=1, gce-us-central1a=3` → { 'gce-us-east1b': 1, 'gce-us-central1a': 3 }. */
export function parseWeights(text: string): Parsed<Record<string, number>> {
  const out: Record<string, number> = {};
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  if (parts.length === 0) return { ok: false, message: 'names no cluster (want CLUSTER=WEIGHT, e.g. "gce-us-east1b=1,gce-us-central1a=3")' };
  for (const part of parts) {
    const m = /^([^=\s]+)\s*=\s*(\S+)$/.exec(part);
    if (!m) return { ok: false, message: `"${part}" is not CLUSTER=WEIGHT (e.g. "gce-us-east1b=1,gce-us-central1a=3")` };
    const [, cluster = '', raw = ''] = m;
    if (!/^\d+$/.test(raw) || Number(raw) > MAX_WEIGHT) return { ok: false, message: `weight of ${cluster} must be a whole number from 0 to ${MAX_WEIGHT}, got "${raw}"` };
    if (cluster in out) return { ok: false, message: `cluster ${cluster} is given twice` };
    out[cluster] = Number(raw);
  }
  return { ok: true, value: out };
}

/** The weight of a cluster under a weights map: 1 when not named. */
export function weightOf(weights: Record<string, number> | undefined, cluster: string): number {
  return weights?.[cluster] ?? 1;
}

export function parseRouting(text: string): Parsed<Routing> {
  return text === 'all' || text === 'nearest' ? { ok: true, value: text } : { ok: false, message: `must be "all" or "nearest", got "${text}"` };
}

/** The probe target: `tcp:443`, `http:80/healthz`, `https:8443/ready`. */
export function parseProbeTarget(text: string): Parsed<Pick<ProbeSpec, 'protocol' | 'port' | 'path'>> {
  const m = /^(tcp|https?):(\d{1,5})(\/[^\s]*)?$/.exec(text.trim());
  if (!m) return { ok: false, message: `"${text}" is not a probe (want tcp:PORT, http:PORT/PATH or https:PORT/PATH, e.g. "tcp:443" or "http:80/healthz")` };
  const [, protocol = 'tcp', port = '0', path] = m;
  const n = Number(port);
  if (n < 1 || n > 65535) return { ok: false, message: `port ${port} of "${text}" is out of range 1-65535` };
  if (protocol === 'tcp' && path !== undefined) return { ok: false, message: `a tcp probe has no path ("${text}"); use http:${port}${path}` };
  return { ok: true, value: { protocol: protocol as ProbeSpec['protocol'], port: n, ...(protocol === 'tcp' ? {} : { path: path ?? '/' }) } };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** `500ms`, `10s`, `1m` (a bare number is seconds) → milliseconds. */
export function parseDurationMs(text: string): Parsed<number> {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) return { ok: false, message: `"${text}" is not a duration (e.g. 500ms, 10s, 1m)` };
  return { ok: true, value: Math.round(Number(m[1]) * (UNITS[m[2] ?? 's'] ?? 1000)) };
}

/** The same text back: how a probe is named in messages, explain and metrics. */
export function probeTargetText(p: Pick<ProbeSpec, 'protocol' | 'port' | 'path'>): string {
  return `${p.protocol}:${p.port}${p.protocol === 'tcp' ? '' : (p.path ?? '/')}`;
}

export const PROBE_DEFAULTS = { intervalMs: 10_000, timeoutMs: 2_000, failureThreshold: 3, successThreshold: 1 } as const;
export const PROBE_LIMITS = { intervalMs: [1_000, 300_000], timeoutMs: [100, 60_000], threshold: [1, 10] } as const;

/** One controller's verdict on a shard from probing its load-balancer addresses (issue 14). */
export interface ProbeVerdict {
  cluster: string;
  namespace: string;
  service: string;
  /** The probe as written (`tcp:443`): a verdict of another probe is not about the current one. */
  target: string;
  /** The addresses probed: a verdict on other addresses is not about the shard as it is. */
  addresses: string[];
  /** After the prober's failure and success thresholds. */
  ok: boolean;
  /** When `ok` last changed (ISO 8601, the prober's clock). */
  since: string;
  message: string;
}

/** A verdict as read back: whose, and how fresh its prober is. */
export interface StoredProbeVerdict extends ProbeVerdict {
  prober: string;
  /** Milliseconds since the prober last recorded anything, by the store's clock (a prober records at least every few seconds while it runs). */
  proberAgeMs: number;
}
