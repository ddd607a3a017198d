// Line-at-a-time reading of a child's stdout, for tests that talk to a process interactively.

import type { Readable } from 'node:stream';

export class LineReader {
  private buf = '';
  private readonly queue: string[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  /** Every line seen, for failure messages. */
  readonly seen: string[] = [];

  constructor(stream: Readable) {
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        this.queue.push(line);
        this.seen.push(line);
      }
      this.wake();
    });
    stream.on('end', () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Drop lines not consumed yet; returns them. */
  drain(): string[] {
    return this.queue.splice(0);
  }

  /** The first queued or future line matching `pred` (earlier non-matching lines are dropped). */
  async next(pred: (line: string) => boolean, timeoutMs: number, what = 'a line'): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.queue.length > 0) {
        const line = this.queue.shift()!;
        if (pred(line)) return line;
      }
      if (this.ended) throw new Error(`stream ended while waiting for ${what}; seen: ${this.seen.slice(-10).join(' | ')}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; seen: ${this.seen.slice(-10).join(' | ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.waiter = undefined;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }
}
