// When a target's next probe is due: mtr's gaps (scheduler.ts's tickDelay, interval / numHosts) on an
// absolute grid of the engine's monotonic clock (systemClock: performance.timeOrigin + performance.now()).
//
// mtr (ui/select.c) starts each wait when the previous probe went out, so every millisecond a timer runs
// late is lost for good and the trace stretches: on a loaded host the rate falls below the one asked. Here
// the next probe is due one gap after the previous one was *due*, so lateness does not add up. The gaps
// themselves, and so -i and the spreading of a cycle over its hops, are mtr's.
//
// Catching up, bounded: a tick that ran late is followed by the next one at its place on the grid, but
// never sooner than half a gap later, so a target behind makes the time up at no more than twice its rate
// (at most two probes within any one gap; no burst). At most `maxDebt` (the engine passes the interval:
// one cycle) is made up: after a longer stall (a blocked event loop, a suspended host) the grid moves on,
// and the probes of the rest of the stall are not sent (skipped, not lost: nothing was sent).

export interface NextTick {
  /** when the next tick is due on the grid (ms, the clock's) */
  readonly due: number;
  /** the timer's delay from `now` */
  readonly delay: number;
}

/**
 * The tick due at `due` ran at `now`: the next one, `gap` later on the grid, at most `maxDebt` behind
 * `now`, and at least half a gap after `now`.
 */
export function nextTick(due: number, now: number, gap: number, maxDebt: number): NextTick {
  const next = Math.max(due + gap, now - maxDebt);
  return { due: next, delay: Math.max(next - now, gap / 2) };
}
