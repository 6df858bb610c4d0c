import { describe, expect, it } from 'vitest';
import type { MigrationStatus } from '../core/migration.ts';
import { describeMigration, parseRescaleArgs } from './rescale-cli.ts';

describe('tributary rescale arguments', () => {
  it('takes the control port, the target, a token file and --no-wait', () => {
    expect(parseRescaleArgs(['--control-port', '9090', '--to', '3'])).toEqual({
      port: 9090,
      to: 3,
      tokenFile: undefined,
      wait: true,
    });
    expect(parseRescaleArgs(['--to', '1', '--no-wait', '--token-file', '/t', '--control-port', '1'])).toEqual({
      port: 1,
      to: 1,
      tokenFile: '/t',
      wait: false,
    });
  });

  it('refuses what it cannot use, naming the argument', () => {
    const bad: [string[], RegExp][] = [
      [['--to', '3'], /--control-port is required/],
      [['--control-port', '9090'], /--to is required/],
      [['--control-port', '9090', '--to', '0'], /--to: expected an integer ≥ 1, got 0/],
      [['--control-port', '9090', '--to', '2.5'], /--to: expected an integer ≥ 1, got 2.5/],
      [['--control-port', 'x', '--to', '2'], /--control-port: expected an integer ≥ 1, got x/],
      [['--control-port', '9090', '--to'], /--to needs a value/],
      [['--control-port', '9090', '--to', '2', '--parallelism', '2'], /unknown argument --parallelism/],
    ];
    for (const [argv, message] of bad) expect(() => parseRescaleArgs(argv), argv.join(' ')).toThrow(message);
  });
});

describe('a migration as one line', () => {
  const base: MigrationStatus = {
    id: 'mig-1',
    state: 'IN_PROGRESS',
    from: 2,
    to: 3,
    phase: 'moving',
    stepsDone: 2,
    steps: 5,
    keyGroupsMoved: 20,
    keyGroups: 63,
    bytesMoved: 3 * 2 ** 20,
    bytes: 9 * 2 ** 20,
    startedAt: '2026-11-27T20:00:00.000Z',
  };

  it('says the phase, the step and what moved', () => {
    expect(describeMigration(base)).toBe(
      'mig-1 2 → 3 moving: step 2/5, 20/63 key groups, 3.0 MiB of 9.0 MiB state moved',
    );
    expect(describeMigration({ ...base, state: 'COMPLETED', phase: 'done', stepsDone: 5, keyGroupsMoved: 63 })).toBe(
      'mig-1 2 → 3 completed: 5 steps, 63/63 key groups, 3.0 MiB of 9.0 MiB state moved',
    );
    expect(describeMigration({ ...base, state: 'FAILED', code: 'TRIB_RESCALE_STEP_FAILED', error: 'x' })).toBe(
      'mig-1 2 → 3 failed (TRIB_RESCALE_STEP_FAILED): x',
    );
  });
});
