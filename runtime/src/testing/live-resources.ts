// Which sockets and timers created while a recording runs are still alive, and where each was
// created: an async hook keeps the creating stack of every TCPWRAP and Timeout from start() on
// and forgets it when the resource is destroyed (a socket closed, a timer fired or cleared).
// What is left after a job stopped is what would hold a process's event loop. Test-only: the
// hook costs on every resource.
import { createHook } from 'node:async_hooks';

const WATCHED = new Set(['TCPWRAP', 'Timeout']);

export interface LiveResource {
  type: string;
  stack: string;
}

export class LiveResources {
  private readonly live = new Map<number, LiveResource>();
  private recording = false;
  private readonly hook = createHook({
    init: (id, type) => {
      if (!this.recording || !WATCHED.has(type)) return;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 30;
      const stack = (new Error().stack ?? '').split('\n').slice(3).join('\n');
      Error.stackTraceLimit = limit;
      this.live.set(id, { type, stack });
    },
    destroy: (id) => {
      this.live.delete(id);
    },
  });

  start(): void {
    this.recording = true;
    this.hook.enable();
  }

  /** Records nothing new; those recorded stay watched until destroyed. */
  stopRecording(): void {
    this.recording = false;
  }

  /** Ends the hook. */
  dispose(): void {
    this.hook.disable();
    this.live.clear();
  }

  /** The recorded resources still alive, each with its creating stack. */
  alive(): LiveResource[] {
    return [...this.live.values()];
  }

  /** One text per resource still alive, for an assertion's message. */
  describe(): string {
    return this.alive()
      .map((r) => `${r.type}\n${r.stack}`)
      .join('\n---\n');
  }
}
