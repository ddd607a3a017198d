// The command pump: slices of SLICE lines per turn of the event loop, nothing handled while the
// output is congested, stdin paused meanwhile, end of input reported once every line is handled.

import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CommandPump, SLICE } from '../src/command-pump.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup() {
  const input = new PassThrough();
  const seen: string[] = [];
  const state = { blocked: false, blockAfter: Infinity, slices: [] as number[], ended: 0, overflows: 0 };
  const pump = new CommandPump(input, {
    line: (t) => seen.push(t),
    overflow: () => state.overflows++,
    afterSlice: () => {
      state.slices.push(seen.length);
      if (state.slices.length >= state.blockAfter) state.blocked = true;
    },
    blocked: () => state.blocked,
    ended: () => state.ended++,
  });
  pump.start();
  return { input, seen, state, pump };
}

const lines = (n: number, from = 1): string => Array.from({ length: n }, (_, i) => `${from + i} check-support feature icmp\n`).join('');

describe('CommandPump', () => {
  it('handles a burst in slices of SLICE lines, one turn of the event loop apart, then reports the end', async () => {
    const { input, seen, state } = setup();
    input.write(lines(SLICE * 2 + 5));
    for (let i = 0; i < 10 && seen.length < SLICE * 2 + 5; i++) await turn();
    expect(state.slices).toEqual([SLICE, SLICE * 2, SLICE * 2 + 5]);
    expect(seen[0]).toBe('1 check-support feature icmp');
    input.end();
    for (let i = 0; i < 5 && state.ended === 0; i++) await turn();
    expect(state.ended).toBe(1);
  });

  it('takes no line while the output is congested, pauses its input, and goes on when resumed', async () => {
    const { input, seen, state, pump } = setup();
    state.blockAfter = 1; // the first slice's replies congest the output
    input.write(lines(SLICE * 3));
    for (let i = 0; i < 10; i++) await turn();
    expect(seen.length).toBe(SLICE);
    expect(input.isPaused()).toBe(true);
    input.write(lines(10, 1000));
    input.end();
    for (let i = 0; i < 10; i++) await turn();
    expect(seen.length).toBe(SLICE);
    expect(state.ended).toBe(0); // the end waits for the lines before it
    state.blockAfter = Infinity;
    state.blocked = false;
    pump.resume();
    for (let i = 0; i < 20 && state.ended === 0; i++) await turn();
    expect(seen.length).toBe(SLICE * 3 + 10);
    expect(new Set(seen).size).toBe(seen.length); // each line once
    expect(state.ended).toBe(1);
  });

  it('reports a line past the command buffer as an overflow and goes on', async () => {
    const { input, seen, state } = setup();
    input.end(`${'x'.repeat(5000)}\n1 check-support feature icmp\n`);
    for (let i = 0; i < 10 && state.ended === 0; i++) await turn();
    expect(state.overflows).toBe(1); // and the rest of the long line is a line, as the reference frames it
    expect(seen.at(-1)).toBe('1 check-support feature icmp');
    expect(state.ended).toBe(1);
  });
});
