import { describe, expect, it } from 'vitest';
import { colourWanted, liveWanted } from '../../src/tty/wanted.js';

describe('when the live view runs, and in colour', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  const env = { TERM: 'xterm-256color' };
  it('only without an output flag, with stdin and stdout terminals and a capable TERM', () => {
    expect(liveWanted(true, env, tty, tty)).toBe(true);
    expect(liveWanted(false, env, tty, tty)).toBe(false);
    expect(liveWanted(true, env, tty, pipe)).toBe(false);
    expect(liveWanted(true, env, pipe, tty)).toBe(false);
    expect(liveWanted(true, { TERM: 'dumb' }, tty, tty)).toBe(false);
    expect(liveWanted(true, {}, tty, tty)).toBe(false);
  });
  it('NO_COLOR (any non-empty value) and TERM=dumb turn colour off', () => {
    expect(colourWanted(env)).toBe(true);
    expect(colourWanted({ ...env, NO_COLOR: '1' })).toBe(false);
    expect(colourWanted({ ...env, NO_COLOR: '' })).toBe(true);
    expect(colourWanted({ TERM: 'dumb' })).toBe(false);
  });
});
