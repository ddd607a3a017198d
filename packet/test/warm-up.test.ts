// The slow session's warm-up: the interrupt budget is lowered once, JUDGE_AFTER_MS after the first
// command, only when few commands came by then, and set back LOWERED_FOR_MS later; never from the
// start, never in a flood. The timers are fake ones, fired by hand: nothing here depends on how long
// anything takes.

import { describe, expect, it } from 'vitest';
import { DEFAULT_BUDGET, JUDGE_AFTER_MS, LOWERED_FOR_MS, SLOW_MAX_COMMANDS, SLOW_SESSION_BUDGET, WarmUp } from '../src/warm-up.js';

function setup() {
  const flags: string[] = [];
  const timers: { fn: () => void; ms: number; unrefed: boolean }[] = [];
  const w = new WarmUp({
    setFlags: (f) => flags.push(f),
    setTimeout: (fn, ms) => {
      const t = { fn, ms, unrefed: false };
      timers.push(t);
      return {
        unref: () => {
          t.unrefed = true;
        },
      };
    },
  });
  return { w, flags, timers };
}

describe('WarmUp', () => {
  it('sets nothing and arms nothing before the first command (the idle start keeps the default budget)', () => {
    const { w, flags, timers } = setup();
    expect(timers).toEqual([]);
    expect(flags).toEqual([]);
    expect(w.lowered).toBe(false);
  });

  it('judges once, JUDGE_AFTER_MS after the first command, on an unref-ed timer', () => {
    const { w, timers, flags } = setup();
    for (let i = 0; i < 10; i++) w.command();
    expect(timers).toHaveLength(1);
    expect(timers[0]!.ms).toBe(JUDGE_AFTER_MS);
    expect(timers[0]!.unrefed).toBe(true);
    expect(flags).toEqual([]);
  });

  it('a slow session (at most SLOW_MAX_COMMANDS by then) gets the lower budget, then the default again', () => {
    const { w, timers, flags } = setup();
    for (let i = 0; i < SLOW_MAX_COMMANDS; i++) w.command();
    timers[0]!.fn();
    expect(flags).toEqual([`--interrupt-budget=${SLOW_SESSION_BUDGET}`]);
    expect(w.lowered).toBe(true);
    // later commands change nothing
    for (let i = 0; i < 5000; i++) w.command();
    expect(flags).toHaveLength(1);
    expect(timers).toHaveLength(2);
    expect(timers[1]!.ms).toBe(LOWERED_FOR_MS);
    expect(timers[1]!.unrefed).toBe(true);
    timers[1]!.fn();
    expect(flags).toEqual([`--interrupt-budget=${SLOW_SESSION_BUDGET}`, `--interrupt-budget=${DEFAULT_BUDGET}`]);
    expect(w.lowered).toBe(false);
    expect(timers).toHaveLength(2);
  });

  it('a flood (more than SLOW_MAX_COMMANDS by then) keeps the default budget', () => {
    const { w, timers, flags } = setup();
    for (let i = 0; i < SLOW_MAX_COMMANDS + 1; i++) w.command();
    timers[0]!.fn();
    expect(flags).toEqual([]);
    expect(w.lowered).toBe(false);
    expect(timers).toHaveLength(1);
  });
});
