import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTRACT_VERSION } from '../control/contract.ts';
import { joiningJobConfig, readJobConfig, readSlotEnv } from './slot-env.ts';

const base = {
  TRIBUTARY_SLOT: '1',
  TRIBUTARY_PARALLELISM: '2',
  TRIBUTARY_JOB_CONFIG: '/etc/tributary/job.json',
  TRIBUTARY_DEPLOYMENT_ID: 'd1',
  TRIBUTARY_CONTROL_TOKEN_FILE: '/var/run/token',
};

describe('slot env', () => {
  it('reads the contract env; in-container paths resolve against the pod root', () => {
    const e = readSlotEnv({
      ...base,
      TRIBUTARY_POD_IP: '127.0.1.7',
      TRIBUTARY_PEER_SELECTOR: 'job=x',
      TRIBUTARY_POD_ROOT: '/pods/p1/root',
      TRIBUTARY_CONTROL_TOKEN_FILE: '/var/run/token',
    });
    expect(e).toMatchObject({
      slot: 1,
      parallelism: 2,
      podIp: '127.0.1.7',
      jobConfigFile: '/pods/p1/root/etc/tributary/job.json',
      controlTokenFile: '/pods/p1/root/var/run/token',
      dataPort: 9251,
      controlPort: 9250,
      metricsPort: 9252,
      peerSelector: 'job=x',
    });
  });

  it('TRIBUTARY_JOIN: a joining slot with its generation; refused for slot 0, without maxParallelism, or below 1', () => {
    const join = { ...base, TRIBUTARY_PEERS: 'a:1,b:2', TRIBUTARY_MAX_PARALLELISM: '8', TRIBUTARY_JOIN: '3' };
    expect(readSlotEnv(join).joinGeneration).toBe(3);
    expect(readSlotEnv({ ...join, TRIBUTARY_JOIN: '' }).joinGeneration).toBeUndefined();
    expect(() => readSlotEnv({ ...join, TRIBUTARY_JOIN: '0' })).toThrow(/TRIBUTARY_JOIN="0": expected an integer ≥ 1/);
    expect(() => readSlotEnv({ ...join, TRIBUTARY_SLOT: '0' })).toThrow(/TRIBUTARY_SLOT above 0/);
    expect(() => readSlotEnv({ ...join, TRIBUTARY_MAX_PARALLELISM: '' })).toThrow(/TRIBUTARY_MAX_PARALLELISM/);
  });

  it('locally: explicit peers and ports, loopback by default', () => {
    const e = readSlotEnv({
      ...base,
      TRIBUTARY_PEERS: '127.0.0.1:7001,127.0.0.1:7002',
      TRIBUTARY_DATA_PORT: '7002',
      TRIBUTARY_CONTROL_PORT: '0',
    });
    expect(e).toMatchObject({
      podIp: '127.0.0.1',
      peers: ['127.0.0.1:7001', '127.0.0.1:7002'],
      dataPort: 7002,
      controlPort: 0,
      jobConfigFile: '/etc/tributary/job.json',
    });
  });

  it('refuses incomplete or inconsistent env with TRIB_PEER_CONFIG', () => {
    expect(() => readSlotEnv({ ...base, TRIBUTARY_POD_IP: '127.0.0.1' })).toThrow(/needs TRIBUTARY_PEER_SELECTOR/);
    expect(() => readSlotEnv({ ...base, TRIBUTARY_SLOT: '2', TRIBUTARY_PEERS: 'a:1' })).toThrow(
      expect.objectContaining({ code: 'TRIB_PEER_CONFIG' }),
    );
    expect(() => readSlotEnv({ ...base, TRIBUTARY_DEPLOYMENT_ID: '', TRIBUTARY_PEERS: 'a:1' })).toThrow(
      /TRIBUTARY_DEPLOYMENT_ID/,
    );
  });

  it('drains on stop only when a local run asks (TRIBUTARY_DRAIN_ON_STOP=1); any other value is refused', () => {
    const local = { ...base, TRIBUTARY_PEERS: 'a:1,b:2' };
    expect(readSlotEnv(local).drainOnStop).toBe(false);
    expect(readSlotEnv({ ...local, TRIBUTARY_DRAIN_ON_STOP: '1' }).drainOnStop).toBe(true);
    expect(readSlotEnv({ ...local, TRIBUTARY_DRAIN_ON_STOP: '0' }).drainOnStop).toBe(false);
    expect(() => readSlotEnv({ ...local, TRIBUTARY_DRAIN_ON_STOP: 'yes' })).toThrow(
      'TRIBUTARY_DRAIN_ON_STOP="yes": expected 1 or 0',
    );
  });

  it('refuses to start without the job secret (the control token file): nothing runs unauthenticated', () => {
    expect(() => readSlotEnv({ ...base, TRIBUTARY_CONTROL_TOKEN_FILE: '', TRIBUTARY_PEERS: 'a:1,b:2' })).toThrow(
      expect.objectContaining({
        code: 'TRIB_PEER_CONFIG',
        message: expect.stringContaining('TRIBUTARY_CONTROL_TOKEN_FILE is required'),
      }),
    );
  });

  it('reads the job config; an unknown retention is refused (never read as Delete)', async () => {
    const d = await mkdtemp(join(tmpdir(), 'trib-jobcfg-'));
    const file = join(d, 'job.json');
    const env = readSlotEnv({
      ...base,
      TRIBUTARY_JOB_CONFIG: file,
      TRIBUTARY_PEER_SELECTOR: 'job=x',
      TRIBUTARY_POD_IP: '127.0.1.7',
    });
    const cfg = { contractVersion: CONTRACT_VERSION, jobName: 'j', parallelism: 2, stateDir: '/state' };
    try {
      await writeFile(file, JSON.stringify({ ...cfg, retention: 'Retain' }));
      expect(readJobConfig(file, env).retention).toBe('Retain');
      await writeFile(file, JSON.stringify(cfg));
      expect(readJobConfig(file, env).retention).toBeUndefined();
      await writeFile(file, JSON.stringify({ ...cfg, retention: 'Keep' }));
      expect(() => readJobConfig(file, env)).toThrow(/retention must be Delete or Retain, got "Keep"/);
      // Application mode: a module instead of a graph, never both, never an empty path.
      await writeFile(file, JSON.stringify({ ...cfg, module: '/app/jobs/j.ts' }));
      expect(readJobConfig(file, env).module).toBe('/app/jobs/j.ts');
      await writeFile(file, JSON.stringify({ ...cfg, module: '/app/jobs/j.ts', graph: { sources: [], sinks: [] } }));
      expect(() => readJobConfig(file, env)).toThrow(/has both graph and module/);
      await writeFile(file, JSON.stringify({ ...cfg, module: '' }));
      expect(() => readJobConfig(file, env)).toThrow(/module must be a non-empty path/);
      // The state backend: an unknown kind must not run as the heap.
      const disk = { kind: 'disk', dir: '/var/lib/tributary/state', cacheEntries: 5000 };
      await writeFile(file, JSON.stringify({ ...cfg, stateBackend: disk }));
      expect(readJobConfig(file, env).stateBackend).toEqual(disk);
      for (const [stateBackend, problem] of [
        [{ kind: 'rocksdb' }, 'kind must be heap or disk, got "rocksdb"'],
        [{ kind: 'disk', dir: '' }, 'dir must be a non-empty path, got ""'],
        [{ kind: 'disk', cacheEntries: 0 }, 'cacheEntries must be a positive integer, got 0'],
        ['disk', 'must be an object, got "disk"'],
      ] as const) {
        await writeFile(file, JSON.stringify({ ...cfg, stateBackend }));
        expect(() => readJobConfig(file, env)).toThrow(`job config ${file}: stateBackend ${problem}`);
      }
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });

  it("a joining slot takes TRIBUTARY_PARALLELISM over the deployment's config and restores nothing", async () => {
    const d = await mkdtemp(join(tmpdir(), 'trib-jobcfg-'));
    const file = join(d, 'job.json');
    const pod = {
      ...base,
      TRIBUTARY_SLOT: '2',
      TRIBUTARY_PARALLELISM: '3',
      TRIBUTARY_MAX_PARALLELISM: '128',
      TRIBUTARY_JOB_CONFIG: file,
      TRIBUTARY_PEER_SELECTOR: 'job=x',
      TRIBUTARY_POD_IP: '127.0.1.7',
    };
    // The deployment's ConfigMap, written at its start: parallelism 2, a restore.
    const cfg = {
      contractVersion: CONTRACT_VERSION,
      jobName: 'j',
      parallelism: 2,
      stateDir: '/state',
      restoreFrom: '/state/savepoints/sp-1',
      restoreLatest: { since: '2026-01-01T00:00:00Z' },
    };
    try {
      await writeFile(file, JSON.stringify(cfg));
      const joiner = readSlotEnv({ ...pod, TRIBUTARY_JOIN: '1' });
      const got = joiningJobConfig(readJobConfig(file, joiner), joiner);
      expect(got.cfg.parallelism).toBe(3);
      expect(got.cfg).not.toHaveProperty('restoreFrom');
      expect(got.cfg).not.toHaveProperty('restoreLatest');
      expect(got.ignored).toEqual(['restoreFrom', 'restoreLatest']);
      // Any other slot: a mismatch is still refused, and its config is its own.
      const other = readSlotEnv(pod);
      expect(() => readJobConfig(file, other)).toThrow(/job config parallelism 2 differs from TRIBUTARY_PARALLELISM=3/);
      const two = readSlotEnv({ ...pod, TRIBUTARY_PARALLELISM: '2', TRIBUTARY_SLOT: '1' });
      expect(joiningJobConfig(readJobConfig(file, two), two)).toEqual({ cfg, ignored: [] });
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
