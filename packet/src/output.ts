// Replies leave here: gathered while one event is handled and written in one piece, so a
// burst of answers costs one write, not one per line. A closed reader ends the process quietly.
// Backpressure: once the stream holds more than its high-water mark unread, `congested` is
// true until it drains; the command pump stops taking commands meanwhile, so what waits here is
// bounded by the probes in flight (each answers once), whatever the reader does.

export class OutputWriter {
  private pending: string[] = [];
  private closed = false;
  private blocked = false;
  /** Called when a congested stream has drained. */
  onDrain: () => void = () => {};

  constructor(
    private readonly stream: NodeJS.WritableStream,
    onBrokenPipe: () => void,
  ) {
    // EPIPE or any other write failure: nobody can read our replies any more.
    stream.on('error', () => {
      this.closed = true;
      this.pending = [];
      onBrokenPipe();
    });
    stream.on('drain', () => {
      if (!this.blocked) return;
      this.blocked = false;
      this.onDrain();
    });
  }

  /** The reader is behind: replies written now wait in memory. */
  get congested(): boolean {
    return this.blocked;
  }

  line(text: string): void {
    if (!this.closed) this.pending.push(text);
  }

  flush(): void {
    if (this.pending.length === 0 || this.closed) return;
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    if (!this.stream.write(text)) this.blocked = true;
  }

  end(cb: () => void): void {
    this.flush();
    if (this.closed) {
      cb();
      return;
    }
    this.stream.write('', () => cb());
  }
}
