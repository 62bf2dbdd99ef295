/**
 * Waits until `condition` holds, checking every 50 ms; fails naming `what` after
 * `timeoutMs` (10 s by default).
 */
export async function until(
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  what = "the condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
