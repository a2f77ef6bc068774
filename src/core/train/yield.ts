// Lets timers, I/O and abort signals run between training steps. setImmediate (Node) costs
// microseconds; where it does not exist, setTimeout(0) is clamped to >= 1 ms, so it is rate-limited.

const hasImmediate = typeof globalThis.setImmediate === 'function';
let lastYield = 0;

export function yieldToEventLoop(): Promise<void> {
  if (hasImmediate) return new Promise((resolve) => globalThis.setImmediate(resolve));
  const now = Date.now();
  if (now - lastYield < 20) return Promise.resolve();
  lastYield = now;
  return new Promise((resolve) => setTimeout(resolve, 0));
}
