// A slot's output on the terminal of a supervised run that shows a progress line: whole lines
// only, each after the progress line is cleared. A chunk can end mid-line; written as it came,
// the next redraw of the progress line (carriage return, erase line) would wipe that part.
import type { Readable } from 'node:stream';

export function forwardLines(from: Readable, to: NodeJS.WritableStream, beforeWrite: () => void): void {
  let tail = '';
  from.setEncoding('utf8');
  from.on('data', (chunk: string) => {
    const text = tail + chunk;
    const end = text.lastIndexOf('\n') + 1;
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
