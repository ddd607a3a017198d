// Commands in: stdin framed into lines, handled in slices of at most SLICE lines with one turn of
// the event loop between slices, and not at all while the replies' reader is behind.
//
// Slices: answers already queued on the sockets are read (and their tokens freed) before the
// next slice is sent, as mtr-packet does by reading at most one buffer of commands at a time. A
// burst of 50,000 lines in one write then neither overflows the receive buffers nor runs into
// the in-flight limit while the answers wait unread.
//
// Backpressure: while `blocked()` says the output is congested, stdin is paused and no line is
// handled; `resume()` (on the output's drain) goes on. Memory then stays bounded however much a
// client writes without reading: what is unread stays in the pipe, as with mtr-packet, which
// blocks in write() and stops reading.

import { LineFramer, type FrameEvent } from '@mtr-ts/protocol';

/** command lines handled per turn of the event loop */
export const SLICE = 128;

export interface CommandSink {
  line(text: string): void;
  /** a line longer than the command buffer */
  overflow(): void;
  /** after each slice: flush replies, re-arm timers */
  afterSlice(): void;
  /** whether the reader of the replies is behind */
  blocked(): boolean;
  /** end of input, every line handled */
  ended(): void;
}

export class CommandPump {
  private readonly framer = new LineFramer();
  private queue: FrameEvent[] = [];
  private next = 0;
  private scheduled = false;
  private waiting = false;
  private inputEnded = false;
  private finished = false;

  constructor(
    private readonly input: NodeJS.ReadableStream,
    private readonly sink: CommandSink,
  ) {}

  start(): void {
    // (an input read through a socket's onread callback emits no 'data': it calls take())
    this.input.on('data', (chunk: Buffer) => this.take(chunk));
    this.input.on('end', () => {
      this.inputEnded = true;
      this.enqueue(this.framer.end());
    });
    this.input.on('error', () => {
      this.inputEnded = true;
      this.enqueue([]);
    });
  }

  /** Bytes read from the input (used before this call returns: the buffer may be reused). */
  take(chunk: Uint8Array): void {
    this.enqueue(this.framer.push(chunk));
  }

  /** The output drained: take commands again. */
  resume(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.pump();
  }

  private enqueue(events: FrameEvent[]): void {
    for (const ev of events) this.queue.push(ev);
    if (!this.scheduled && !this.waiting) this.pump();
  }

  private pump(): void {
    this.scheduled = false;
    if (this.finished) return;
    if (this.sink.blocked()) {
      this.wait();
      return;
    }
    const stop = Math.min(this.queue.length, this.next + SLICE);
    for (; this.next < stop; this.next++) {
      const ev = this.queue[this.next]!;
      if (ev.kind === 'line') this.sink.line(ev.line);
      else this.sink.overflow();
    }
    this.sink.afterSlice();
    if (this.next < this.queue.length) {
      this.input.pause();
      if (this.sink.blocked()) {
        this.wait();
        return;
      }
      this.scheduled = true;
      setImmediate(() => this.pump());
      return;
    }
    this.queue = [];
    this.next = 0;
    if (this.inputEnded) {
      this.finished = true;
      this.sink.ended();
    } else if (this.sink.blocked()) {
      this.wait();
    } else {
      this.input.resume();
    }
  }

  private wait(): void {
    this.input.pause();
    this.waiting = true;
  }
}
