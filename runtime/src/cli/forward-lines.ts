// A slot's output on the terminal of a supervised run that shows a progress line: whole lines
// only, each after the progress line is cleared. A chunk can end mid-line; written as it came,
// the next redraw of the progress line (carriage return, erase line) would wipe that part.
// A partial line is held up to `maxPartial` characters (UTF-16 units: 1 Mi is 2 MiB of string),
// then written as it is: a slot that writes without newlines must not grow the supervisor's
// memory without bound.
import type { Readable } from 'node:stream';

export const MAX_PARTIAL_LINE_CHARS = 1 << 20;

export function forwardLines(
  from: Readable,
  to: NodeJS.WritableStream,
  beforeWrite: () => void,
  maxPartial = MAX_PARTIAL_LINE_CHARS,
): void {
  let tail = '';
  from.setEncoding('utf8');
  from.on('data', (chunk: string) => {
    const text = tail + chunk;
    let end = text.lastIndexOf('\n') + 1;
    if (text.length - end > maxPartial) end = text.length;
    tail = text.slice(end);
    if (end === 0) return;
    beforeWrite();
    to.write(text.slice(0, end));
  });
  from.on('end', () => {
    if (tail === '') return;
    beforeWrite();
    to.write(`${tail}\n`);
    tail = '';
  });
}
