import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeAgentError } from './errors.ts';
import {
  defaultImageMap,
  loadImageMap,
  lookupImage,
  matchesPattern,
  normalizeImage,
  parseImageMap,
  resolveCommand,
} from './image-map.ts';

describe('image map', () => {
  it('normalizes references: default tag latest, Docker Hub prefixes dropped, digests kept', () => {
    expect(normalizeImage('busybox')).toBe('busybox:latest');
    expect(normalizeImage('docker.io/library/busybox:1.36')).toBe('busybox:1.36');
    expect(normalizeImage('localhost:5000/tributary/runtime')).toBe('localhost:5000/tributary/runtime:latest');
    expect(normalizeImage('alpine@sha256:abc')).toBe('alpine@sha256:abc');
  });

  it('matches * as any run of characters, against the raw and the normalized reference', () => {
    expect(matchesPattern('tributary/runtime:*', 'tributary/runtime:0.1.0')).toBe(true);
    expect(matchesPattern('tributary/runtime:*', 'tributary/runtime')).toBe(true);
    expect(matchesPattern('tributary/runtime:*', 'tributary/operator:0.1.0')).toBe(false);
    expect(matchesPattern('busybox*', 'docker.io/library/busybox:1.36')).toBe(true);
    expect(matchesPattern('a.b:*', 'axb:1')).toBe(false);
  });

  it('has defaults for our images (pointing at this checkout) and passthrough OS images', () => {
    const map = defaultImageMap('/repo');
    expect(lookupImage(map, 'tributary/runtime:dev')).toEqual({
      command: ['/repo/node_modules/.bin/node', '--max-semi-space-size=8', '/repo/runtime/src/main.ts'],
      env: { NODE_COMPILE_CACHE: '/repo/node_modules/.cache/tributary-compile-cache' },
    });
    expect(lookupImage(map, 'tributary/operator:1')?.command?.[1]).toBe('/repo/operator/src/main.ts');
    expect(lookupImage(map, 'ubuntu:24.04')).toEqual({ passthrough: true });
    expect(lookupImage(map, 'nginx:1.25')).toBeUndefined();
  });

  it('applies Kubernetes entrypoint semantics: command replaces entrypoint and CMD, args replace CMD', () => {
    const m = { command: ['/bin/entry'], args: ['--default'] };
    expect(resolveCommand(m, 'x', undefined, undefined).argv).toEqual(['/bin/entry', '--default']);
    expect(resolveCommand(m, 'x', undefined, ['--mine']).argv).toEqual(['/bin/entry', '--mine']);
    expect(resolveCommand(m, 'x', ['/bin/other'], undefined).argv).toEqual(['/bin/other']);
    expect(resolveCommand(m, 'x', ['/bin/other'], ['a']).argv).toEqual(['/bin/other', 'a']);
  });

  it('runs command + args as given for passthrough images, and refuses an empty one', () => {
    expect(resolveCommand({ passthrough: true }, 'busybox', ['sh', '-c'], ['echo hi']).argv).toEqual([
      'sh',
      '-c',
      'echo hi',
    ]);
    expect(resolveCommand({ passthrough: true }, 'busybox', undefined, ['sh']).argv).toEqual(['sh']);
    expect(() => resolveCommand({ passthrough: true }, 'busybox', undefined, undefined)).toThrow(/passthrough image/);
  });

  it('puts file entries before the defaults and substitutes ${repo}', () => {
    const dir = mkdtempSync(join(tmpdir(), 'na-imgmap-'));
    const file = join(dir, 'map.json');
    writeFileSync(
      file,
      JSON.stringify({
        'tributary/runtime:*': { command: ['${repo}/bin/run'], env: { MODE: 'x' } },
        'nginx:*': { command: ['/usr/sbin/nginx'], args: ['-g', 'daemon off;'] },
      }),
    );
    const map = loadImageMap(file, '/r');
    expect(lookupImage(map, 'tributary/runtime:1')).toEqual({ command: ['/r/bin/run'], env: { MODE: 'x' } });
    expect(lookupImage(map, 'nginx:1.25')?.args).toEqual(['-g', 'daemon off;']);
    expect(lookupImage(map, 'busybox')).toEqual({ passthrough: true });
  });

  it('rejects malformed maps with NODE_AGENT_IMAGE_MAP', () => {
    const bad = (v: unknown) => () => parseImageMap(v, 'test.json');
    expect(bad([])).toThrow(NodeAgentError);
    expect(bad({ a: { command: 'not-an-array' } })).toThrow(/must be an array of strings/);
    expect(bad({ a: {} })).toThrow(/needs a command or passthrough/);
    try {
      bad({ a: 1 })();
    } catch (err) {
      expect((err as NodeAgentError).code).toBe('NODE_AGENT_IMAGE_MAP');
    }
  });
});
