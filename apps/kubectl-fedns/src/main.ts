/**
 * kubectl-fedns: the federation's operator commands as a kubectl plugin
 * (`kubectl fedns …`, run through bin/kubectl-fedns). Every error is one line
 * on stderr, `error: …` as kubectl prints them; exit 2 for usage, 1 otherwise.
 */
import { parseArgs, UsageError } from './args.js';
import { drain, undrain } from './commands/drain.js';
import { explain } from './commands/explain.js';
import { history } from './commands/history.js';
import { join, unjoin } from './commands/join.js';
import { policy } from './commands/policy.js';
import { status } from './commands/status.js';
import { type Command, makeContext } from './context.js';
import { terminalWidth } from './output.js';

export const USAGE = `kubectl fedns — operate a fedns federation through its API (the current kubeconfig context)

Commands:
  status                                  clusters by region and zone (ready, reachable, drained); services by how their global name answers
  explain NAME                            how a DNS name of the zone resolves now, and why (NAME may leave out the zone)
  explain NAMESPACE/SERVICE               the service's whole cascade: global → regions → zones
  history NAMESPACE/SERVICE [--limit N]   record changes and service changes, with cause, time and user
  policy history NAMESPACE/SERVICE        every version of its traffic policy (annotations), who changed what from what
  policy rollback NAMESPACE/SERVICE --to N
                                          put version N's policy annotations back (a new change, by you)
  drain CLUSTER [--zones Z,…]             stop publishing the cluster's shards (or only in some of its zones)
  undrain CLUSTER [--zones Z,…]           publish them again (without --zones: the whole cluster, every zone)
  join NAME --kubeconfig F [--context C]  add a member cluster (F is the member's kubeconfig; its files are inlined)
  unjoin NAME                             remove a member cluster

Flags:
  -o, --output json|yaml   the API's object instead of the table
  --kubeconfig FILE        the kubeconfig to use (default: KUBECONFIG, then ~/.kube/config)
  --context NAME           the context to use (default: its current context)
  --token TOKEN            this bearer token instead of the context's credentials
  --federation-kubeconfig FILE, --federation-context NAME
                           the federation's kubeconfig and context for join (whose --kubeconfig and --context name the member)
`;

const COMMANDS: Record<string, Command> = { status, explain, history, policy, drain, undrain, join, unjoin };

export async function run(argv: string[], io: { out: (s: string) => void; err: (s: string) => void; width: number }): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args.help || args.command === 'help' || args.command === undefined) {
      io.out(USAGE);
      return args.command === undefined && !args.help ? 2 : 0;
    }
    const cmd = COMMANDS[args.command];
    if (!cmd) throw new UsageError(`unknown command "${args.command}" (want one of: ${Object.keys(COMMANDS).join(', ')}; kubectl fedns help)`);
    const ctx = makeContext(args, (w) => io.err(`Warning: ${w}`), io.width);
    io.out(`${await cmd(ctx)}\n`);
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.err(`error: ${message.split('\n')[0]}`);
    return err instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main) {
  const code = await run(process.argv.slice(2), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(`${s}\n`), width: terminalWidth() });
  process.exit(code);
}
