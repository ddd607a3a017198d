import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LiveView, type LiveSource, type LiveTimers } from '../../src/tty/live.js';
import { Terminal } from '../../src/tty/terminal.js';
import { initialView } from '../../src/tty/view.js';
import type { LiveSettings } from '../../src/tty/view.js';
import type { LiveSnapshot } from '../../src/tty/snapshot.js';
import { loadFixture } from './fixture.js';
import { Screen } from './xterm.js';

process.env['TZ'] = 'UTC';

class FakeIn extends EventEmitter {
  readonly isTTY = true;
  raw = false;
  setRawMode(on: boolean): void {
    this.raw = on;
  }
  resume(): void {}
  pause(): void {}
  type(s: string): void {
    this.emit('data', Buffer.from(s));
  }
}
class FakeOut extends EventEmitter {
  bytes = 0;
  chunks: string[] = [];
  constructor(
    public columns: number,
    public rows: number,
    readonly screen: Screen,
  ) {
    super();
  }
  write(s: string): boolean {
    this.bytes += Buffer.byteLength(s);
    this.chunks.push(s);
    void this.screen.write(s);
    return true;
  }
  resizeTo(cols: number, rows: number): void {
    this.columns = cols;
    this.rows = rows;
    this.screen.resize(cols, rows);
    this.emit('resize');
  }
}

/** A clock the test moves by hand (xterm.js keeps real timers for its own parsing). */
class FakeTimers implements LiveTimers {
  private t = Date.UTC(2026, 11, 2, 15, 0, 0, 500);
  private queue: Array<{ at: number; fn: () => void; id: number }> = [];
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.queue.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.queue = this.queue.filter((q) => q.id !== h);
  }
  /** moves the clock, running what falls due in order */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at || a.id - b.id);
      const q = this.queue[0];
      if (q === undefined || q.at > end) break;
      this.queue.shift();
      this.t = Math.max(this.t, q.at);
      q.fn();
    }
    this.t = end;
  }
}

class FakeSource implements LiveSource {
  readonly calls: string[] = [];
  private listeners: Array<() => void> = [];
  constructor(
    public snap: LiveSnapshot,
    private readonly clock: FakeTimers,
  ) {}
  readonly names = loadFixture('lab5').names;
  snapshot(): LiveSnapshot {
    return { ...this.snap, now: this.clock.now() };
  }
  onChange(fn: () => void): () => void {
    this.listeners.push(fn);
    return () => (this.listeners = this.listeners.filter((f) => f !== fn));
  }
  change(mutate: (s: LiveSnapshot) => LiveSnapshot): void {
    this.snap = mutate(this.snap);
    for (const l of this.listeners) l();
  }
  pause(): void {
    this.calls.push('pause');
  }
  resume(): void {
    this.calls.push('resume');
  }
  reset(): void {
    this.calls.push('reset');
  }
  set(p: Partial<LiveSettings>): void {
    this.calls.push(`set ${JSON.stringify(p)}`);
  }
}

async function settle(screen: Screen): Promise<void> {
  await screen.write('');
}

