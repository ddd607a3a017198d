import { describe, expect, it } from 'vitest';
import { Painter, SYNC_BEGIN, SYNC_END } from '../../src/tty/painter.js';
import { lineText, renderScreen, type Line } from '../../src/tty/screen.js';
import { initialView } from '../../src/tty/view.js';
import type { LiveSnapshot } from '../../src/tty/snapshot.js';
import { loadFixture } from './fixture.js';
import { Screen } from './xterm.js';

process.env['TZ'] = 'UTC';

describe('painter bytes in a terminal emulator', () => {
  const { snapshot, names } = loadFixture('lab5');
  const v = initialView({ cols: 100, rows: 30, version: 'mtr-ts 0.1.0', mpls: true });

  it('a full frame shows exactly the screen model, with bold where the model says', async () => {
    const frame = renderScreen(snapshot, names, v);
    const p = new Painter({ color: true, sync: false });
    const s = new Screen(100, 30);
    await s.write(p.paint(frame.lines, 100, 30));
    expect(s.lines()).toEqual(frame.lines.map(lineText));
    // the title and the key letters are bold, the Keys word is not
    const t = s.find(0, 'My traceroute');
    expect(s.cell(t, 0).bold).toBe(true);
    expect(s.cell(0, 2)).toMatchObject({ ch: 'K', bold: false });
    expect(s.cell(7, 2)).toMatchObject({ ch: 'H', bold: true });
    // hop 5 missed its last probe: bold name; hop 1 did not
    const y5 = s.lines().findIndex((l) => l.includes('target.example.org'));
    expect(s.cell(4, y5).bold).toBe(true);
    expect(s.cell(4, 5).bold).toBe(false);
  });

  it('stripchart colours: head palette on the default background; lost samples bold red ?', async () => {
    const frame = renderScreen(snapshot, names, { ...v, mode: 2 });
    const s = new Screen(100, 30);
    await s.write(new Painter({ color: true, sync: false }).paint(frame.lines, 100, 30));
    const y4 = s.lines().findIndex((l) => l.includes('(waiting for reply)'));
    const q = s.cell(50, y4);
    expect(q).toEqual({ ch: '?', bold: true, fg: 1 });
    // every chart character has a colour (none is default-coloured) and the legend shows the same ones
    const y1 = 5;
    for (let x = 29; x < 99; x++) expect(s.cell(x, y1).fg).toBeGreaterThan(0);
    const yl = s.lines().findIndex((l) => l.startsWith('Scale:'));
    expect(s.cell(8, yl)).toMatchObject({ ch: '.', fg: 2, bold: true });
  });

  it('NO_COLOR: no colour at all, bold kept (the symbol is the signal)', async () => {
    const frame = renderScreen(snapshot, names, { ...v, mode: 2 });
    const bytes = new Painter({ color: false, sync: false }).paint(frame.lines, 100, 30);
    expect(bytes).not.toMatch(/\x1b\[[0-9;]*3[0-7][;m]/);
    const s = new Screen(100, 30);
    await s.write(bytes);
    const y4 = s.lines().findIndex((l) => l.includes('(waiting for reply)'));
    expect(s.cell(50, y4)).toEqual({ ch: '?', bold: true, fg: -1 });
  });

  it('nothing changed: no bytes; one number changed: a few bytes, and the screen is right', async () => {
    const p = new Painter({ color: true, sync: true });
    const s = new Screen(100, 30);
    const f1 = renderScreen(snapshot, names, v);
    await s.write(p.paint(f1.lines, 100, 30));
    expect(p.paint(f1.lines, 100, 30)).toBe('');
    const hops = snapshot.hops.map((h, i) => (i === 0 ? { ...h, stats: { ...h.stats, sent: 76, last: 0.4 } } : h));
    const s2: LiveSnapshot = { ...snapshot, hops };
    const f2 = renderScreen(s2, names, v);
    const bytes = p.paint(f2.lines, 100, 30);
    expect(bytes.startsWith(SYNC_BEGIN) && bytes.endsWith(SYNC_END)).toBe(true);
    expect(bytes.length).toBeLessThan(60);
    await s.write(bytes);
    expect(s.lines()).toEqual(f2.lines.map(lineText));
  });

  it('the clock ticking rewrites only the changed seconds', () => {
    const p = new Painter({ color: true, sync: false });
    p.paint(renderScreen(snapshot, names, v).lines, 100, 30);
    const bytes = p.paint(renderScreen({ ...snapshot, now: snapshot.now + 1000 }, names, v).lines, 100, 30);
    expect(bytes).toBe('\x1b[2;94H1');
  });

  it('wide characters: replacing and shortening lines keeps the emulator in step', async () => {
    const p = new Painter({ color: true, sync: false });
    const s = new Screen(40, 4);
    const frames: Line[][] = [
      [[{ text: '東京 router 🚀 x' }], [{ text: 'abc', bold: true }, { text: 'def' }]],
      [[{ text: 'Tokyo router 🚀 x' }], [{ text: 'ab' }]],
      [[{ text: '東京東京東京東京東京東京東京東京東京東京東京' }], []],
    ];
    for (const f of frames) {
      await s.write(p.paint(f, 40, 4));
      expect(s.lines()).toEqual([0, 1, 2, 3].map((y) => {
        const l = f[y] ?? [];
        const t = lineText(l);
        // a line wider than the screen is cut at a character boundary
        return y === 0 && t.startsWith('東京東京') ? '東京'.repeat(10) : t;
      }));
    }
  });

  it('resize: a full repaint at the new size', async () => {
    const p = new Painter({ color: true, sync: false });
    const s = new Screen(100, 30);
    await s.write(p.paint(renderScreen(snapshot, names, v).lines, 100, 30));
    s.resize(80, 24);
    const f = renderScreen(snapshot, names, { ...v, cols: 80, rows: 24 });
    await s.write(p.paint(f.lines, 80, 24));
    expect(s.lines()).toEqual(f.lines.map(lineText));
  });
});
