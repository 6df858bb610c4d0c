import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkoutFor, clusterAddresses, examplesBrokers, examplesKuduMasters } from './checkout-view.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'checkout-view-'));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function fakeCheckout(): string {
  const root = tmp();
  mkdirSync(join(root, 'crds/examples'), { recursive: true });
  writeFileSync(
    join(root, 'crds/examples/join.yaml'),
    `brokers: ${examplesBrokers}\nmasters: ${examplesKuduMasters}\nsink: ${examplesBrokers}\n`,
  );
  writeFileSync(join(root, 'README.md'), 'readme');
  return root;
}

describe('checkoutFor', () => {
  it('is the checkout itself on the default cluster', () => {
    const root = fakeCheckout();
    const env = { TRIBUTARY_KAFKA_BROKERS: examplesBrokers, TRIBUTARY_KUDU_MASTERS: examplesKuduMasters };
    expect(checkoutFor(root, clusterAddresses(env), tmp())).toBe(root);
  });

  it("edits every example's Kafka and Kudu address to another lane's, and links the rest", () => {
    const root = fakeCheckout();
    const env = { TRIBUTARY_KAFKA_BROKERS: '127.0.0.1:27092', TRIBUTARY_KUDU_MASTERS: '127.0.0.1:25051' };
    const view = checkoutFor(root, clusterAddresses(env), tmp());
    expect(view).not.toBe(root);
    expect(readFileSync(join(view, 'crds/examples/join.yaml'), 'utf8')).toBe(
      'brokers: 127.0.0.1:27092\nmasters: 127.0.0.1:25051\nsink: 127.0.0.1:27092\n',
    );
    expect(readlinkSync(join(view, 'README.md'))).toBe(join(root, 'README.md'));
    expect(readFileSync(join(root, 'crds/examples/join.yaml'), 'utf8')).toContain(examplesBrokers);
  });

  it('edits only the addresses the cluster names', () => {
    const root = fakeCheckout();
    const view = checkoutFor(root, clusterAddresses({ TRIBUTARY_KAFKA_BROKERS: '127.0.0.1:27092' }), tmp());
    expect(readFileSync(join(view, 'crds/examples/join.yaml'), 'utf8')).toBe(
      `brokers: 127.0.0.1:27092\nmasters: ${examplesKuduMasters}\nsink: 127.0.0.1:27092\n`,
    );
  });
});
