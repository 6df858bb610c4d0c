// The function rule fails on each thing it exists to catch: a new long function, a listed one
// that grew, and a list that lags behind code that improved (shrank, within the limit, gone,
// moved); and it names and counts functions as function-size.ts says.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RuleTester, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, it } from 'vitest';
import { maxFunctionLines, type MaxFunctionLinesOptions } from './max-function-lines.ts';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const file = join(root, 'runtime/src/x.ts');
const list = 'lint/long-functions.ts';
const tester = new RuleTester({ languageOptions: { parser: tseslint.parser as Linter.Parser } });

function options(max: number, allowList: Record<string, number> = {}): [MaxFunctionLinesOptions] {
  return [{ max, root, allowList, allowListFile: list }];
}

/** A function declaration of `lines` code lines. */
function fn(name: string, lines: number): string {
  return `function ${name}() {\n${'  x++;\n'.repeat(lines - 2)}}\n`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('max-function-lines', () => {
  tester.run('limit and allow-list', maxFunctionLines, {
    valid: [
      { filename: file, code: fn('short', 3), options: options(3) },
      { filename: file, code: fn('listed', 5), options: options(3, { 'runtime/src/x.ts#listed': 5 }) },
      // Comment lines and blank lines do not count; the lines of a template literal do.
      {
        filename: file,
        code: 'function f() {\n  // a reason\n\n  /* an\n     invariant */\n  return 1; // trailing\n}\n',
        options: options(3),
      },
      // Entries of other files are theirs to check.
      { filename: file, code: fn('f', 3), options: options(3, { 'runtime/src/y.ts#g': 9 }) },
      {
        filename: join(root, list),
        code: `export const L = { 'lint/max-function-lines.ts#f': 70 };`,
        options: options(3),
      },
    ],
    invalid: [
      {
        filename: file,
        code: fn('long', 4),
        options: options(3),
        errors: [{ messageId: 'tooLong', data: { name: 'long', count: '4', max: '3' }, line: 1 }],
      },
      {
        filename: file,
        code: 'const f = () => {\n  const s = `a\nb\n\nc`;\n};\n',
        options: options(4),
        errors: [{ messageId: 'tooLong', data: { name: 'f', count: '5', max: '4' } }],
      },
      {
        filename: file,
        code: fn('listed', 6),
        options: options(3, { 'runtime/src/x.ts#listed': 5 }),
        errors: [{ messageId: 'grew', data: { name: 'listed', count: '6', recorded: '5', list } }],
      },
      {
        filename: file,
        code: fn('listed', 4),
        options: options(3, { 'runtime/src/x.ts#listed': 5 }),
        errors: [{ messageId: 'shrank', data: { name: 'listed', count: '4', recorded: '5', list } }],
      },
      {
        filename: file,
        code: fn('listed', 3),
        options: options(3, { 'runtime/src/x.ts#listed': 5 }),
        errors: [{ messageId: 'withinLimit', data: { name: 'listed', count: '3', max: '3', list } }],
      },
      {
        filename: file,
        code: fn('renamed', 5),
        options: options(3, { 'runtime/src/x.ts#listed': 5 }),
        errors: [
          { messageId: 'tooLong', data: { name: 'renamed', count: '5', max: '3' } },
          { messageId: 'gone', data: { key: 'runtime/src/x.ts#listed', list }, line: 1 },
        ],
      },
      {
        filename: join(root, list),
        code: `export const L = {\n  'lint/max-function-lines.ts#f': 70,\n  'runtime/src/moved.ts#g': 80,\n};\n`,
        options: options(3),
        errors: [{ messageId: 'fileGone', data: { path: 'runtime/src/moved.ts' }, line: 3 }],
      },
    ],
  });

  // With a limit of 1 every function of two lines or more is reported, under its name.
  const named = (code: string, ...names: string[]) => ({
    filename: file,
    code,
    options: options(1),
    errors: names.map((name) => ({ message: new RegExp(`^${escapeRegExp(name)} has \\d+ code lines`) })),
  });
  tester.run('names', maxFunctionLines, {
    valid: [],
    invalid: [
      named('function f() {\n}\nexport const g = async () => {\n};\n', 'f', 'g'),
      named(
        'class C {\n  m() {\n  }\n  get x() {\n    return 1;\n  }\n  #p = () => {\n  };\n  static s() {\n  }\n}\n',
        'C.m',
        'C.get x',
        'C.#p',
        'C.s',
      ),
      named('const T = {\n  a(s) {\n  },\n  b: (s) => {\n  },\n} satisfies Record<string, unknown>;\n', 'T.a', 'T.b'),
      named('const F = Object.freeze({\n  a: () => {\n  },\n});\n', 'F.a'),
      // A callback counts toward the function it is written in; a named function inside is its own.
      named(
        'function outer() {\n  [1].map((v) => {\n    return v;\n  });\n  function inner() {\n  }\n}\n',
        'outer',
        'outer/inner',
      ),
      named(
        'class C {\n  constructor() {\n    this.onData = (b) => {\n    };\n  }\n}\n',
        'C.constructor',
        'C.constructor/this.onData',
      ),
      // At module level a callback takes the name of the variable or the call that takes it.
      named(
        "const h = wrap(() => {\n});\nprocess.on('exit', () => {\n});\n(() => {\n})();\n",
        'h',
        "process.on('exit')",
        '(iife)',
      ),
      named('export default function () {\n}\n', 'default'),
      // Two of one name in a file are told apart by their order.
      named('const checks = [\n  { after() {\n  } },\n  { after() {\n  } },\n];\n', 'after', 'after~2'),
    ],
  });
});
