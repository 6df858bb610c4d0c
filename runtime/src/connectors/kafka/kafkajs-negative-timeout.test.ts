// kafkajs as installed here (node_modules, patched by patches/kafkajs+2.2.4.patch through
// `npm ci`'s prepare step) schedules no negative timeout: its request queue, driven as a
// connection drives it (push → send, fulfillRequest on the response), raises no
// TimeoutNegativeWarning on Node 24. Unpatched, every response did (`throttledUntil - Date.now()`
// with throttledUntil -1), in every kafkajs user: `npm run cluster -- up`, tests, benches.
// A child process, so that no runtime module (kafkajs-request-queue.ts replaces the same method
// on the class) has touched kafkajs: this is kafkajs on its own. The same with a real broker:
// kafkajs-negative-timeout.int.test.ts.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../../../..');
// The repository's Node 24 (npm ci installs it), as slot processes use.
const node = existsSync(join(repo, 'node_modules/.bin/node')) ? join(repo, 'node_modules/.bin/node') : process.execPath;

// CommonJS, evaluated with the repository as the working directory (require resolves from there).
const DRIVE_THE_QUEUE = `
const warnings = [];
process.on('warning', (w) => warnings.push(w.name + ': ' + w.message));
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js');
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const q = new RequestQueue({
  maxInFlightRequests: null, requestTimeout: 30000, enforceRequestTimeout: false,
  clientId: 'negative-timeout-test', broker: '127.0.0.1:9', logger: quiet,
});
let sent = 0;
for (let id = 1; id <= 3; id++) {
  q.push({
    entry: { correlationId: id, apiKey: 3, apiName: 'Metadata', apiVersion: 6, resolve() {}, reject() {} },
    expectResponse: true,
    sendRequest: () => sent++,
  });
  q.fulfillRequest({ correlationId: id, payload: null, size: 0 });
}
// Warnings are emitted on the next tick: report after them.
setTimeout(() => {
  q.destroy();
  process.stdout.write(JSON.stringify({ node: process.versions.node, sent, warnings }));
}, 50);
`;

describe('kafkajs request queue on Node 24', () => {
  it('raises no TimeoutNegativeWarning when a response leaves nothing pending', async () => {
    const { stdout } = await promisify(execFile)(node, ['-e', DRIVE_THE_QUEUE], { cwd: repo });
    const r = JSON.parse(stdout) as { node: string; sent: number; warnings: string[] };
    // Node 24 is where the warning exists; three requests went out and were answered.
    expect(Number(r.node.split('.')[0])).toBeGreaterThanOrEqual(24);
    expect(r.sent).toBe(3);
    expect(r.warnings.filter((w) => w.startsWith('TimeoutNegativeWarning'))).toEqual([]);
  });
});
