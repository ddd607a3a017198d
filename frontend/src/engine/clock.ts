// The real clock: wall time with a µs fraction (performance.timeOrigin + performance.now(), so it never
// steps back within a run) and the global timers.

import type { Clock } from './types.js';

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
