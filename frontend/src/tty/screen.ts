// The screen model: (snapshot, names, view) -> the lines of the screen, each a list of styled segments.
// Pure; painter.ts turns lines into bytes. Geometry is mtr's (ui/curses.c, mtr_curses_redraw):
//
//   row 0  bold, centred title: "My traceroute on HOST  [VERSION] PROTO" (head's title)
//   row 1  "HOST (SRC) -> TARGET (DST)", the ISO-8601 clock at column cols-25
//   row 2  "Keys:  Help   Display mode   Restart statistics   Order of fields   quit", H D R O q bold
//   row 3  bold "   Packets               Pings" at the statistics column   (statistics modes)
//   row 4  bold " Host" and the field titles, right-aligned to end at column cols-1
//   row 5… "%2d. " and the name, bold when the hop missed its last probe; the statistics from column
//          startstat = cols - (fields' width) - 1; ECMP responders and MPLS labels on lines indented 4
//
// Stripchart modes (1, 2): " Last %3d pings" on row 4 at column 28, names cut at 24 columns, the
// chart from column 29 (newest sample on the right), a blank line and the "Scale:" legend.
// Mode 3 (ours): the statistics with a sparkline of recent samples between the name and the numbers.
// Ours in every mode: a blank line and the diagnosis line after the hops (and the legend); `v` puts the
// diagnosis in full in place of the hops; the Keys line names V when it fits.
//
// Unlike mtr: names are cut by display width with '…' instead of overwritten; hops that do not fit are
// scrolled (clamped) with a marker for those above and below; prompts are drawn over rows 2-3 and never
// stop probing; the help screen lists every key.

import type { Colour, ChartKind, Scale } from './chart.js';
import { chartSymbols, dynamicScale, fixedScale, formatLatency, legend, SPARK_BUCKETS, STRIP_BUCKETS } from './chart.js';
import { formatLiveField, liveFields, LIVE_FIELDS, titlesOf, widthOfFields } from './columns.js';
import type { LiveHop, LiveNames, LiveSnapshot } from './snapshot.js';
import type { ViewState } from './view.js';
import { clean, cut, graphemes, graphemeWidth, isPlain, widthOf } from './width.js';
import { ipinfoWidth, isoTime } from '../render/common.js';
import { renderDiagnosis, UNCERTAIN, type Verdict } from '../diagnose/index.js';
import type { LiveDiagnosis } from './diagnosis.js';

export interface Seg {
  readonly text: string;
  readonly bold?: boolean;
  readonly fg?: Colour;
}
export type Line = readonly Seg[];

export interface Frame {
  /** exactly view.rows lines */
  readonly lines: readonly Line[];
  /** the first hop shown after clamping (write it back into the view) */
  readonly scroll: number;
}

/** rows above the first hop */
export const HEADER_ROWS = 5;
const CHART_PADDING = 30;
const SAVED_SAMPLES = 400;

const PROTOCOL_NAME: Record<string, string> = { icmp: 'ICMP', udp: 'UDP', tcp: 'TCP', sctp: 'SCTP' };

/** A line being built at absolute columns, as curses' move + printw. Later writes overwrite. */
class Row {
  /** a grapheme per cell ('' for the right half of a wide one); undefined: never written (a space) */
  private readonly ch: Array<string | undefined> = [];
  /** bit 0 bold, the colour above it */
  private readonly attr: number[] = [];
  constructor(private readonly cols: number) {}

  /**
   * One Row kept for good: rows live for one frame, and the maps an object passes through while its
   * fields are set are held weakly; with none alive at a major GC they went, and the screen's optimized
   * code with them ('weak objects' deopts). A live instance keeps them.
   */
  static readonly keep = new Row(0);

  /** writes text starting at column x; returns the column after it (text is clipped at the edge) */
  put(x: number, text: string, bold = false, fg: Colour = 0): number {
    const a = (bold ? 1 : 0) | (fg << 1);
    let col = x;
    if (isPlain(text)) {
      // one character, one column
      for (let i = 0; i < text.length; i++, col++) {
        if (col + 1 > this.cols) return this.cols;
        if (col >= 0) {
          this.ch[col] = text[i];
          this.attr[col] = a;
        }
      }
      return col;
    }
    for (const g of graphemes(text)) {
      const w = graphemeWidth(g) >= 2 ? 2 : 1;
      if (col + w > this.cols) return this.cols;
      if (col >= 0) {
        this.ch[col] = g;
        this.attr[col] = a;
        if (w === 2) {
          this.ch[col + 1] = '';
          this.attr[col + 1] = a;
        }
      }
      col += w;
    }
    return col;
  }

