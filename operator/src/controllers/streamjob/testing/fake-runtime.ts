// TEST-ONLY stand-in for a slot process (runtime/src/control/contract.ts control API), run
// by the node agent as image `tributary/node:*` with this file as args. It exists only to
// inject what the real runtime cannot do on demand: savepoints that fail, hang or complete
// late, slot 0 unreachable, checkpoints that stop completing. (A crashed slot needs no
// stand-in: the real-runtime tests SIGKILL a slot or delete its pod.) Faults come from
// `<stateDir>/fake-control.json`, read on every request: { "savepoint": "ok"|"fail"|"hang"|"slow:<ms>",
// "unreachable": bool, "checkpoints": "off" (no new checkpoint completes, so the last one ages) }.
// Its "state" is a counter advanced every 50 ms; savepoints and checkpoints write it to
// `<dir>/state.json`, a restore continues from it (reported as restoredCount in /v1/status).
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const env = process.env;
const root = env.TRIBUTARY_POD_ROOT ?? '';
const at = (p: string) => join(root, p);
const cfg = JSON.parse(readFileSync(at(env.TRIBUTARY_JOB_CONFIG ?? '/etc/tributary/job.json'), 'utf8')) as {
  jobName: string;
  parallelism: number;
  stateDir: string;
  restoreFrom?: string;
  checkpointing: { intervalMs: number };
};
const token = readFileSync(at(env.TRIBUTARY_CONTROL_TOKEN_FILE ?? '/var/run/tributary/token'), 'utf8').trim();
const slot = Number(env.TRIBUTARY_SLOT ?? 0);
const dep = env.TRIBUTARY_DEPLOYMENT_ID ?? '';
const stateDir = at(cfg.stateDir);
mkdirSync(stateDir, { recursive: true });
const control = (): { savepoint?: string; unreachable?: boolean; checkpoints?: string } => {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'fake-control.json'), 'utf8'));
  } catch {
    return {};
  }
};

let count = 0;
let restoredCount: number | undefined;
if (cfg.restoreFrom) {
  const f = join(at(cfg.restoreFrom), 'state.json');
  if (!existsSync(f)) {
    console.error(`restore: ${f} missing`);
    process.exit(2);
  }
  restoredCount = (JSON.parse(readFileSync(f, 'utf8')) as { count: number }).count;
  count = restoredCount;
}
let state: 'RUNNING' | 'FINISHED' = 'RUNNING';
const ticker = setInterval(() => {
  if (state === 'RUNNING') count++;
}, 50);
let lastCheckpoint: { id: number; completedAt: string; path: string } | undefined;
let cpId = 0;
if (slot === 0)
  setInterval(() => {
    if (state !== 'RUNNING' || control().checkpoints === 'off') return;
    cpId++;
    const path = `${cfg.stateDir}/checkpoints/${dep}-chk-${cpId}`;
    mkdirSync(at(path), { recursive: true });
    writeFileSync(join(at(path), 'state.json'), JSON.stringify({ count }));
    lastCheckpoint = { id: cpId, completedAt: new Date().toISOString(), path };
  }, cfg.checkpointing.intervalMs);

const savepoints = new Map<string, { id: string; state: string; path?: string; error?: string }>();
const byRequest = new Map<string, string>();
let seq = 0;
const server = createServer((req, res) => {
  if (control().unreachable) {
    req.socket.destroy();
    return;
  }
  const send = (code: number, body: unknown) =>
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const url = req.url ?? '/';
  if (url === '/healthz' || url === '/readyz') return send(200, { ok: true });
  if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: 'bad token' });
  if (req.method === 'GET' && url === '/v1/status') {
    return send(200, {
      contractVersion: 1,
      jobName: cfg.jobName,
      deploymentId: dep,
      slot,
      parallelism: cfg.parallelism,
      state,
      lastCheckpoint,
      count,
      restoredCount,
      restoredFrom: cfg.restoreFrom,
    });
  }
  if (req.method === 'POST' && url === '/v1/savepoints') {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const r = JSON.parse(body || '{}') as { stop?: boolean; requestId?: string };
      const existing = r.requestId ? byRequest.get(r.requestId) : undefined;
      if (existing) return send(200, { id: existing });
      const id = `sp-${dep}-${++seq}`;
      if (r.requestId) byRequest.set(r.requestId, id);
      const sp: { id: string; state: string; path?: string; error?: string } = { id, state: 'IN_PROGRESS' };
      savepoints.set(id, sp);
      const mode = control().savepoint ?? 'ok';
      setTimeout(
        () => {
          if (mode === 'hang') return;
          if (mode === 'fail') {
            sp.state = 'FAILED';
            sp.error = 'injected savepoint failure';
            return;
          }
          if (r.stop) state = 'FINISHED';
          const path = `${cfg.stateDir}/savepoints/${id}`;
          mkdirSync(at(path), { recursive: true });
          writeFileSync(join(at(path), 'state.json'), JSON.stringify({ count }));
          sp.state = 'COMPLETED';
          sp.path = path;
        },
        /^slow:\d+$/.test(mode) ? Number(mode.slice(5)) : 200,
      );
      send(202, { id });
    });
    return;
  }
  const m = /^\/v1\/savepoints\/([^/]+)$/.exec(url);
  if (req.method === 'GET' && m) {
    const sp = savepoints.get(decodeURIComponent(m[1]!));
    return sp ? send(200, sp) : send(404, { error: 'unknown savepoint' });
  }
  send(404, { error: 'not found' });
});
server.listen(9250, env.TRIBUTARY_POD_IP ?? '127.0.0.1');
process.on('SIGTERM', () => {
  clearInterval(ticker);
  server.close();
  process.exit(0);
});
