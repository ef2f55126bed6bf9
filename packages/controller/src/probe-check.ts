/**
 * One probe of one load-balancer address (issue 14), the way Route 53 health
 * checks do it: TCP — the connection is accepted within the timeout; HTTP(S)
 * — a GET of the path answered 2xx or 3xx within the timeout (HTTPS does not
 * verify the certificate: a load balancer's certificate names the service,
 * not its address).
 */
import http from 'node:http';
import https from 'node:https';
import { isIPv6, Socket } from 'node:net';
import type { ProbeSpec } from '@fedns/model';

export interface CheckResult {
  ok: boolean;
  message: string;
  ms: number;
}

const why = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message ?? String(err);

export function checkAddress(spec: Pick<ProbeSpec, 'protocol' | 'port' | 'path' | 'timeoutMs'>, address: string): Promise<CheckResult> {
  return spec.protocol === 'tcp' ? checkTcp(address, spec.port, spec.timeoutMs) : checkHttp(spec, address);
}

function checkTcp(address: string, port: number, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = new Socket();
    let done = false;
    const finish = (ok: boolean, message: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, message, ms: performance.now() - started });
    };
    const timer = setTimeout(() => finish(false, `no connection to ${hostPort(address, port)} within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => finish(true, `connected to ${hostPort(address, port)}`));
    socket.once('error', (err) => finish(false, `${hostPort(address, port)}: ${why(err)}`));
    socket.connect({ host: address, port });
  });
}

function checkHttp(spec: Pick<ProbeSpec, 'protocol' | 'port' | 'path' | 'timeoutMs'>, address: string): Promise<CheckResult> {
  const started = performance.now();
  const lib = spec.protocol === 'https' ? https : http;
  const url = `${spec.protocol}://${hostPort(address, spec.port)}${spec.path ?? '/'}`;
  return new Promise((resolve) => {
    let done = false;
    const finish = (ok: boolean, message: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ok, message, ms: performance.now() - started });
    };
    const req = lib.request(url, { method: 'GET', agent: false, headers: { 'user-agent': 'fedns-probe', connection: 'close' }, ...(spec.protocol === 'https' ? { rejectUnauthorized: false } : {}) }, (res) => {
      const code = res.statusCode ?? 0;
      res.resume();
      finish(code >= 200 && code < 400, `GET ${url}: ${code}`);
    });
    const timer = setTimeout(() => finish(false, `GET ${url}: no answer within ${spec.timeoutMs} ms`), spec.timeoutMs);
    req.once('error', (err) => finish(false, `GET ${url}: ${why(err)}`));
    req.end();
  });
}

const hostPort = (address: string, port: number) => (isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`);
