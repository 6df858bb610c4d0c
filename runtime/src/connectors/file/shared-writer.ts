// One write stream per output path shared by the slots of this process (slots write whole
// batches, so lines never interleave). Reference-counted: the last close ends the stream.
//
// The file is opened for append, never truncated here: whatever a run finds in it (an earlier
// run's output, or this job's before a restart) stays. The file sink cuts a file back to a
// checkpointed length itself, before the writer opens (file-sink.ts). `flushed()` is what a
// checkpoint barrier waits for: every byte written before it is in the file and synced.
import { createWriteStream, existsSync, fdatasync, mkdirSync, statSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

interface Shared {
  stream: WriteStream;
  refs: number;
  blocked: boolean;
  waiters: Set<() => void>;
  closed: Promise<void>;
  /** The file's size when the stream opened it: bytes written land after it (O_APPEND, one writer). */
  readonly startSize: number;
  /** A regular file (not /dev/null, a FIFO, a terminal): only those have a length to record and sync. */
  readonly regular: boolean;
  /** Bytes handed to the stream, and bytes the stream wrote to the file (write callbacks, in order). */
  accepted: number;
  written: number;
  flushes: { upTo: number; resolve: () => void; reject: (e: unknown) => void }[];
  error: unknown;
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
      const size = SharedWriter.sizeOf(path);
      // Absent: the stream creates a regular file. Not a regular file (-1, present): no length, no sync.
      const regular = size >= 0 || !existsSync(path);
      const stream = createWriteStream(path, { flags: 'a' });
      const closed = new Promise<void>((resolve, reject) => {
        stream.once('close', () => resolve());
        stream.once('error', reject);
      });
      // Surface errors through close(); avoid an unhandled rejection before that.
      closed.catch(() => {});
      s = {
        stream,
        refs: 0,
        blocked: false,
        waiters: new Set(),
        closed,
        startSize: Math.max(0, size),
        regular,
        accepted: 0,
        written: 0,
        flushes: [],
        error: undefined,
      };
      const shared = s;
      stream.on('drain', () => {
        shared.blocked = false;
        for (const w of shared.waiters) w();
      });
      stream.on('error', (e) => {
        shared.error ??= e;
        for (const f of shared.flushes.splice(0)) f.reject(e);
      });
      open.set(path, s);
    }
    s.refs++;
    s.waiters.add(onDrain);
    this.s = s;
  }

  /** The size of the regular file at `path`; -1 when there is none (absent, or a device, a FIFO…). */
  static sizeOf(path: string): number {
    try {
      const st = statSync(path);
      return st.isFile() ? st.size : -1;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return -1;
      throw e;
    }
  }

  get backpressured(): boolean {
    return this.s.blocked;
  }

  /** Whether other slots of this process write the same file. */
  get shared(): boolean {
    return this.s.refs > 1;
  }

  /** A regular file, whose length can be recorded and cut back to. */
  get regular(): boolean {
    return this.s.regular;
  }

  /** The file's length once everything written so far is in it (one writer). */
  get length(): number {
    return this.s.startSize + this.s.accepted;
  }

  write(text: string): void {
    const s = this.s;
    const bytes = Buffer.byteLength(text);
    s.accepted += bytes;
    const ok = s.stream.write(text, (err) => {
      if (err) return; // the 'error' event rejects the flushes
      s.written += bytes;
      while (s.flushes.length > 0 && (s.flushes[0] as { upTo: number }).upTo <= s.written)
        (s.flushes.shift() as { resolve: () => void }).resolve();
    });
    if (!ok) s.blocked = true;
  }

  /**
   * Resolves once every byte handed to write() before this call is in the file and, for a
   * regular file, synced to its device (fdatasync): a checkpoint that completes after it never
   * has to replay those lines, whatever happens to the process or the machine later.
   */
  async flushed(): Promise<void> {
    const s = this.s;
    if (s.error !== undefined) throw s.error;
    const upTo = s.accepted;
    if (s.written < upTo) await new Promise<void>((resolve, reject) => s.flushes.push({ upTo, resolve, reject }));
    if (!s.regular) return;
    const fd = (s.stream as unknown as { fd: number | null }).fd;
    if (typeof fd !== 'number') return; // nothing written yet: the stream has not opened the file
    await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
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
