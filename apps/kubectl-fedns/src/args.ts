/**
 * The plugin's command line: a command, its arguments and flags, as kubectl
 * spells them (`--flag value`, `--flag=value`, `-o json`, `-ojson`). Unknown
 * flags and missing values are usage errors.
 */
export class UsageError extends Error {}

export const OUTPUTS = ['json', 'yaml'] as const;
export type Output = (typeof OUTPUTS)[number] | undefined;

/** Flags that take a value (and their short forms). */
const VALUE_FLAGS = new Map([
  ['kubeconfig', 'kubeconfig'],
  ['context', 'context'],
  ['token', 'token'],
  ['output', 'output'],
  ['o', 'output'],
  ['zones', 'zones'],
  ['limit', 'limit'],
  ['to', 'to'],
  ['federation-kubeconfig', 'federation-kubeconfig'],
  ['federation-context', 'federation-context'],
]);
const BOOL_FLAGS = new Map([
  ['help', 'help'],
  ['h', 'help'],
]);

export interface Args {
  command: string | undefined;
  positional: string[];
  flags: Record<string, string>;
  help: boolean;
}

export function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    const long = /^--([a-z][a-z-]*)(?:=(.*))?$/s.exec(a);
    const short = long ? undefined : /^-([a-z])(.*)$/s.exec(a);
    if (!long && !short) {
      positional.push(a);
      continue;
    }
    const raw = (long?.[1] ?? short?.[1]) as string;
    const inline = long ? long[2] : short?.[2] ? short[2].replace(/^=/, '') : undefined;
    if (BOOL_FLAGS.has(raw)) {
      if (inline !== undefined) throw new UsageError(`flag ${a} takes no value`);
      help = true;
      continue;
    }
    const name = VALUE_FLAGS.get(raw);
    if (!name) throw new UsageError(`unknown flag: ${long ? `--${raw}` : `-${raw}`}`);
    let value = inline;
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`flag needs an argument: ${a}`);
    }
    flags[name] = value;
  }
  const out = flags.output;
  if (out !== undefined && !(OUTPUTS as readonly string[]).includes(out)) throw new UsageError(`unsupported output format "${out}" (want json or yaml)`);
  return { command: positional.shift(), positional, flags, help };
}

/** `--zones a,b` → ['a', 'b'] (empty parts dropped); undefined without the flag. */
export function zonesOf(flags: Record<string, string>): string[] | undefined {
  if (flags.zones === undefined) return undefined;
  const zones = flags.zones.split(',').map((z) => z.trim()).filter(Boolean);
  if (zones.length === 0) throw new UsageError('--zones needs at least one zone name');
  return zones;
}
