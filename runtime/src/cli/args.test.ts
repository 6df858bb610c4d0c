import { describe, expect, it } from 'vitest';
import { parseArgs, USAGE } from './args.ts';

describe('parseArgs', () => {
  it('reads --ui with an optional address, leaving a job file or option after it alone', () => {
    expect(parseArgs(['run', 'job.yaml', '--ui']).ui).toBe('127.0.0.1:8081');
    expect(parseArgs(['run', '--ui', 'job.yaml'])).toMatchObject({ ui: '127.0.0.1:8081', file: 'job.yaml' });
    expect(parseArgs(['run', '--ui', '--drain', 'j.yaml'])).toMatchObject({ ui: '127.0.0.1:8081', drain: true });
    expect(parseArgs(['run', '--ui', '0.0.0.0:9000', 'j.yaml']).ui).toBe('0.0.0.0:9000');
    expect(parseArgs(['run', '--ui=[::1]:0', 'j.yaml']).ui).toBe('[::1]:0');
    expect(parseArgs(['run', 'j.yaml', '--ui', '9000']).ui).toBe('9000');
    expect(parseArgs(['run', 'j.yaml']).ui).toBeUndefined();
    expect(() => parseArgs(['run', 'j.yaml', '--ui=somewhere'])).toThrow(
      expect.objectContaining({ code: 'TRIB_CLI_USAGE' }),
    );
  });

  it('parses run options', () => {
    expect(
      parseArgs([
        'run',
        'job.yaml',
        '--parallelism',
        '3',
        '--duration=30s',
        '--set',
        'a.b=1',
        '--set=c=2',
        '--metrics-port',
        '0',
        '--drain',
      ]),
    ).toMatchObject({
      command: 'run',
      file: 'job.yaml',
      parallelism: 3,
      durationMs: 30_000,
      sets: ['a.b=1', 'c=2'],
      metricsPort: 0,
      drain: true,
    });
  });

  it('takes --drain and --control-port in every mode; --threads and --distributed exclude each other', () => {
    for (const mode of [[], ['--threads'], ['--distributed']])
      expect(parseArgs(['run', 'j.yaml', ...mode, '--drain', '--control-port', '0'])).toMatchObject({
        drain: true,
        controlPort: 0,
      });
  });

  it('--offset-commit-interval: a duration, 0 turns the periodic commits off', () => {
    expect(parseArgs(['run', 'j.yaml', '--offset-commit-interval', '1s']).offsetCommitIntervalMs).toBe(1000);
    expect(parseArgs(['run', 'j.yaml', '--offset-commit-interval', '0']).offsetCommitIntervalMs).toBe(0);
    expect(parseArgs(['run', 'j.yaml']).offsetCommitIntervalMs).toBeUndefined();
  });

  it('rejects bad values with the flag name', () => {
    expect(() => parseArgs(['run', 'j.yaml', '--parallelism', '0'])).toThrow(
      '--parallelism: expected an integer ≥ 1, got "0"',
    );
    expect(() => parseArgs(['run', 'j.yaml', '--duration', 'soon'])).toThrow(
      '--duration: expected a duration like "30s", got "soon"',
    );
    expect(() => parseArgs(['run', 'j.yaml', '--offset-commit-interval', 'often'])).toThrow(
      '--offset-commit-interval: expected a duration like "5s" (0 = off), got "often"',
    );
    expect(() => parseArgs(['run'])).toThrow(/missing <job.yaml>/);
    expect(() => parseArgs(['fly'])).toThrow(/unknown command "fly"/);
  });

  it('--state-backend heap|disk and --local-state-dir; both listed in the usage', () => {
    expect(parseArgs(['run', 'j.yaml', '--state-backend', 'disk'])).toMatchObject({ stateBackend: 'disk' });
    expect(parseArgs(['run', 'j.yaml', '--state-backend=heap'])).toMatchObject({ stateBackend: 'heap' });
    expect(parseArgs(['run', 'j.yaml', '--local-state-dir', '/tmp/s'])).toMatchObject({ localStateDir: '/tmp/s' });
    const none = parseArgs(['run', 'j.yaml']);
    expect(none.stateBackend).toBeUndefined();
    expect(none.localStateDir).toBeUndefined();
    expect(() => parseArgs(['run', 'j.yaml', '--state-backend', 'rocksdb'])).toThrow(
      expect.objectContaining({
        code: 'TRIB_CLI_USAGE',
        message: '--state-backend: expected heap or disk, got "rocksdb"',
      }),
    );
    expect(() => parseArgs(['run', 'j.yaml', '--state-backend'])).toThrow(
      '--state-backend: expected heap or disk, got ""',
    );
    expect(() => parseArgs(['run', 'j.yaml', '--local-state-dir='])).toThrow('--local-state-dir: expected a directory');
    expect(USAGE).toMatch(/--state-backend heap\|disk/);
    expect(USAGE).toMatch(/--local-state-dir DIR/);
  });

  it('--threads: slots on worker threads; not with --distributed', () => {
    expect(parseArgs(['run', 'j.yaml', '--threads', '-p', '2'])).toMatchObject({ threads: true, distributed: false });
    expect(parseArgs(['run', 'j.yaml'])).toMatchObject({ threads: false, singleThread: false });
    expect(parseArgs(['run', 'j.yaml', '--single-thread'])).toMatchObject({ singleThread: true });
    expect(() => parseArgs(['run', 'j.yaml', '--single-thread', '--threads'])).toThrow(
      '--threads and --single-thread: choose one',
    );
    expect(() => parseArgs(['run', 'j.yaml', '--threads', '--distributed'])).toThrow(
      '--distributed and --threads: choose one (a process per slot, a thread per slot, or every slot on one thread)',
    );
  });
});