  line(): Line {
    const out: Seg[] = [];
    let text = '';
    let cur = -1;
    for (let i = 0; i < this.ch.length; i++) {
      let c = this.ch[i] ?? ' ';
      const a = this.ch[i] === undefined ? 0 : (this.attr[i] as number);
      // a wide character's second half whose first half was overwritten becomes a space
      if (c === '' && (this.ch[i - 1] ?? '') === '') c = ' ';
      if (a === cur) text += c;
      else {
        if (cur >= 0) out.push(seg(text, cur));
        text = c;
        cur = a;
      }
    }
    if (cur >= 0) {
      // trailing plain spaces carry nothing
      if (cur === 0) text = text.replace(/ +$/, '');
      if (cur !== 0 || text !== '') out.push(seg(text, cur));
    }
    return out;
  }
}

/**
 * A segment as one of four whole literals, never grown a property at a time: segments live for one frame,
 * and the maps an object passes through while it grows are held weakly, so at a major GC with no segment
 * alive they went, and the screen's optimized code with them ('weak objects' deopts).
 */
function seg(text: string, a: number): Seg {
  const bold = (a & 1) !== 0;
  const fg = (a >> 1) as Colour;
  if (fg === 0) return bold ? { text, bold: true } : { text };
  return bold ? { text, bold: true, fg } : { text, fg };
}

/** The plain text of a line (tests, the report). */
export function lineText(l: Line): string {
  return l.map((s) => s.text).join('');
}

function hostName(address: string, names: LiveNames, view: ViewState): string {
  const name = view.dns ? names.host(address) : undefined;
  if (name === undefined) return address;
  const n = clean(name);
  return view.showIps ? `${n} (${address})` : n;
}

function ipinfoText(address: string, names: LiveNames, view: ViewState): string {
  if (view.ipinfo === undefined) return '';
  const item = clean(names.ipinfo(address) ?? '???');
  const w = ipinfoWidth(view.ipinfo);
  return (view.ipinfo === 0 ? 'AS' : '') + (item.length >= w ? item : item + ' '.repeat(w - item.length));
}

function hopError(h: LiveHop): string | undefined {
  if (h.error !== undefined) return h.error;
  if (h.responders.length === 0) return 'waiting for reply';
  return undefined;
}

const KEYS_EXTRA = '   Verdicts';

function titleRows(snap: LiveSnapshot, view: ViewState): Line[] {
  const cols = view.cols;
  const r0 = new Row(cols);
  let title = `My traceroute on ${clean(snap.localHostname)}  [${view.version}] ${PROTOCOL_NAME[snap.protocol] ?? snap.protocol}`;
  if (view.paused) title += '  [paused]';
  const tw = widthOf(title);
  r0.put(tw >= cols ? 0 : Math.floor((cols - tw) / 2), title, true);

  const r1 = new Row(cols);
  const src = snap.localAddress !== undefined ? ` (${snap.localAddress})` : '';
  const dst = snap.targetAddress !== undefined ? ` (${snap.targetAddress})` : '';
  const route = `${clean(snap.localHostname)}${src} -> ${clean(snap.target)}${dst}`;
  const clockAt = cols - 25;
  if (clockAt >= 20) {
    r1.put(0, cut(route, clockAt - 1));
    r1.put(clockAt, isoTime(snap.now));
  } else r1.put(0, route);

  const r2 = new Row(cols);
  let x = r2.put(0, 'Keys:  ');
  for (const [k, rest] of [
    ['H', 'elp   '],
    ['D', 'isplay mode   '],
    ['R', 'estart statistics   '],
    ['O', 'rder of fields   '],
    ['q', 'uit'],
  ] as const) {
    x = r2.put(x, k, true);
    x = r2.put(x, rest);
  }
  // ours: v, when the whole word fits (mtr's line stays as it is at 80 columns)
  if (snap.diagnosis !== undefined && x + KEYS_EXTRA.length <= cols) {
    x = r2.put(x, '   ');
    x = r2.put(x, 'V', true);
    r2.put(x, 'erdicts');
  }
  return [r0.line(), r1.line(), r2.line()];
}

