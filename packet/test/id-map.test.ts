import { describe, expect, it } from 'vitest';
import { IdMap } from '../src/id-map.js';

describe('IdMap', () => {
  it('behaves as a Map of its ids, its own entry unseen', () => {
    const m = new IdMap<string>();
    expect(m.size).toBe(0);
    expect(m.get(1)).toBeUndefined();
    expect(m.has(1)).toBe(false);
    m.set(1, 'a');
    m.set(0, 'b');
    m.set(-1, 'c');
    expect(m.size).toBe(3);
    expect([m.get(1), m.get(0), m.get(-1)]).toEqual(['a', 'b', 'c']);
    expect(m.delete(1)).toBe(true);
    expect(m.delete(1)).toBe(false);
    expect(m.has(1)).toBe(false);
    expect(m.size).toBe(2);
    m.delete(0);
    m.delete(-1);
    expect(m.size).toBe(0);
  });

  it('takes no NaN id, and NaN finds nothing', () => {
    const m = new IdMap<string>();
    expect(() => m.set(NaN, 'x')).toThrow(RangeError);
    expect(m.get(NaN)).toBeUndefined();
    expect(m.has(NaN)).toBe(false);
    expect(m.delete(NaN)).toBe(false);
    expect(m.size).toBe(0);
  });
});
