import { describe, expect, it } from 'vitest';
import { parseSchemaTypesArgs } from './schema-types-cli.ts';

const reg = ['--registry', 'http://127.0.0.1:18085/apis/ccompat/v7'];

describe('tributary schema-types arguments', () => {
  it('takes a subject (with a version) or an id', () => {
    expect(Object.fromEntries(parseSchemaTypesArgs([...reg, '--subject', 's', '--version', '3']))).toMatchObject({
      subject: 's',
      version: '3',
    });
    expect(parseSchemaTypesArgs([...reg, '--id', '7']).get('id')).toBe('7');
  });

  it('refuses what it cannot use, naming the argument', () => {
    const bad: [string[], RegExp][] = [
      [['--subject', 's'], /--registry is required/],
      [[...reg], /give --subject or --id/],
      [[...reg, '--subject', 's', '--id', '1'], /give --subject or --id/],
      [[...reg, '--id', '1', '--version', '2'], /--version goes with --subject/],
      [[...reg, '--subject', 's', '--version', 'newest'], /--version newest: a version number or latest/],
      [[...reg, '--id', 'x'], /--id x: a schema id/],
      [[...reg, '--subject'], /--subject needs a value/],
      [[...reg, '--subject', 's', '--password', 'p'], /unknown argument --password/],
    ];
    for (const [argv, message] of bad) expect(() => parseSchemaTypesArgs(argv), argv.join(' ')).toThrow(message);
  });
});
