// A Kudu connector's `tls` spec as the client's TLS options: `ca` is a PEM file's path (a
// mounted Secret, say) or the PEM text itself. Read when the connector connects, so a missing
// file fails the step that names it rather than the graph check, which runs elsewhere.
import { readFileSync } from 'node:fs';
import { TributaryError } from '../../errors.ts';
import type { KuduTlsSpec } from '../../graph/spec.ts';
import type { KuduTlsOptions } from './client/tls-handshake.ts';

export function clientTls(spec: KuduTlsSpec | undefined): { tls?: KuduTlsOptions } {
  if (spec === undefined) return {};
  if (spec.verify === false) return { tls: { verify: false } };
  const ca = spec.ca ?? '';
  if (ca.includes('-----BEGIN')) return { tls: { ca } };
  try {
    return { tls: { ca: readFileSync(ca, 'utf8') } };
  } catch (err) {
    throw new TributaryError('TRIB_KUDU_CONFIG', `kudu: tls.ca: cannot read the CA file "${ca}"`, { cause: err });
  }
}
