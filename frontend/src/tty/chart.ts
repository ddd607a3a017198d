// Per-sample latency symbols, as mtr head draws its stripchart, and our per-hop sparkline.
//
// The scale is mtr head's: N buckets; bucket i holds RTTs up to scale[i] where, dynamically,
// scale[i] = low + (high - low) * ((i + 1) / N)^2 over every reply of every hop on screen (quadratic:
// fine steps near the fastest reply); or fixed thresholds (`--scale fast|average|slow|t1:...:t9`), the
// last bucket then holding everything above the last threshold. Stripchart (N = 10): '.' '1'-'5' 'a'
// 'b' 'c' '>', each with head's colour; in the plain blockmap only '.' and '>' (above scale[N-2]).
// A lost probe is '?' (bold red), a slot never sent is a space. A probe still in flight is a space too
// (mtr draws it '?', which makes a slow hop blink lost on every probe).

import type { LiveSample } from './snapshot.js';

export const STRIP_BUCKETS = 10;
export const SPARK_BUCKETS = 8;

/** Colours (SGR 30+n numbers: 1 red, 2 green, 3 yellow, 5 magenta); 0 = the terminal's default. */
export type Colour = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

export interface Symbol {
  readonly ch: string;
  readonly bold: boolean;
  readonly fg: Colour;
}

/** thresholds in ms: bucket i holds values <= thresholds[i]; above the last: the top bucket */
export interface Scale {
  readonly thresholds: readonly number[];
  readonly fixed: boolean;
}

export const NAMED_SCALES: Readonly<Record<string, readonly number[]>> = {
  fast: [1, 2, 3, 4, 5, 10, 20, 40, 80],
  average: [5, 15, 25, 35, 45, 55, 101, 200, 400],
  slow: [50, 100, 150, 200, 300, 500, 750, 1000, 2000],
};

/** `--scale` text -> nine increasing thresholds (ms), or an error line. */
export function parseScale(text: string): readonly number[] | string {
  const named = NAMED_SCALES[text];
  if (named !== undefined) return named;
  const parts = text.split(':');
  if (parts.length !== STRIP_BUCKETS - 1) return `--scale takes fast, average, slow or ${STRIP_BUCKETS - 1} thresholds t1:...:t${STRIP_BUCKETS - 1} (ms)`;
  const out: number[] = [];
  for (const p of parts) {
    const v = Number(p);
    if (p.trim() === '' || !Number.isFinite(v) || v <= 0) return `--scale: not a positive number of ms: '${p}'`;
    if (out.length > 0 && v <= (out.at(-1) as number)) return '--scale: thresholds must increase';
    out.push(v);
  }
  return out;
}

/** mtr's dynamic scale over the replies in `samples` (of every hop shown), with `n` buckets. */
export function dynamicScale(hops: Iterable<readonly LiveSample[]>, n: number): Scale {
  let low = Infinity;
  let high = -Infinity;
  for (const samples of hops) {
    for (const s of samples) {
      if (s.state !== 'reply' || s.rtt === undefined) continue;
      if (s.rtt < low) low = s.rtt;
      if (s.rtt > high) high = s.rtt;
    }
  }
  if (low === Infinity) {
    low = 0;
    high = 0;
  }
  const range = high - low;
  const thresholds: number[] = [];
  for (let i = 0; i < n; i++) {
    const f = (i + 1) / n;
    thresholds.push(low + range * f * f);
  }
  return { thresholds, fixed: false };
}

export function fixedScale(thresholds: readonly number[]): Scale {
  return { thresholds, fixed: true };
}

/** The bucket of a value: the first threshold it does not exceed; thresholds.length above them all. */
export function bucketOf(scale: Scale, ms: number): number {
  const t = scale.thresholds;
  for (let i = 0; i < t.length; i++) if (ms <= (t[i] as number)) return i;
  return t.length;
}

// head's block_map and block_col for 10 buckets: '.' and '1'-'3' bold green, '4' '5' bold yellow ('5' is
// magenta in head's table: block_col[6]), 'a' 'b' bold red... see the table in the research notes.
const STRIP_CHARS = ['.', '1', '2', '3', '4', '5', 'a', 'b', 'c', '>'] as const;
const STRIP_STYLE: ReadonlyArray<readonly [boolean, Colour]> = [
  [true, 2],
  [true, 2],
  [true, 2],
  [true, 3],
  [true, 3],
  [true, 5],
  [true, 1],
  [true, 1],
  [false, 1],
  [false, 1],
];

