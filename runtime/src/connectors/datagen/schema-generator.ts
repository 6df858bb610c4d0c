// Schema-driven generator: each field has a generator spec (see DatagenFieldSpec).
import type { DatagenFieldSpec } from '../../graph/spec.ts';
import type { Rec } from '../../core/record.ts';
import type { RecordRandom } from './random.ts';

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

type FieldGen = (index: number, ts: number, rnd: RecordRandom) => unknown;

function fieldGen(f: DatagenFieldSpec): FieldGen {
  const values = f.values;
  if (values && values.length > 0) return (_i, _t, r) => r.pick(values);
  switch (f.type) {
    case 'int': {
      const min = f.min ?? 0;
      const max = f.max ?? 1000;
      return (_i, _t, r) => r.int(min, max);
    }
    case 'double': {
      const min = f.min ?? 0;
      const max = f.max ?? 1;
      return (_i, _t, r) => min + r.next() * (max - min);
    }
    case 'bool':
      return (_i, _t, r) => r.next() < 0.5;
    case 'sequence':
      return (i) => i;
    case 'timestamp':
      return (_i, t) => t;
    case 'string': {
      if (f.prefix !== undefined || f.cardinality !== undefined) {
        const prefix = f.prefix ?? '';
        const card = f.cardinality ?? 100;
        return (_i, _t, r) => `${prefix}${r.int(0, card - 1)}`;
      }
      return (_i, _t, r) => {
        let s = '';
        for (let k = 0; k < 8; k++) s += ALNUM[Math.floor(r.next() * ALNUM.length)];
        return s;
      };
    }
  }
}

export class SchemaGenerator {
  private readonly names: string[];
  private readonly gens: FieldGen[];

  constructor(fields: Record<string, DatagenFieldSpec>) {
    this.names = Object.keys(fields);
    this.gens = Object.values(fields).map(fieldGen);
  }

  generate(index: number, ts: number, rnd: RecordRandom): Rec {
    const o: Rec = {};
    for (let j = 0; j < this.names.length; j++) o[this.names[j] as string] = (this.gens[j] as FieldGen)(index, ts, rnd);
    return o;
  }
}
