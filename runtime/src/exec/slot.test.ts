// The slot loop sleeps while its tasks wait for a scheduled time: a task that asks for its
// next wake-up on every idle step (as a rate-limited source does) must not keep it running.
import { describe, expect, it } from 'vitest';
import { Slot, type Task } from './slot.ts';

/** Does one unit of work per due time, `rounds` times, each due `gapMs` after the last. */
class PacedTask implements Task {
  readonly name = 'paced';
  done = false;
  steps = 0;
  private readonly slot: Slot;
  private readonly gapMs: number;
  private rounds: number;
  private due: number;

  constructor(slot: Slot, rounds: number, gapMs: number) {
    this.slot = slot;
    this.rounds = rounds;
    this.gapMs = gapMs;
    this.due = Date.now() + gapMs;
  }

  step(): boolean {
    this.steps++;
    if (Date.now() < this.due) {
      this.slot.schedule(this.due, () => {});
      return false;
    }
    if (--this.rounds === 0) this.done = true;
    this.due = Date.now() + this.gapMs;
    return true;
  }
}

describe('Slot loop', () => {
  it('sleeps until the time a task scheduled instead of stepping it meanwhile', async () => {
    const slot = new Slot(0);
    const task = new PacedTask(slot, 5, 30);
    slot.addTask(task);
    await slot.run();
    expect(task.done).toBe(true);
    // Per round: the idle step that schedules, the step after the wake-up (plus one for a
    // timer that fires a millisecond early). A loop woken by its own scheduling steps the
    // task thousands of times in 30 ms.
    expect(task.steps).toBeLessThanOrEqual(5 * 3 + 1);
    expect(slot.iterations).toBeLessThanOrEqual(5 * 3 + 2);
  });

  it('is woken from its sleep by an earlier action scheduled from outside the loop', async () => {
    const slot = new Slot(0);
    let fired = false;
    const task: Task = {
      name: 'waits',
      get done() {
        return fired;
      },
      step: () => false,
    };
    slot.addTask(task);
    slot.schedule(Date.now() + 60_000, () => {});
    const running = slot.run();
    // The loop is asleep with a timer a minute away; an I/O callback schedules an earlier action.
    setTimeout(() => slot.schedule(Date.now(), () => (fired = true)), 20);
    await running;
    expect(fired).toBe(true);
  });
});
