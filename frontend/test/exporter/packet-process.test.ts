// The packet program's restart back-off: a process that keeps dying at once is started again later and
// later (no tight loop), one that lived long enough is started again at once.

import { describe, expect, it } from 'vitest';
import { Backoff, MAX_DELAY_MS, STABLE_MS } from '../../src/exporter/packet-process.js';

describe('packet program restart back-off', () => {
  it('doubles the delay while the process dies at once, up to the cap', () => {
    const b = new Backoff();
    let now = 0;
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const d = b.next(now);
      delays.push(d);
      now += d + 10; // started after the delay, died 10 ms later
    }
    expect(delays.slice(0, 5)).toEqual([0, 250, 500, 1000, 2000]);
    expect(Math.max(...delays)).toBe(MAX_DELAY_MS);
  });

  it('starts at once again after a process that lived', () => {
    const b = new Backoff();
    expect(b.next(0)).toBe(0);
    expect(b.next(100)).toBe(250);
    expect(b.next(350 + STABLE_MS)).toBe(0);
  });
});
