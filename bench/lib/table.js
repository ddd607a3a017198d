// Rows of the result table. A row: { section, figure, ours, ref, ratio?, target, verdict, note }, where ours/ref
// are numbers (formatted with `digits` and `unit`) or strings ('unsupported', 'error: ...', 'n/a').
import { fmtNum } from './stats.js';

export class Table {
  constructor() {
    this.rows = [];
  }

  /**
   * @param {object} r
   * @param {string} r.section
   * @param {string} r.figure
   * @param {number|string|undefined} r.ours
   * @param {number|string|undefined} r.ref
   * @param {number} [r.digits]
   * @param {string} [r.unit]
   * @param {{ kind: 'ratio-max'|'ratio-min'|'abs-max'|'abs-min'|'abs-abs-max', value: number, text: string }} [r.target]
   *   ratio-max: ours/ref ≤ value; ratio-min: ours/ref ≥ value; abs-max: ours ≤ value; abs-min: ours ≥ value;
   *   abs-abs-max: |ours| ≤ value
   * @param {string} [r.note]
   */
  add(r) {
    const num = (x) => typeof x === 'number' && Number.isFinite(x);
    const ratio = !r.noRatio && num(r.ours) && num(r.ref) && r.ref !== 0 ? r.ours / r.ref : undefined;
    let verdict = '—';
    if (r.target) {
      const t = r.target;
      let v;
      if (t.kind === 'ratio-max') v = ratio === undefined ? undefined : ratio <= t.value;
      else if (t.kind === 'ratio-min') v = ratio === undefined ? undefined : ratio >= t.value;
      else if (t.kind === 'abs-max') v = num(r.ours) ? r.ours <= t.value : undefined;
      else if (t.kind === 'abs-min') v = num(r.ours) ? r.ours >= t.value : undefined;
      else if (t.kind === 'abs-abs-max') v = num(r.ours) ? Math.abs(r.ours) <= t.value : undefined;
      else if (t.kind === 'bool') v = r.ok;
      const word = typeof r.ours === 'string' ? r.ours.split(':')[0] : 'n/a';
      verdict = v === undefined ? (['unsupported', 'error', 'n/a'].includes(word) ? word : '**missed**') : v ? 'met' : '**missed**';
    }
    const cell = (x) => (num(x) ? `${fmtNum(x, r.digits ?? 0)}${r.unit ? ` ${r.unit}` : ''}` : x === undefined ? 'n/a' : String(x));
    this.rows.push({
      section: r.section,
      figure: r.figure,
      ours: cell(r.ours),
      ref: cell(r.ref),
      ratio: ratio === undefined ? '—' : `${fmtNum(ratio, ratio >= 10 ? 0 : ratio >= 1 ? 2 : 3)}x`,
      target: r.target?.text ?? 'info',
      verdict,
      note: r.note ?? '',
    });
  }

  markdown() {
    const esc = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
    const head = ['Section', 'Figure', 'ours (mtr-packet-ts)', 'reference (mtr-packet 0.95)', 'ours/ref', 'target', 'verdict', 'notes'];
    const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
    for (const r of this.rows) {
      lines.push(`| ${[r.section, r.figure, r.ours, r.ref, r.ratio, r.target, r.verdict, r.note].map(esc).join(' | ')} |`);
    }
    return lines.join('\n');
  }
}
