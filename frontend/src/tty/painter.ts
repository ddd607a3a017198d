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

interface Cell {
  /** a grapheme; '' for the right half of a wide one */
  ch: string;
  /** bit 0 bold, bits 1-3 colour (0 = default) */
  attr: number;
}

const BLANK: Cell = Object.freeze({ ch: ' ', attr: 0 });

export interface PainterOptions {
  /** SGR colours (off for NO_COLOR or TERM=dumb); bold is kept either way */
  color: boolean;
  /** wrap frames in DEC 2026 marks */
  sync: boolean;
}

function cellsOf(line: Line, cols: number, color: boolean): Cell[] {
  const out: Cell[] = [];
  for (const seg of line) {
    const attr = (seg.bold ? 1 : 0) | (color && seg.fg ? seg.fg << 1 : 0);
    for (const g of graphemes(seg.text)) {
      const w = graphemeWidth(g) >= 2 ? 2 : 1;
      if (out.length + w > cols) break;
      out.push({ ch: g, attr });
      if (w === 2) out.push({ ch: '', attr });
    }
  }
  while (out.length < cols) out.push(BLANK);
  return out;
}

function sgr(attr: number): string {
  let s = `${ESC}[0`;
  if (attr & 1) s += ';1';
  const fg = attr >> 1;
  if (fg !== 0) s += `;3${fg}`;
  return s + 'm';
}

const same = (a: Cell, b: Cell): boolean => a.ch === b.ch && a.attr === b.attr;
const isBlank = (c: Cell): boolean => c.ch === ' ' && c.attr === 0;

export class Painter {
  private prev: Cell[][] | undefined;
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

  /** Bytes for this frame ('' when nothing changed). */
  paint(lines: readonly Line[], cols: number, rows: number): string {
    const full = this.prev === undefined || cols !== this.cols || rows !== this.rows;
    const next: Cell[][] = [];
    for (let y = 0; y < rows; y++) next.push(cellsOf(lines[y] ?? [], cols, this.opts.color));
    let out = full ? CLEAR : '';
    let attr = 0;
    const emit = (row: Cell[], y: number, a: number, b: number, eraseTail: boolean): void => {
      out += `${ESC}[${y + 1};${a + 1}H`;
      for (let x = a; x <= b; x++) {
        const c = row[x] as Cell;
        if (c.ch === '') continue;
        if (c.attr !== attr) {
          out += sgr(c.attr);
          attr = c.attr;
        }
        out += c.ch;
      }
      if (eraseTail) {
        if (attr !== 0) {
          out += SGR_RESET;
          attr = 0;
        }
        out += `${ESC}[K`;
      }
    };
    for (let y = 0; y < rows; y++) {
      const row = next[y] as Cell[];
      // the first cell of the blank tail
      let tail = cols;
      while (tail > 0 && isBlank(row[tail - 1] as Cell)) tail--;
      if (full) {
        if (tail > 0) emit(row, y, 0, tail - 1, false);
        continue;
      }
      const old = (this.prev as Cell[][])[y] as Cell[];
      let a = 0;
      while (a < cols && same(row[a] as Cell, old[a] as Cell)) a++;
      if (a === cols) continue;
      let b = cols - 1;
      while (b > a && same(row[b] as Cell, old[b] as Cell)) b--;
      // never start on the right half of a wide character, nor end on its left half
      if (a > 0 && (row[a] as Cell).ch === '') a--;
      while (b + 1 < cols && (row[b + 1] as Cell).ch === '') b++;
      if (tail <= b) {
        if (a >= tail) emit(row, y, a, a - 1, true);
        else emit(row, y, a, tail - 1, true);
      } else emit(row, y, a, b, false);
    }
    if (attr !== 0) out += SGR_RESET;
    this.prev = next;
    this.cols = cols;
    this.rows = rows;
    if (out === '') return '';
    return this.opts.sync ? SYNC_BEGIN + out + SYNC_END : out;
  }
}
