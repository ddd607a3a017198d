// The screen model against real mtr 0.95 screens captured in the netns lab (fixtures/tty/README.md).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lineText, renderScreen } from '../../src/tty/screen.js';
import { initialView } from '../../src/tty/view.js';
import { fixturePath, loadFixture } from './fixture.js';

process.env['TZ'] = 'UTC';

const capture = (name: string): string[] => readFileSync(fixturePath(`mtr-0.95.${name}.txt`), 'utf8').replace(/\n$/, '').split('\n');
const ours = (mode: 0 | 1 | 2 | 3, cols = 100, rows = 30): string[] => {
  const { snapshot, names } = loadFixture('lab4');
  return renderScreen(snapshot, names, initialView({ cols, rows, mode, dns: false, version: 'mtr-ts 0.1.0' })).lines.map(lineText);
};
const centred = (l: string, cols: number): boolean => {
  const start = l.length - l.trimStart().length;
  return start === Math.floor((cols - l.trim().length) / 2);
};
/** numbers masked (for a capture taken at another moment) */
const maskNumbers = (l: string): string => l.replace(/ *(\d+\.\d+%?|\d+)/g, ' N');
/** chart characters: replies become x, losses stay ?, unsent stay blank */
const maskChart = (l: string): string => l.slice(0, 29) + l.slice(29).replace(/[^? ]/g, 'x');

describe('screen model vs mtr 0.95 in the lab (100x30)', () => {
  it('statistics mode: every row but the title is the same, character for character', () => {
    const m = capture('stats');
    const o = ours(0);
    expect(centred(m[0] as string, 100) && centred(o[0] as string, 100)).toBe(true);
    expect(o.slice(1, 30)).toEqual(m.slice(1, 30));
  });
  it('stripchart mode 1: same rows, same chart geometry (newest on the right), same losses', () => {
    const m = capture('mode1');
    const o = ours(1);
    expect(o.slice(1, 5)).toEqual(m.slice(1, 5).map((l) => l.replace(/\d\d:\d\d:\d\d/, '16:58:19')));
    for (let y = 5; y < 9; y++) expect(maskChart(o[y] as string)).toBe(maskChart(m[y] as string));
    // the blank line, then the legend (mtr 0.95 lists 8 integer-ms buckets; ours are head's)
    expect(o[9]).toBe('');
    expect(o[10]?.startsWith('Scale:  .:')).toBe(true);
    expect(m[10]?.startsWith('Scale:  .:')).toBe(true);
  });
  it('80x24: the same geometry after a resize (numbers masked)', () => {
    const m = capture('80x24');
    const o = ours(0, 80, 24);
    expect(centred(o[0] as string, 80)).toBe(true);
    expect(o.slice(1, 24).map(maskNumbers)).toEqual(m.slice(1, 24).map(maskNumbers));
  });
});