describe('the live view loop, in a terminal emulator', () => {
  let screen: Screen;
  let input: FakeIn;
  let output: FakeOut;
  let source: FakeSource;
  let live: LiveView;
  let done: Promise<string>;
  let timers: FakeTimers;

  beforeEach(async () => {
    timers = new FakeTimers();
    screen = new Screen(100, 30);
    input = new FakeIn();
    output = new FakeOut(100, 30, screen);
    source = new FakeSource(loadFixture('lab5').snapshot, timers);
    live = new LiveView({ terminal: new Terminal(input, output), source, view: initialView({ version: 'mtr-ts 0.1.0' }), color: true, timers });
    done = live.run();
    await settle(screen);
  });
  afterEach(() => {
    live.stop();
  });

  it('starts in the alternate screen, raw mode, and draws the table; stop() gives the terminal back', async () => {
    expect(screen.buffer).toBe('alternate');
    expect(input.raw).toBe(true);
    expect(screen.text()).toContain(' 1. gw.home.example');
    live.stop();
    await settle(screen);
    expect(screen.buffer).toBe('normal');
    expect(input.raw).toBe(false);
    expect(output.chunks.join('')).toContain('\x1b[?25h');
  });

  it('redraws at most 10 times a second however many changes arrive', async () => {
    const before = live.frames;
    for (let i = 0; i < 200; i++) {
      source.change((s) => ({ ...s, hops: s.hops.map((h, k) => (k === 0 ? { ...h, stats: { ...h.stats, sent: h.stats.sent + 1 } } : h)) }));
      await timers.advance(5);
    }
    // 1 s of changes: 10 frames (+1 for the boundary)
    expect(live.frames - before).toBeLessThanOrEqual(11);
    expect(live.frames - before).toBeGreaterThanOrEqual(9);
    await settle(screen);
    expect(screen.lines()[5]).toMatch(/ 0\.0% +275 /);
  });

  it('nothing changes: only the clock second is written, a few bytes a second', async () => {
    const b0 = output.bytes;
    await timers.advance(10_000);
    const perSecond = (output.bytes - b0) / 10;
    expect(perSecond).toBeGreaterThan(0);
    expect(perSecond).toBeLessThan(40);
  });

  it('p pauses probing and freezes the screen (no bytes at all); Space resumes', async () => {
    input.type('p');
    await timers.advance(200);
    expect(source.calls).toEqual(['pause']);
    await settle(screen);
    expect(screen.lines()[0]).toContain('[paused]');
    const b0 = output.bytes;
    source.change((s) => ({ ...s, hops: s.hops.slice(0, 1) }));
    await timers.advance(5000);
    expect(output.bytes).toBe(b0);
    input.type(' ');
    await timers.advance(200);
    expect(source.calls).toEqual(['pause', 'resume']);
    await settle(screen);
    expect(screen.text()).not.toContain('core3');
  });

  it('keys: d switches to the stripchart, ? shows help, r resets, u switches to UDP, q quits', async () => {
    input.type('d');
    await timers.advance(200);
    await settle(screen);
    expect(screen.lines()[4]).toContain('Last  70 pings');
    input.type('?');
    await timers.advance(200);
    await settle(screen);
    expect(screen.text()).toContain('press any key to go back');
    input.type('x');
    input.type('r');
    input.type('u');
    await timers.advance(200);
    expect(source.calls).toEqual(['reset', 'set {"protocol":"udp"}']);
    input.type('q');
    await expect(done).resolves.toBe('quit');
  });

  it('a prompt does not stop the table from updating', async () => {
    input.type('i');
    input.type('5');
    await timers.advance(200);
    source.change((s) => ({ ...s, hops: s.hops.map((h, k) => (k === 0 ? { ...h, stats: { ...h.stats, sent: 999 } } : h)) }));
    await timers.advance(200);
    await settle(screen);
    expect(screen.lines()[2]).toBe('Interval : 5_');
    expect(screen.lines()[5]).toMatch(/ 999 /);
  });

  it('resize applies at once, without waiting for the next frame', async () => {
    output.resizeTo(80, 24);
    await settle(screen);
    expect(screen.lines()[1]?.indexOf('2026-')).toBe(55);
    expect(screen.lines()[4]).toMatch(/^ Host {32}Loss%/);
  });

  it('Ctrl-L repaints everything (clears what something else wrote on the screen)', async () => {
    await screen.write('\x1b[10;1Hgarbage');
    input.type('\x0c');
    await timers.advance(200);
    await settle(screen);
    expect(screen.text()).not.toContain('garbage');
  });

  it('Ctrl-Z: terminal given back, probing paused, nothing drawn until continued; then a full repaint', async () => {
    live.stop();
    let cont: (() => void) | undefined;
    let suspended = 0;
    const s2 = new Screen(100, 30);
    const in2 = new FakeIn();
    const out2 = new FakeOut(100, 30, s2);
    const src = new FakeSource(loadFixture('lab5').snapshot, timers);
    live = new LiveView({
      terminal: new Terminal(in2, out2),
      source: src,
      view: initialView({ version: 'mtr-ts 0.1.0' }),
      color: true,
      timers,
      suspend: () => suspended++,
      onContinue: (fn) => {
        cont = fn;
        return () => (cont = undefined);
      },
    });
    void live.run();
    await settle(s2);
    in2.type('\x1a');
    await settle(s2);
    expect(suspended).toBe(1);
    expect(src.calls).toEqual(['pause']);
    expect(s2.buffer).toBe('normal');
    expect(in2.raw).toBe(false);
    const b0 = out2.bytes;
    src.change((x) => ({ ...x, hops: x.hops.slice(0, 2) }));
    await timers.advance(5000);
    expect(out2.bytes).toBe(b0);
    cont?.();
    await settle(s2);
    expect(src.calls).toEqual(['pause', 'resume']);
    expect(s2.buffer).toBe('alternate');
    expect(in2.raw).toBe(true);
    expect(s2.text()).toContain(' 2. ae-1.r2a');
    expect(s2.text()).not.toContain('core3');
  });

  it('end of input quits like mtr (getch() == -1)', async () => {
    input.emit('end');
    await expect(done).resolves.toBe('end');
  });
});

