/**
 * A loopback TCP proxy standing for the stable endpoint an HA setup gives
 * clients (a virtual IP, HAProxy in front of Patroni, an operator's `-rw`
 * Service): clients keep one address; `retarget` moves it to the new primary
 * and cuts every open connection, as those do when the primary changes.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';

export class TcpProxy {
  readonly #sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    public target: number,
  ) {}

  /** Listens on `host` (default loopback) and forwards to 127.0.0.1:`target`. */
  static async start(target: number, host = '127.0.0.1'): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy?.pipe(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    proxy = new TcpProxy(server, (server.address() as { port: number }).port, target);
    return proxy;
  }

  private pipe(client: Socket): void {
    const upstream = connect(this.target, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  /** Points new connections at `port` and cuts the open ones. */
  retarget(port: number): void {
    this.target = port;
    this.cut();
  }

  /** Cuts every open connection (new ones still go through). */
  cut(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
