#!/usr/bin/env node
// The `tributary` command as npm links it (package.json "bin"; `npx tributary`), in a checkout and in the
// installed package alike. A checkout runs the CLI's TypeScript source: Node strips its types, nothing is built
// (the checkout's own `npx tributary` links this file, not a build). The packed package has no TypeScript
// (Node refuses to strip types under node_modules): it runs the JavaScript that its prepack compiled into dist/.
// JavaScript itself, so that both can load it; whichever entrypoint runs reads the same process.argv.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const source = new URL('../runtime/src/cli/main.ts', import.meta.url);
await import(existsSync(source) ? source.href : new URL('../dist/runtime/src/cli/main.js', import.meta.url).href);