describe('synchronized output (DEC mode 2026)', () => {
  async function start(answer: boolean): Promise<{ output: FakeOut; source: FakeSource; timers: FakeTimers; live: LiveView; screen: Screen }> {
    const timers = new FakeTimers();
    const screen = new Screen(100, 30);
    const input = new FakeIn();
    const output = new FakeOut(100, 30, screen);
    // the emulator's replies (xterm.js answers DECRQM for 2026) go back as terminal input, as a pty's would
    if (answer) screen.term.onData((d) => input.type(d));
    const source = new FakeSource(loadFixture('lab5').snapshot, timers);
    const live = new LiveView({ terminal: new Terminal(input, output), source, view: initialView({ version: 'mtr-ts 0.1.0' }), color: true, timers });
    void live.run();
    await settle(screen);
    return { output, source, timers, live, screen };
  }
  const hop1 = (s: LiveSnapshot): LiveSnapshot => ({
    ...s,
    hops: s.hops.map((h, i) => (i === 0 ? { ...h, stats: { ...h.stats, sent: h.stats.sent + 1, last: 9.9 } } : h)),
  });

  it('the query goes out with the first frame; a terminal that knows 2026 gets every later frame between the marks', async () => {
    const { output, source, timers, live, screen } = await start(true);
    try {
      expect(output.chunks.join('')).toContain('\x1b[?2026$p');
      const before = output.chunks.length;
      source.change(hop1);
      await timers.advance(200);
      await settle(screen);
      const frames = output.chunks.slice(before).filter((c) => c.includes('\x1b['));
      expect(frames.length).toBeGreaterThan(0);
      for (const f of frames) {
        expect(f.startsWith('\x1b[?2026h')).toBe(true);
        expect(f.endsWith('\x1b[?2026l')).toBe(true);
      }
      expect(screen.term.modes.synchronizedOutputMode).toBe(false);
      expect(screen.lines().find((l) => l.startsWith(' 1. '))).toMatch(/ 76 +9\.9 /);
    } finally {
      live.stop();
    }
  });

  it('a terminal that does not answer gets plain frames (no marks)', async () => {
    const { output, source, timers, live, screen } = await start(false);
    try {
      source.change(hop1);
      await timers.advance(200);
      await settle(screen);
      expect(output.chunks.join('')).not.toContain('\x1b[?2026h');
      expect(screen.lines().find((l) => l.startsWith(' 1. '))).toMatch(/ 76 +9\.9 /);
    } finally {
      live.stop();
    }
  });
});
