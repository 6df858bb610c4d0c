// Builds what the npm package ships: runtime/src compiled to JavaScript with declarations in
// dist/ (tsconfig.package.json; `.ts` import specifiers are rewritten to `.js`). Node refuses to
// strip types from files under node_modules, so an installed package must be JavaScript; the
// declarations keep a TypeScript user's inference. Run it before `npm pack`:
//   node runtime/build/build-package.ts && npm pack
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.package.json'], {
  cwd: root,
  stdio: 'inherit',
});
// npm links bins as they are: the bin must be executable (its shebang runs node). It is bin/tributary.js,
// which runs dist/runtime/src/cli/main.js here (the package ships no TypeScript) and the source in a checkout.
chmodSync(join(root, 'bin/tributary.js'), 0o755);
// The dashboard's page is static files (HTML, CSS, browser JavaScript) that tsc does not emit:
// the server reads them beside its own module, in dist/ as in runtime/src/.
cpSync(join(root, 'runtime/src/dashboard/page'), join(root, 'dist/runtime/src/dashboard/page'), { recursive: true });
