import { describe, expect, it } from 'vitest';
import { lineText, renderScreen, type Line } from '../../src/tty/screen.js';
import { initialView, type ViewState } from '../../src/tty/view.js';
import type { LiveHop, LiveSnapshot } from '../../src/tty/snapshot.js';
import { EMPTY_STATS } from '../../src/tty/snapshot.js';
import { widthOf } from '../../src/tty/width.js';
import { golden, loadFixture } from './fixture.js';

process.env['TZ'] = 'UTC';

const text = (lines: readonly Line[]): string => lines.map(lineText).join('\n').replace(/\n+$/, '') + '\n';
const view = (o: Partial<ViewState> = {}): ViewState => initialView({ cols: 100, rows: 30, version: 'mtr-ts 0.1.0', ...o });

describe('screen model: golden text from snapshot data files', () => {
  const { snapshot, names } = loadFixture('lab5');
  for (const mode of [0, 1, 2, 3] as const) {
    it(`lab5, 100x30, display mode ${mode}`, () => {
      const t = text(renderScreen(snapshot, names, view({ mode, mpls: true })).lines);
      expect(t).toBe(golden(`lab5.mode${mode}.txt`, t));
    });
  }
  it('lab5 at 80x24 (ssh default size): every line fits, every hop shown', () => {
    const f = renderScreen(snapshot, names, view({ cols: 80, rows: 24 }));
    expect(f.lines).toHaveLength(24);
    for (const l of f.lines) expect(widthOf(lineText(l))).toBeLessThanOrEqual(80);
    const t = text(f.lines);
    for (const n of ['gw.home.example', 'core3.example.net', '(waiting for reply)', 'target.example.org']) expect(t).toContain(n);
    expect(t).toBe(golden('lab5.80x24.txt', t));
  });
});

describe('screen model: mtr geometry', () => {
  const { snapshot, names } = loadFixture('lab5');
  const lines = renderScreen(snapshot, names, view()).lines.map(lineText);
  it('title centred on row 0; clock at cols-25 on row 1; the Keys line', () => {
    const t = lines[0] as string;
    const w = t.trim().length;
    expect(t.indexOf('My traceroute')).toBe(Math.floor((100 - w) / 2));
    expect(lines[1]?.indexOf('2026-')).toBe(75);
    expect(lines[2]).toBe('Keys:  Help   Display mode   Restart statistics   Order of fields   quit');
  });
  it('statistics end at column cols-1, titles over their numbers', () => {
    const header = lines[4] as string;
    expect(header.length).toBe(99);
    const row = lines[5] as string;
    expect(row.length).toBe(99);
    expect(header.indexOf('StDev') + 5).toBe(row.length);
    expect(lines[3]?.indexOf('Packets')).toBe(100 - 43 - 1 + 3);
  });
  it('bold: the title, the key letters, a hop that missed its last probe; not a healthy hop', () => {
    const f = renderScreen(snapshot, names, view()).lines;
    const boldText = (l: Line): string => l.filter((s) => s.bold).map((s) => s.text).join('');
    expect(boldText(f[0] as Line).trim()).toContain('My traceroute');
    expect(boldText(f[2] as Line)).toBe('HDROq');
    expect(boldText(f[5] as Line)).toBe('');
    const hop5 = f.find((l) => lineText(l).includes('target.example.org')) as Line;
    expect(boldText(hop5)).toBe('target.example.org');
  });
});

function hop(ttl: number, address: string | undefined, over: Partial<LiveHop> = {}): LiveHop {
  return {
    ttl,
    responders: address === undefined ? [] : [{ address, replies: 10, mpls: [] }],
    down: false,
    stats: { ...EMPTY_STATS, sent: 10, received: 10 },
    samples: [],
    ...over,
  };
}
const snap = (hops: LiveHop[]): LiveSnapshot => ({
  localHostname: 'vm',
  localAddress: '10.0.0.1',
  target: 't',
  targetAddress: '10.0.0.9',
  protocol: 'icmp',
  now: Date.UTC(2026, 11, 2, 15, 0, 0),
  hops,
});

