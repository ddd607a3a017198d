// The painter: screen lines -> the bytes that bring the terminal from the previous frame to this one.
// Pure (returns strings; terminal.ts writes them). Like curses' refresh: a grid of cells (grapheme,
// bold, colour) per frame; for each row only the span between the first and the last changed cell is
// sent, a blank tail is erased with EL; a frame with no change is the empty string. A full repaint
// (first frame, resize, Ctrl-L) clears the screen and writes each row's content.
// Frames can be wrapped in synchronized-output marks (DEC mode 2026) so the terminal shows whole frames.

import type { Line } from './screen.js';
import { graphemes, graphemeWidth } from './width.js';

export const ESC = '\x1b';
export const ENTER_ALT = `${ESC}[?1049h`;
export const LEAVE_ALT = `${ESC}[?1049l`;
export const HIDE_CURSOR = `${ESC}[?25l`;
export const SHOW_CURSOR = `${ESC}[?25h`;
export const SYNC_BEGIN = `${ESC}[?2026h`;
export const SYNC_END = `${ESC}[?2026l`;
export const SGR_RESET = `${ESC}[0m`;
export const CLEAR = `${ESC}[H${ESC}[2J`;
/** DECRQM: does the terminal know mode 2026? (answered with CSI ? 2026 ; Ps $ y) */
export const QUERY_SYNC = `${ESC}[?2026$p`;

/** One row of cells: a grapheme per cell ('' for the right half of a wide one) and its attributes. */
interface Cells {
  readonly ch: string[];
  /** bit 0 bold, bits 1-3 colour (0 = default); a plain array: a typed one of a row's size is an
   * off-heap buffer, allocated for every changed row ten times a second */
  readonly attr: number[];
}

export interface PainterOptions {
  /** SGR colours (off for NO_COLOR or TERM=dumb); bold is kept either way */
  color: boolean;
  /** wrap frames in DEC 2026 marks */
  sync: boolean;
}

function attrOf(seg: Line[number], color: boolean): number {
  return (seg.bold ? 1 : 0) | (color && seg.fg ? seg.fg << 1 : 0);
}

/** What a line looks like, as one string: equal keys, equal cells (so an unchanged row is skipped cheaply). */
function keyOf(line: Line, color: boolean): string {
  let k = '';
  for (const seg of line) k += String.fromCharCode(attrOf(seg, color) + 1) + seg.text;
  return k;
}

function cellsOf(line: Line, cols: number, color: boolean): Cells {
  const ch = new Array<string>(cols).fill(' ');
  const attr = new Array<number>(cols).fill(0);
  let x = 0;
  for (const seg of line) {
    const a = attrOf(seg, color);
    for (const g of graphemes(seg.text)) {
      const w = graphemeWidth(g) >= 2 ? 2 : 1;
      if (x + w > cols) break;
      ch[x] = g;
      attr[x++] = a;
      if (w === 2) {
        ch[x] = '';
        attr[x++] = a;
      }
    }
  }
  return { ch, attr };
}

function sgr(attr: number): string {
  let s = `${ESC}[0`;
  if (attr & 1) s += ';1';
  const fg = attr >> 1;
  if (fg !== 0) s += `;3${fg}`;
  return s + 'm';
}

export class Painter {
  private prev: Cells[] | undefined;
  private prevKeys: string[] = [];
  private cols = 0;
  private rows = 0;

  constructor(private readonly opts: PainterOptions) {}

  /** The next frame is a full repaint (resize, Ctrl-L, after a suspend). */
  invalidate(): void {
    this.prev = undefined;
  }

  setSync(on: boolean): void {
    this.opts.sync = on;
  }

  get sync(): boolean {
    return this.opts.sync;
  }

  /** the frame being built by paint() (fields, not closures: paint runs ten times a second) */
  private out = '';
  private attr = 0;

  /** Row y's cells a..b; eraseTail: then reset the attributes and erase to the end of the line. */
  private emit(row: Cells, y: number, a: number, b: number, eraseTail: boolean): void {
    let out = `${ESC}[${y + 1};${a + 1}H`;
    let attr = this.attr;
    for (let x = a; x <= b; x++) {
      const c = row.ch[x] as string;
      if (c === '') continue;
      const ca = row.attr[x] as number;
      if (ca !== attr) {
        out += sgr(ca);
        attr = ca;
      }
      out += c;
    }
    if (eraseTail) {
      if (attr !== 0) {
        out += SGR_RESET;
        attr = 0;
      }
      out += `${ESC}[K`;
    }
    this.out += out;
    this.attr = attr;
  }

  /** Bytes for this frame ('' when nothing changed). */
  paint(lines: readonly Line[], cols: number, rows: number): string {
    const full = this.prev === undefined || cols !== this.cols || rows !== this.rows;
    const prev = full ? undefined : this.prev;
    const next: Cells[] = new Array<Cells>(rows);
    const keys: string[] = new Array<string>(rows);
    this.out = full ? CLEAR : '';
    this.attr = 0;
    for (let y = 0; y < rows; y++) {
      const line = lines[y] ?? [];
      const key = keyOf(line, this.opts.color);
      keys[y] = key;
      if (prev !== undefined && this.prevKeys[y] === key) {
        // the same line as last frame: the same cells, nothing to send
        next[y] = prev[y] as Cells;
        continue;
      }
      const row = cellsOf(line, cols, this.opts.color);
      next[y] = row;
      // the first cell of the blank tail
      let tail = cols;
      while (tail > 0 && row.ch[tail - 1] === ' ' && row.attr[tail - 1] === 0) tail--;
      if (prev === undefined) {
        if (tail > 0) this.emit(row, y, 0, tail - 1, false);
        continue;
      }
      const old = prev[y] as Cells;
      let a = 0;
      while (a < cols && row.ch[a] === old.ch[a] && row.attr[a] === old.attr[a]) a++;
      if (a === cols) continue;
      let b = cols - 1;
      while (b > a && row.ch[b] === old.ch[b] && row.attr[b] === old.attr[b]) b--;
      // never start on the right half of a wide character, nor end on its left half
      if (a > 0 && row.ch[a] === '') a--;
      while (b + 1 < cols && row.ch[b + 1] === '') b++;
      if (tail <= b) {
        if (a >= tail) this.emit(row, y, a, a - 1, true);
        else this.emit(row, y, a, tail - 1, true);
      } else this.emit(row, y, a, b, false);
    }
    let out = this.out;
    this.out = '';
    if (this.attr !== 0) out += SGR_RESET;
    this.prev = next;
    this.prevKeys = keys;
    this.cols = cols;
    this.rows = rows;
    if (out === '') return '';
    return this.opts.sync ? SYNC_BEGIN + out + SYNC_END : out;
  }
}
