// `tributary state gc`: its arguments, and one collection of a hand-built state directory on the
// filesystem (a base shared with the kept checkpoint stays, the rest goes), printed.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointDir, completeCheckpoint, handle, stateFile, writeFiles } from '../testing/checkpoint-folders.ts';
import { parseStateGcArgs, stateCommand } from './state-gc-cli.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; out: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString()));
  const code = await stateCommand(argv, out);
  return { code, out: text };
}

describe('tributary state gc arguments', () => {
  it('takes the state directory and --retained (default 3)', () => {
    expect(parseStateGcArgs(['gc', '/s'])).toEqual({ stateDir: '/s', retained: 3 });
    expect(parseStateGcArgs(['gc', '--retained', '1', 's3://b/p'])).toEqual({ stateDir: 's3://b/p', retained: 1 });
    expect(parseStateGcArgs(['gc', '/s', '--retained=2'])).toEqual({ stateDir: '/s', retained: 2 });
    expect(parseStateGcArgs([])).toBeUndefined();
    expect(parseStateGcArgs(['gc', '--help'])).toBeUndefined();
  });

  it('refuses --retained below 1 and what it does not know, naming it', () => {
    const bad: [string[], RegExp][] = [
      [['gc', '/s', '--retained', '0'], /--retained: expected an integer ≥ 1, got "0"/],
      [['gc', '/s', '--retained=-1'], /--retained: expected an integer ≥ 1, got "-1"/],
      [['gc', '/s', '--retained', '1.5'], /--retained: expected an integer ≥ 1/],
      [['gc', '/s', '--retained'], /--retained needs a value/],
      [['gc'], /missing <stateDir>/],
      [['gc', '/s', '/t'], /one state directory only/],
      [['gc', '/s', '--force'], /unknown option --force/],
      [['sweep', '/s'], /unknown subcommand "sweep"/],
    ];
    for (const [argv, message] of bad)
      expect(() => parseStateGcArgs(argv), argv.join(' ')).toThrow(
        expect.objectContaining({ code: 'TRIB_CLI_USAGE', message: expect.stringMatching(message) as unknown }),
      );
  });
});

describe('tributary state gc', () => {
  it('prunes a stopped job’s checkpoints file by file and prints what it removed and kept', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-state-gc-'));
    dirs.push(stateDir);
    await completeCheckpoint(
      stateDir,
      1,
      ['s.slot-0.kstate', 't.slot-0.kstate'],
      [handle(0, stateFile('s.slot-0.kstate')), handle(1, stateFile('t.slot-0.kstate'))],
    );
    await completeCheckpoint(
      stateDir,
      2,
      ['s.slot-0.kdelta', 't.slot-0.kstate'],
      [
        handle(0, stateFile('s.slot-0.kstate', 'chk-1'), [stateFile('s.slot-0.kdelta')]),
        handle(1, stateFile('t.slot-0.kstate')),
      ],
    );
    // Abandoned above the newest (a crash between upload and commit): no slot runs, so it goes.
    await writeFiles(stateDir, 3, ['s.slot-0.kdelta']);
    // Compacted bases no checkpoint references, one in the kept folder, one a running slot could
    // still adopt (chk-2's chain of s in slot 0 starts in chk-1): a stopped job adopts nothing.
    await writeFiles(stateDir, 2, ['s.slot-0.base-2.kstate']);
    await writeFiles(stateDir, 1, ['s.slot-0.base-1.kstate']);
    const { code, out } = await run(['gc', stateDir, '--retained', '1']);
    expect(code).toBe(0);
    expect(out).toBe(
      [
        `${stateDir}/checkpoints:`,
        'kept (restorable): chk-2',
        'dropped (metadata removed, no longer restorable): chk-1',
        'removed 4 files:',
        '  chk-1/s.slot-0.base-1.kstate',
        '  chk-1/t.slot-0.kstate',
        '  chk-2/s.slot-0.base-2.kstate',
        '  chk-3/s.slot-0.kdelta',
        'kept 1 file in older folders that kept checkpoints reference:',
        '  chk-1/s.slot-0.kstate',
        'removed folders: chk-3',
        '',
      ].join('\n'),
    );
    expect((await readdir(checkpointDir(stateDir, 1))).sort()).toEqual(['s.slot-0.kstate']);
    expect((await readdir(checkpointDir(stateDir, 2))).sort()).toEqual([
      '_metadata.json',
      's.slot-0.kdelta',
      't.slot-0.kstate',
    ]);
    // A corrupt metadata: nothing removed, the error names it (exit code 1 in run-cli.ts).
    await writeFile(join(checkpointDir(stateDir, 2), '_metadata.json'), '{');
    await expect(run(['gc', stateDir, '--retained', '1'])).rejects.toMatchObject({
      code: 'TRIB_RESTORE_METADATA_CORRUPT',
    });
    expect((await readdir(checkpointDir(stateDir, 1))).sort()).toEqual(['s.slot-0.kstate']);
  });

  it('refuses a folder that does not exist, and one a run holds', async () => {
    await expect(run(['gc', join(tmpdir(), 'trib-no-such-state')])).rejects.toMatchObject({
      code: 'TRIB_CLI_USAGE',
      message: expect.stringContaining('no state directory') as unknown,
    });
    const stateDir = await mkdtemp(join(tmpdir(), 'trib-state-gc-'));
    dirs.push(stateDir);
    await mkdir(join(stateDir, 'checkpoints'));
    await writeFile(join(stateDir, '.tributary-run.lock'), String(process.ppid));
    await expect(run(['gc', stateDir])).rejects.toMatchObject({ code: 'TRIB_STATE_LOCKED' });
  });

  it('refuses a folder no job wrote to, naming what it holds, and leaves it as it was', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'trib-state-gc-'));
    dirs.push(parent);
    await expect(run(['gc', parent])).rejects.toMatchObject({
      code: 'TRIB_CLI_USAGE',
      message: expect.stringMatching(/is not a job's state directory: .*\(it is empty\)/) as unknown,
    });
    // The parent of a state directory (a common slip): refused, naming the folder it holds.
    await mkdir(join(parent, 'job-a', 'checkpoints'), { recursive: true });
    await expect(run(['gc', parent])).rejects.toMatchObject({
      message: expect.stringContaining('(it holds job-a)') as unknown,
    });
    expect(await readdir(parent)).toEqual(['job-a']);
  });
});
