// The HTML report (--html FILE): the trace table, the verdicts and a per-hop latency chart, in one
// self-contained page (inline CSS and SVG; no script, no font, no image, no link to anything) that can be
// attached to a ticket. Pure: report in, text out.

import type { EarlierVerdict } from './text.js';
import { UNCERTAIN, type Severity, type Verdict } from './types.js';

export interface HtmlHop {
  readonly ttl: number;
  /** what the table shows: a name, an address, or ??? */
  readonly host: string;
  /** every responder when more than one answered */
  readonly others?: readonly string[] | undefined;
  readonly lossPercent: number;
  readonly sent: number;
  readonly received: number;
  /** ms; undefined without answers */
  readonly last?: number | undefined;
  readonly best?: number | undefined;
  readonly avg?: number | undefined;
  readonly worst?: number | undefined;
  readonly stdev?: number | undefined;
  readonly median?: number | undefined;
  readonly p95?: number | undefined;
}

export interface HtmlReport {
  readonly target: string;
  readonly targetAddress: string;
  readonly localHostname: string;
  /** ms since the epoch */
  readonly startTime: number;
  readonly protocol: string;
  readonly probeSize: number;
  readonly cycles: number;
  readonly interval: number;
  readonly hops: readonly HtmlHop[];
  readonly verdicts: readonly Verdict[];
  /** the diagnosis line under the verdicts, e.g. how many windows were judged */
  readonly diagnosisNote: string;
  /** verdicts raised and cleared again during the run */
  readonly earlier?: readonly EarlierVerdict[] | undefined;
  readonly generator: string;
}

/** Colours, exported so the screenshot test looks for the same ones. */
export const HTML_COLOURS = Object.freeze({
  problem: '#c62828',
  warning: '#ef6c00',
  info: '#1565c0',
  ok: '#2e7d32',
  median: '#6a1b9a',
  range: '#90a4ae',
  box: '#ce93d8',
});

const SEVERITY_COLOUR: Record<Severity, string> = {
  problem: HTML_COLOURS.problem,
  warning: HTML_COLOURS.warning,
  info: HTML_COLOURS.info,
};
const SEVERITY_WORD: Record<Severity, string> = { problem: 'Problem', warning: 'Warning', info: 'Note' };

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const num = (v: number | undefined, digits = 1): string =>
  v === undefined || !Number.isFinite(v) ? '' : v.toFixed(digits);

function lossColour(p: number): string {
  if (p <= 0) return HTML_COLOURS.ok;
  if (p < 10) return HTML_COLOURS.warning;
  return HTML_COLOURS.problem;
}

function worstSeverityAt(verdicts: readonly Verdict[], ttl: number): Severity | undefined {
  const order: Severity[] = ['problem', 'warning', 'info'];
  for (const s of order) if (verdicts.some((v) => v.hop === ttl && v.severity === s)) return s;
  return undefined;
}

