// When a target's next probe is due: mtr's gaps (scheduler.ts's tickDelay, interval / numHosts) on an
// absolute grid of the engine's monotonic clock (systemClock: performance.timeOrigin + performance.now()).
//
// mtr (ui/select.c) starts each wait when the previous probe went out, so every millisecond a timer runs
// late is lost for good and the trace stretches: on a loaded host the rate falls below the one asked. Here
// the next probe is due one gap after the previous one was *due*, so lateness does not add up. The gaps
// themselves, and so -i and the spreading of a cycle over its hops, are mtr's.
//
// After a stall (a blocked event loop, a suspended host), the time lost is not made up with a burst: a
// tick that runs less than one gap late keeps the grid (the next probe comes sooner, one gap after this
// one was due), a tick that runs a whole gap late or more starts the grid again from now, so the ticks
// missed are skipped (the probes are sent later, none is dropped). Either way a target sends at most two
// probes within any one gap.

/** The next tick's due time (ms): `gap` after `due`, unless the tick that was due then ran a gap late or more. */
export function nextDue(due: number, now: number, gap: number): number {
  return now - due >= gap ? now + gap : due + gap;
}