const HELP = [
  'Command:',
  '  ?|h     help',
  '  p       pause (SPACE to resume)',
  '  d       switching display mode',
  '  e       toggle MPLS information on/off',
  '  n       toggle DNS on/off',
  '  r       reset all counters',
  "  o str   set the columns to display, default str='LS NABWV'",
  '  j       toggle latency(LS NABWV)/jitter(DR AGJMXI) stats',
  '  c <n>   report cycle n, default n=infinite',
  '  i <n>   set the ping interval to n seconds, default n=1',
  '  f <n>   set the initial time-to-live(ttl), default n=1',
  '  m <n>   set the max time-to-live, default n= # of hops',
  '  s <n>   set the packet size to n or random(n<0)',
  '  b <c>   set ping bit pattern to c(0..255) or random(c<0)',
  "  Q <t>   set ping packet's TOS to t",
  '  u t     switch ICMP ECHO and UDP / TCP     y z  IP info / ASN',
  '  v       the diagnosis (verdicts) in full, and back',
  '  + - arrows PgUp PgDn  scroll    Ctrl-L repaint    Ctrl-Z suspend',
  ' press any key to go back...',
];

function promptRows(view: ViewState): [Line, Line] {
  const p = view.prompt;
  const s = view.settings;
  const r2 = new Row(view.cols);
  const r3 = new Row(view.cols);
  if (p === undefined) return [r2.line(), r3.line()];
  const label: Record<string, [string, string]> = {
    o: ['Fields: ', `letters: ${LIVE_FIELDS.map((f) => (f.key === ' ' ? '<sp>' : f.key)).join('')}; now '${view.order}'`],
    i: ['Interval : ', `now ${s.interval} s${view.isRoot ? '' : '; below 1 s needs root'}`],
    c: ['Cycles: ', `now ${s.cycles ?? 'infinite'}; 0 = infinite`],
    f: ['First TTL: ', `now ${s.firstTtl}; 1-${s.maxTtl}`],
    m: ['Max TTL: ', `now ${s.maxTtl}; ${s.firstTtl}-255`],
    s: ['Change Packet Size: ', `now ${s.psize}; Size Range: 28-4470, < 0:random.`],
    b: ['Ping Bit Pattern: ', `now ${s.bitpattern}; Pattern Range: 0(0x00)-255(0xff), <0 random.`],
    Q: ['Type of Service(tos): ', `now ${s.tos}; default 0x00, min cost 0x02, rel 0x04, thr 0x08, low del 0x10...`],
  };
  const [l, hint] = label[p.kind] as [string, string];
  const x = r2.put(0, l);
  const y = r2.put(x, p.text, true);
  r2.put(y, '_', true);
  r3.put(0, cut(`${hint}   (Enter: apply, Esc: cancel)`, view.cols));
  return [r2.line(), r3.line()];
}

interface Block {
  readonly lines: Line[];
}

/** The columns that fit: on a narrow terminal the last ones go first, leaving names 16 columns. */
export function fittingFields(order: string, cols: number): ReturnType<typeof liveFields> {
  const fields = liveFields(order);
  while (fields.length > 1 && cols - widthOfFields(fields) - 1 < 4 + 16) fields.pop();
  return fields;
}

