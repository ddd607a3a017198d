import { describe, expect, it } from 'vitest';
import { decodeInput, reduceKey, type Command, type Key } from '../../src/tty/keys.js';
import { initialView, type ViewState } from '../../src/tty/view.js';

const keys = (s: string): Key[] => decodeInput(s).flatMap((i) => ('key' in i ? [i.key] : []));

describe('decodeInput', () => {
  it('printable keys, controls, Enter, Backspace, Escape', () => {
    expect(keys('pq ?')).toEqual(['p', 'q', ' ', '?']);
    expect(keys('\x03\x0c\x13\x11\x1a')).toEqual(['C-c', 'C-l', 'C-s', 'C-q', 'C-z']);
    expect(keys('\r\n\x7f\x08\x1b')).toEqual(['Enter', 'Backspace', 'Backspace', 'Escape']);
    expect(keys('日🚀')).toEqual(['日', '🚀']);
  });
  it('arrows and paging in CSI and SS3 forms', () => {
    expect(keys('\x1b[A\x1b[B\x1bOA\x1bOB\x1b[5~\x1b[6~\x1b[H\x1b[F\x1b[1;5A')).toEqual(['Up', 'Down', 'Up', 'Down', 'PageUp', 'PageDown', 'Home', 'End', 'Up']);
  });
  it('the DECRQM reply for mode 2026 is not a key', () => {
    expect(decodeInput('\x1b[?2026;2$y')).toEqual([{ syncSupported: true }]);
    expect(decodeInput('\x1b[?2026;0$yq')).toEqual([{ syncSupported: false }, { key: 'q' }]);
  });
});

function press(v: ViewState, ...ks: Key[]): { view: ViewState; commands: Command[] } {
  const commands: Command[] = [];
  for (const k of ks) {
    const r = reduceKey(v, k);
    v = r.view;
    commands.push(...r.commands);
  }
  return { view: v, commands };
}

describe("reduceKey: mtr's keys", () => {
  const v0 = initialView({ rows: 24 });
  it('q and Ctrl-C quit, Ctrl-L repaints, Ctrl-Z suspends', () => {
    expect(press(v0, 'q').commands).toEqual([{ type: 'quit' }]);
    expect(press(v0, 'C-c').commands).toEqual([{ type: 'quit' }]);
    expect(press(v0, 'C-l').commands).toEqual([{ type: 'repaint' }]);
    expect(press(v0, 'C-z').commands).toEqual([{ type: 'suspend' }]);
  });
  it('p / Ctrl-S pause, Space / Ctrl-Q resume (each once)', () => {
    const a = press(v0, 'p', 'p');
    expect(a.view.paused).toBe(true);
    expect(a.commands).toEqual([{ type: 'pause' }]);
    const b = press(a.view, ' ', ' ');
    expect(b.view.paused).toBe(false);
    expect(b.commands).toEqual([{ type: 'resume' }]);
    expect(press(v0, 'C-s', 'C-q').commands).toEqual([{ type: 'pause' }, { type: 'resume' }]);
    expect(press(v0, 'P').view.paused).toBe(true);
  });
  it('d cycles four display modes; e, n, j, y, z toggle', () => {
    expect([1, 2, 3, 4].map((n) => press(v0, ...Array<Key>(n).fill('d')).view.mode)).toEqual([1, 2, 3, 0]);
    expect(press(v0, 'e').view.mpls).toBe(true);
    expect(press(v0, 'n')).toEqual({ view: { ...v0, dns: false }, commands: [{ type: 'dns', on: false }] });
    expect(press(v0, 'j').view.order).toBe('DR AGJMXI');
    expect(press(v0, 'j', 'j').view.order).toBe('LS NABWV');
    expect(press(v0, 'z').view.ipinfo).toBe(0);
    expect(press(v0, 'z', 'z').view.ipinfo).toBe(undefined);
    expect(press(v0, 'y', 'y', 'y').view.ipinfo).toBe(2);
  });
  it('r resets; u and t switch the protocol as mtr does', () => {
    expect(press(v0, 'r').commands).toEqual([{ type: 'reset' }]);
    expect(press(v0, 'u').commands).toEqual([{ type: 'set', patch: { protocol: 'udp' } }]);
    expect(press(v0, 'u', 'u').commands.at(-1)).toEqual({ type: 'set', patch: { protocol: 'icmp' } });
    expect(press(v0, 't').commands).toEqual([{ type: 'set', patch: { protocol: 'tcp' } }]);
    expect(press(v0, 'u', 't').view.settings.protocol).toBe('tcp');
    expect(press(v0, 't', 't').view.settings.protocol).toBe('icmp');
  });
  it('? and h open help; any key closes it and does nothing else', () => {
    const h = press(v0, '?');
    expect(h.view.help).toBe(true);
    const back = press(h.view, 'q');
    expect(back.view.help).toBe(false);
    expect(back.commands).toEqual([]);
    expect(press(v0, 'h').view.help).toBe(true);
  });
  it('+/- scroll 5 hops, arrows 1, PgUp/PgDn a page, never below 0', () => {
    expect(press(v0, '+').view.scroll).toBe(5);
    expect(press(v0, '+', '-', '-').view.scroll).toBe(0);
    expect(press(v0, 'Down', 'Down', 'Up').view.scroll).toBe(1);
    expect(press(v0, 'PageDown').view.scroll).toBe(24 - 5 - 1);
    expect(press(v0, 'PageDown', 'PageUp', 'PageUp').view.scroll).toBe(0);
  });
});

