// `tributary run` with slots on threads as users run it: Ctrl-C, --drain, the progress line on a
// terminal, and the file sinks a run on threads refuses.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_NODE as node, REPO_ROOT as root, startCli, type CliResult } from '../testing/cli-process.ts';

describe('tributary run --threads', () => {
  it('Ctrl-C stops all slot threads; the run exits 0, STOPPED', async () => {
    const state = mkdtempSync(join(tmpdir(), 'trib-threads-cli-'));
    let sent = false;
    const r = await startCli(['run', 'crds/examples/clicks-local.yaml', '--threads', '-p', '2', '--state-dir', state], {
      onStderr: (stderr, child) => {
        // Both slots linked and running (each logs it once), with a checkpoint taken.
        if (!sent && stderr.split('"msg":"job running"').length === 3 && stderr.includes('checkpoint completed')) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    }).done;
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toContain('"host":"thread"');
    expect(r.stderr).toContain('stopping all slots');
    expect(r.stderr.split('"msg":"slot stopped"').length).toBe(3);
    expect(r.stderr).toMatch(
      /"state":"STOPPED","attempts":1,"restarts":0,"recordsIn":[1-9]\d*,"recordsOut":\d+,"msg":"job stopped"/,
    );
  }, 30_000);

  it('--drain: every slot fires its open windows on the stop (without it, an hour-long window never fires)', async () => {
    const state = mkdtempSync(join(tmpdir(), 'trib-threads-drain-'));
    // Ctrl-C 2 s after both slots run, however long a loaded machine takes to start them.
    const run = (extra: string[], dir: string): Promise<CliResult> => {
      let sent = false;
      return startCli(
        [
          'run',
          'crds/examples/clicks-local.yaml',
          '--threads',
          '-p',
          '2',
          '--state-dir',
          join(state, dir),
          '--set',
          'graph.steps[3].window.tumbling.size=1h',
          ...extra,
        ],
        {
          onStderr: (stderr, child) => {
            if (!sent && stderr.split('"msg":"job running"').length === 3) {
              sent = true;
              setTimeout(() => child.kill('SIGINT'), 2000);
            }
          },
        },
      ).done;
    };
    const [drained, plain] = await Promise.all([run(['--drain'], 'drained'), run([], 'plain')]);
    expect(drained.code, drained.stderr.slice(-2000)).toBe(0);
    expect(plain.code, plain.stderr.slice(-2000)).toBe(0);
    const rows = drained.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { country: string; clicks: number });
    // Five countries, each keyed to one of the two slots: all fired, once.
    expect(rows.map((r) => r.country).sort()).toEqual(['br', 'de', 'fr', 'jp', 'us']);
    expect(rows.every((r) => r.clicks > 0)).toBe(true);
    expect(plain.stdout).toBe('');
    // The slots' counts, summed: the five rows are the records the sinks wrote.
    expect(drained.stderr).toMatch(
      /"state":"STOPPED","attempts":1,"restarts":0,"recordsIn":[1-9]\d*,"recordsOut":5,"msg":"job stopped"/,
    );
  }, 40_000);

  it("on a terminal: a progress line sums the slots, and the slots' sink output arrives in whole lines", () => {
    const state = mkdtempSync(join(tmpdir(), 'trib-threads-tty-'));
    // `script` gives the run a pseudo-terminal (stdout and stderr both on it), as a user's shell does.
    // --drain: the windows fire at the stop however long a loaded machine took to start the slots.
    const cmd = [
      node,
      'runtime/src/cli/main.ts run crds/examples/clicks-local.yaml --threads -p 2 --duration 8s --drain',
      `--state-dir ${state} --log-level info --set graph.sources[0].datagen.rate=4000`,
    ].join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stdout.slice(-2000)).toBe(0);
    const progress = [...r.stdout.matchAll(/▶ \d+s {2}in ([\d,]+) \([\d,]+\/s\) {2}out ([\d,]+) .*? p=(\d)/g)];
    expect(progress.length, r.stdout.slice(-2000)).toBeGreaterThanOrEqual(2);
    expect(progress.every((m) => m[3] === '2')).toBe(true);
    // The line shows the sum: more than either slot read in the whole run (each reads about half).
    const shown = Math.max(...progress.map((m) => Number((m[1] as string).replaceAll(',', ''))));
    const perSlot = [
      ...r.stdout.matchAll(/"recordsIn":(\d+),"recordsOut":\d+,"durationMs":\d+,"msg":"slot stopped"/g),
    ].map((m) => Number(m[1]));
    expect(perSlot).toHaveLength(2);
    expect(shown).toBeGreaterThan(Math.max(...perSlot));
    // Each window result is a whole line once the progress line is erased before it.
    const rows = r.stdout
      .split('\n')
      .filter((l) => l.includes('window_start'))
      .map((l) => (l.split('\x1b[K').pop() as string).trim());
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(JSON.parse(row)).toMatchObject({ clicks: expect.any(Number) });
  }, 40_000);

  it('a keyed window on two threads gives the one-thread results (records cross slots with only the fields the aggregate reads)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-threads-window-'));
    const rowsOf = (mode: string): string[] => {
      const job = join(dir, `${mode.replace(/-/g, '')}.yaml`);
      writeFileSync(
        job,
        [
          'apiVersion: tributary.dev/v1alpha1',
          'kind: StreamJob',
          'metadata: {name: window-fields}',
          'spec:',
          '  graph:',
          '    sources: [{name: g, datagen: {generator: nexmark, seed: 5, count: 40000, events: [bid], startTime: 1700000000000, eventRate: 10000}, timestamp: {field: ts, format: millis, maxOutOfOrderness: 1s}}]',
          '    steps:',
          '      - {name: by-auction, from: g, keyBy: auction}',
          '      - {name: hop, from: by-auction, window: {sliding: {size: 4s, slide: 2s}}}',
          '      - {name: agg, from: hop, aggregate: {bids: count(), bidders: countDistinct(bidder), top: max(price)}}',
          `    sinks: [{name: out, from: agg, file: {path: "${join(dir, mode.replace(/-/g, ''))}-{slot}.jsonl"}}]`,
        ].join('\n'),
      );
      const r = spawnSync(
        node,
        ['runtime/src/cli/main.ts', 'run', job, '-p', '2', mode, '--state-dir', join(dir, `s${mode}`)],
        { cwd: root, encoding: 'utf8', timeout: 40_000 },
      );
      expect(r.status, r.stderr.slice(-2000)).toBe(0);
      return [0, 1].flatMap((slot) =>
        readFileSync(join(dir, `${mode.replace(/-/g, '')}-${slot}.jsonl`), 'utf8')
          .split('\n')
          .filter(Boolean),
      );
    };
    const threads = rowsOf('--threads').sort();
    const oneThread = rowsOf('--single-thread').sort();
    expect(threads.length).toBeGreaterThan(1000);
    expect(JSON.parse(threads[0] as string)).toMatchObject({ top: expect.any(Number), bidders: expect.any(Number) });
    expect(threads).toEqual(oneThread);
  }, 60_000);

  it('--threads and --distributed refuse a file sink path without {slot}: the slots would overwrite one file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-threads-file-'));
    const job = join(dir, 'job.yaml');
    const out = join(dir, 'out.jsonl');
    writeFileSync(
      job,
      [
        'apiVersion: tributary.dev/v1alpha1',
        'kind: StreamJob',
        'metadata: {name: shared-file}',
        'spec:',
        '  graph:',
        '    sources: [{name: g, datagen: {generator: nexmark, count: 10, events: [bid]}}]',
        `    sinks: [{name: out, from: g, file: {path: ${out}}}]`,
      ].join('\n'),
    );
    for (const [mode, what] of [
      ['--threads', 'threads'],
      ['--distributed', 'processes'],
    ] as const) {
      const r = spawnSync(
        node,
        ['runtime/src/cli/main.ts', 'run', job, mode, '-p', '2', '--state-dir', join(dir, 's'), '--explain'],
        { cwd: root, encoding: 'utf8', timeout: 20_000 },
      );
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr, 'a refused run prints no plan').not.toMatch(/^task \d+:/m);
      expect(r.stderr).toContain(
        `error TRIB_JOB_CONFIG: spec.graph.sinks[0].file.path: sink "out" would be written by each of the 2 slots of run ${mode} (separate ${what}`,
      );
      expect(r.stderr).toContain(`e.g. ${join(dir, 'out-{slot}.jsonl')}`);
      expect(existsSync(out)).toBe(false);
    }
    // Not a regular file (nothing there is overwritten): allowed.
    writeFileSync(job, readFileSync(job, 'utf8').replace(out, '/dev/null'));
    const ok = spawnSync(
      node,
      ['runtime/src/cli/main.ts', 'run', job, '--threads', '-p', '2', '--state-dir', join(dir, 's')],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(ok.status, ok.stderr).toBe(0);
  });
});