function statsBlock(
  h: LiveHop,
  names: LiveNames,
  view: ViewState,
  fields: ReturnType<typeof liveFields>,
  startstat: number,
  spark: { x: number; w: number; scale: Scale } | undefined,
): Block {
  const cols = view.cols;
  const row = new Row(cols);
  const x = row.put(0, `${String(h.ttl).padStart(2, ' ')}. `);
  const err = hopError(h);
  const nameEnd = spark !== undefined ? spark.x - 1 : startstat;
  const lines: Line[] = [];
  if (err !== undefined) {
    row.put(x, cut(`(${err})`, Math.max(nameEnd - x, 1)), true);
    if (spark !== undefined) putChart(row, spark.x, 'spark', spark.scale, h, spark.w);
    if (h.error !== undefined) putFields(row, h, fields, startstat);
    lines.push(row.line());
    return { lines };
  }
  const primary = h.responders[0];
  if (primary === undefined) return { lines: [row.line()] };
  // --flows: every member on its own line with its own statistics and share, as the report's member lines
  const members = h.responders.length > 1 && h.responders.every((r) => r.member !== undefined);
  const total = h.responders.reduce((a, r) => a + r.replies, 0);
  const share = (n: number): string => (!members && h.responders.length > 1 && total > 0 ? `  ${Math.round((100 * n) / total)}%` : '');
  const label = ipinfoText(primary.address, names, view) + hostName(primary.address, names, view);
  const own = share(primary.replies);
  row.put(x, cut(label, Math.max(nameEnd - x - own.length, 1)) + own, h.down);
  if (spark !== undefined) putChart(row, spark.x, 'spark', spark.scale, h, spark.w);
  putFields(row, h, fields, startstat);
  lines.push(row.line());

  const mplsLines = (labels: LiveHop['responders'][number]['mpls']): void => {
    if (!view.mpls) return;
    for (const l of labels) {
      const r = new Row(cols);
      r.put(4, `[MPLS: Lbl ${l.label} TC ${l.tc} S ${l.bottomOfStack} TTL ${l.ttl}]`);
      lines.push(r.line());
    }
  };
  if (h.nat !== undefined) {
    const r = new Row(cols);
    r.put(4, cut(`(NAT before this hop: ${h.nat} answer${h.nat === 1 ? '' : 's'} with the flow rewritten)`, cols - 4));
    lines.push(r.line());
  }
  if (members) {
    const memberShown = h.responders.slice(0, Math.max(1, view.maxPaths));
    for (const r of memberShown) {
      const m = r.member as NonNullable<typeof r.member>;
      const line = new Row(cols);
      const x0 = line.put(4, `+-- ${`${Math.round(m.share)}%`.padStart(4, ' ')} `);
      line.put(x0, cut(ipinfoText(r.address, names, view) + hostName(r.address, names, view), Math.max(startstat - x0 - 1, 1)), h.down);
      let fx = startstat;
      for (const f of fields) fx = line.put(fx, formatLiveField(f, f.value(m.stats)));
      lines.push(line.line());
      mplsLines(r.mpls);
    }
    const hidden = h.responders.length - memberShown.length;
    if (hidden > 0) {
      const line = new Row(cols);
      line.put(4, `(+${hidden} more)`);
      lines.push(line.line());
    }
    if (h.balancing !== undefined) {
      const line = new Row(cols);
      line.put(4, `+-- ${h.balancing} balancing`);
      lines.push(line.line());
    }
    return { lines };
  }
  mplsLines(primary.mpls);
  const shown = h.responders.slice(1, Math.max(1, view.maxPaths));
  for (const r of shown) {
    const line = new Row(cols);
    line.put(4, cut(ipinfoText(r.address, names, view) + hostName(r.address, names, view) + share(r.replies), cols - 4), h.down);
    lines.push(line.line());
    mplsLines(r.mpls);
  }
  const more = h.responders.length - 1 - shown.length;
  if (more > 0) {
    const line = new Row(cols);
    line.put(4, `(+${more} more)`);
    lines.push(line.line());
  }
  return { lines };
}

function putFields(row: Row, h: LiveHop, fields: ReturnType<typeof liveFields>, startstat: number): void {
  let x = startstat;
  for (const f of fields) x = row.put(x, formatLiveField(f, f.value(h.stats)));
}

function putChart(row: Row, x: number, kind: ChartKind, scale: Scale, h: LiveHop, w: number): void {
  let col = x;
  for (const s of chartSymbols(kind, scale, h.samples, w)) col = row.put(col, s.ch, s.bold, s.fg);
}

function chartBlock(h: LiveHop, names: LiveNames, view: ViewState, kind: ChartKind, scale: Scale, startstat: number, w: number): Block {
  const row = new Row(view.cols);
  const x = row.put(0, `${String(h.ttl).padStart(2, ' ')}. `);
  const err = hopError(h);
  const primary = h.responders[0];
  if (err !== undefined || primary === undefined) row.put(x, cut(`(${err ?? 'waiting for reply'})`, startstat - x), true);
  else row.put(x, cut(ipinfoText(primary.address, names, view) + hostName(primary.address, names, view), startstat - x), h.down);
  putChart(row, startstat + 1, kind, scale, h, w);
  return { lines: [row.line()] };
}

