// The timer service's order against a reference model (a plain list, earliest by
// (timestamp, key group, key, namespace) fired first), over random sequences of registrations,
// deletions and advances, with fire callbacks that register timers at, before and after the
// firing one's timestamp and delete others — the cases where a bucketed queue could drift
// from one heap's order.
import { describe, expect, it } from 'vitest';
import { RecordRandom } from '../connectors/datagen/random.ts';
import { compareTimers } from './timer-sort.ts';
import { TimerService, type Timer } from './timer-service.ts';

type Spec = [kg: number, key: string, ns: number | string, ts: number];

class Reference {
  live: Timer[] = [];
  register([kg, key, ns, ts]: Spec): void {
    if (this.live.some((t) => t.kg === kg && t.key === key && t.ns === ns && t.ts === ts)) return;
    this.live.push({ kg, key, ns, ts, deleted: false });
  }
  delete([kg, key, ns, ts]: Spec): void {
    this.live = this.live.filter((t) => !(t.kg === kg && t.key === key && t.ns === ns && t.ts === ts));
  }
  nextTimestamp(): number | undefined {
    return [...this.live].sort(compareTimers)[0]?.ts;
  }
  advance(time: number, fire: (t: Timer) => void): void {
    for (;;) {
      const t = [...this.live].sort(compareTimers)[0];
      if (!t || t.ts > time) return;
      this.live = this.live.filter((o) => o !== t);
      fire(t);
    }
  }
}

interface Service {
  register(...s: Spec): void;
  delete(...s: Spec): void;
  nextTimestamp(): number | undefined;
  advance(time: number, fire: (t: Timer) => void): void;
}

function wrap(r: Reference): Service {
  return {
    register: (...s) => r.register(s),
    delete: (...s) => r.delete(s),
    nextTimestamp: () => r.nextTimestamp(),
    advance: (time, fire) => r.advance(time, fire),
  };
}

/** Runs one random scenario on `svc`; returns what it observed. */
function scenario(seed: number, svc: Service): string[] {
  const r = new RecordRandom();
  r.reset(seed, 0);
  const rand = (): number => r.next();
  const pick = <T>(xs: readonly T[]): T => r.pick(xs);
  const spec = (tsFrom: number, tsSpan: number): Spec => [
    Math.floor(rand() * 4),
    pick(['a', 'b', 'c', 'd']),
    pick([0, 1, 2, 'x', 'y']),
    tsFrom + Math.floor(rand() * tsSpan),
  ];
  const log: string[] = [];
  let now = 0;
  for (let step = 0; step < 300; step++) {
    const r = rand();
    if (r < 0.55) svc.register(...spec(now, 40));
    else if (r < 0.7) svc.delete(...spec(now, 40));
    else if (r < 0.8) log.push(`next ${String(svc.nextTimestamp())}`);
    else {
      now += Math.floor(rand() * 15);
      svc.advance(now, (t) => {
        log.push(`fire ${t.ts}/${t.kg}/${t.key}/${String(t.ns)}`);
        const a = rand();
        // Re-registration at, before or after the firing timestamp (fired in this advance when ≤ now).
        if (a < 0.3) svc.register(...spec(t.ts - 5, 16));
        else if (a < 0.45) svc.delete(...spec(t.ts - 5, 30));
      });
    }
  }
  svc.advance(Number.POSITIVE_INFINITY, (t) => log.push(`fire ${t.ts}/${t.kg}/${t.key}/${String(t.ns)}`));
  log.push(`next ${String(svc.nextTimestamp())}`);
  return log;
}

describe('TimerService order', () => {
  it('fires exactly as the reference model over 300 random scenarios', () => {
    let fired = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const expected = scenario(seed, wrap(new Reference()));
      const actual = scenario(seed, new TimerService());
      expect(actual, `seed ${seed}`).toEqual(expected);
      fired += expected.filter((l) => l.startsWith('fire')).length;
    }
    expect(fired).toBeGreaterThan(10_000); // the scenarios do fire timers, many while firing
  });

  it('sorts ties by key group, key, then namespace (numbers numerically)', () => {
    const t = new TimerService();
    t.register(2, 'a', 0, 10);
    t.register(1, 'b', 10, 10);
    t.register(1, 'b', 9, 10);
    t.register(1, 'a', 'z', 10);
    const fired: string[] = [];
    t.advance(10, (x) => fired.push(`${x.kg}/${x.key}/${String(x.ns)}`));
    expect(fired).toEqual(['1/a/z', '1/b/9', '1/b/10', '2/a/0']);
  });
});
