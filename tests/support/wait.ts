/** Resolves after `ms` milliseconds. */
export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds, checking every 5 ms; throws naming `what` after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 3_000, what = 'the condition'): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(5);
  }
}