function legendLines(kind: ChartKind, scale: Scale, cols: number): Line[] {
  const out: Line[] = [];
  let row = new Row(cols);
  let x = row.put(0, 'Scale:', true);
  for (const e of legend(kind, scale)) {
    const text = e.upTo === undefined ? '' : `:${formatLatency(e.upTo)} ms`;
    const need = 2 + widthOf(e.symbol.ch) + text.length;
    if (x + need > cols && x > 6) {
      out.push(row.line());
      row = new Row(cols);
      x = row.put(0, '      ');
    }
    x = row.put(x, '  ');
    x = row.put(x, e.symbol.ch, e.symbol.bold, e.symbol.fg);
    x = row.put(x, text);
  }
  out.push(row.line());
  return out;
}

/** One verdict in a few words: where, which rule, PROBLEM when it is one, '?' while only suspected. */
function verdictWords(v: Verdict): string {
  const where = v.hop !== undefined ? `hop ${v.hop} ` : '';
  return `${where}${v.rule}${v.confidence < UNCERTAIN ? '?' : ''}${v.severity === 'problem' ? ' (PROBLEM)' : ''}`;
}

const DIAG_HINT = '  [v: more]';

/** The diagnosis in one line: the verdicts raised now, or why there are none. */
export function diagnosisLine(d: LiveDiagnosis, cols: number): Line {
  const c = d.context;
  const body =
    d.verdicts.length > 0
      ? d.verdicts.map(verdictWords).join('; ')
      : c.windows < c.raiseAfter
        ? `judging: ${c.cycles} cycles; a verdict needs ${c.raiseAfter} windows of ${c.windowCycles} cycles in a row`
        : `no finding (${c.cycles} cycles)`;
  const label = 'Diagnosis:';
  const room = cols - label.length - 1 - DIAG_HINT.length;
  if (room < 8) return [{ text: cut(`${label} ${body}`, cols), bold: true }];
  return [{ text: label, bold: true }, { text: ` ${cut(clean(body), room)}${DIAG_HINT}` }];
}

/** The diagnosis in full (v): the --diagnose section, cut to the screen. */
function diagnosisRows(d: LiveDiagnosis | undefined, cols: number, rows: number): Line[] {
  const body = d === undefined ? ['', 'No diagnosis here.'] : renderDiagnosis(d.verdicts, d.context, cols);
  // the title rows above, a blank line and the way back below
  const room = Math.max(0, rows - 3 - 2);
  const out: Line[] = [];
  for (const l of body.slice(0, room)) {
    const t = cut(clean(l), cols);
    // the headline of each verdict in bold: the words carry the signal, not a colour
    out.push(t === '' ? [] : /^ {2}(hop \d+|path): /.test(t) ? [{ text: t, bold: true }] : [{ text: t }]);
  }
  if (body.length > room && out.length > 0) out[out.length - 1] = [{ text: cut(`  (${body.length - room + 1} more lines: make the window taller)`, cols) }];
  out.push([], [{ text: cut(' v or Esc: back to the hops', cols), bold: true }]);
  return out;
}

/** Blocks from `scroll` into `avail` rows, with markers; returns the lines and the clamped scroll. */
function fit(blocks: readonly Block[], scroll: number, avail: number, cols: number): { lines: Line[]; scroll: number; above: number } {
  const count = (from: number): number => blocks.slice(from).reduce((a, b) => a + b.lines.length, 0);
  if (count(0) <= avail) return { lines: blocks.flatMap((b) => b.lines), scroll: 0, above: 0 };
  let maxScroll = blocks.length - 1;
  while (maxScroll > 0 && count(maxScroll - 1) <= avail) maxScroll--;
  const s = Math.max(0, Math.min(scroll, maxScroll));
  const all = blocks.slice(s).flatMap((b) => b.lines);
  if (all.length <= avail) return { lines: all, scroll: s, above: s };
  const room = Math.max(0, avail - 1);
  const shown = all.slice(0, room);
  // hops whose first line is not shown
  let lines = 0;
  let hidden = 0;
  for (const b of blocks.slice(s)) {
    if (lines >= room) hidden++;
    lines += b.lines.length;
  }
  shown.push([{ text: cut(` [v ${hidden} more hop${hidden === 1 ? '' : 's'} below: + or PgDn]`, cols), bold: true }]);
  return { lines: shown, scroll: s, above: s };
}

