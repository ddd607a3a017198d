// The "Diagnosis" section printed after a report (--diagnose): plain language, hop numbers, the numbers.
// Pure: verdicts in, lines out.

import { UNCERTAIN, type Severity, type Verdict } from './types.js';

export interface DiagnosisContext {
  /** cycles the run made */
  readonly cycles: number;
  /** windows judged, and cycles per window */
  readonly windows: number;
  readonly windowCycles: number;
  /** windows a verdict must hold in a row */
  readonly raiseAfter: number;
  /** why nothing could be judged, if so (too few probes) */
  readonly tooThin?: string | undefined;
  /** verdicts raised and cleared again during the run, with the cycles of the windows that raised and cleared them */
  readonly earlier?: readonly EarlierVerdict[] | undefined;
}

export interface EarlierVerdict {
  readonly verdict: Verdict;
  readonly raisedAt: number;
  readonly clearedAt: number;
}

const SEVERITY_WORD: Record<Severity, string> = { info: 'note', warning: 'warning', problem: 'PROBLEM' };

/** Greedy word wrap at `width` columns, every line starting with `indent`. */
export function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    if (line.length > 0 && indent.length + line.length + 1 + word.length > width) {
      out.push(indent + line);
      line = word;
    } else line = line.length > 0 ? `${line} ${word}` : word;
  }
  if (line.length > 0) out.push(indent + line);
  return out;
}

export function verdictHeadline(v: Verdict): string {
  const where = v.hop !== undefined ? `hop ${v.hop}` : 'path';
  const sure =
    v.confidence < UNCERTAIN
      ? `suspected, confidence ${v.confidence.toFixed(2)}`
      : `confidence ${v.confidence.toFixed(2)}`;
  return `${where}: ${v.rule} (${SEVERITY_WORD[v.severity]}; ${sure})`;
}

export function renderDiagnosis(verdicts: readonly Verdict[], ctx: DiagnosisContext, width = 100): string[] {
  const lines: string[] = [''];
  const judged =
    ctx.windows > 0
      ? `${ctx.windows} window${ctx.windows === 1 ? '' : 's'} of ${ctx.windowCycles} cycles, ` +
        `each verdict held in ${ctx.raiseAfter} in a row`
      : 'no complete window';
  lines.push(`Diagnosis (${ctx.cycles} cycles; ${judged}):`);
  const earlier = ctx.earlier ?? [];
  if (verdicts.length === 0 && earlier.length === 0) {
    if (ctx.tooThin !== undefined) lines.push(...wrap(`Nothing can be judged yet: ${ctx.tooThin}`, width, '  '));
    else
      lines.push(
        ...wrap(
          'No finding: no hop shows loss, latency or a path shape that the numbers can tell apart from noise.',
          width,
          '  ',
        ),
      );
    return lines;
  }
  if (verdicts.length === 0) lines.push('  No finding at the end of the run.');
  for (const v of verdicts) {
    lines.push(`  ${verdictHeadline(v)}`);
    lines.push(...wrap(v.summary, width, '    '));
    lines.push(...wrap(`What to do: ${v.advice}`, width, '    '));
  }
  if (earlier.length > 0) {
    lines.push('Earlier in the run (no longer seen at its end):');
    for (const e of earlier) {
      lines.push(
        `  ${verdictHeadline(e.verdict)}; from the window ending at cycle ${e.raisedAt} to the one ending at ${e.clearedAt}`,
      );
      lines.push(...wrap(e.verdict.summary, width, '    '));
    }
  }
  return lines;
}
