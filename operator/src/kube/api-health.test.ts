import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../telemetry/logger.ts';
import { createRegistry, kubeMetrics } from '../telemetry/metrics.ts';
import { ApiHealth, apiserverTroubleIn, isApiserverTrouble } from './api-health.ts';
import { KubeApiError, KubeTransportError, OperatorError, ErrorCodes } from './errors.ts';

function setup(reportEveryMs = 30_000) {
  const lines: { level: number; msg: string }[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(JSON.parse(l)) } });
  const metrics = kubeMetrics(createRegistry());
  const health = new ApiHealth({ server: 'https://127.0.0.1:6443', reportEveryMs });
  health.bind(logger, metrics);
  const warns = () => lines.filter((l) => l.level === 40).map((l) => l.msg);
  const available = async () => (await metrics.apiserverAvailable.get()).values[0]?.value;
  const failures = async (code: string) =>
    (await metrics.kubeRequestFailures.get()).values.find((v) => v.labels.code === code)?.value ?? 0;
  const observed = async (verb: string) =>
    (await metrics.kubeRequestDuration.get()).values.find(
      (v) => v.labels.verb === verb && v.metricName === 'tributary_operator_kube_request_duration_seconds_count',
    )?.value ?? 0;
  return { health, lines, warns, available, failures, observed };
}

const refused = new KubeTransportError('GET /api/v1/pods: connect ECONNREFUSED 127.0.0.1:6443');
const throttled = new KubeApiError(429, 'GET /api/v1/pods: 429 Too many requests', undefined, { retryAfterMs: 1000 });

describe('ApiHealth', () => {
  afterEach(() => vi.useRealTimers());

  it('a slow answer is not trouble: its duration is observed, over half the timeout it warns once per period', async () => {
    vi.useFakeTimers();
    const { health, warns, available, observed } = setup(30_000);
    health.took('GET', '/api/v1/pods', 40, 3_000, true);
    health.took('GET', '/api/v1/pods', 1_500, 3_000, true); // exactly half: not slow
    expect(warns()).toEqual([]);
    health.took('PUT', '/apis/tributary.dev/v1alpha1/namespaces/a/streamjobs/j/status', 2_100, 3_000, true);
    health.ok();
    expect(await available()).toBe(1);
    expect(warns()).toHaveLength(1);
    expect(warns()[0]).toBe(
      'kube-apiserver https://127.0.0.1:6443 slow: PUT /apis/tributary.dev/v1alpha1/namespaces/a/streamjobs/j/status ' +
        'answered after 2.1 s, over half the kube request timeout 3 s (1 request(s) that slow since the last such line)',
    );
    for (let i = 0; i < 10; i++) health.took('GET', '/api/v1/pods', 2_500, 3_000, true);
    expect(warns()).toHaveLength(1);
    health.took('GET', '/api/v1/pods', 3_000, 3_000, false); // no answer: failed() says that, not a slow line
    vi.advanceTimersByTime(30_000);
    health.took('GET', '/api/v1/pods', 2_000, 3_000, true);
    expect(warns()).toHaveLength(2);
    expect(warns()[1]).toContain('(11 request(s) that slow since the last such line)');
    expect(await observed('GET')).toBe(14);
    expect(await observed('PUT')).toBe(1);
  });

  it('warns once when trouble starts, then once per report period, never per failed request; info when it answers again', async () => {
    vi.useFakeTimers();
    const { health, lines, warns, available, failures } = setup(30_000);
    expect(await available()).toBe(1);
    for (let i = 0; i < 50; i++) health.failed('GET', refused);
    expect(warns()).toHaveLength(1);
    expect(warns()[0]).toContain('unavailable: GET /api/v1/pods: connect ECONNREFUSED');
    expect(await available()).toBe(0);
    expect(await failures('transport')).toBe(50);
    vi.advanceTimersByTime(29_000);
    expect(warns()).toHaveLength(1);
    vi.advanceTimersByTime(1_000);
    expect(warns()).toHaveLength(2);
    expect(warns()[1]).toMatch(/still unavailable after 30 s \(49 failed requests since the last report\)/);
    vi.advanceTimersByTime(60_000);
    expect(warns()).toHaveLength(4); // never silent past the period, even with no requests
    health.ok();
    expect(lines.at(-1)?.msg).toMatch(/answers again after 90 s/);
    expect(await available()).toBe(1);
    vi.advanceTimersByTime(120_000);
    expect(warns()).toHaveLength(4);
  });

  it('a flapping apiserver warns no more often than the report period', () => {
    vi.useFakeTimers();
    const { health, warns } = setup(10_000);
    for (let i = 0; i < 20; i++) {
      health.failed('WATCH', throttled);
      vi.advanceTimersByTime(200);
      health.ok();
    }
    expect(warns()).toHaveLength(1);
    vi.advanceTimersByTime(10_000);
    health.failed('WATCH', throttled);
    expect(warns()).toHaveLength(2);
  });

  it('counts 429, 5xx, transport and timeouts as trouble, other answers as the server working', async () => {
    const { health, warns, failures } = setup();
    health.failed('GET', new KubeApiError(404, 'not found'));
    health.failed('PUT', new KubeApiError(409, 'conflict'));
    expect(warns()).toHaveLength(0);
    health.failed('PATCH', new KubeApiError(503, 'unavailable'));
    health.failed('GET', new KubeTransportError('no answer within 3000 ms', { timedOut: true }));
    expect(await failures('503')).toBe(1);
    expect(await failures('timeout')).toBe(1);
    const wrapped = new OperatorError(ErrorCodes.INVARIANT, 'reconcile stage failed', { cause: throttled });
    expect(isApiserverTrouble(wrapped)).toBe(true);
    expect(apiserverTroubleIn(wrapped)).toBe(throttled);
    expect(isApiserverTrouble(new KubeApiError(403, 'forbidden'))).toBe(false);
  });
});
