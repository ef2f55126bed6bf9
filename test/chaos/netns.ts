/**
 * A test host of its own for the chaos tests: a network namespace joined to
 * this machine by a veth pair (host side hostIp, namespace side nsIp).
 * Services meant for it listen on hostIp; processes started in it reach only
 * that. `cut` takes the link down: the namespace is partitioned from this
 * machine, while this machine still reaches hostIp itself.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A /30 in 169.254.64.0/18 that no link on this machine uses yet: two test
 * runs on one machine (a CI run beside a developer's) must not route into each
 * other's namespace, as one fixed /30 did.
 */
async function unusedLinkLocal30(): Promise<{ host: string; ns: string }> {
  const { stdout } = await run('ip', ['-4', '-o', 'addr', 'show']);
  for (let i = 0; i < 64; i++) {
    const third = 64 + Math.floor(Math.random() * 64);
    const fourth = Math.floor(Math.random() * 64) * 4;
    const host = `169.254.${third}.${fourth + 1}`;
    const ns = `169.254.${third}.${fourth + 2}`;
    if (!stdout.includes(` 169.254.${third}.${fourth}`) && !stdout.includes(` ${host}/`) && !stdout.includes(` ${ns}/`)) return { host, ns };
  }
  throw new Error('no unused /30 in 169.254.64.0/18');
}

export class TestNet {
  private constructor(
    readonly name: string,
    private readonly hostLink: string,
    /** This machine's end of the link: services meant for the namespace listen here. */
    readonly hostIp: string,
    /** The namespace's end. */
    readonly nsIp: string,
  ) {}

  static async create(): Promise<TestNet> {
    const ips = await unusedLinkLocal30();
    const id = Math.random().toString(36).slice(2, 7);
    const name = `fedns-chaos-${id}`;
    const host = `fch${id}`;
    const peer = `fcn${id}`;
    const ip = (...args: string[]) => run('ip', args);
    await ip('netns', 'add', name);
    const net = new TestNet(name, host, ips.host, ips.ns);
    process.once('exit', () => net.destroySync());
    await ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
    await ip('link', 'set', peer, 'netns', name);
    await ip('addr', 'add', `${ips.host}/30`, 'dev', host);
    await ip('link', 'set', host, 'up');
    await ip('netns', 'exec', name, 'ip', 'addr', 'add', `${ips.ns}/30`, 'dev', peer);
    await ip('netns', 'exec', name, 'ip', 'link', 'set', peer, 'up');
    await ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
    return net;
  }

  /** Starts a command inside the namespace (`ip netns exec` execs it: the child's pid is the command's). */
  spawn(cmd: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd: string }): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  async cut(): Promise<void> {
    await run('ip', ['link', 'set', this.hostLink, 'down']);
  }

  async heal(): Promise<void> {
    await run('ip', ['link', 'set', this.hostLink, 'up']);
  }

  destroySync(): void {
    try {
      execFileSync('ip', ['link', 'del', this.hostLink], { stdio: 'ignore' });
    } catch {}
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
    } catch {}
  }

  async destroy(): Promise<void> {
    await run('ip', ['link', 'del', this.hostLink]).catch(() => undefined);
    await run('ip', ['netns', 'del', this.name]).catch(() => undefined);
  }
}
