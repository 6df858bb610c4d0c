// Test pod program: runs until SIGTERM, then writes $TRIBUTARY_POD_ROOT/out/sigterm (the
// time it got the signal) and exits 0 after $EXIT_DELAY_MS, writing out/exiting first (the proof
// that it ended by itself, not by the agent's SIGKILL). With IGNORE_SIGTERM=1 it only
// records the signal and keeps running (the agent must SIGKILL it after the grace period).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = join(process.env.TRIBUTARY_POD_ROOT ?? '/', 'out');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'started'), String(Date.now()));
process.on('SIGTERM', () => {
  writeFileSync(join(out, 'sigterm'), String(Date.now()));
  if (process.env.IGNORE_SIGTERM === '1') return;
  setTimeout(
    () => {
      writeFileSync(join(out, 'exiting'), String(Date.now()));
      process.exit(0);
    },
    Number(process.env.EXIT_DELAY_MS ?? 500),
  );
});
setInterval(() => undefined, 1000);
console.log('waiting for SIGTERM');
