// Against the real local Kudu: the slots of one job all try to create the sink's table at
// start. Exactly one create wins; every other slot must end up with the same table, including
// when it asks for the table while the master is still committing the winner's creation.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { KuduCreateTableSpec } from '../../graph/spec.ts';
import { testKuduMasters } from '../../testing/kudu-masters.ts';
import { KuduClient } from './client/kudu-client.ts';
import { openOrCreateTable } from './kudu-table-setup.ts';

const SLOTS = 6;
const TABLES = 4;

describe('kudu sink table creation by several slots at once', () => {
  const clients = Array.from({ length: SLOTS }, () => new KuduClient({ masters: [testKuduMasters()] }));
  const names = Array.from({ length: TABLES }, (_, i) => `it_create_race_${randomUUID().slice(0, 8)}_${i}`);

  afterAll(async () => {
    for (const n of names) await clients[0]?.deleteTable(n).catch(() => undefined);
    for (const c of clients) await c.close();
  });

  it('every slot opens the one table created', async () => {
    const create: KuduCreateTableSpec = {
      columns: [
        { name: 'id', type: 'int64', key: true },
        { name: 'v', type: 'string', nullable: true },
      ],
      hashBuckets: 3,
      replicas: 1,
    };
    for (const name of names) {
      const opened = await Promise.all(clients.map((c) => openOrCreateTable(c, name, create, 'graph.sinks[0].kudu')));
      expect(new Set(opened.map((t) => t.id.toString('hex'))).size, `${name}: one table`).toBe(1);
      expect(opened.every((t) => t.schema.columns.map((c) => c.name).join() === 'id,v')).toBe(true);
    }
  });
});
