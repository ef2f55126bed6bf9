/**
 * A test host of its own for the chaos tests: a network namespace joined to
 * this machine by a veth pair (host side HOST_IP, namespace side NS_IP).
 * Services meant for it listen on HOST_IP; processes started in it reach only
 * that. `cut` takes the link down: the namespace is partitioned from this
 * machine, while this machine still reaches HOST_IP itself.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const HOST_IP = '169.254.77.1';
export const NS_IP = '169.254.77.2';

export class TestNet {
  private constructor(
    readonly name: string,
    private readonly hostLink: string,
  ) {}

  static async create(): Promise<TestNet> {
    const id = Math.random().toString(36).slice(2, 7);
    const name = `fedns-chaos-${id}`;
    const host = `fch${id}`;
    const peer = `fcn${id}`;
    const ip = (...args: string[]) => run('ip', args);
    await ip('netns', 'add', name);
    const net = new TestNet(name, host);
    process.once('exit', () => net.destroySync());
    await ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
    await ip('link', 'set', peer, 'netns', name);
    await ip('addr', 'add', `${HOST_IP}/30`, 'dev', host);
    await ip('link', 'set', host, 'up');
    await ip('netns', 'exec', name, 'ip', 'addr', 'add', `${NS_IP}/30`, 'dev', peer);
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
