// The live view's loop: a source of snapshots (the engine, through adapter.ts) and the terminal in;
// keys -> view state and commands; frames painted at most 10 times a second, only when something
// changed (a probe event, a key, the clock's second, a resize), and nothing written when the frame is
// the same. While paused, as in mtr, probing stops and the screen (clock included) stays as it was;
// keys still work.

import { Painter } from './painter.js';
import { reduceKey, type Command } from './keys.js';
import { renderScreen, type Line } from './screen.js';
import type { LiveNames, LiveSnapshot } from './snapshot.js';
import type { Terminal } from './terminal.js';
import type { LiveSettings, ViewState } from './view.js';

/** What the live view drives: the engine, seen through adapter.ts. */
export interface LiveSource {
  snapshot(): LiveSnapshot;
  readonly names: LiveNames;
  /** calls fn after every change worth a redraw; returns an unsubscribe */
  onChange(fn: () => void): () => void;
  pause(): void;
  resume(): void;
  reset(): void;
  set(patch: Partial<LiveSettings>): void;
  /** names wanted on/off; IP info item wanted (optional: without them the keys only change the view) */
  dns?(on: boolean): void;
  ipinfo?(item: number | undefined): void;
}

export interface LiveTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(h: unknown): void;
}

export interface LiveOptions {
  readonly terminal: Terminal;
  readonly source: LiveSource;
  readonly view: ViewState;
  /** SGR colours (false for NO_COLOR, TERM=dumb) */
  readonly color: boolean;
  /** the smallest time between two frames (100 ms: 10 frames a second) */
  readonly minFrameMs?: number;
  readonly timers?: LiveTimers;
  /** stops this process (Ctrl-Z) and registers what to do when it is continued */
  readonly suspend?: () => void;
  readonly onContinue?: (fn: () => void) => () => void;
}

export type LiveEnd = 'quit' | 'end';

