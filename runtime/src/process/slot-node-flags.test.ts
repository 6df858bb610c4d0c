// The runtime image starts its slots with the same Node flags as `tributary run --distributed`.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SLOT_NODE_FLAGS } from './slot-node-flags.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');

describe('slot node flags', () => {
  it("are in the runtime image's ENTRYPOINT, before the entrypoint script", () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(runtime)?.[1];
    expect(entrypoint, 'the runtime stage has an ENTRYPOINT').toBeDefined();
    expect(JSON.parse(entrypoint!)).toEqual(['node', ...SLOT_NODE_FLAGS, '/app/runtime/src/main.ts']);
  });
});
