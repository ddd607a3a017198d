// pickIcmpId: a random identifier that the transport could claim, so that two daemons of one
// network namespace never share one.
import { describe, expect, it } from 'vitest';
import { ICMP_ID_TRIES, pickFlowTag, pickIcmpId } from '../src/daemon.js';

/** Draws that land on the given identifiers, in order. */
function draws(...ids: number[]): () => number {
  let i = 0;
  return () => (ids[i++ % ids.length]! + 0.5) / 0x10000;
}

describe('pickIcmpId', () => {
  it('takes the first identifier the transport claims', () => {
    const tried: number[] = [];
    const held = new Set([100, 200]); // another daemon's
    const id = pickIcmpId(
      {
        reserveIcmpId: (n) => {
          tried.push(n);
          return !held.has(n);
        },
      },
      draws(100, 200, 300, 400),
    );
    expect(id).toBe(300);
    expect(tried).toEqual([100, 200, 300]);
  });

  it('two daemons drawing the same identifier end with different ones', () => {
    const namespace = new Set<number>();
    const transport = { reserveIcmpId: (n: number) => !namespace.has(n) && namespace.add(n) !== undefined };
    const first = pickIcmpId(transport, draws(4242, 7));
    const second = pickIcmpId(transport, draws(4242, 7));
    expect(first).toBe(4242);
    expect(second).toBe(7);
  });

  it('without a way to claim, the first draw; when every try is taken, the last draw, after ICMP_ID_TRIES tries', () => {
    expect(pickIcmpId({}, draws(9))).toBe(9);
    let tries = 0;
    const id = pickIcmpId(
      {
        reserveIcmpId: () => {
          tries++;
          return false;
        },
      },
      draws(1, 2, 3),
    );
    expect(tries).toBe(ICMP_ID_TRIES);
    expect(id).toBe([1, 2, 3][(ICMP_ID_TRIES - 1) % 3]);
  });
});

describe('pickFlowTag', () => {
  /** byte draws: each value v is drawn as a byte */
  const bytes = (...v: number[]): (() => number) => {
    let i = 0;
    return () => (v[i++ % v.length]! + 0.5) / 256;
  };

  it("two daemons drawing the same TCP flow tag (the first two bytes) end with different ones", () => {
    const namespace = new Set<number>();
    const transport = { reserveTcpFlowTag: (n: number) => !namespace.has(n) && namespace.add(n) !== undefined };
    const first = pickFlowTag(transport, bytes(0xab, 0xcd, 1, 2, 0x12, 0x34, 3, 4));
    const second = pickFlowTag(transport, bytes(0xab, 0xcd, 5, 6, 0x12, 0x34, 7, 8));
    expect(Array.from(first)).toEqual([0xab, 0xcd, 1, 2]);
    expect(Array.from(second)).toEqual([0x12, 0x34, 7, 8]);
    expect([...namespace]).toEqual([0xabcd, 0x1234]);
  });

  it('without a way to claim, the first draw', () => {
    expect(Array.from(pickFlowTag({}, bytes(9, 8, 7, 6)))).toEqual([9, 8, 7, 6]);
  });
});
