// One negotiated connection per server address, reopened after it breaks; concurrent callers of
// a server that is still connecting share the same attempt.
import { KuduConnection, type ConnectOptions } from './connection.ts';
import { kuduError } from './kudu-errors.ts';

export function parseHostPort(address: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(address.trim());
  const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
  if (!m?.[1] || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw kuduError('TRIB_KUDU_CONFIG', `"${address}" is not a host:port address`);
  }
  return { host: m[1], port };
}

export class ConnectionPool {
  private readonly options: ConnectOptions;
  private readonly open = new Map<string, Promise<KuduConnection>>();

  constructor(options: ConnectOptions) {
    this.options = options;
  }

  async get(host: string, port: number): Promise<KuduConnection> {
    const key = `${host}:${port}`;
    const existing = this.open.get(key);
    if (existing) {
      const conn = await existing.catch(() => undefined);
      if (conn?.isOpen === true) return conn;
      if (this.open.get(key) === existing) this.open.delete(key);
    }
    const attempt = KuduConnection.open(host, port, this.options);
    this.open.set(key, attempt);
    attempt.catch(() => {
      if (this.open.get(key) === attempt) this.open.delete(key);
    });
    return attempt;
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    for (const p of all) (await p.catch(() => undefined))?.close();
  }
}
