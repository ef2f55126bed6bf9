/** What every command gets: its arguments, the output format, and a client of the federation API (made on first use). */
import { KubeClient, loadKubeconfig } from '@fedns/kubeclient';
import type { Args, Output } from './args.js';

export const FED_API = '/apis/federation.fedns.io/v1';

export interface CommandContext {
  args: Args;
  output: Output;
  /** The terminal's width (0 when piped: nothing is cut). */
  width: number;
  client(): KubeClient;
}

export type Command = (ctx: CommandContext) => Promise<string>;

/**
 * The federation's connection: `--kubeconfig`/`--context` (for `join`, which
 * uses those two for the member, `--federation-kubeconfig`/`--federation-context`),
 * KUBECONFIG, ~/.kube/config; `--token` overrides the user's credentials.
 */
export function makeContext(args: Args, warn: (text: string) => void, width: number): CommandContext {
  let client: KubeClient | undefined;
  const join = args.command === 'join';
  return {
    args,
    output: args.flags.output as Output,
    width,
    client() {
      if (!client) {
        const conn = loadKubeconfig({
          kubeconfig: args.flags['federation-kubeconfig'] ?? (join ? undefined : args.flags.kubeconfig),
          context: args.flags['federation-context'] ?? (join ? undefined : args.flags.context),
          token: args.flags.token,
        });
        client = new KubeClient(conn, { userAgent: 'kubectl-fedns', onWarning: warn });
      }
      return client;
    },
  };
}
