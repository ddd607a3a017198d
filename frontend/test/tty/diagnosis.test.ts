// The diagnosis in the live view: the one line under the hops, the full view on v, the Keys line and
// the help; and LiveDiagnoser, which feeds the diagnosis from the engine's events.
import { describe, expect, it } from 'vitest';
import type { SnapshotLike, Verdict } from '../../src/diagnose/index.js';
import { LiveDiagnoser, type LiveDiagnosis } from '../../src/tty/diagnosis.js';
import { reduceKey } from '../../src/tty/keys.js';
import { diagnosisLine, lineText, renderScreen, type Line } from '../../src/tty/screen.js';
import { initialView, type ViewState } from '../../src/tty/view.js';
import { widthOf } from '../../src/tty/width.js';
import { golden, loadFixture } from './fixture.js';

process.env['TZ'] = 'UTC';

const text = (lines: readonly Line[]): string => lines.map(lineText).join('\n').replace(/\n+$/, '') + '\n';
const view = (o: Partial<ViewState> = {}): ViewState => initialView({ cols: 100, rows: 30, version: 'mtr-ts 0.1.0', ...o });

const rateLimited: Verdict = {
  rule: 'icmp-rate-limited',
  hop: 2,
  confidence: 0.97,
  severity: 'info',
  evidence: { loss: 0.42, carried: 0 },
  facts: {},
  summary: 'Hop 2 loses 42% of the probes sent to it, but no hop after it loses any: it limits the ICMP it sends, no traffic is lost there.',
  advice: 'Nothing to do: read the loss at the hops after it.',
};
const forwarding: Verdict = {
  rule: 'forwarding-loss',
  hop: 4,
  confidence: 0.7,
  severity: 'problem',
  evidence: { loss: 0.3 },
  facts: {},
  summary: 'Loss enters at hop 4 and carries on to the destination: about 30% of traffic is lost on the path.',
  advice: 'Report it to whoever runs hop 4, with this trace.',
};
const context = { cycles: 120, windows: 4, windowCycles: 50, raiseAfter: 2 };
const judged: LiveDiagnosis = { verdicts: [rateLimited, forwarding], context };

