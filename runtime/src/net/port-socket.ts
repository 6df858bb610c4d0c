// A data-plane connection between two slot threads of one process: a Duplex over a
// MessagePort, carrying the same bytes a TCP connection would (handshake, frames, credits), so
// the links, the handshake and the failure rules above it are the TCP data plane's, unchanged.
//
// Each write (a corked batch of frames: `_writev`) is one message of *transferred* ArrayBuffers:
// a DATA frame moves to the receiving thread without a copy, small frames are copied once. TCP
// on loopback copies every byte twice (into and out of the kernel) and pays a syscall each
// way; a message is a wake-up of the receiving thread's event loop.
//
// Closing follows a socket's: `end()` posts an end marker behind the last data (the receiver
// sees 'end'); the port is closed once both directions ended. A port whose other side is
// closed without its end marker (the peer thread was terminated, or destroyed its end) ends
// this side with 'close' and no 'end': the link above counts that as a lost connection, as it
// does a reset TCP connection. Node delivers messages posted before a close ahead of it.
import { Duplex } from 'node:stream';
import { TributaryError } from '../errors.ts';
import { MessageChannel, type MessagePort } from 'node:worker_threads';

/** What a data-plane link needs of its connection: a net.Socket, or a PortSocket. */
export type LinkStream = Duplex & {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
};

/** Posted after the last data: the sender ended its side. */
const END = 0;

export class PortSocket extends Duplex {
  /** Names the peer in logs, as a socket's address does: `thread:<slot>`. */
  readonly remoteAddress: string;
  readonly remotePort = undefined;
  private readonly port: MessagePort;
  private endReceived = false;

  constructor(port: MessagePort, peer: string) {
    // Half-open is a socket's default off: an ended peer ends this side too, then both close.
    super({ allowHalfOpen: false });
    this.port = port;
    this.remoteAddress = peer;
    port.on('message', (m: unknown) => {
      if (m === END) {
        this.endReceived = true;
        this.push(null);
      } else if (Array.isArray(m) && m.every((b) => b instanceof ArrayBuffer))
        for (const b of m as ArrayBuffer[]) this.push(Buffer.from(b));
      else
        this.destroy(
          new TributaryError('TRIB_NET_PROTOCOL', `data-plane port from ${peer} carried a ${typeof m}, not bytes`),
        );
    });
    // After the peer's end marker its close takes nothing away: what was received (a paused
    // reader may not have read it yet) and the end are still delivered, as after a TCP FIN.
    port.on('close', () => {
      if (!this.destroyed && !this.endReceived) this.destroy();
    });
  }

  // No flow control here: the data plane's credits bound what a peer may send.
  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.postOrFail([chunk], cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void): void {
    this.postOrFail(
      chunks.map((c) => c.chunk),
      cb,
    );
  }

  /** A write that cannot be posted fails the stream (the link above fails), never the thread. */
  private postOrFail(chunks: Buffer[], cb: (e?: Error | null) => void): void {
    try {
      this.post(chunks);
      cb();
    } catch (e) {
      cb(
        new TributaryError('TRIB_NET_PROTOCOL', `data-plane port to ${this.remoteAddress}: ${(e as Error).message}`, {
          cause: e,
        }),
      );
    }
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.port.postMessage(END);
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.port.close();
    cb(err);
  }

  /**
   * Posts one message of ArrayBuffers, in order. A chunk that is its whole ArrayBuffer (a sealed
   * DATA frame: frame-codec.ts takes it into its own allocation) is moved, not copied: the
   * data plane never touches a frame after writing it. Runs of other chunks (credits, CONTROL
   * frames, slices of Node's shared pool) are copied together into one new buffer.
   */
  private post(chunks: Buffer[]): void {
    const out: ArrayBuffer[] = [];
    let run: Buffer[] = [];
    const flushRun = (): void => {
      if (run.length === 0) return;
      let n = 0;
      for (const c of run) n += c.length;
      const ab = new ArrayBuffer(n);
      const bytes = new Uint8Array(ab);
      let at = 0;
      for (const c of run) {
        bytes.set(c, at);
        at += c.length;
      }
      out.push(ab);
      run = [];
    };
    for (const c of chunks) {
      // A frame already moved has lost its bytes: writing it again would send nothing, silently.
      if ((c.buffer as ArrayBuffer & { detached?: boolean }).detached)
        throw new TributaryError('TRIB_NET_PROTOCOL', 'a frame was written after its bytes were moved to a peer');
      const whole = c.buffer instanceof ArrayBuffer && c.byteOffset === 0 && c.byteLength === c.buffer.byteLength;
      if (whole && c.byteLength > 0) {
        flushRun();
        out.push(c.buffer);
      } else run.push(c);
    }
    flushRun();
    this.port.postMessage(out, out);
  }
}

/** A slot thread's ends of its data-plane ports, by peer slot: it dials `outbound`, accepts `inbound`. */
export interface ThreadPorts {
  outbound: Map<number, MessagePort>;
  inbound: Map<number, MessagePort>;
}

/** Every port of `ports`: what must be transferred with them into a worker. */
export function transferListOf(ports: ThreadPorts): MessagePort[] {
  return [...ports.outbound.values(), ...ports.inbound.values()];
}

/** One MessageChannel per ordered pair of `parallelism` slots; element s is slot s's ends. */
export function threadPortMesh(parallelism: number): ThreadPorts[] {
  const mesh = Array.from({ length: parallelism }, () => ({ outbound: new Map(), inbound: new Map() }) as ThreadPorts);
  for (let from = 0; from < parallelism; from++)
    for (let to = 0; to < parallelism; to++) {
      if (from === to) continue;
      const { port1, port2 } = new MessageChannel();
      mesh[from]?.outbound.set(to, port1);
      mesh[to]?.inbound.set(from, port2);
    }
  return mesh;
}

/**
 * The ports for slots `joiners` joining running slot threads `running` (live rescale over
 * threads): one MessageChannel per ordered pair that has a joiner in it. `joiners` holds each new
 * slot's ends (it links with `connectPorts`, as at start); `forRunning` each running slot's ends of
 * its pair with each joiner (it links with `DataPlane.addPeerPorts`). Links among running slots
 * stay as they are.
 */
export function threadJoinPorts(
  running: readonly number[],
  joiners: readonly number[],
): {
  joiners: Map<number, ThreadPorts>;
  forRunning: Map<number, Map<number, { outbound: MessagePort; inbound: MessagePort }>>;
} {
  const again = joiners.find((j) => running.includes(j));
  if (again !== undefined)
    throw new TributaryError('TRIB_PEER_CONFIG', `slot ${again} is running already: it cannot join`);
  const joinerPorts = new Map(joiners.map((j) => [j, { outbound: new Map(), inbound: new Map() } as ThreadPorts]));
  const forRunning = new Map(
    running.map((r) => [r, new Map<number, { outbound: MessagePort; inbound: MessagePort }>()]),
  );
  for (const j of joiners) {
    const mine = joinerPorts.get(j) as ThreadPorts;
    for (const r of running) {
      const toRunning = new MessageChannel();
      const fromRunning = new MessageChannel();
      mine.outbound.set(r, toRunning.port1);
      mine.inbound.set(r, fromRunning.port2);
      forRunning.get(r)?.set(j, { outbound: fromRunning.port1, inbound: toRunning.port2 });
    }
    for (const k of joiners) {
      if (k === j) continue;
      const { port1, port2 } = new MessageChannel();
      mine.outbound.set(k, port1);
      joinerPorts.get(k)?.inbound.set(j, port2);
    }
  }
  return { joiners: joinerPorts, forRunning };
}