export function renderScreen(snap: LiveSnapshot, names: LiveNames, view: ViewState): Frame {
  const { cols, rows } = view;
  const out: Line[] = titleRows(snap, view);
  let scroll = view.scroll;

  if (view.help) {
    for (const h of HELP) out.push(new Row(cols).line().concat(h === '' ? [] : [{ text: cut(h, cols) }]));
    return { lines: pad(out, rows), scroll };
  }
  const hops = snap.hops;
  const diag: Line[] = snap.diagnosis !== undefined ? [[], diagnosisLine(snap.diagnosis, cols)] : [];

  if (view.prompt?.kind === 'o') {
    const [p2, p3] = promptRows(view);
    out[2] = p2;
    out.push(p3);
    for (const f of LIVE_FIELDS) out.push([{ text: cut(`  ${f.remark}`, cols) }]);
    return { lines: pad(out, rows), scroll };
  }

  if (view.diagnosis) out.push(...diagnosisRows(snap.diagnosis, cols, rows));
  else if (view.mode === 0 || view.mode === 3) {
    const fields = fittingFields(view.order, cols);
    const hd = widthOfFields(fields);
    const startstat = Math.max(0, cols - hd - 1);
    const r3 = new Row(cols);
    r3.put(startstat, '   Packets               Pings', true);
    const r4 = new Row(cols);
    r4.put(0, ' Host', true);
    r4.put(startstat, titlesOf(fields), true);
    let spark: { x: number; w: number; scale: Scale } | undefined;
    let tail: Line[] = diag;
    if (view.mode === 3) {
      const w = Math.min(40, startstat - 4 - 20 - 1);
      if (w >= 5) {
        const scale = view.scale !== undefined ? fixedScale(view.scale) : dynamicScale(hops.map((h) => h.samples.slice(-w)), SPARK_BUCKETS);
        spark = { x: startstat - w, w, scale };
        r4.put(spark.x, cut(`Last ${w}`, w), true);
        tail = [[], ...legendLines('spark', scale, cols), ...diag.slice(1)];
      }
    }
    out.push(r3.line(), r4.line());
    const avail = rows - HEADER_ROWS - tail.length;
    const blocks = hops.map((h) => statsBlock(h, names, view, fields, startstat, spark));
    const f = fit(blocks, scroll, avail, cols);
    scroll = f.scroll;
    if (f.above > 0) out[4] = markAbove(r4, f.above);
    out.push(...f.lines, ...tail);
  } else {
    const kind: ChartKind = view.mode === 1 ? 'blockmap' : 'scaled';
    const padding = CHART_PADDING + (view.ipinfo !== undefined ? ipinfoWidth(view.ipinfo) : 0);
    const startstat = padding - 2;
    const w = Math.max(0, Math.min(cols - padding, SAVED_SAMPLES));
    const scale = view.scale !== undefined ? fixedScale(view.scale) : dynamicScale(hops.map((h) => h.samples.slice(-w)), STRIP_BUCKETS);
    out.push([]);
    const r4 = new Row(cols);
    r4.put(startstat, ` Last ${String(w).padStart(3, ' ')} pings`);
    out.push(r4.line());
    const tail = [[], ...legendLines(kind, scale, cols), ...diag.slice(1)];
    const avail = rows - HEADER_ROWS - tail.length;
    const blocks = hops.map((h) => chartBlock(h, names, view, kind, scale, startstat, w));
    const f = fit(blocks, scroll, avail, cols);
    scroll = f.scroll;
    if (f.above > 0) out[4] = markAbove(r4, f.above);
    out.push(...f.lines, ...tail);
  }

  if (view.prompt !== undefined) {
    const [p2, p3] = promptRows(view);
    out[2] = p2;
    out[3] = p3;
  } else if (view.message !== undefined) {
    out[3] = [{ text: cut(view.message, cols), bold: true }];
  }
  return { lines: pad(out, rows), scroll };
}

function markAbove(r4: Row, above: number): Line {
  r4.put(0, ` Host [^ ${above} above]`, true);
  return r4.line();
}

function pad(lines: Line[], rows: number): Line[] {
  const out = lines.slice(0, rows);
  while (out.length < rows) out.push([]);
  return out;
}
