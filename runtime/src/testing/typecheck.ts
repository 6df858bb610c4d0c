// Type-checks TypeScript sources in memory with the compiler (strict): the generated schema
// types' tests assign decoded records to them and read the diagnostics. With `project`, the
// sources are checked as a user's job is, with the repository's tsconfig (`tributary` resolves to
// the API); name them `.mts` so they are ES modules.
import { join } from 'node:path';
import ts from 'typescript';

const STANDALONE: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  allowImportingTsExtensions: true,
  exactOptionalPropertyTypes: true,
  types: [],
  lib: ['lib.es2022.d.ts'],
};

function projectOptions(): ts.CompilerOptions {
  const root = join(import.meta.dirname, '../../..');
  const file = join(root, 'tsconfig.json');
  const config = ts.readConfigFile(file, (p) => ts.sys.readFile(p));
  return ts.parseJsonConfigFileContent(config.config, ts.sys, root, undefined, file).options;
}

/** The compiler's errors for `files` (name → source), as `file: message` lines; empty when they check. */
export function typecheck(files: Readonly<Record<string, string>>, o: { project?: boolean } = {}): string[] {
  const options = o.project ? { ...projectOptions(), noEmit: true } : STANDALONE;
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  const exists = host.fileExists.bind(host);
  const getSource = host.getSourceFile.bind(host);
  const own = (name: string) => files[name.replace(/^\/virtual\//, '')];
  host.readFile = (name) => own(name) ?? read(name);
  host.fileExists = (name) => own(name) !== undefined || exists(name);
  const dirExists = host.directoryExists?.bind(host);
  host.directoryExists = (dir) => dir === '/virtual' || (dirExists?.(dir) ?? true);
  host.realpath = (p) => p;
  host.getSourceFile = (name, lang, onError, create) => {
    const text = own(name);
    return text !== undefined ? ts.createSourceFile(name, text, lang) : getSource(name, lang, onError, create);
  };
  const program = ts.createProgram(
    Object.keys(files).map((f) => `/virtual/${f}`),
    options,
    host,
  );
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName.replace('/virtual/', '')}: ` : '';
    return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}
