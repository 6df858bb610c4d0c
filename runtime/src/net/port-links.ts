// The handshakes of data-plane links over MessagePorts (slot threads: port-socket.ts), for
// DataPlane.connectPorts (at start) and addPeerPorts (a slot joining). A port carries one
// connection: nothing here retries, a refused or closed handshake fails the caller.
import type { MessagePort } from 'node:worker_threads';
import { TributaryError } from '../errors.ts';
import type { DataServer } from './data-server.ts';
import { dialOver } from './dialer.ts';
import type { UnsignedHello } from './handshake.ts';
import { PortSocket } from './port-socket.ts';

/** What a port closed before its handshake finished left: the first such close, if any. */
export interface LostPorts {
  error?: Error;
}

/** Runs the server side of the handshake on each inbound port (`linked(from)`: its handshake finished). */
export function acceptPorts(
  server: Pick<DataServer, 'accept'>,
  inbound: Map<number, MessagePort>,
  timeoutMs: number,
  linked: (from: number) => boolean,
): LostPorts {
  const lost: LostPorts = {};
  for (const [from, port] of inbound) {
    const socket = new PortSocket(port, `thread:${from}`);
    socket.once('close', () => {
      if (!linked(from))
        lost.error ??= new TributaryError('TRIB_NET_CONNECT', `the port from slot ${from} closed during the handshake`);
    });
    server.accept(socket, timeoutMs);
  }
  return lost;
}

/** Dials slot `to` over `port`; its WELCOME must name `to`. */
export async function dialPort(to: number, port: MessagePort, hello: UnsignedHello, key: Buffer, timeoutMs: number) {
  const address = `thread:${to}`;
  const r = await dialOver(new PortSocket(port, address), address, hello, key, timeoutMs);
  if (r.welcome.slot !== to) {
    r.socket.destroy();
    throw new TributaryError('TRIB_NET_PROTOCOL', `the port to slot ${to} reached slot ${r.welcome.slot}`);
  }
  return { to, r };
}

/** Waits until `linked()`; a lost port, a link failure or the deadline ends the wait with its error. */
export async function linkedBy(
  failure: () => Error | undefined,
  linked: () => boolean,
  lost: LostPorts,
  deadline: number,
  timedOut: () => Error,
): Promise<void> {
  while (!linked()) {
    if (lost.error) throw lost.error;
    const f = failure();
    if (f) throw f;
    if (Date.now() > deadline) throw timedOut();
    await new Promise((r) => setTimeout(r, 5));
  }
}
