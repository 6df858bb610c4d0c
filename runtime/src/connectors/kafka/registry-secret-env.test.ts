// The variables of registry credentials named by Secret: the operator and the runtime derive the
// same names; distinct (Secret, key) pairs never share one; the runtime reads them, and without
// them says which variable, key and Secret it missed.
import { afterEach, describe, expect, it } from 'vitest';
import { validateGraph } from '../validate-graph.ts';
import { isTributaryError } from '../../errors.ts';
import type { GraphSpec } from '../../graph/spec.ts';
import { registryCodec } from './registry-codecs.ts';
import { registrySecretEnv, registrySecretEnvName } from './registry-secret-env.ts';

const set: string[] = [];
afterEach(() => set.splice(0).forEach((k) => delete process.env[k]));

describe('registry credentials by Secret', () => {
  it('derives one contract variable per (Secret, key)', () => {
    const names = [
      registrySecretEnvName('reg', 'username'),
      registrySecretEnvName('reg', 'password'),
      registrySecretEnvName('reg-a', 'user'),
      registrySecretEnvName('reg.a', 'user'),
      registrySecretEnvName('reg', 'a-user'),
      registrySecretEnvName('reg-a', 'user'),
    ];
    expect(new Set(names).size).toBe(5);
    for (const n of names) expect(n).toMatch(/^TRIBUTARY_REGISTRY_SECRET_[A-Z0-9_]+$/);
    expect(registrySecretEnv({ name: 'reg' }).username).toEqual({
      env: registrySecretEnvName('reg', 'username'),
      key: 'username',
    });
  });

  it('the runtime reads them; without them it names the variable, key and Secret', async () => {
    const spec = {
      format: 'avro',
      topic: 't',
      registry: {
        url: 'http://127.0.0.1:9/apis/ccompat/v7',
        basicAuth: { secretRef: { name: 'reg', passwordKey: 'pw' } },
      },
    } as const;
    let caught: unknown;
    try {
      registryCodec(spec, 'source "in"', 'source');
    } catch (e) {
      caught = e;
    }
    expect(isTributaryError(caught) && caught.code).toBe('TRIB_REGISTRY_CONFIG');
    expect((caught as Error).message).toContain(`${registrySecretEnvName('reg', 'username')} is not set`);
    expect((caught as Error).message).toContain('key "username" of Secret reg');
    for (const [k, v] of [
      [registrySecretEnvName('reg', 'username'), 'u'],
      [registrySecretEnvName('reg', 'pw'), 'p'],
    ] as const) {
      process.env[k] = v;
      set.push(k);
    }
    const rc = registryCodec(spec, 'source "in"', 'source');
    expect(rc).toBeDefined();
    await rc?.client.close();
  });

  it('validation takes a secretRef or the two variables, not both, and names a bad field', () => {
    const job = (basicAuth: unknown): GraphSpec =>
      ({
        sources: [
          {
            name: 'in',
            kafka: { brokers: 'k:9092', topic: 't', format: 'avro', registry: { url: 'http://r:8080', basicAuth } },
          },
        ],
        steps: [],
        sinks: [{ name: 'out', from: 'in', console: {} }],
      }) as unknown as GraphSpec;
    const problems = (b: unknown) => {
      try {
        validateGraph(job(b));
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    const at = 'graph.sources[0].kafka.registry.basicAuth';
    expect(problems({ secretRef: { name: 'reg', usernameKey: 'user' } })).toBe('');
    expect(problems({ usernameEnv: 'U', passwordEnv: 'P' })).toBe('');
    expect(problems({ secretRef: { name: 'reg' }, usernameEnv: 'U' })).toContain(`${at}: expected either secretRef`);
    expect(problems({ secretRef: { name: 'Reg_1' } })).toContain(`${at}.secretRef.name: expected a Secret name`);
    expect(problems({ secretRef: { name: 'reg', passwordKey: 'a/b' } })).toContain(`${at}.secretRef.passwordKey`);
    expect(problems({ secretRef: {} })).toContain(`${at}.secretRef.name`);
  });
});
