/** Runs a job now, then every `intervalMs` ± `jitter`, one run at a time, until stopped. */
export interface Scheduler {
  /**
   * Runs the job as soon as possible. When a run is under way, one more run follows it (requests
   * made meanwhile share that one), so a change made during a run — a key just added — is seen.
   */
  runNow(): Promise<void>;
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  stop(): Promise<void>;
}

/**
 * Starts a jittered schedule for `job`. Jitter (default ±10 %) keeps many installs from hitting a
 * provider at the same second. The timer is unref'd so it never keeps a process alive by itself.
 */
export function startScheduler(job: () => Promise<void>, options: { intervalMs: number; jitter?: number; runOnStart?: boolean; random?: () => number }): Scheduler {
  const jitter = options.jitter ?? 0.1;
  const random = options.random ?? Math.random;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let followUp: Promise<void> | undefined;
  let stopped = false;
  let paused = false;

  const schedule = (): void => {
    if (stopped || paused) return;
    const delay = Math.max(1000, options.intervalMs * (1 + jitter * (2 * random() - 1)));
    timer = setTimeout(() => void runNow(), delay);
    timer.unref();
  };
  const runNow = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running) {
      followUp ??= running.then(() => {
        followUp = undefined;
        return runNow();
      });
      return followUp;
    }
    clearTimeout(timer);
    running = job()
      .catch(() => undefined)
      .finally(() => {
        running = undefined;
        schedule();
      });
    return running;
  };

  if (options.runOnStart ?? true) void runNow();
  else schedule();

  return {
    runNow,
    pause() {
      paused = true;
      clearTimeout(timer);
    },
    resume() {
      if (!paused) return;
      paused = false;
      schedule();
    },
    get paused() {
      return paused;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
