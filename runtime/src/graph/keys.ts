// Normal form of a keyBy spec, shared by the validator, the planner and the DataStream API.
import type { KeyBySpec } from './spec.ts';

export type KeySelectorSpec =
  | { kind: 'fields'; fields: string[] }
  | { kind: 'expr'; expr: string; as: string }
  /** A function of the job's code (registered under `ref`); its key is emitted as `key`. */
  | { kind: 'function'; ref: string; as: string };

/** Returns undefined when the spec has none of the accepted shapes. */
export function normalizeKeyBy(spec: KeyBySpec | unknown): KeySelectorSpec | undefined {
  if (typeof spec === 'string' && spec.trim() !== '') return { kind: 'fields', fields: [spec.trim()] };
  if (Array.isArray(spec) && spec.length > 0 && spec.every((f) => typeof f === 'string' && f !== ''))
    return { kind: 'fields', fields: spec as string[] };
  if (spec !== null && typeof spec === 'object') {
    const o = spec as Record<string, unknown>;
    if (
      Array.isArray(o['fields']) &&
      o['fields'].length > 0 &&
      o['fields'].every((f) => typeof f === 'string' && f !== '')
    ) {
      return { kind: 'fields', fields: o['fields'] as string[] };
    }
    if (typeof o['function'] === 'string' && o['function'] !== '' && Object.keys(o).length === 1)
      return { kind: 'function', ref: o['function'], as: 'key' };
    if (typeof o['expr'] === 'string' && o['expr'] !== '') {
      return { kind: 'expr', expr: o['expr'], as: typeof o['as'] === 'string' && o['as'] !== '' ? o['as'] : 'key' };
    }
  }
  return undefined;
}

/** Output fields a keyed result carries for its key. */
export function keyOutputFields(k: KeySelectorSpec): string[] {
  return k.kind === 'fields' ? k.fields : [k.as];
}
