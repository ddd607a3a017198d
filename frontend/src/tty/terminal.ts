// The terminal as the live view uses it, on Node's own tty streams: raw keys in, bytes out, the
// alternate screen, and putting everything back. `restore()` is idempotent and synchronous (it is called
// from 'exit' and signal handlers), so the terminal is given back on every way out.

import { writeSync } from 'node:fs';
import { decodeInput, type Input } from './keys.js';
import { ENTER_ALT, HIDE_CURSOR, LEAVE_ALT, QUERY_SYNC, SGR_RESET, SHOW_CURSOR } from './painter.js';

export interface TtyIn {
  readonly isTTY?: boolean;
  setRawMode?(on: boolean): unknown;
  on(event: 'data', fn: (chunk: Buffer | string) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Node streams type their listeners with any[]
  off(event: string, fn: (...a: any[]) => void): unknown;
  resume(): unknown;
  pause(): unknown;
  setEncoding?(enc: BufferEncoding): unknown;
}

export interface TtyOut {
  readonly columns?: number;
  readonly rows?: number;
  /** the file descriptor, for synchronous writes at exit */
  readonly fd?: number;
  write(s: string): boolean;
  on(event: 'resize', fn: () => void): unknown;
  off(event: 'resize', fn: () => void): unknown;
}

export interface TerminalHandlers {
  input(i: Input): void;
  resize(): void;
  /** stdin closed (EOF, hangup): mtr's getch() == -1, which quits */
  end(): void;
}

export class Terminal {
  private active = false;
  private raw = false;
  private readonly onData = (chunk: Buffer | string): void => {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    for (const i of decodeInput(text)) this.handlers?.input(i);
  };
  private readonly onResize = (): void => this.handlers?.resize();
  private readonly onEnd = (): void => this.handlers?.end();
  private handlers: TerminalHandlers | undefined;
  /** bytes written since start (for the benchmark and tests) */
  written = 0;

  constructor(
    readonly input: TtyIn,
    readonly output: TtyOut,
  ) {}

  get cols(): number {
    return Math.max(1, this.output.columns ?? 80);
  }
  get rows(): number {
    return Math.max(1, this.output.rows ?? 24);
  }

  /** Raw mode, alternate screen, hidden cursor; asks whether synchronized output is known. */
  start(handlers: TerminalHandlers): void {
    this.handlers = handlers;
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.output.on('resize', this.onResize);
    this.enter();
  }

  /** (again, after a suspend) */
  enter(): void {
    if (this.input.setRawMode !== undefined && this.input.isTTY === true) {
      this.input.setRawMode(true);
      this.raw = true;
    }
    this.input.resume();
    this.active = true;
    this.write(ENTER_ALT + HIDE_CURSOR + QUERY_SYNC);
  }

  write(s: string): void {
    if (s === '') return;
    this.written += Buffer.byteLength(s);
    this.output.write(s);
  }

  /** Leaves the alternate screen and raw mode; safe to call any number of times, from anywhere. */
  restore(): void {
    if (!this.active) return;
    this.active = false;
    const bytes = SGR_RESET + SHOW_CURSOR + LEAVE_ALT;
    // synchronously: this may run in an 'exit' handler, where queued writes are lost
    try {
      if (this.output.fd !== undefined) writeSync(this.output.fd, bytes);
      else this.output.write(bytes);
    } catch {
      // a terminal that is gone cannot be restored
    }
    if (this.raw) {
      try {
        this.input.setRawMode?.(false);
      } catch {
        // ignore: the tty may be gone
      }
      this.raw = false;
    }
    this.input.pause();
  }

  /** restore() and stop listening. */
  close(): void {
    this.restore();
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.output.off('resize', this.onResize);
    this.handlers = undefined;
  }

  get isActive(): boolean {
    return this.active;
  }
}