describe('screen model: names, widths, scrolling', () => {
  it('long CJK and emoji names are cut by display width with …, never into the statistics', () => {
    const names = {
      host: (a: string) => (a === '10.0.0.2' ? '東京都港区のとても長いルーター名前.例え.日本.jp' : a === '10.0.0.3' ? '🚀🚀🚀-rocket-router-with-a-long-name-🚀🚀🚀🚀🚀🚀🚀🚀.example' : undefined),
      ipinfo: () => undefined,
    };
    const v = view({ cols: 80, rows: 24 });
    const lines = renderScreen(snap([hop(1, '10.0.0.2'), hop(2, '10.0.0.3')]), names, v).lines.map(lineText);
    const startstat = 80 - 43 - 1;
    for (const row of [lines[5] as string, lines[6] as string]) {
      expect(row).toContain('…');
      // the name part (before the statistics column) is at most startstat columns wide
      const name = row.slice(0, row.indexOf('…') + 1);
      expect(widthOf(name)).toBeLessThanOrEqual(startstat);
      expect(widthOf(row)).toBeLessThanOrEqual(80);
      expect(row.trimEnd().endsWith('0.0')).toBe(true);
    }
  });
  it('control characters in a name never reach the screen', () => {
    const names = { host: () => 'evil\x1b[2Jname\x07', ipinfo: () => undefined };
    const t = text(renderScreen(snap([hop(1, '10.0.0.2')]), names, view()).lines);
    expect(t).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(t).toContain('evil?[2Jname?');
  });
  it('n shows addresses; -b shows both', () => {
    const names = { host: () => 'r1.example', ipinfo: () => undefined };
    const s = snap([hop(1, '10.0.0.2')]);
    expect(lineText(renderScreen(s, names, view({ dns: false })).lines[5] as Line)).toContain(' 1. 10.0.0.2 ');
    expect(lineText(renderScreen(s, names, view({ showIps: true })).lines[5] as Line)).toContain(' 1. r1.example (10.0.0.2)');
  });
  it('-z shows AS numbers before names', () => {
    const names = { host: () => undefined, ipinfo: (a: string) => (a === '10.0.0.2' ? '64500' : undefined) };
    const l = renderScreen(snap([hop(1, '10.0.0.2'), hop(2, '10.0.0.3')]), names, view({ ipinfo: 0 })).lines.map(lineText);
    expect(l[5]).toMatch(/^ 1\. AS64500 {2}10\.0\.0\.2 /);
    expect(l[6]).toMatch(/^ 2\. AS\?\?\? {4}10\.0\.0\.3 /);
  });
  const many = snap(Array.from({ length: 30 }, (_, i) => hop(i + 1, `10.0.1.${i + 1}`)));
  it('more hops than rows: a marker below; scrolled: a marker above; scrolling is clamped', () => {
    const v = view({ cols: 80, rows: 24 });
    const top = renderScreen(many, { host: () => undefined, ipinfo: () => undefined }, v);
    const t = top.lines.map(lineText);
    expect(t[5]).toMatch(/^ 1\. /);
    expect(t[23]).toContain('[v 12 more hops below');
    expect(t[4]).toMatch(/^ Host +Loss%/);
    const down = renderScreen(many, { host: () => undefined, ipinfo: () => undefined }, { ...v, scroll: 5 });
    const d = down.lines.map(lineText);
    expect(d[5]).toMatch(/^ 6\. /);
    expect(d[4]).toContain('[^ 5 above]');
    const far = renderScreen(many, { host: () => undefined, ipinfo: () => undefined }, { ...v, scroll: 999 });
    expect(far.scroll).toBe(30 - 19);
    const f = far.lines.map(lineText);
    expect(f[23]).toMatch(/^30\. /);
    expect(f.join('\n')).not.toContain('below');
  });
  it('the help screen and a prompt are drawn over the table; the o prompt lists the letters', () => {
    const s = snap([hop(1, '10.0.0.2')]);
    const none = { host: () => undefined, ipinfo: () => undefined };
    const help = text(renderScreen(s, none, view({ cols: 80, rows: 24, help: true })).lines);
    expect(help).toContain('press any key to go back');
    expect(help.split('\n').length).toBeLessThanOrEqual(24);
    const p = renderScreen(s, none, view({ prompt: { kind: 'i', text: '0.5' } })).lines.map(lineText);
    expect(p[2]).toBe('Interval : 0.5_');
    expect(p[3]).toContain('Esc');
    const o = text(renderScreen(s, none, view({ prompt: { kind: 'o', text: 'LSE' } })).lines);
    expect(o).toContain('Fields: LSE_');
    expect(o).toContain('E: Median RTT(ms)');
    expect(o).toContain('P: 95th Percentile RTT(ms)');
  });
  it('percentile columns E and P', () => {
    const h = hop(1, '10.0.0.2', { stats: { ...EMPTY_STATS, sent: 4, received: 4, percentiles: { p50: 12.25, p95: 40.5 } } });
    const l = renderScreen(snap([h]), { host: () => undefined, ipinfo: () => undefined }, view({ order: 'LSEP' })).lines.map(lineText);
    expect(l[4]).toMatch(/Loss% +Snt +Med +P95$/);
    expect(l[5]).toMatch(/0\.0% +4 +12\.3 +40\.5$/);
  });
  it('a value too wide for its column loses its decimals, keeping columns aligned', () => {
    const h = hop(1, '10.0.0.2', { stats: { ...EMPTY_STATS, sent: 123456, received: 0, drop: 123456, lossPercent: 100, last: 12345.6 } });
    const l = renderScreen(snap([h]), { host: () => undefined, ipinfo: () => undefined }, view()).lines.map(lineText);
    expect(l[5]?.length).toBe(99);
    expect(l[5]).toMatch(/ {2}100% 123k4 {2}12346 {3}0\.0/);
  });
  it('paused: the title says so', () => {
    const l = renderScreen(snap([]), { host: () => undefined, ipinfo: () => undefined }, view({ paused: true })).lines.map(lineText);
    expect(l[0]).toContain('[paused]');
  });
});