export const LOST: Symbol = { ch: '?', bold: true, fg: 1 };
export const BLANK: Symbol = { ch: ' ', bold: false, fg: 0 };

/** Display mode 2: a character and colour per bucket. */
export function stripSymbol(bucket: number): Symbol {
  const b = Math.min(bucket, STRIP_CHARS.length - 1);
  const [bold, fg] = STRIP_STYLE[b] as readonly [boolean, Colour];
  return { ch: STRIP_CHARS[b] as string, bold, fg };
}

/** Display mode 1: '.' or '>' (above the second-to-last threshold), no colour. */
export function blockSymbol(scale: Scale, ms: number): Symbol {
  const t = scale.thresholds;
  const limit = t[Math.max(0, STRIP_BUCKETS - 2)] ?? t.at(-1) ?? 0;
  return { ch: ms > limit ? '>' : '.', bold: false, fg: 0 };
}

const SPARK_CHARS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;
const SPARK_FG: readonly Colour[] = [2, 2, 2, 3, 3, 5, 1, 1];

/** The sparkline's block for a bucket of a scale with `buckets` buckets (8 dynamic, 10 fixed). */
export function sparkSymbol(bucket: number, buckets: number): Symbol {
  const top = SPARK_CHARS.length - 1;
  const level = buckets <= 1 ? 0 : Math.min(top, Math.round((Math.min(bucket, buckets - 1) * top) / (buckets - 1)));
  return { ch: SPARK_CHARS[level] as string, bold: false, fg: SPARK_FG[level] as Colour };
}

export type ChartKind = 'blockmap' | 'scaled' | 'spark';

/** The last `cols` samples as symbols, right-aligned (newest at the right), blanks on the left. */
export function chartSymbols(kind: ChartKind, scale: Scale, samples: readonly LiveSample[], cols: number): Symbol[] {
  const out: Symbol[] = [];
  const start = samples.length - cols;
  const buckets = scale.thresholds.length + (scale.fixed ? 1 : 0);
  for (let i = start; i < samples.length; i++) {
    const s = i < 0 ? undefined : samples[i];
    if (s === undefined || s.state === 'pending') out.push(BLANK);
    else if (s.state === 'lost') out.push(LOST);
    else {
      const ms = s.rtt ?? 0;
      if (kind === 'blockmap') out.push(blockSymbol(scale, ms));
      else if (kind === 'scaled') out.push(stripSymbol(bucketOf(scale, ms)));
      else out.push(sparkSymbol(bucketOf(scale, ms), buckets));
    }
  }
  return out;
}

/** mtr head's mtr_format_latency_ms, from ms. */
export function formatLatency(ms: number): string {
  const usec = Math.trunc(ms * 1000);
  const a = Math.abs(usec);
  if (a < 1000 || (a < 10000 && usec % 1000 !== 0)) return (usec / 1000).toFixed(1);
  return String(Math.trunc(usec / 1000));
}

export interface LegendEntry {
  readonly symbol: Symbol;
  /** undefined for the top bucket */
  readonly upTo: number | undefined;
}

/** The `Scale:` legend: one entry per symbol in use, in order. */
export function legend(kind: ChartKind, scale: Scale): LegendEntry[] {
  const t = scale.thresholds;
  const buckets = t.length + (scale.fixed ? 1 : 0);
  const out: LegendEntry[] = [];
  if (kind === 'blockmap') {
    const limit = t[STRIP_BUCKETS - 2] ?? t.at(-1) ?? 0;
    return [
      { symbol: { ch: '.', bold: false, fg: 0 }, upTo: limit },
      { symbol: { ch: '>', bold: false, fg: 0 }, upTo: undefined },
    ];
  }
  for (let b = 0; b < buckets; b++) {
    const symbol = kind === 'scaled' ? stripSymbol(b) : sparkSymbol(b, buckets);
    const upTo = b < buckets - 1 ? t[b] : undefined;
    const prev = out.at(-1);
    if (prev !== undefined && prev.symbol.ch === symbol.ch) out[out.length - 1] = { symbol, upTo };
    else out.push({ symbol, upTo });
  }
  return out;
}
