// Measures what the size rules bind, for the numbers the docs and reviews quote:
//   node lint/measure-sizes.ts [--max 60] [--list]
// Files: every .ts file, by total and by code lines. Functions: every function the function
// rule measures (not in tests), named and counted as it does (function-size.ts). --list prints
// the functions over --max as allow-list entries (lint/long-functions.ts).
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ESLint, type Rule } from 'eslint';
import tseslint from 'typescript-eslint';
import {
  FUNCTION_TYPES,
  codeLines,
  countCodeLines,
  functionName,
  measuredNode,
  type AstNode,
} from './function-size.ts';

interface FileSize {
  path: string;
  total: number;
  code: number;
}
interface FunctionSize {
  key: string;
  code: number;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { max: { type: 'string', default: '60' }, list: { type: 'boolean' } } });
const max = Number(values.max);
const files: FileSize[] = [];
const functions: FunctionSize[] = [];

const collect: Rule.RuleModule = {
  create(context) {
    const sourceCode = context.sourceCode;
    const path = relative(root, context.filename).split(sep).join('/');
    const code = codeLines(sourceCode);
    const lines = sourceCode.lines.length - (sourceCode.lines.at(-1) === '' ? 1 : 0);
    files.push({ path, total: lines, code: countCodeLines(code, 1, lines) });
    if (/\.test\.ts$/.test(path)) return {};
    const seen = new Map<string, number>();
    const visit = (fn: AstNode): void => {
      const base = functionName(fn, sourceCode);
      if (base === undefined) return;
      const nth = (seen.get(base) ?? 0) + 1;
      seen.set(base, nth);
      const node = measuredNode(fn);
      const key = `${path}#${nth === 1 ? base : `${base}~${nth}`}`;
      functions.push({ key, code: countCodeLines(code, node.loc!.start.line, node.loc!.end.line) });
    };
    return Object.fromEntries(FUNCTION_TYPES.map((t) => [t, (n: unknown) => visit(n as AstNode)]));
  },
};

const eslint = new ESLint({
  cwd: root,
  overrideConfigFile: true,
  overrideConfig: [
    { ignores: ['node_modules/**', '.cache/**', 'dist/**', 'coverage/**'] },
    {
      files: ['**/*.ts'],
      languageOptions: { parser: tseslint.parser as never },
      plugins: { measure: { rules: { collect } } },
      rules: { 'measure/collect': 'error' },
    },
  ],
});
await eslint.lintFiles(['.']);

const over = functions.filter((f) => f.code > max).sort((a, b) => b.code - a.code || a.key.localeCompare(b.key));
if (values.list) {
  const sorted = [...over].sort((a, b) => a.key.localeCompare(b.key));
  for (const f of sorted) console.log(`  '${f.key}': ${f.code},`);
} else {
  const pct = (xs: number[], q: number): number => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;
  const totals = files.map((f) => f.total).sort((a, b) => a - b);
  const codes = files.map((f) => f.code).sort((a, b) => a - b);
  console.log(`files: ${files.length}`);
  console.log(
    `  total lines: max ${totals.at(-1)}, p50 ${pct(totals, 0.5)}, p90 ${pct(totals, 0.9)}, p99 ${pct(totals, 0.99)};` +
      ` at 440–450: ${totals.filter((n) => n >= 440 && n <= 450).length}`,
  );
  console.log(
    `  code lines:  max ${codes.at(-1)}, p50 ${pct(codes, 0.5)}, p90 ${pct(codes, 0.9)}, p99 ${pct(codes, 0.99)};` +
      ` over 350: ${codes.filter((n) => n > 350).length}, over 400: ${codes.filter((n) => n > 400).length}`,
  );
  console.log(`functions (tests excepted): ${functions.length}`);
  for (const limit of [60, 80, 100])
    console.log(`  over ${limit} code lines: ${functions.filter((f) => f.code > limit).length}`);
  console.log(`longest (over ${max}):`);
  for (const f of over) console.log(`  ${String(f.code).padStart(4)}  ${f.key}`);
}
