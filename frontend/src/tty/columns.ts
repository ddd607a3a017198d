// The live view's columns: mtr's field table (../fields.ts) plus two of ours, and how a value is
// printed in a column of fixed width.
//
// Ours, on letters mtr does not use (mtr 0.95 and head use ' ' L D R S N B A W V G J M X I):
//   E  Med   the median RTT (ms)
//   P  P95   the 95th percentile RTT (ms)
// They are chosen with `o` (or -o), like every other letter.
//
// A value too wide for its column first loses its decimals ("100.0%" -> "100%") so that columns stay
// aligned; counts of 100000 and more are shortened as mtr head does ("123k4", "1M234").

import { FIELDS, type FieldDef } from '../fields.js';
import type { LiveStats } from './snapshot.js';

export interface LiveField {
  readonly key: string;
  readonly remark: string;
  readonly title: string;
  readonly kind: 'int' | 'float';
  readonly percent: boolean;
  /** total width, the leading space included */
  readonly width: number;
  readonly value: (s: LiveStats) => number;
}

const VALUE: Record<string, (s: LiveStats) => number> = {
  ' ': (s) => s.drop,
  L: (s) => s.lossPercent,
  D: (s) => s.drop,
  R: (s) => s.received,
  S: (s) => s.sent,
  N: (s) => s.last,
  B: (s) => s.best,
  A: (s) => s.avg,
  W: (s) => s.worst,
  V: (s) => s.stdev,
  G: (s) => s.gmean,
  J: (s) => s.jitter,
  M: (s) => s.javg,
  X: (s) => s.jmax,
  I: (s) => s.jint,
};

const fromMtr = (d: FieldDef): LiveField => ({
  key: d.key,
  remark: d.remark,
  title: d.title,
  kind: d.kind,
  percent: d.percent,
  width: d.width,
  value: VALUE[d.key] ?? (() => 0),
});

export const LIVE_FIELDS: readonly LiveField[] = [
  ...FIELDS.map(fromMtr),
  { key: 'E', remark: 'E: Median RTT(ms)', title: 'Med', kind: 'float', percent: false, width: 6, value: (s) => s.percentiles?.p50 ?? 0 },
  { key: 'P', remark: 'P: 95th Percentile RTT(ms)', title: 'P95', kind: 'float', percent: false, width: 6, value: (s) => s.percentiles?.p95 ?? 0 },
];

const BY_KEY = new Map(LIVE_FIELDS.map((f) => [f.key, f]));

/** Every letter `o` accepts, in the order the prompt lists them. */
export const LIVE_FIELD_KEYS = LIVE_FIELDS.map((f) => f.key).join('');

export const LATENCY_ORDER = 'LS NABWV';
export const JITTER_ORDER = 'DR AGJMXI';

export function liveFields(order: string): LiveField[] {
  const out: LiveField[] = [];
  for (const c of order) {
    const f = BY_KEY.get(c);
    if (f !== undefined) out.push(f);
  }
  return out;
}

/** mtr head's mtr_format_count for a 5-wide count. */
export function formatCount(n: number): string {
  const v = Math.trunc(n);
  if (v < 100000) return String(v);
  if (v < 1000000) return `${Math.trunc(v / 1000)}k${Math.trunc((v % 1000) / 100)}`;
  if (v < 10000000) return `${Math.trunc(v / 1000000)}M${String(Math.trunc((v % 1000000) / 1000)).padStart(3, '0')}`;
  if (v < 100000000) return `${Math.trunc(v / 1000000)}M${String(Math.trunc((v % 1000000) / 10000)).padStart(2, '0')}`;
  if (v < 1000000000) return `${Math.trunc(v / 1000000)}M${Math.trunc((v % 1000000) / 100000)}`;
  return `${Math.trunc(v / 1000000000)}G${String(Math.trunc((v % 1000000000) / 1000000)).padStart(3, '0')}`;
}

/** One column's text, exactly `f.width` wide when the value fits (leading space included). */
export function formatLiveField(f: LiveField, value: number): string {
  if (f.key === ' ') return ' ';
  const room = f.width - 1;
  const v = Number.isFinite(value) ? value : 0;
  if (f.kind === 'int') return ' ' + formatCount(v).padStart(room, ' ');
  const suffix = f.percent ? '%' : '';
  let text = v.toFixed(1) + suffix;
  if (text.length > room) text = v.toFixed(0) + suffix;
  return ' ' + text.padStart(room, ' ');
}

/** The field-title line's text for an order: each title right-aligned in its width. */
export function titlesOf(fields: readonly LiveField[]): string {
  return fields.map((f) => f.title.padStart(f.width, ' ')).join('');
}

export function widthOfFields(fields: readonly LiveField[]): number {
  return fields.reduce((a, f) => a + f.width, 0);
}
