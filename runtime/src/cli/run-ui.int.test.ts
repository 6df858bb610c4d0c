// `tributary run --ui` in a real browser (Debian's headless Chromium, driven by playwright-core):
// the example job with a slot process per slot, its dashboard read the way a user reads it. The
// job list links the job; the job page draws every step of the graph with its numbers, the
// numbers move from one poll to the next, and a slot process SIGKILLed shows in the exceptions and
// the restart count. The page runs under the server's CSP: a blocked script or style, or any page
// error, fails the test. Screenshots go to docs/images/dashboard-*.png (README.md and
// docs/dashboard.md show them). Needs no cluster; integration only because it starts processes
// and a browser (about 25 s).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium } from '../../../test/harness/chromium.ts';
import type { DashboardJobDetail } from '../dashboard/model.ts';

const root = resolve(import.meta.dirname, '../../..');
const images = join(root, 'docs/images');
const JOB = 'clicks-local';
const STEPS = ['clicks', 'purchases-and-views', 'enriched', 'by-country', 'every-5s', 'per-country', 'out'];

let run: ChildProcess;
let browser: Browser;
let page: Page;
let base: string;
const slotPids = new Map<number, number>();
const pageErrors: string[] = [];
let stateDir: string;

beforeAll(async () => {
  const executablePath = await ensureChromium();
  stateDir = mkdtempSync(join(tmpdir(), 'run-ui-'));
  run = spawn(
    process.execPath,
    [
      join(root, 'runtime/src/cli/main.ts'),
      'run',
      join(root, 'crds/examples/clicks-local.yaml'),
      '--distributed',
      '--ui',
      '127.0.0.1:0',
      '--state-dir',
      stateDir,
      '--checkpoint-interval',
      '1s',
      '--no-progress',
      '--duration',
      '120s',
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  // stderr carries the dashboard's URL and the supervisor's JSON log (slot pids per attempt).
  base = await new Promise<string>((resolveUrl, reject) => {
    const lines = createInterface({ input: run.stderr! });
    lines.on('line', (line) => {
      const url = /^dashboard: (http:\/\/[^/]+)\//.exec(line);
      if (url) resolveUrl(url[1] as string);
      if (line.includes('"slots started"')) {
        const log = JSON.parse(line) as { slots: { slot: number; pid: number }[] };
        for (const s of log.slots) slotPids.set(s.slot, s.pid);
      }
    });
    run.once('exit', (code) => reject(new Error(`tributary run exited with ${code} before serving the dashboard`)));
  });
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  mkdirSync(images, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (run && run.exitCode === null) {
    run.kill('SIGTERM');
    await new Promise((r) => run.once('exit', r));
  }
  rmSync(stateDir, { recursive: true, force: true });
});

/** The next answer of the job API the page itself fetched (its poll). */
async function nextPoll(): Promise<DashboardJobDetail> {
  const res = await page.waitForResponse((r) => r.url().endsWith(`/api/v1/jobs/local/${JOB}`), { timeout: 15_000 });
  return (await res.json()) as DashboardJobDetail;
}

describe('tributary run --ui in Chromium', () => {
  it('lists the job and links its page', async () => {
    await page.goto(`${base}/`);
    const link = page.locator('#jobs a', { hasText: JOB });
    await link.waitFor();
    await expect.poll(() => page.locator('#jobs tbody tr').first().innerText(), { timeout: 15_000 }).toMatch(/k\/s/);
    await page.screenshot({ path: join(images, 'dashboard-jobs.png') });
    await link.click();
    await page.waitForURL(`${base}/jobs/local/${JOB}`);
  });

  it("draws every step of the job's graph with numbers that move between polls", async () => {
    await page.locator('#dag g[data-node]').first().waitFor();
    // Page weight: what the browser transferred for the job page (HTML, scripts, styles, the first API answer).
    // (a string: the test's TypeScript has Node's types, not the DOM's)
    const weight = (await page.evaluate(
      "['navigation', 'resource'].flatMap((t) => performance.getEntriesByType(t)).reduce((n, e) => n + e.transferSize, 0)",
    )) as number;
    process.stdout.write(`dashboard job page: ${weight} bytes transferred\n`);
    expect(weight).toBeGreaterThan(10_000);
    expect(weight).toBeLessThan(150_000);
    const drawn = await page
      .locator('#dag g[data-node]')
      .evaluateAll((gs) => gs.map((g) => g.getAttribute('data-node')));
    expect([...drawn].sort()).toEqual([...STEPS].sort());
    // Two polls of the page: the sampled history grows and the source's rate is there in both.
    let first = await nextPoll();
    while (first.summary.inputRate === undefined) first = await nextPoll();
    let second = await nextPoll();
    while (second.series.t.length === first.series.t.length) second = await nextPoll();
    expect(second.series.t.at(-1)).toBeGreaterThan(first.series.t.at(-1) as number);
    expect(second.summary.inputRate).toBeGreaterThan(0);
    const rate = (d: DashboardJobDetail, id: string) => d.graph.nodes.find((n) => n.id === id)?.inRate;
    expect(rate(second, 'clicks')).toBeGreaterThan(0);
    expect(rate(second, 'clicks')).not.toBe(rate(first, 'clicks'));
    // Busy and backpressured shares are each node's own (timed per node), not its slot's.
    for (const n of second.graph.nodes) {
      expect(n.busyScope, n.id).toBeUndefined();
      expect(n.busy, n.id).toBeGreaterThanOrEqual(0);
      expect(n.backpressured, n.id).toBeGreaterThanOrEqual(0);
    }
    const busiest = Math.max(...second.graph.nodes.map((n) => n.busy ?? 0));
    expect(busiest).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#dag g[data-node="clicks"]').textContent()).toMatch(/busy \d+(\.\d+)?%/);
    expect(await page.locator('#dag').textContent()).not.toContain('slot busy');
    // What the page shows of it: the node's text carries a rate, the summary the input rate.
    await expect.poll(() => page.locator('#dag g[data-node="clicks"]').textContent()).toMatch(/in \d[\d.]*k?\/s/);
    await expect.poll(() => page.locator('#summary dd[data-field="Input"]').innerText()).toMatch(/\/s$/);
    // The keyed state of the window step, summed and per slot, on the heap backend this run uses.
    await expect
      .poll(() => page.locator('#keyed-state tbody').innerText(), { timeout: 30_000 })
      .toMatch(/every-5s\s+all \(2\)\s+heap\s+\d/);
    expect(pageErrors).toEqual([]);
  });

  it("works under a path prefix, as behind the API server's service proxy", async () => {
    // A plain prefix-stripping proxy, as the API server's /api/v1/namespaces/<ns>/services/<svc>/proxy/ is.
    const prefix = '/api/v1/namespaces/ns/services/tributary:dashboard/proxy';
    const target = new URL(base);
    const proxy: Server = createServer((req, res) => {
      if (!req.url?.startsWith(`${prefix}/`)) return void res.writeHead(404).end();
      const path = req.url.slice(prefix.length);
      const up = request({ host: target.hostname, port: target.port, path, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const at = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}${prefix}`;
    const other = await browser.newPage();
    try {
      await other.goto(`${at}/`);
      await other.locator('#jobs a', { hasText: JOB }).click();
      await other.waitForURL(`${at}/jobs/local/${JOB}`);
      await other.locator('#dag g[data-node="clicks"]').waitFor();
      await expect.poll(() => other.locator('#status').textContent()).toMatch(/^updated/);
    } finally {
      await other.close();
      await new Promise((r) => proxy.close(r));
    }
  });

  it('shows a SIGKILLed slot process in the exceptions and the restart count', { timeout: 240_000 }, async () => {
    // Bounds for a loaded machine (a CI run failed one 20 s poll here); a healthy run takes ~7 s.
    // A completed checkpoint first, so the restart restores it (and the table has a row).
    await expect
      .poll(() => page.locator('#checkpoints-and-savepoints tbody').innerText(), { timeout: 60_000 })
      .toMatch(/chk-\d+/);
    const pid = slotPids.get(1);
    expect(pid).toBeDefined();
    process.kill(pid as number, 'SIGKILL');
    await expect
      .poll(() => page.locator('#exceptions tbody').innerText(), { timeout: 60_000 })
      .toContain('slot 1 killed by SIGKILL');
    // The other slot, stopped by the supervisor for the restart, is no exception of its own.
    expect(await page.locator('#exceptions tbody tr').count()).toBe(1);
    await expect
      .poll(() => page.locator('#summary dd[data-field="Restarts"]').innerText(), { timeout: 60_000 })
      .toBe('1');
    await expect.poll(() => page.locator('#events tbody').innerText(), { timeout: 60_000 }).toContain('Restarted');
    // Running again after the restart, with rates: the screenshot shows a job that lived through it.
    await expect.poll(async () => (await nextPoll()).summary.inputRate ?? 0, { timeout: 30_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: join(images, 'dashboard-job.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