describe('reduceKey: prompts never block and take Backspace and Esc', () => {
  const v0 = initialView({ isRoot: false });
  it('i: typed, erased, applied', () => {
    const r = press(v0, 'i', '2', '5', 'Backspace', 'Enter');
    expect(r.view.prompt).toBeUndefined();
    expect(r.view.settings.interval).toBe(2);
    expect(r.commands).toEqual([{ type: 'set', patch: { interval: 2 } }]);
  });
  it('Esc cancels without a command', () => {
    const r = press(v0, 'i', '3', 'Escape');
    expect(r.view.prompt).toBeUndefined();
    expect(r.commands).toEqual([]);
    expect(r.view.settings.interval).toBe(1);
  });
  it('a refused value says why and rings the bell', () => {
    const r = press(v0, 'i', '0', '.', '5', 'Enter');
    expect(r.view.message).toContain('root');
    expect(r.commands).toEqual([{ type: 'bell' }]);
    expect(press(initialView({ isRoot: true }), 'i', '.', '5', 'Enter').commands).toEqual([{ type: 'set', patch: { interval: 0.5 } }]);
    expect(press(v0, 'f', '4', '0', 'Enter').view.message).toContain('first TTL');
    expect(press(v0, 'm', '3', '0', '0', 'Enter').view.message).toContain('max TTL');
    expect(press(v0, 'Q', '3', '0', '0', 'Enter').view.message).toContain('TOS');
    expect(press(v0, 's', '1', '0', 'Enter').view.message).toContain('packet size');
  });
  it('f m s b Q c apply', () => {
    expect(press(v0, 'f', '3', 'Enter').commands).toEqual([{ type: 'set', patch: { firstTtl: 3 } }]);
    expect(press(v0, 'm', '1', '2', 'Enter').commands).toEqual([{ type: 'set', patch: { maxTtl: 12 } }]);
    expect(press(v0, 's', '-', '1', '0', '0', 'Enter').commands).toEqual([{ type: 'set', patch: { psize: -100 } }]);
    expect(press(v0, 'b', '3', '0', '0', 'Enter').commands).toEqual([{ type: 'set', patch: { bitpattern: -1 } }]);
    expect(press(v0, 'Q', '1', '6', 'Enter').commands).toEqual([{ type: 'set', patch: { tos: 16 } }]);
    expect(press(v0, 'c', '5', 'Enter').commands).toEqual([{ type: 'set', patch: { cycles: 5 } }]);
    expect(press(v0, 'c', '0', 'Enter').commands).toEqual([{ type: 'set', patch: { cycles: undefined } }]);
  });
  it('o takes field letters only (ours E and P too); others ring the bell', () => {
    const r = press(v0, 'o', 'L', 'x', 'S', 'E', 'P', 'Enter');
    expect(r.view.order).toBe('LSEP');
    expect(r.commands).toEqual([{ type: 'bell' }]);
    expect(press(v0, 'o', 'Enter').view.order).toBe('LS NABWV');
  });
  it('keys typed into a prompt are not commands (q, p, r do nothing but type or ring)', () => {
    const r = press(v0, 'i', 'q', 'p', 'r');
    expect(r.commands).toEqual([{ type: 'bell' }, { type: 'bell' }, { type: 'bell' }]);
    expect(r.view.prompt).toEqual({ kind: 'i', text: '' });
    expect(press(v0, 'i', 'C-c').commands).toEqual([{ type: 'quit' }]);
  });
});
