// The webhook's registry pass without a registry: which URLs it may call, and every source it does
// not check is a warning saying why, never a refusal and never a request (a registry answering is
// test/chart/admission-webhook.int.test.ts, against the real one).
import { describe, expect, it } from 'vitest';
import { registryAllowed, registryTypedIssues } from './registry-admission.ts';

const signal = new AbortController().signal;

const graph = (registry: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  sources: [
    { name: 'plain', datagen: { generator: 'schema', fields: { a: { type: 'int' } } } },
    {
      name: 'clicks',
      kafka: { brokers: 'k:9092', topic: 'clicks', format: 'avro', registry: { schema: { version: 1 }, ...registry } },
      ...extra,
    },
  ],
  steps: [{ name: 'f', from: 'clicks', filter: 'country == "de"' }],
  sinks: [{ name: 'out', from: 'f', console: {} }],
});

describe('the registries the webhook may call', () => {
  it('a prefix allows the URLs under it at a path boundary, and nothing else', () => {
    const allowed = ['http://registry.kafka:8080', 'https://sr.example/apis/'];
    expect(registryAllowed('http://registry.kafka:8080', allowed)).toBe(true);
    expect(registryAllowed('http://registry.kafka:8080/apis/ccompat/v7', allowed)).toBe(true);
    expect(registryAllowed('https://sr.example/apis/ccompat/v7', allowed)).toBe(true);
    expect(registryAllowed('http://registry.kafka:80801/x', allowed)).toBe(false);
    expect(registryAllowed('http://registry.kafka.evil:8080/x', allowed)).toBe(false);
    expect(registryAllowed('http://169.254.169.254/latest', allowed)).toBe(false);
    expect(registryAllowed('http://registry.kafka:8080/x', [])).toBe(false);
  });
});

describe('sources the webhook does not check', () => {
  it('a registry the install does not name: a warning naming the source and the setting; no call', async () => {
    // Nothing listens on the discard port: a call would fail and say so, not name the setting.
    const r = await registryTypedIssues(graph({ url: 'http://127.0.0.1:9/apis/ccompat/v7' }), { allowed: [] }, signal);
    expect(r.issues).toEqual([]);
    expect(r.warnings).toEqual([
      'spec.graph.sources[1].kafka.registry: fields not checked against the schema: the operator calls only the ' +
        'registries its install names (webhook.schemaRegistries)',
    ]);
  });

  it("credentials or a CA: the slot pods', not read by the operator", async () => {
    const allowed = { allowed: ['http://127.0.0.1:9'] };
    for (const extra of [{ basicAuth: { usernameEnv: 'U', passwordEnv: 'P' } }, { caFile: '/etc/ca.pem' }]) {
      const r = await registryTypedIssues(
        graph({ url: 'http://127.0.0.1:9/apis/ccompat/v7', ...extra }),
        allowed,
        signal,
      );
      expect(r.issues).toEqual([]);
      expect(r.warnings).toEqual([expect.stringContaining('the operator does not read them')]);
    }
  });

  it('an allowed registry that does not answer: a warning naming it, not a refusal', async () => {
    const url = 'http://127.0.0.1:9/apis/ccompat/v7';
    const r = await registryTypedIssues(graph({ url }), { allowed: ['http://127.0.0.1:9'] }, signal);
    expect(r.issues).toEqual([]);
    expect(r.warnings).toEqual([
      expect.stringMatching(/^spec\.graph\.sources\[1\]\.kafka\.registry: .*127\.0\.0\.1:9/),
    ]);
  });

  it('declared field types, an inline reader schema or no registry format: not its business', async () => {
    const url = 'http://127.0.0.1:9/apis/ccompat/v7';
    const typed = graph({ url });
    (typed.sources[1] as { kafka: Record<string, unknown> }).kafka['schema'] = { country: 'string' };
    const inline = graph({ url, schema: { inline: '{"type":"record","name":"A","fields":[]}' } });
    for (const g of [typed, inline, { sources: 'not a list' }, null])
      expect(await registryTypedIssues(g, { allowed: [] }, signal)).toEqual({ issues: [], warnings: [] });
  });
});
