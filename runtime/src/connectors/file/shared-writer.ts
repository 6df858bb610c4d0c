// One write stream per output path shared by the slots of this process (slots write whole
// batches, so lines never interleave). Reference-counted: the last close ends the stream.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

interface Shared {
  stream: WriteStream;
  refs: number;
  blocked: boolean;
  waiters: Set<() => void>;
  closed: Promise<void>;
}

const open = new Map<string, Shared>();

export class SharedWriter {
  private readonly path: string;
  private readonly s: Shared;
  private released = false;

  constructor(path: string, onDrain: () => void) {
    this.path = path;
    let s = open.get(path);
    if (!s) {
      mkdirSync(dirname(path), { recursive: true });
      const stream = createWriteStream(path, { flags: 'w' });
      const closed = new Promise<void>((resolve, reject) => {
        stream.once('close', () => resolve());
        stream.once('error', reject);
      });
      // Surface errors through close(); avoid an unhandled rejection before that.
      closed.catch(() => {});
      s = { stream, refs: 0, blocked: false, waiters: new Set(), closed };
      const shared = s;
      stream.on('drain', () => {
        shared.blocked = false;
        for (const w of shared.waiters) w();
      });
      open.set(path, s);
    }
    s.refs++;
    s.waiters.add(onDrain);
    this.s = s;
  }

  get backpressured(): boolean {
    return this.s.blocked;
  }

  write(text: string): void {
    if (!this.s.stream.write(text)) this.s.blocked = true;
  }

  async close(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.s.refs--;
    if (this.s.refs > 0) return;
    open.delete(this.path);
    this.s.stream.end();
    await this.s.closed;
  }
}
