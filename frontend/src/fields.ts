// The report columns, once: key letter (for -o), title, printf shape and width, as mtr 0.95 has them.
// Everything that prints a column (report, XML, CSV, JSON, split) reads this table.

export type FieldKey = ' ' | 'L' | 'D' | 'R' | 'S' | 'N' | 'B' | 'A' | 'W' | 'V' | 'G' | 'J' | 'M' | 'X' | 'I';

/** What a column shows, as a value the renderers format: an integer count or a float (ms or percent). */
export type FieldKind = 'int' | 'float';

export interface FieldDef {
  readonly key: FieldKey;
  readonly remark: string;
  readonly title: string;
  readonly kind: FieldKind;
  /** printf width of the number, not counting the leading space */
  readonly numWidth: number;
  /** true for Loss%: a trailing '%' after the number */
  readonly percent: boolean;
  /** total column width, the leading space included */
  readonly width: number;
}

function f(key: FieldKey, remark: string, title: string, kind: FieldKind, numWidth: number, width: number, percent = false): FieldDef {
  return { key, remark, title, kind, numWidth, width, percent };
}

export const FIELDS: readonly FieldDef[] = [
  f(' ', '<sp>: Space between fields', ' ', 'int', 0, 1),
  f('L', 'L: Loss Ratio', 'Loss%', 'float', 4, 6, true),
  f('D', 'D: Dropped Packets', 'Drop', 'int', 4, 5),
  f('R', 'R: Received Packets', 'Rcv', 'int', 5, 6),
  f('S', 'S: Sent Packets', 'Snt', 'int', 5, 6),
  f('N', 'N: Newest RTT(ms)', 'Last', 'float', 5, 6),
  f('B', 'B: Min/Best RTT(ms)', 'Best', 'float', 5, 6),
  f('A', 'A: Average RTT(ms)', 'Avg', 'float', 5, 6),
  f('W', 'W: Max/Worst RTT(ms)', 'Wrst', 'float', 5, 6),
  f('V', 'V: Standard Deviation', 'StDev', 'float', 5, 6),
  f('G', 'G: Geometric Mean', 'Gmean', 'float', 5, 6),
  f('J', 'J: Current Jitter', 'Jttr', 'float', 4, 5),
  f('M', 'M: Jitter Mean/Avg.', 'Javg', 'float', 4, 5),
  f('X', 'X: Worst Jitter', 'Jmax', 'float', 4, 5),
  f('I', 'I: Interarrival Jitter', 'Jint', 'float', 4, 5),
];

export const FIELD_BY_KEY: ReadonlyMap<string, FieldDef> = new Map(FIELDS.map((d) => [d.key, d]));

/** mtr's default order: Loss%, Snt, a blank column, Last, Avg, Best, Wrst, StDev. */
export const DEFAULT_ORDER = 'LS NABWV';
/** mtr refuses an order string longer than its field table (MAXFLD). */
export const MAX_ORDER_LENGTH = 20;

/** Validates an -o string; returns an error line or undefined. */
export function checkOrder(order: string): string | undefined {
  if (order.length > MAX_ORDER_LENGTH) return `Too many fields: ${order}`;
  for (const c of order) {
    if (!FIELD_BY_KEY.has(c)) return `Unknown field identifier: ${c}`;
  }
  return undefined;
}

export function fieldsOf(order: string): FieldDef[] {
  const out: FieldDef[] = [];
  for (const c of order) {
    const d = FIELD_BY_KEY.get(c);
    if (d !== undefined) out.push(d);
  }
  return out;
}
