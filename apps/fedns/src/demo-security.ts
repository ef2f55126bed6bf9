/**
 * The demo's API security: a self-signed certificate (kubectl sends bearer tokens over HTTPS
 * only) and an admin and a read-only token, made once per data directory and recorded in its
 * api-security.yaml — so `fedns serve` on the directory stays secure, and a second `fedns demo`
 * on it reuses them (the kubeconfig users already hold keeps working).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { ADMIN_GROUPS, loadTokenFile } from '@fedns/apiserver';
import { type DataDirSecurity, readDataDirSecurity, writeDataDirSecurity } from './api-security.js';
import type { Config } from './config.js';

/** A self-signed certificate made with the openssl command; undefined when openssl is not there. */
function selfSignedCertificate(dir: string, host: string): { certFile: string; keyFile: string } | undefined {
  const certFile = resolve(join(dir, 'apiserver.crt'));
  const keyFile = resolve(join(dir, 'apiserver.key'));
  const sans = ['IP:127.0.0.1', 'DNS:localhost', ...(isIP(host) && host !== '127.0.0.1' && host !== '0.0.0.0' && host !== '::' ? [`IP:${host}`] : [])];
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '365', '-subj', '/CN=fedns-demo', '-addext', `subjectAltName=${sans.join(',')}`], { stdio: 'ignore' });
    return { certFile, keyFile };
  } catch {
    return undefined;
  }
}

/** The token of the first admin user in a token file. */
function adminTokenOf(tokenFile: string): string | undefined {
  for (const [token, user] of loadTokenFile(tokenFile)) if (user.groups.some((g) => ADMIN_GROUPS.includes(g))) return token;
  return undefined;
}

export interface DemoSecurity {
  /** The admin token for the kubeconfig's federation-cluster user (when the demo knows one). */
  adminToken?: string;
  /** The demo's certificate, base64, to trust in the kubeconfig. */
  demoCa?: string;
  /** What happened, for the demo's output. */
  note?: string;
}

/**
 * Completes `cfg.tls` and `cfg.tokenAuthFile` for the demo: the operator's own settings win; else
 * the data directory's recorded ones (reused); else new ones, recorded for the next start.
 */
export function demoApiSecurity(cfg: Config): DemoSecurity {
  mkdirSync(cfg.dataDir, { recursive: true });
  const own = Boolean(cfg.tokenAuthFile || cfg.tls);
  const recorded = own ? undefined : readDataDirSecurity(cfg.dataDir)?.settings;
  const out: DemoSecurity = {};
  const made: DataDirSecurity = {};
  if (!own) {
    if (recorded?.tlsCertFile && recorded.tlsPrivateKeyFile && existsSync(recorded.tlsCertFile) && existsSync(recorded.tlsPrivateKeyFile)) {
      cfg.tls = { certFile: recorded.tlsCertFile, keyFile: recorded.tlsPrivateKeyFile };
    } else {
      const tls = selfSignedCertificate(cfg.dataDir, cfg.apiListen.host);
      if (!tls) return { note: 'openssl not found; the federation API stays on plain HTTP without authentication' };
      cfg.tls = tls;
      made.tlsCertFile = tls.certFile;
      made.tlsPrivateKeyFile = tls.keyFile;
    }
    out.demoCa = readFileSync(cfg.tls.certFile).toString('base64');
    if (recorded?.tokenAuthFile && existsSync(recorded.tokenAuthFile)) cfg.tokenAuthFile = recorded.tokenAuthFile;
  }
  let minted = false;
  if (!cfg.tokenAuthFile && cfg.tls) {
    minted = true;
    const adminToken = randomBytes(24).toString('base64url');
    const viewerToken = randomBytes(24).toString('base64url');
    cfg.tokenAuthFile = resolve(join(cfg.dataDir, 'tokens.csv'));
    const lines = ['# fedns demo API tokens: token,user,uid,"groups"', `${adminToken},demo-admin,demo-admin,"fedns:admin"`, `${viewerToken},demo-viewer,demo-viewer,"fedns:readonly"`];
    writeFileSync(cfg.tokenAuthFile, `${lines.join('\n')}\n`, { mode: 0o600 });
    if (!own) made.tokenAuthFile = cfg.tokenAuthFile;
  }
  if (!own && cfg.tls && cfg.tokenAuthFile) {
    const file = writeDataDirSecurity(cfg.dataDir, { tokenAuthFile: cfg.tokenAuthFile, tlsCertFile: cfg.tls.certFile, tlsPrivateKeyFile: cfg.tls.keyFile });
    out.note = Object.keys(made).length === 0 ? `reusing the API certificate and tokens recorded in ${file}` : `API certificate and tokens recorded in ${file}`;
  }
  // An operator's own token file stays theirs: its tokens are not copied into the kubeconfig.
  if (cfg.tokenAuthFile && (!own || minted)) out.adminToken = adminTokenOf(cfg.tokenAuthFile);
  return out;
}
