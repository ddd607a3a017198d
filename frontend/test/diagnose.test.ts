// The diagnosis rules and their hysteresis, driven by the scenario files in fixtures/diagnose/, plus the
// interval arithmetic they rest on and the text section.

import { describe, expect, it } from 'vitest';
import {
  DiagnosisTracker,
  RULE_IDS,
  diagnose,
  lossInterval,
  renderDiagnosis,
  verdictKey,
  wilson,
  type Verdict,
} from '../src/diagnose/index.js';
import { loadScenarios, pathOf, type Scenario } from './diagnose-fixtures.js';

const scenarios = loadScenarios();
const keys = (vs: readonly Verdict[]): string[] => vs.map(verdictKey).sort();

function checkDetails(s: Scenario, vs: readonly Verdict[]): void {
  for (const [key, [lo, hi]] of Object.entries(s.confidence ?? {})) {
    const v = vs.find((x) => verdictKey(x) === key);
    expect(v, `${key} present for its confidence check`).toBeDefined();
    expect(v!.confidence, `${key} confidence`).toBeGreaterThanOrEqual(lo);
    expect(v!.confidence, `${key} confidence`).toBeLessThanOrEqual(hi);
  }
  for (const [key, words] of Object.entries(s.says ?? {})) {
    const v = vs.find((x) => verdictKey(x) === key);
    expect(v, `${key} present for its text check`).toBeDefined();
    for (const w of words) expect(`${v!.summary} ${v!.advice}`).toContain(w);
  }
  for (const [key, nums] of Object.entries(s.evidence ?? {})) {
    const v = vs.find((x) => verdictKey(x) === key);
    expect(v, `${key} present for its evidence check`).toBeDefined();
    for (const [name, value] of Object.entries(nums))
      expect(v!.evidence[name], `${key} evidence ${name}`).toBeCloseTo(value, 2);
  }
}

describe('diagnosis scenarios (fixtures/diagnose)', () => {
  it('there are scenarios for every rule id', () => {
    const covered = new Set<string>();
    for (const s of scenarios) {
      for (const w of [s, ...(s.windows ?? [])])
        for (const k of [...(w.expect ?? []), ...(w.active ?? [])]) covered.add(k.split('@')[0]!);
    }
    expect([...RULE_IDS].filter((r) => !covered.has(r))).toEqual([]);
  });

  for (const s of scenarios.filter((x) => x.windows === undefined)) {
    it(`${s.name}: ${s.about}`, () => {
      const vs = diagnose(pathOf(s, s));
      expect(keys(vs)).toEqual([...(s.expect ?? [])].sort());
      for (const v of vs) {
        expect(v.confidence).toBeGreaterThanOrEqual(0);
        expect(v.confidence).toBeLessThanOrEqual(1);
        expect(v.summary.length).toBeGreaterThan(20);
        expect(v.advice.length).toBeGreaterThan(20);
        for (const n of Object.values(v.evidence)) expect(Number.isFinite(n)).toBe(true);
      }
      checkDetails(s, vs);
    });
  }

  for (const s of scenarios.filter((x) => x.windows !== undefined)) {
    it(`${s.name}: ${s.about}`, () => {
      const t = new DiagnosisTracker();
      s.windows!.forEach((w, i) => {
        const step = t.update(pathOf(s, w));
        const at = `window ${i + 1}`;
        if (w.active !== undefined) expect(keys(step.active), `${at}: active`).toEqual([...w.active].sort());
        expect(keys(step.raised), `${at}: raised`).toEqual([...(w.raised ?? [])].sort());
        expect(keys(step.cleared), `${at}: cleared`).toEqual([...(w.cleared ?? [])].sort());
        expect(keys(t.active())).toEqual(keys(step.active));
      });
    });
  }
});

describe('Wilson intervals', () => {
  it('match published values', () => {
    // 30 of 100: [21.9%, 39.6%]; 0 of 50: upper 7.1%; 50 of 50: lower 92.9%
    const a = wilson(30, 100);
    expect(a.lo).toBeCloseTo(0.2189, 3);
    expect(a.hi).toBeCloseTo(0.3958, 3);
    expect(wilson(0, 50).lo).toBe(0);
    expect(wilson(0, 50).hi).toBeCloseTo(0.0713, 3);
    expect(wilson(50, 50).hi).toBe(1);
    expect(wilson(50, 50).lo).toBeCloseTo(0.9287, 3);
    expect(wilson(0, 0)).toEqual({ p: 0, lo: 0, hi: 1, n: 0 });
  });
  it('loss interval counts the unanswered probes', () => {
    expect(lossInterval(100, 70).p).toBeCloseTo(0.3, 9);
    expect(lossInterval(10, 12).p).toBe(0); // more answers than probes (duplicates) is no negative loss
  });
});

describe('text section', () => {
  const rl = scenarios.find((s) => s.name === 'icmp-rate-limited')!;
  it('names the hop, the rule, the numbers and the advice', () => {
    const lines = renderDiagnosis(diagnose(pathOf(rl, rl)), {
      cycles: 50,
      windows: 2,
      windowCycles: 50,
      raiseAfter: 2,
    });
    const text = lines.join('\n');
    expect(lines[1]).toBe('Diagnosis (50 cycles; 2 windows of 50 cycles, each verdict held in 2 in a row):');
    expect(text).toContain('hop 2: icmp-rate-limited (note; confidence 0.99)');
    expect(text).toMatch(/loses 80% \(40 of 50; 95% interval 67%-89%\)/);
    expect(text).toContain('What to do: Ignore hop 2');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(100);
  });
  it('says when there is nothing, and why when the evidence is thin', () => {
    const none = renderDiagnosis([], { cycles: 100, windows: 4, windowCycles: 25, raiseAfter: 2 }).join('\n');
    expect(none).toContain('No finding');
    const thin = renderDiagnosis([], {
      cycles: 5,
      windows: 0,
      windowCycles: 25,
      raiseAfter: 2,
      tooThin: '5 probes per hop; at least 20 needed',
    }).join('\n');
    expect(thin).toContain('Nothing can be judged yet: 5 probes per hop; at least 20 needed');
    expect(thin).toContain('no complete window');
  });
});
