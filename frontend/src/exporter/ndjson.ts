// The event stream: one JSON object per line to a file or stdout, never blocking probing. Writes go
// through an fs.WriteStream (the thread pool does the write(2), not the event loop); when the reader
// falls behind and more than `maxBuffered` bytes wait, further lines are dropped and counted
// (mtrts_events_dropped_total) until the backlog drains.
//
// Every line: {"schema_version":1,"seq":N,"ts":"<RFC 3339>","type":...,"target":...,...}; `seq` counts
// every line produced, written or dropped, so a reader sees a gap where lines were dropped.

import { createWriteStream, type WriteStream } from 'node:fs';
import type { AnyEvent } from './events.js';

export const NDJSON_SCHEMA_VERSION = 1;

/** Which events go to the stream: per-probe lines are many (opt-in). */
export function streamed(e: AnyEvent, probes: boolean): boolean {
  switch (e.type) {
    case 'probe-sent':
    case 'probe-answered':
    case 'probe-lost':
    case 'probe-deferred':
      return probes;
    default:
      return true;
  }
}

/** One line of the stream (without the newline). */
export function formatEvent(e: AnyEvent, seq: number): string {
  const { at, ...rest } = e;
  return JSON.stringify({ schema_version: NDJSON_SCHEMA_VERSION, seq, ts: new Date(at).toISOString(), ...rest });
}

export class EventStream {
  private readonly out: WriteStream;
  private seq = 0;
  dropped = 0;
  private failed = false;

  constructor(
    path: string,
    private readonly probes: boolean,
    private readonly onDrop: () => void,
    private readonly maxBuffered = 1 << 20,
  ) {
    this.out =
      path === '-' ? createWriteStream('', { fd: 1, autoClose: false }) : createWriteStream(path, { flags: 'a' });
    this.out.on('error', (err) => {
      if (!this.failed)
        process.stderr.write(`mtr-ts-exporter: event stream ${path}: ${err.message}; events are dropped from now on\n`);
      this.failed = true;
    });
  }

  write(e: AnyEvent): void {
    if (!streamed(e, this.probes)) return;
    const seq = ++this.seq;
    if (this.failed || this.out.writableLength > this.maxBuffered) {
      this.dropped++;
      this.onDrop();
      return;
    }
    this.out.write(formatEvent(e, seq) + '\n');
  }

  /** Writes what is buffered (bounded by `ms`) and closes the file. */
  close(ms = 2000): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.out.end(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
