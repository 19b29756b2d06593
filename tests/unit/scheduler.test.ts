import { describe, expect, it } from 'vitest';
import { startScheduler } from '../../core/poller/scheduler.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('scheduler', () => {
  it('runs once more after a run under way when asked during it, coalescing requests', async () => {
    const gates = [deferred(), deferred()];
    let runs = 0;
    const scheduler = startScheduler(async () => {
      await gates[runs++]!.promise;
    }, { intervalMs: 3_600_000, runOnStart: false });
    const first = scheduler.runNow();
    const second = scheduler.runNow();
    const third = scheduler.runNow();
    expect(second).toBe(third);
    gates[0]!.resolve();
    await first;
    gates[1]!.resolve();
    await second;
    expect(runs).toBe(2);
    await scheduler.stop();
  });

  it('never runs after stop, and a failing job does not stop the schedule', async () => {
    let runs = 0;
    const scheduler = startScheduler(async () => {
      runs++;
      throw new Error('provider down');
    }, { intervalMs: 3_600_000, runOnStart: false });
    await scheduler.runNow();
    await scheduler.runNow();
    expect(runs).toBe(2);
    await scheduler.stop();
    await scheduler.runNow();
    expect(runs).toBe(2);
  });

  it('pauses and resumes the timer', async () => {
    const scheduler = startScheduler(async () => undefined, { intervalMs: 3_600_000, runOnStart: false });
    scheduler.pause();
    expect(scheduler.paused).toBe(true);
    scheduler.resume();
    expect(scheduler.paused).toBe(false);
    await scheduler.stop();
  });
});