/** The per-hop latency chart: Best..Wrst whisker, Best..p95 box, the median as a bar, loss under each hop. */
export function latencyChart(hops: readonly HtmlHop[], verdicts: readonly Verdict[]): string {
  const W = 760;
  const H = 300;
  const left = 56;
  const right = 16;
  const top = 16;
  const plotH = 200;
  const lossTop = top + plotH + 34;
  const lossH = 28;
  const n = Math.max(1, hops.length);
  const step = (W - left - right) / n;
  const upper = Math.max(1, ...hops.map((h) => h.p95 ?? h.worst ?? 0)) * 1.15;
  const ceiling = niceCeil(upper);
  const y = (v: number): number => top + plotH - (Math.min(v, ceiling) / ceiling) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="Latency per hop">`,
  );
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  for (let i = 0; i <= 4; i++) {
    const v = (ceiling * i) / 4;
    const yy = y(v).toFixed(1);
    parts.push(`<line x1="${left}" y1="${yy}" x2="${W - right}" y2="${yy}" stroke="#e0e0e0" stroke-width="1"/>`);
    parts.push(
      `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#555">${escapeHtml(fmtMs(v))}</text>`,
    );
  }
  parts.push(
    `<text x="12" y="${top + plotH / 2}" font-size="11" fill="#555" transform="rotate(-90 12 ${top + plotH / 2})" text-anchor="middle">ms</text>`,
  );
  hops.forEach((h, i) => {
    const cx = left + step * i + step / 2;
    const sev = worstSeverityAt(verdicts, h.ttl);
    if (sev !== undefined) {
      parts.push(
        `<rect x="${(left + step * i + 1).toFixed(1)}" y="${top}" width="${(step - 2).toFixed(1)}" height="${plotH}" fill="${SEVERITY_COLOUR[sev]}" fill-opacity="0.12"/>`,
      );
    }
    const bw = Math.max(4, Math.min(28, step * 0.5));
    if (h.best !== undefined && h.worst !== undefined && h.received > 0) {
      parts.push(
        `<line x1="${cx.toFixed(1)}" y1="${y(h.worst).toFixed(1)}" x2="${cx.toFixed(1)}" y2="${y(h.best).toFixed(1)}" stroke="${HTML_COLOURS.range}" stroke-width="2"/>`,
      );
      const hi = h.p95 ?? h.avg ?? h.best;
      const boxTop = y(hi);
      const boxBottom = y(h.best);
      parts.push(
        `<rect x="${(cx - bw / 2).toFixed(1)}" y="${boxTop.toFixed(1)}" width="${bw.toFixed(1)}" height="${Math.max(2, boxBottom - boxTop).toFixed(1)}" fill="${HTML_COLOURS.box}"/>`,
      );
      const mid = h.median ?? h.avg;
      if (mid !== undefined) {
        parts.push(
          `<rect x="${(cx - bw / 2 - 3).toFixed(1)}" y="${(y(mid) - 2).toFixed(1)}" width="${(bw + 6).toFixed(1)}" height="4" fill="${HTML_COLOURS.median}"/>`,
        );
      }
    }
    parts.push(
      `<text x="${cx.toFixed(1)}" y="${top + plotH + 16}" font-size="11" text-anchor="middle" fill="#333">${h.ttl}</text>`,
    );
    const lossW = Math.max(4, step * 0.7);
    parts.push(
      `<rect x="${(cx - lossW / 2).toFixed(1)}" y="${lossTop}" width="${lossW.toFixed(1)}" height="${lossH}" fill="${h.sent > 0 ? lossColour(h.lossPercent) : '#e0e0e0'}"/>`,
    );
    parts.push(
      `<text x="${cx.toFixed(1)}" y="${lossTop + lossH / 2 + 4}" font-size="10" text-anchor="middle" fill="#fff">${escapeHtml(h.sent > 0 ? `${h.lossPercent.toFixed(0)}%` : '')}</text>`,
    );
  });
  parts.push(
    `<text x="${left - 6}" y="${lossTop + lossH / 2 + 4}" font-size="11" text-anchor="end" fill="#555">loss</text>`,
  );
  parts.push(
    `<text x="${(W + left) / 2}" y="${H - 4}" font-size="11" text-anchor="middle" fill="#555">hop (TTL)</text>`,
  );
  parts.push('</svg>');
  return parts.join('');
}

function niceCeil(v: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmtMs(v: number): string {
  return v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2);
}

const CSS = `
body { font-family: sans-serif; margin: 24px; color: #222; background: #fff; max-width: 1000px; }
h1 { font-size: 20px; margin: 0 0 4px 0; }
h2 { font-size: 16px; margin: 24px 0 8px 0; }
.meta { color: #555; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 3px 8px; text-align: right; border-bottom: 1px solid #eee; }
th { background: #f5f5f5; }
td.host, th.host { text-align: left; font-family: monospace; }
tr.flag-problem td { background: #ffebee; }
tr.flag-warning td { background: #fff3e0; }
tr.flag-info td { background: #e3f2fd; }
.verdict { border-left: 6px solid #999; padding: 6px 12px; margin: 8px 0; background: #fafafa; }
.verdict .rule { font-family: monospace; font-weight: bold; }
.badge { display: inline-block; color: #fff; padding: 1px 8px; border-radius: 3px; font-size: 12px; margin-right: 8px; }
.evidence { font-family: monospace; font-size: 12px; color: #444; }
.none { border-left: 6px solid ${HTML_COLOURS.ok}; padding: 6px 12px; background: #f1f8e9; }
`;

