// The slot process itself (loaded by main.ts, the entrypoint, once the compile cache is on).
// Its start, stage by stage (slot/): configuration → storage → rescale host → control API →
// restore → the slot built, listening → run or join. The order is the contract: the control API
// is up before the restore (it reports the restore phase), and the rescale host is made before
// the control API (slot 0's takes its migrations).
import { isTributaryError } from './errors.ts';
import { configureSlot } from './slot/configuration.ts';
import { slotRescaleHost, wireRescaleHost } from './slot/rescale-host.ts';
import { buildSlot, runOrJoin } from './slot/run.ts';
import { openSlotPorts, startSlotControl } from './slot/servers.ts';
import type { SlotHandle } from './slot/slot-handle.ts';
import { resolveRestore, slotStorage } from './slot/storage.ts';
import { writeTerminationMessage } from './slot/termination-message.ts';
import type { ControlServer } from './control/server.ts';
import type { MetricsServer } from './telemetry/metrics-server.ts';

const CONFIG_CODES = new Set([
  'TRIB_PEER_CONFIG',
  'TRIB_GRAPH_INVALID',
  'TRIB_GRAPH_LOAD',
  'TRIB_CLI_USAGE',
  'TRIB_JOB_CONFIG',
  'TRIB_CONNECTOR_UNSUPPORTED',
  'TRIB_EXPR_INVALID',
  'TRIB_JOB_MODULE',
  'TRIB_FUNCTION_MISSING',
]);

/** Under `tributary run --distributed`: exit when the supervisor is gone (no orphaned slots). */
function watchParent(): void {
  const parent = Number(process.env['TRIBUTARY_PARENT_PID']);
  if (!(parent > 0)) return;
  setInterval(() => {
    if (process.ppid !== parent) {
      process.stderr.write(`supervisor ${parent} is gone; slot exiting\n`);
      process.exit(1);
    }
  }, 500).unref();
}

async function main(): Promise<number> {
  watchParent();
  const config = await configureSlot();
  const handle: SlotHandle = { stopRequested: false, signals: 0 };
  const storage = slotStorage(config, handle);
  const rescale = slotRescaleHost(config, handle);
  let control: ControlServer | undefined;
  let metricsServer: MetricsServer | undefined;
  try {
    control = await startSlotControl(config, storage, rescale, handle);
    const restore = await resolveRestore(config, storage, handle);
    const slot = buildSlot(config, storage, restore);
    handle.built = slot;
    wireRescaleHost(rescale, slot);
    metricsServer = await openSlotPorts(config, slot, control);
    return await runOrJoin(config, storage, rescale, slot, handle);
  } finally {
    await control?.close();
    await metricsServer?.close();
    config.logger.flush();
  }
}

/** Runs this process as one slot and exits with its code (see main.ts); importing this file does not. */
export function runSlotProcess(): void {
  main().then(
    (code) => {
      process.exitCode = code;
      // Connector clients (kafkajs) may keep timers alive; the slot is done.
      setTimeout(() => process.exit(code), 200).unref();
    },
    (e: unknown) => {
      const code = isTributaryError(e) && CONFIG_CODES.has(e.code) ? 2 : 1;
      let text: string;
      if (isTributaryError(e)) {
        text = `error ${e.code}: ${e.message}\n`;
        if (e.cause instanceof Error && !e.message.includes(e.cause.message)) text += `  cause: ${e.cause.message}\n`;
      } else text = `error: ${(e as Error).stack ?? String(e)}\n`;
      process.stderr.write(text);
      writeTerminationMessage(text);
      process.exitCode = code;
      setTimeout(() => process.exit(code), 200).unref();
    },
  );
}
