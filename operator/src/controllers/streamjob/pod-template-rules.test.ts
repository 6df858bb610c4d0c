import { describe, expect, it } from 'vitest';
import { checkPodTemplate, defaultPodPolicy, isReservedEnv } from './pod-template-rules.ts';

describe('pod template rules', () => {
  it('refuses env names the contract owns, naming the field; tuning knobs pass', () => {
    const issues = checkPodTemplate(
      {
        podTemplate: {
          env: [
            { name: 'TRIBUTARY_CONTROL_TOKEN_FILE', value: '/tmp/mine' },
            { name: 'NODE_OPTIONS', value: '--require /state/x.js' },
            { name: 'TRIBUTARY_PEERS', value: '10.0.0.9:9251' },
            { name: 'TRIBUTARY_LOG_LEVEL', value: 'debug' },
            { name: 'APP_MODE', value: 'x' },
            { value: 'nameless' },
          ],
        },
      },
      defaultPodPolicy,
    );
    expect(issues.map((i) => i.path)).toEqual([
      'spec.podTemplate.env[0].name',
      'spec.podTemplate.env[1].name',
      'spec.podTemplate.env[2].name',
      'spec.podTemplate.env[5].name',
    ]);
    expect(issues[0]!.message).toContain('"TRIBUTARY_CONTROL_TOKEN_FILE" is set by the operator');
    expect(isReservedEnv('TRIBUTARY_STOP_LINGER')).toBe(false);
    expect(isReservedEnv('TRIBUTARY_RESCALE_BUDGET_BYTES')).toBe(false);
    expect(isReservedEnv('NODE_COMPILE_CACHE')).toBe(true);
  });

  it('refuses labels and annotations under tributary.dev/ and managed-by', () => {
    const issues = checkPodTemplate(
      {
        podTemplate: {
          metadata: {
            labels: { 'tributary.dev/job': 'other', team: 'a' },
            annotations: { 'app.kubernetes.io/managed-by': 'tributary', note: 'ok' },
          },
        },
      },
      defaultPodPolicy,
    );
    expect(issues.map((i) => i.path)).toEqual([
      'spec.podTemplate.metadata.labels["tributary.dev/job"]',
      'spec.podTemplate.metadata.annotations["app.kubernetes.io/managed-by"]',
    ]);
  });

  it('admits a named service account only when the install allows it', () => {
    const spec = { podTemplate: { serviceAccountName: 'admin-sa' } };
    const refused = checkPodTemplate(spec, defaultPodPolicy);
    expect(refused).toEqual([
      {
        path: 'spec.podTemplate.serviceAccountName',
        message:
          '"admin-sa" is not allowed: this install lets slot pods run only as the operator-made <job>-runtime account',
      },
    ]);
    expect(checkPodTemplate(spec, { allowedServiceAccounts: ['readers'] })[0]!.message).toContain('allowed: readers');
    expect(checkPodTemplate(spec, { allowedServiceAccounts: ['admin-sa'] })).toEqual([]);
  });
});
