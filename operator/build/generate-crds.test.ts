// The CRDs are generated from the API's TypeScript types (generate-crds.ts): this test
// regenerates them in memory and fails while a file in crds/ differs — a type edited without
// `npm run generate`, or a generated file edited by hand. test/chart/crds.test.ts holds the
// chart's copy to crds/. The structural conversion's rules are tested on small schemas here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CrdGenerationError, DURATION_RULE, structural } from './crd-schema.ts';
import { generated, render, root } from './generate-crds.ts';

describe.each(generated.map((s) => [s.file, s] as const))('crds/%s', (file, source) => {
  it('is what `npm run generate` writes from the types', () => {
    const onDisk = readFileSync(join(root, 'crds', file), 'utf8');
    expect(onDisk, `crds/${file} is stale or was edited by hand: run npm run generate`).toBe(render(source));
  });
});

describe('structural', () => {
  it('makes `T | null` nullable and several JSON types any value, keeping the description', () => {
    expect(structural({ anyOf: [{ type: 'object', properties: {} }, { type: 'null' }], description: 'd' })).toEqual({
      type: 'object',
      nullable: true,
      description: 'd',
      properties: {},
    });
    expect(
      structural({ anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], description: 'd' }),
    ).toEqual({
      description: 'd',
      'x-kubernetes-preserve-unknown-fields': true,
    });
    expect(structural({})).toEqual({ 'x-kubernetes-preserve-unknown-fields': true });
    expect(
      structural({
        anyOf: [{ type: 'number' }, { type: 'string' }],
        description: 'a\n b',
        xKubernetesIntOrString: true,
      }),
    ).toEqual({ description: 'a b', 'x-kubernetes-int-or-string': true });
  });

  it('drops additionalProperties false, preserves a map of anything, keeps a typed map', () => {
    expect(structural({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false })).toEqual({
      type: 'object',
      properties: { a: { type: 'string' } },
    });
    expect(structural({ type: 'object', additionalProperties: {} })).toEqual({
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
    });
    expect(structural({ type: 'object', additionalProperties: { not: {} } })).toEqual({ type: 'object' });
    expect(structural({ type: 'object', additionalProperties: { type: 'string' } })).toEqual({
      type: 'object',
      additionalProperties: { type: 'string' },
    });
  });

  it('turns markers into integers, enums and x-kubernetes extensions, folds descriptions', () => {
    expect(structural({ type: 'number', format: 'int32', description: 'a\n  b' })).toEqual({
      type: 'integer',
      format: 'int32',
      description: 'a b',
    });
    expect(structural({ type: 'string', const: 'x' })).toEqual({ type: 'string', enum: ['x'] });
    expect(
      structural({
        type: 'string',
        duration: true,
        xKubernetesValidations: [{ rule: 'size(self) > 1', message: 'm' }],
      }),
    ).toEqual({
      type: 'string',
      maxLength: 32,
      'x-kubernetes-validations': [DURATION_RULE, { rule: 'size(self) > 1', message: 'm' }],
    });
    expect(
      structural({
        type: 'array',
        items: { type: 'object' },
        xKubernetesListType: 'map',
        xKubernetesListMapKeys: ['name'],
      }),
    ).toEqual({
      type: 'array',
      items: { type: 'object' },
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    });
  });

  it('does not require a property that has a default', () => {
    const s = structural({
      type: 'object',
      properties: { a: { type: 'string', default: 'x' }, b: { type: 'string' } },
      required: ['a', 'b'],
    });
    expect(s['required']).toEqual(['b']);
  });

  it('refuses a $ref, a key it does not know and a malformed validation tag', () => {
    expect(() => structural({ type: 'object', properties: { a: { $ref: '#/definitions/A' } } })).toThrow(
      /\.a: a \$ref/,
    );
    expect(() => structural({ type: 'string', examples: ['x'] })).toThrow(CrdGenerationError);
    expect(() => structural({ type: 'string', xKubernetesValidations: 'self > 1' })).toThrow(/JSON5 array/);
  });
});
