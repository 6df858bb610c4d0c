import { describe, expect, it } from 'vitest';
import { testLanes } from './lane-count.ts';
import { parseEnvLines } from './lanes.ts';

describe('testLanes', () => {
  it('is 1 unless asked, and 1 for a cluster given in the env', () => {
    expect(testLanes({})).toBe(1);
    expect(testLanes({ TRIBUTARY_TEST_LANES: '2' })).toBe(2);
    expect(testLanes({ TRIBUTARY_TEST_LANES: '3', KUBECONFIG: '/k', TRIBUTARY_CLUSTER_DIR: '/c' })).toBe(1);
  });

  it('refuses a count it cannot run, naming the variable', () => {
    for (const bad of ['0', '5', '1.5', 'two'])
      expect(() => testLanes({ TRIBUTARY_TEST_LANES: bad })).toThrow(/CLUSTER_BAD_ARGS.*TRIBUTARY_TEST_LANES/);
  });
});

describe('parseEnvLines', () => {
  it("reads cluster env's export lines, JSON-quoted, and leaves PATH to the caller", () => {
    const text = [
      'export KUBECONFIG="/c-lane2/kubeconfig"',
      'export TRIBUTARY_KAFKA_BROKERS="127.0.0.1:27092"',
      'export TRIBUTARY_X="a \\"quoted\\" value"',
      'export PATH="/tools:$PATH"',
      'noise',
    ].join('\n');
    expect(parseEnvLines(text)).toEqual({
      KUBECONFIG: '/c-lane2/kubeconfig',
      TRIBUTARY_KAFKA_BROKERS: '127.0.0.1:27092',
      TRIBUTARY_X: 'a "quoted" value',
    });
  });
});
