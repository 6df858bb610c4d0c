// prom-client metrics of the data plane, registered on the job's registry.
import { Counter, Gauge, type Registry } from 'prom-client';

export class NetMetrics {
  readonly bytesSent: Counter<'to_slot'>;
  readonly bytesReceived: Counter<'from_slot'>;
  readonly framesSent: Counter<'to_slot'>;
  /** Time a channel spent unwritable for lack of credit (Flink's backPressuredTimeMsPerSecond, summed). */
  readonly backpressuredSeconds: Counter<'to_slot'>;
  readonly queuedFrames: Gauge<'to_slot'>;
  readonly refusedHandshakes: Counter<'reason'>;

  constructor(registry?: Registry) {
    const registers = registry ? [registry] : [];
    this.bytesSent = new Counter({
      name: 'tributary_net_bytes_sent_total',
      help: 'Data-plane bytes written to a peer slot',
      labelNames: ['to_slot'],
      registers,
    });
    this.bytesReceived = new Counter({
      name: 'tributary_net_bytes_received_total',
      help: 'Data-plane bytes read from a peer slot',
      labelNames: ['from_slot'],
      registers,
    });
    this.framesSent = new Counter({
      name: 'tributary_net_frames_sent_total',
      help: 'DATA frames (buffers) written to a peer slot',
      labelNames: ['to_slot'],
      registers,
    });
    this.backpressuredSeconds = new Counter({
      name: 'tributary_net_backpressured_seconds_total',
      help: 'Time outbound channels to a peer slot were not writable because the receiver granted no credit',
      labelNames: ['to_slot'],
      registers,
    });
    this.queuedFrames = new Gauge({
      name: 'tributary_net_queued_frames',
      help: 'Frames waiting for credit, per peer slot',
      labelNames: ['to_slot'],
      registers,
    });
    this.refusedHandshakes = new Counter({
      name: 'tributary_net_refused_handshakes_total',
      help: 'Inbound connections refused at the handshake',
      labelNames: ['reason'],
      registers,
    });
  }
}
