import { describe, expect, it } from 'vitest';
import { parseArgs } from './args.ts';

describe('parseArgs', () => {
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

  it('rejects bad values with the flag name', () => {
    expect(() => parseArgs(['run', 'j.yaml', '--parallelism', '0'])).toThrow(
      '--parallelism: expected an integer ≥ 1, got "0"',
    );
    expect(() => parseArgs(['run', 'j.yaml', '--duration', 'soon'])).toThrow(
      '--duration: expected a duration like "30s", got "soon"',
    );
    expect(() => parseArgs(['run'])).toThrow(/missing <job.yaml>/);
    expect(() => parseArgs(['fly'])).toThrow(/unknown command "fly"/);
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
