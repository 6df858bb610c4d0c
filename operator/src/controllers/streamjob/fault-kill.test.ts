import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { ErrorCodes } from '../../kube/errors.ts';
import type { StreamJob } from '../../api/v1alpha1/streamjob.ts';
import { FAULT_KILL_ENV, killAfterWrite, parseKillPoint, type KillNotice } from './fault-kill.ts';

const job = (ns: string, name: string, rv = '7', step?: string, generation = 3) =>
  ({
    metadata: { namespace: ns, name, resourceVersion: rv, generation },
    spec: {},
    status: step ? { pendingOperation: { kind: 'rescale', step } } : {},
  }) as unknown as StreamJob;

describe('fault injection: SIGKILL after a status write (test-only knob)', () => {
  it('parses <namespace>/<job>:<write>[@<generation>], is off when empty, and refuses anything else with OPERATOR_CONFIG', () => {
    expect(parseKillPoint('team-a/clicks.v2:savepoint-triggered')).toEqual({
      namespace: 'team-a',
      job: 'clicks.v2',
      write: 'savepoint-triggered',
    });
    expect(parseKillPoint('team-a/clicks:done@12')).toEqual({
      namespace: 'team-a',
      job: 'clicks',
      write: 'done',
      generation: 12,
    });
    expect(parseKillPoint('')).toBeUndefined();
    for (const bad of [
      'clicks:intent',
      'team-a/clicks',
      'team-a/clicks:',
      'Team/clicks:intent',
      'a/b:c:d',
      'a/b:intent@',
      'a/b:intent@0',
      'a/b:intent@x',
      'a/b:intnet', // names no status write (status-writes.ts)
    ])
      expect(() => parseKillPoint(bad), bad).toThrow(
        expect.objectContaining({ code: ErrorCodes.CONFIG, message: expect.stringContaining(FAULT_KILL_ENV) }),
      );
  });

  it('comes from the environment only', () => {
    expect(loadConfig([], { [FAULT_KILL_ENV]: 'ns/j:done' })).toMatchObject({
      faultKillAfterWrite: { namespace: 'ns', job: 'j', write: 'done' },
    });
    expect(loadConfig([], {})).not.toHaveProperty('faultKillAfterWrite');
    expect(() => loadConfig([], { [FAULT_KILL_ENV]: 'nonsense' })).toThrow(/TRIBUTARY_FAULT_KILL_AFTER_WRITE/);
  });

  it('fires on the first write of that name of that job only, with what was written', () => {
    const notices: KillNotice[] = [];
    const hook = killAfterWrite({ namespace: 'ns', job: 'j', write: 'state-ready' }, (n) => notices.push(n));
    hook(job('ns', 'j'), 'intent');
    hook(job('other', 'j'), 'state-ready');
    hook(job('ns', 'k'), 'state-ready');
    expect(notices).toEqual([]);
    hook(job('ns', 'j', '42', 'state-ready'), 'state-ready');
    hook(job('ns', 'j', '43', 'state-ready'), 'state-ready');
    expect(notices).toEqual([
      {
        msg: 'fault injection: SIGKILL after status write',
        job: 'ns/j',
        write: 'state-ready',
        generation: 3,
        resourceVersion: '42',
        pendingStep: 'state-ready',
      },
    ]);
  });

  it('with a generation, fires only on writes made at that generation (the operation that spec change started)', () => {
    const notices: KillNotice[] = [];
    const hook = killAfterWrite({ namespace: 'ns', job: 'j', write: 'done', generation: 5 }, (n) => notices.push(n));
    hook(job('ns', 'j', '10', undefined, 4), 'done');
    expect(notices).toEqual([]);
    hook(job('ns', 'j', '11', undefined, 5), 'done');
    expect(notices).toMatchObject([{ write: 'done', generation: 5, resourceVersion: '11' }]);
  });

  it('by default the process SIGKILLs itself after writing the notice, and nothing after the write runs', async () => {
    // A process of its own: the hook's default kill is the real one.
    const mod = fileURLToPath(new URL('./fault-kill.ts', import.meta.url));
    const script = `
      const { killAfterWrite } = await import(${JSON.stringify(mod)});
      const hook = killAfterWrite({ namespace: 'ns', job: 'j', write: 'done' });
      hook({ metadata: { namespace: 'ns', name: 'j', resourceVersion: '9' }, status: {} }, 'done');
      process.stdout.write('survived');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (c, s) => resolve([c, s])),
    );
    expect({ code, signal, out }).toEqual({ code: null, signal: 'SIGKILL', out: '' });
    expect(JSON.parse(err.trim().split('\n').at(-1)!)).toMatchObject({
      job: 'ns/j',
      write: 'done',
      resourceVersion: '9',
    });
  });
});
