import { describe, expect, it } from 'vitest';
import { initialScheduler, step, tickDelay, type PathLimits, type SchedulerState } from '../src/scheduler.js';
import { EMPTY_HOP, reduceHop, type HopState } from '../src/stats.js';

const limits: PathLimits = { firstTtl: 1, maxTtl: 30, maxUnknown: 12 };
const answered = (address: string): HopState => reduceHop(reduceHop(EMPTY_HOP, { kind: 'sent' }), { kind: 'reply', address, rtt: 1 });

/** TTL indexes sent over `n` steps with a fixed view of the path */
function sends(hops: HopState[], target: string, n: number, l: PathLimits = limits, s0?: SchedulerState): { sent: number[]; cycles: number; s: SchedulerState } {
  let s = s0 ?? initialScheduler(l);
  const sent: number[] = [];
  let cycles = 0;
  for (let i = 0; i < n; i++) {
    const st = step(s, hops, target, l);
    sent.push(st.send);
    if (st.cycleDone) cycles++;
    s = st.next;
  }
  return { sent, cycles, s };
}

describe('scheduler (mtr pacing)', () => {
  it('first cycle on an unknown path walks up; once the destination answers at TTL 3, cycles are 1..3', () => {
    const hops: HopState[] = Array.from({ length: 30 }, () => EMPTY_HOP);
    // nothing known yet: probes walk up
    expect(sends(hops, 'D', 4).sent).toEqual([0, 1, 2, 3]);
    hops[0] = answered('R1');
    hops[1] = answered('R2');
    hops[2] = answered('D');
    const r = sends(hops, 'D', 7);
    expect(r.sent).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect(r.cycles).toBe(2);
    // a cycle is spread over the 3 known hops: 1 s / 3
    expect(tickDelay(r.s, 1)).toBeCloseTo(1000 / 3);
  });

  it('follows the destination when the path gets shorter', () => {
    const hops: HopState[] = Array.from({ length: 30 }, () => EMPTY_HOP);
    hops[0] = answered('R1');
    hops[1] = answered('R2');
    hops[2] = answered('D');
    let s = sends(hops, 'D', 2).s; // at TTL index 2 next
    hops[1] = answered('D'); // now the destination answers at TTL 2
    const st = step(s, hops, 'D', limits);
    expect(st.send).toBe(2);
    expect(st.cycleDone).toBe(true);
    expect(st.next.numHosts).toBe(2);
    s = st.next;
    expect(sends(hops, 'D', 4, limits, s).sent).toEqual([0, 1, 0, 1]);
  });

  it('-U: gives up more than maxUnknown silent hops past the last responder', () => {
    const hops: HopState[] = Array.from({ length: 30 }, () => EMPTY_HOP);
    hops[0] = answered('R1');
    const l = { ...limits, maxUnknown: 2 };
    const r = sends(hops, 'D', 6, l);
    // indexes 1,2 silent; at index 3 there are 2 unknown before it (not > 2); at 4 there are 3
    expect(r.sent).toEqual([0, 1, 2, 3, 4, 0]);
  });

  it('-f and -m bound the TTLs', () => {
    const hops: HopState[] = Array.from({ length: 30 }, () => EMPTY_HOP);
    const l = { firstTtl: 3, maxTtl: 5, maxUnknown: 12 };
    expect(sends(hops, 'D', 7, l).sent).toEqual([2, 3, 4, 2, 3, 4, 2]);
  });

  it('stops a cycle at a hop that answered unreachable', () => {
    const hops: HopState[] = Array.from({ length: 30 }, () => EMPTY_HOP);
    hops[0] = answered('R1');
    hops[1] = reduceHop(hops[1] as HopState, { kind: 'reply', address: 'R2', rtt: 1, error: 'no-route-host' });
    expect(sends(hops, 'D', 5).sent).toEqual([0, 1, 0, 1, 0]);
  });
});
