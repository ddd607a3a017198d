// Display width: how many terminal columns a text takes (CJK and most emoji take two), measured per
// grapheme with string-width, so that names are cut where the screen cuts them, never mid-character.
//
// Every text that reaches the screen from outside (a PTR name, an AS string) goes through `clean`
// first: a control character in a name must never reach the terminal as a control.

import stringWidth from 'string-width';

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

// Most of a screen is printable ASCII (plus our '…' and the sparkline's blocks '▁'-'█', which
// string-width counts narrow too): one character, one grapheme, one column. That path skips the
// segmenter and string-width, which cost about 1 µs a character and made a frame take milliseconds.
const ASCII = /^[\x20-\x7e\u2026\u2581-\u2588]*$/;

/** One character, one grapheme, one column throughout (the fast path). */
export function isPlain(text: string): boolean {
  return ASCII.test(text);
}

/** Graphemes (user-perceived characters) of a text. */
export function graphemes(text: string): string[] {
  if (ASCII.test(text)) return text.split('');
  const out: string[] = [];
  for (const s of segmenter.segment(text)) out.push(s.segment);
  return out;
}

// C0, DEL, C1 controls; and the bidi overrides/isolates, which reorder what follows them on the line
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** The text with every control character replaced by '?'. */
export function clean(text: string): string {
  return text.replace(UNSAFE, '?');
}

/** Columns a (clean) text takes. */
export function widthOf(text: string): number {
  return ASCII.test(text) ? text.length : stringWidth(text);
}

const graphemeWidths = new Map<string, number>();

/** Columns one grapheme takes (0 for combining-only clusters is counted as 1: it occupies a cell). */
export function graphemeWidth(g: string): number {
  if (g.length === 1) {
    const c = g.charCodeAt(0);
    if (c >= 0x20 && c < 0x7f) return 1;
  }
  let w = graphemeWidths.get(g);
  if (w === undefined) {
    const sw = stringWidth(g);
    w = sw <= 0 ? (g.length > 0 ? 1 : 0) : sw > 2 ? 2 : sw;
    if (graphemeWidths.size < 4096) graphemeWidths.set(g, w);
  }
  return w;
}

export const ELLIPSIS = '…';

/** The text cut to at most `width` columns; a cut text ends with '…'. */
export function cut(text: string, width: number): string {
  if (width <= 0) return '';
  if (widthOf(text) <= width) return text;
  let out = '';
  let used = 0;
  for (const g of graphemes(text)) {
    const w = graphemeWidth(g);
    if (used + w > width - 1) break;
    out += g;
    used += w;
  }
  return out + ELLIPSIS;
}

/** The text padded with spaces to `width` columns (not cut). */
export function padEnd(text: string, width: number): string {
  const w = widthOf(text);
  return w >= width ? text : text + ' '.repeat(width - w);
}
