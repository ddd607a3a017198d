// Replies leave here: gathered while one event is handled and written in one piece, so a
// burst of answers costs one write, not one per line. A closed reader ends the process quietly.

export class OutputWriter {
  private pending: string[] = [];
  private closed = false;

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
  }

  line(text: string): void {
    if (!this.closed) this.pending.push(text);
  }

  flush(): void {
    if (this.pending.length === 0 || this.closed) return;
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    this.stream.write(text);
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
