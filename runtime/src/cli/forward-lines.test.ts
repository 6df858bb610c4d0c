import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { forwardLines } from './forward-lines.ts';

describe('forwardLines', () => {
  it('writes whole lines only, each write after beforeWrite; a last line without newline is written at the end', async () => {
    const from = new PassThrough();
    const events: string[] = [];
    const to = new Writable({
      write(chunk: Buffer, _enc, cb) {
        events.push(`write:${chunk.toString()}`);
        cb();
      },
    });
    forwardLines(from, to, () => events.push('clear'));
    from.write('{"a":');
    from.write('1}\n{"b"');
    from.write(':2}\n{"c":3}\n{"d"');
    from.end(':4}');
    await new Promise((r) => from.on('end', r));
    expect(events).toEqual([
      'clear',
      'write:{"a":1}\n',
      'clear',
      'write:{"b":2}\n{"c":3}\n',
      'clear',
      'write:{"d":4}\n',
    ]);
  });

  it('writes a partial line once it exceeds the limit, so a slot without newlines cannot grow memory', async () => {
    const from = new PassThrough();
    const written: string[] = [];
    const to = new Writable({
      write(chunk: Buffer, _enc, cb) {
        written.push(chunk.toString());
        cb();
      },
    });
    forwardLines(from, to, () => undefined, 8);
    from.write('abcde');
    from.write('fghij');
    from.write('k\nlm');
    from.end();
    await new Promise((r) => from.on('end', r));
    expect(written).toEqual(['abcdefghij', 'k\n', 'lm\n']);
  });
});
