// Loopback ports for a local run's slots: the supervisor hands each slot its data, control and
// metrics port, as a pod gets its own. A port is found free by binding it and released before
// the slot binds it, so another process can take it in between: the slot then fails to bind and
// the supervisor retries the attempt.
import { createServer, type Server } from 'node:net';

/** Free loopback ports (bound then released: see the header). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => listenOnLoopback(0)));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Resolves when `port` can be bound on loopback now (then released), else rejects with the bind error. */
export async function loopbackPortFree(port: number): Promise<void> {
  const s = await listenOnLoopback(port);
  await new Promise((r) => s.close(r));
}

function listenOnLoopback(port: number): Promise<Server> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(port, '127.0.0.1', () => res(s));
  });
}