/** One target's section: its verdicts, chart and table. */
function targetSection(r: HtmlReport): string {
  const started = new Date(r.startTime)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  const rows = r.hops
    .map((h) => {
      const sev = worstSeverityAt(r.verdicts, h.ttl);
      const cls = sev !== undefined ? ` class="flag-${sev}"` : '';
      const host =
        escapeHtml(h.host) +
        (h.others !== undefined && h.others.length > 0 ? `<br>${h.others.map(escapeHtml).join('<br>')}` : '');
      const answered = h.received > 0;
      return (
        `<tr${cls}><td>${h.ttl}</td><td class="host">${host}</td>` +
        `<td style="color:${lossColour(h.lossPercent)}">${h.lossPercent.toFixed(1)}%</td><td>${h.sent}</td><td>${h.received}</td>` +
        `<td>${answered ? num(h.last) : ''}</td><td>${answered ? num(h.avg) : ''}</td><td>${answered ? num(h.best) : ''}</td>` +
        `<td>${answered ? num(h.median) : ''}</td><td>${answered ? num(h.p95) : ''}</td><td>${answered ? num(h.worst) : ''}</td>` +
        `<td>${answered ? num(h.stdev) : ''}</td></tr>`
      );
    })
    .join('\n');
  const block = (v: Verdict, note = ''): string => {
    const colour = SEVERITY_COLOUR[v.severity];
    const sure =
      v.confidence < UNCERTAIN
        ? `suspected, confidence ${v.confidence.toFixed(2)}`
        : `confidence ${v.confidence.toFixed(2)}`;
    const ev = Object.entries(v.evidence)
      .map(([k, x]) => `${escapeHtml(k)}=${x}`)
      .join(' ');
    return (
      `<div class="verdict" style="border-left-color:${colour}">` +
      `<span class="badge" style="background:${colour}">${SEVERITY_WORD[v.severity]}</span>` +
      `<span class="rule">${escapeHtml(v.rule)}</span> ${v.hop !== undefined ? `at hop ${v.hop}` : 'on the path'} (${sure})${escapeHtml(note)}` +
      `<p>${escapeHtml(v.summary)}</p><p><b>What to do:</b> ${escapeHtml(v.advice)}</p>` +
      `<div class="evidence">${ev}</div></div>`
    );
  };
  const earlier = (r.earlier ?? [])
    .map((e) => block(e.verdict, `; earlier in the run: windows ending at cycles ${e.raisedAt} to ${e.clearedAt}`))
    .join('\n');
  const verdicts =
    r.verdicts.length === 0
      ? `<div class="none">No finding${earlier !== '' ? ' at the end of the run' : ''}: nothing the numbers can tell apart from noise.</div>${earlier}`
      : r.verdicts.map((v) => block(v)).join('\n') + earlier;
  return (
    `<section>\n<h1>Trace from ${escapeHtml(r.localHostname)} to ${escapeHtml(r.target)}` +
    (r.target !== r.targetAddress ? ` (${escapeHtml(r.targetAddress)})` : '') +
    `</h1>\n<div class="meta">Started ${escapeHtml(started)}; ${r.cycles} cycles, ${escapeHtml(r.protocol.toUpperCase())}, ` +
    `${r.probeSize}-byte probes, interval ${r.interval} s. Made by ${escapeHtml(r.generator)}.</div>\n` +
    `<h2>Diagnosis</h2>\n${verdicts}\n<div class="meta">${escapeHtml(r.diagnosisNote)}</div>\n` +
    `<h2>Latency per hop</h2>\n${latencyChart(r.hops, r.verdicts)}\n` +
    `<div class="meta">Grey line: Best to Wrst; box: Best to p95; bar: median. Bottom row: loss per hop.</div>\n` +
    `<h2>Hops</h2>\n<table><thead><tr><th>Hop</th><th class="host">Host</th><th>Loss%</th><th>Snt</th><th>Rcv</th>` +
    `<th>Last</th><th>Avg</th><th>Best</th><th>Median</th><th>p95</th><th>Wrst</th><th>StDev</th></tr></thead>\n<tbody>\n${rows}\n</tbody></table>\n</section>\n`
  );
}

/** The page: one section per target (usually one). */
export function renderHtml(reports: HtmlReport | readonly HtmlReport[]): string {
  const list: readonly HtmlReport[] = Array.isArray(reports) ? reports : [reports as HtmlReport];
  const title = list.length === 1 ? `Trace to ${list[0]!.target}` : `Traces to ${list.map((r) => r.target).join(', ')}`;
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>\n` +
    list.map(targetSection).join('<hr>\n') +
    `</body></html>\n`
  );
}