describe('screen model: any terminal size, any state', () => {
  const { snapshot, names } = loadFixture('lab5');
  const verdict = { rule: 'routing-loop', hop: undefined, confidence: 0.5, severity: 'problem', evidence: {}, facts: {}, summary: 'x '.repeat(90), advice: 'y' } as const;
  const withDiagnosis = { ...snapshot, diagnosis: { verdicts: [verdict, verdict], context: { cycles: 9, windows: 3, windowCycles: 50, raiseAfter: 2 } } };
  it('never throws; exactly `rows` lines, none wider than `cols`', () => {
    for (let cols = 1; cols <= 130; cols += 7) {
      for (const rows of [1, 3, 5, 13, 24, 50]) {
        for (const mode of [0, 1, 2, 3] as const) {
          for (const extra of [{}, { help: true }, { prompt: { kind: 'o' as const, text: 'LS' } }, { prompt: { kind: 's' as const, text: '-1' } }, { scroll: 3, mpls: true, ipinfo: 1 }]) {
            for (const s of [snapshot, withDiagnosis]) {
              for (const diagnosis of [false, true]) {
                const f = renderScreen(s, names, view({ cols, rows, mode, diagnosis, ...extra }));
                expect(f.lines).toHaveLength(rows);
                for (const l of f.lines) expect(widthOf(lineText(l))).toBeLessThanOrEqual(cols);
              }
            }
          }
        }
      }
    }
  });
});

describe('screen model: --flows member lines (ECMP)', () => {
  const { snapshot, names } = loadFixture('ecmp');
  it('each member of a balanced hop on its own indented line with its own statistics and share', () => {
    const t = text(renderScreen(snapshot, names, view()).lines);
    expect(t).toBe(golden('ecmp.mode0.txt', t));
    const lines = t.split('\n');
    const at = (s: string): string => lines.find((l) => l.includes(s)) ?? '';
    // the member with the losses carries them; the other shows none
    expect(at('+--  54% 10.0.5.2')).toMatch(/\s0\.0%\s+27\s/);
    expect(at('+--  46% 10.0.6.2')).toMatch(/\s30\.4%\s+23\s/);
    expect(at('+-- per-flow balancing')).not.toBe('');
    // the hop row keeps the hop's own statistics and no share; a single-member hop has no member lines
    expect(at(' 2. 10.0.5.2')).toMatch(/\s14\.0%\s+50\s/);
    expect(at(' 2. 10.0.5.2').slice(0, 50)).not.toContain('%');
    expect(lines.filter((l) => l.includes('+--'))).toHaveLength(3);
    expect(at('NAT before this hop')).toContain('3 answers');
  });
  it('member statistics line up under the hop row statistics', () => {
    const lines = text(renderScreen(snapshot, names, view()).lines).split('\n');
    const hop = lines.find((l) => l.startsWith(' 2. ')) ?? '';
    const member = lines.find((l) => l.includes('10.0.6.2')) ?? '';
    expect(member.length).toBe(hop.length);
    expect(member.indexOf('%', 40)).toBe(hop.indexOf('%', 40));
  });
  it('without flows (no member statistics) the extra responders keep the plain indented lines', () => {
    const plain: LiveSnapshot = {
      ...snapshot,
      hops: snapshot.hops.map((h): LiveHop => ({ ...h, balancing: undefined, nat: undefined, responders: h.responders.map((r) => ({ ...r, member: undefined })) })),
    };
    const t = text(renderScreen(plain, names, view()).lines);
    expect(t).not.toContain('+--');
    expect(t).toMatch(/^ {4}10\.0\.6\.2 {2}37%$/m);
  });
});