const realTimers: LiveTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class LiveView {
  private view: ViewState;
  private readonly painter: Painter;
  private readonly timers: LiveTimers;
  private readonly minFrame: number;
  private frameTimer: unknown;
  private clockTimer: unknown;
  private lastPaint = -Infinity;
  private frozen: LiveSnapshot | undefined;
  private unsubscribe: (() => void) | undefined;
  private unContinue: (() => void) | undefined;
  private finish: ((how: LiveEnd) => void) | undefined;
  private pausedBySuspend = false;
  private stopped = false;
  /** frames painted and frames that wrote bytes (for tests and the benchmark) */
  frames = 0;
  writes = 0;

  constructor(private readonly opts: LiveOptions) {
    this.view = opts.view;
    this.painter = new Painter({ color: opts.color, sync: false });
    this.timers = opts.timers ?? realTimers;
    this.minFrame = opts.minFrameMs ?? 100;
  }

  get state(): ViewState {
    return this.view;
  }

  /** Runs until q / Ctrl-C ('quit') or the end of input ('end'). */
  run(): Promise<LiveEnd> {
    const t = this.opts.terminal;
    this.view = { ...this.view, cols: t.cols, rows: t.rows };
    t.start({
      input: (i) => {
        if ('syncSupported' in i) this.painter.setSync(i.syncSupported);
        else this.key(i.key);
      },
      resize: () => this.resize(),
      end: () => this.end('end'),
    });
    this.unsubscribe = this.opts.source.onChange(() => {
      if (!this.view.paused) this.request();
    });
    this.unContinue = this.opts.onContinue?.(() => this.continued());
    if (this.view.paused) {
      this.frozen = this.opts.source.snapshot();
      this.opts.source.pause();
    }
    this.paintNow();
    this.tick();
    return new Promise((resolve) => {
      this.finish = resolve;
    });
  }

  /** Stops timers and listeners and gives the terminal back (idempotent). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.frameTimer !== undefined) this.timers.clearTimeout(this.frameTimer);
    if (this.clockTimer !== undefined) this.timers.clearTimeout(this.clockTimer);
    this.frameTimer = this.clockTimer = undefined;
    this.unsubscribe?.();
    this.unContinue?.();
    this.opts.terminal.close();
  }

  /** The lines of the current screen (for the report left in the scrollback, and tests). */
  screen(): readonly Line[] {
    return renderScreen(this.current(), this.opts.source.names, this.view).lines;
  }

  private end(how: LiveEnd): void {
    const f = this.finish;
    this.finish = undefined;
    f?.(how);
  }

  private current(): LiveSnapshot {
    return this.view.paused && this.frozen !== undefined ? this.frozen : this.opts.source.snapshot();
  }

  key(k: string): void {
    if (this.stopped) return;
    const { view, commands } = reduceKey(this.view, k);
    this.view = view;
    // a scroll key past the end is clamped now, not at the next frame: + then - at once must come back
    if (view.scroll !== 0) {
      const { scroll } = renderScreen(this.current(), this.opts.source.names, view);
      if (scroll !== view.scroll) this.view = { ...view, scroll };
    }
    for (const c of commands) this.command(c);
    this.request();
  }

  private command(c: Command): void {
    const s = this.opts.source;
    switch (c.type) {
      case 'quit':
        this.end('quit');
        return;
      case 'repaint':
        this.painter.invalidate();
        return;
      case 'pause':
        this.frozen = s.snapshot();
        s.pause();
        return;
      case 'resume':
        this.frozen = undefined;
        s.resume();
        return;
      case 'reset':
        s.reset();
        if (this.view.paused) this.frozen = s.snapshot();
        return;
      case 'set':
        s.set(c.patch);
        return;
      case 'dns':
        s.dns?.(c.on);
        return;
      case 'ipinfo':
        s.ipinfo?.(c.item);
        return;
      case 'bell':
        this.opts.terminal.write('\x07');
        return;
      case 'suspend':
        this.suspend();
        return;
    }
  }

  private suspend(): void {
    if (this.opts.suspend === undefined) return;
    if (!this.view.paused) {
      this.pausedBySuspend = true;
      this.opts.source.pause();
    }
    this.opts.terminal.restore();
    this.opts.suspend();
  }

  private continued(): void {
    if (this.stopped || this.opts.terminal.isActive) return;
    this.opts.terminal.enter();
    if (this.pausedBySuspend) {
      this.pausedBySuspend = false;
      this.opts.source.resume();
    }
    this.resize();
  }

  private resize(): void {
    const t = this.opts.terminal;
    this.view = { ...this.view, cols: t.cols, rows: t.rows };
    this.painter.invalidate();
    this.paintNow();
  }

  /** A frame soon: now if the last one is old enough, else when it is. */
  private request(): void {
    if (this.stopped || this.frameTimer !== undefined) return;
    const wait = Math.max(0, this.lastPaint + this.minFrame - this.timers.now());
    this.frameTimer = this.timers.setTimeout(() => {
      this.frameTimer = undefined;
      this.paintNow();
    }, wait);
  }

  private paintNow(): void {
    // stopped, or suspended (Ctrl-Z): the terminal is not ours to draw on
    if (this.stopped || !this.opts.terminal.isActive) return;
    if (this.frameTimer !== undefined) {
      this.timers.clearTimeout(this.frameTimer);
      this.frameTimer = undefined;
    }
    const frame = renderScreen(this.current(), this.opts.source.names, this.view);
    if (frame.scroll !== this.view.scroll) this.view = { ...this.view, scroll: frame.scroll };
    const bytes = this.painter.paint(frame.lines, this.view.cols, this.view.rows);
    this.lastPaint = this.timers.now();
    this.frames++;
    if (bytes !== '') {
      this.writes++;
      this.opts.terminal.write(bytes);
    }
  }

  /** The clock's second: a frame at each second boundary while not paused. */
  private tick(): void {
    const now = this.timers.now();
    this.clockTimer = this.timers.setTimeout(() => {
      this.clockTimer = undefined;
      if (this.stopped) return;
      if (!this.view.paused) this.request();
      this.tick();
    }, 1000 - (now % 1000) + 1);
  }
}
