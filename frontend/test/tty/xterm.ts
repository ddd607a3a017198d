// A headless terminal emulator (xterm.js) that the painter's bytes are fed into: what a person would see.
import xterm from '@xterm/headless';

export class Screen {
  readonly term: InstanceType<typeof xterm.Terminal>;
  constructor(cols: number, rows: number) {
    this.term = new xterm.Terminal({ cols, rows, allowProposedApi: true });
  }
  write(data: string): Promise<void> {
    return new Promise((resolve) => this.term.write(data, resolve));
  }
  resize(cols: number, rows: number): void {
    this.term.resize(cols, rows);
  }
  get buffer(): 'normal' | 'alternate' {
    return this.term.buffer.active.type;
  }
  lines(): string[] {
    const b = this.term.buffer.active;
    const out: string[] = [];
    for (let y = 0; y < this.term.rows; y++) out.push(b.getLine(b.viewportY + y)?.translateToString(true) ?? '');
    return out;
  }
  text(): string {
    return this.lines().join('\n').replace(/\n+$/, '');
  }
  /** the cell at (x, y): its text, bold, and foreground palette colour (-1 = default) */
  cell(x: number, y: number): { ch: string; bold: boolean; fg: number } {
    const b = this.term.buffer.active;
    const c = b.getLine(b.viewportY + y)?.getCell(x);
    if (c === undefined) return { ch: '', bold: false, fg: -1 };
    return { ch: c.getChars(), bold: c.isBold() !== 0, fg: c.isFgDefault() ? -1 : c.getFgColor() };
  }
  /** x of the first occurrence of text on row y */
  find(y: number, text: string): number {
    return (this.lines()[y] ?? '').indexOf(text);
  }
}