describe('the diagnosis line', () => {
  const { snapshot, names } = loadFixture('lab5');
  const withDiag = { ...snapshot, diagnosis: judged };

  it('under the hops after a blank line: where, which rule, PROBLEM, ? while only suspected; golden at 100x30', () => {
    const lines = renderScreen(withDiag, names, view()).lines.map(lineText);
    const at = lines.findIndex((l) => l.startsWith('Diagnosis:'));
    expect(at).toBeGreaterThan(5);
    expect(lines[at - 1]).toBe('');
    expect(lines[at - 2]).toMatch(/^ ?\d+\. /);
    expect(lines[at]).toBe('Diagnosis: hop 2 icmp-rate-limited; hop 4 forwarding-loss? (PROBLEM)  [v: more]');
    const t = text(renderScreen(withDiag, names, view()).lines);
    expect(t).toBe(golden('lab5.diagnosis.txt', t));
  });

  it('the word Diagnosis is bold; the line is cut to the width with the key kept', () => {
    const l = diagnosisLine(judged, 50);
    expect(l[0]).toEqual({ text: 'Diagnosis:', bold: true });
    expect(widthOf(lineText(l))).toBeLessThanOrEqual(50);
    expect(lineText(l)).toMatch(/… {2}\[v: more\]$/);
  });

  it('before two windows: judging, with the cycles so far; after them with no verdict: no finding', () => {
    expect(lineText(diagnosisLine({ verdicts: [], context: { ...context, cycles: 37, windows: 0 } }, 100))).toBe(
      'Diagnosis: judging: 37 cycles; a verdict needs 2 windows of 50 cycles in a row  [v: more]',
    );
    expect(lineText(diagnosisLine({ verdicts: [], context }, 100))).toBe('Diagnosis: no finding (120 cycles)  [v: more]');
  });

  it('no diagnosis in the snapshot: no line, and the Keys line is mtr\'s', () => {
    const lines = renderScreen(snapshot, names, view()).lines.map(lineText);
    expect(lines.some((l) => l.startsWith('Diagnosis'))).toBe(false);
    expect(lines[2]).toBe('Keys:  Help   Display mode   Restart statistics   Order of fields   quit');
  });

  it('the Keys line names V (bold) when it fits, and stays mtr\'s at 80 columns', () => {
    const f = renderScreen(withDiag, names, view()).lines;
    expect(lineText(f[2] as Line)).toBe('Keys:  Help   Display mode   Restart statistics   Order of fields   quit   Verdicts');
    expect((f[2] as Line).filter((s) => s.bold).map((s) => s.text).join('')).toBe('HDROqV');
    expect(lineText(renderScreen(withDiag, names, view({ cols: 80, rows: 24 })).lines[2] as Line)).toBe(
      'Keys:  Help   Display mode   Restart statistics   Order of fields   quit',
    );
  });

  it('in every display mode, and at 80x24 the hops still all fit', () => {
    for (const mode of [0, 1, 2, 3] as const) {
      const lines = renderScreen(withDiag, names, view({ mode })).lines.map(lineText);
      expect(lines.filter((l) => l.startsWith('Diagnosis: hop 2 icmp-rate-limited'))).toHaveLength(1);
    }
    const small = renderScreen(withDiag, names, view({ cols: 80, rows: 24 })).lines.map(lineText);
    expect(small).toHaveLength(24);
    expect(small.some((l) => l.startsWith('Diagnosis:'))).toBe(true);
    expect(small.some((l) => l.startsWith(' 5. target.example.org'))).toBe(true);
  });

  it('v: the diagnosis in full instead of the hops (headlines bold), v or Esc back; help lists v', () => {
    const v1 = reduceKey(view(), 'v').view;
    expect(v1.diagnosis).toBe(true);
    const f = renderScreen(withDiag, names, v1).lines;
    const t = f.map(lineText);
    expect(t).toContain('  hop 2: icmp-rate-limited (note; confidence 0.97)');
    expect(t).toContain('  hop 4: forwarding-loss (PROBLEM; suspected, confidence 0.70)');
    expect(t.some((l) => /^\s+What to do: Nothing to do/.test(l))).toBe(true);
    expect(t.some((l) => /^ ?\d+\. /.test(l))).toBe(false);
    expect(t).toContain(' v or Esc: back to the hops');
    const head = f.find((l) => lineText(l).startsWith('  hop 4:')) as Line;
    expect(head[0]?.bold).toBe(true);
    expect(text(f)).toBe(golden('lab5.diagnosis-full.txt', text(f)));
    expect(reduceKey(v1, 'v').view.diagnosis).toBe(false);
    expect(reduceKey(v1, 'Escape').view.diagnosis).toBe(false);
    expect(reduceKey(v1, 'V').view.diagnosis).toBe(false);
    const help = renderScreen(withDiag, names, view({ help: true })).lines.map(lineText);
    expect(help.some((l) => /^ {2}v {7}the diagnosis/.test(l))).toBe(true);
  });

  it('the full view on a short screen says how much is left out', () => {
    const t = renderScreen(withDiag, names, view({ rows: 12, diagnosis: true })).lines.map(lineText);
    expect(t).toHaveLength(12);
    expect(t.some((l) => /more lines: make the window taller/.test(l))).toBe(true);
    expect(t[11]).toBe(' v or Esc: back to the hops');
  });
});

describe('LiveDiagnoser', () => {
  const snap = (cycles: number): SnapshotLike => ({
    target: { address: '10.0.4.2', family: 4 },
    options: { protocol: 'icmp', psize: 64, firstTtl: 1, maxTtl: 30 },
    cycles,
    hops: [],
  });
  const cycle = { type: 'cycle-done', target: { id: 7 } };

  it('takes a snapshot only when a window is due (interval 0.1 s: cycles 70, 95, 120, ...)', () => {
    let cycles = 0;
    const taken: number[] = [];
    const d = new LiveDiagnoser(7, () => (taken.push(cycles), snap(cycles)), () => 0.1);
    for (cycles = 1; cycles <= 130; cycles++) d.onEvent(cycle);
    expect(taken).toEqual([70, 95, 120]);
    expect(d.state.context.cycles).toBe(130);
    expect(d.state.context.windows).toBe(3);
  });

  it('counts cycles before the first window; other targets and events are not its business; a reset starts again', () => {
    const d = new LiveDiagnoser(7, () => snap(0), () => 1);
    for (let i = 0; i < 5; i++) d.onEvent(cycle);
    expect(d.onEvent({ type: 'cycle-done', target: { id: 8 } })).toBe(false);
    expect(d.onEvent({ type: 'probe-sent', target: { id: 7 } })).toBe(false);
    expect(d.state.context.cycles).toBe(5);
    expect(d.state.context.tooThin).toMatch(/^5 cycles/);
    expect(d.onEvent({ type: 'target-reset', target: { id: 7 } })).toBe(true);
    expect(d.state.context.cycles).toBe(0);
    expect(d.state.verdicts).toEqual([]);
  });
});
