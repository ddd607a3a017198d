// Hysteresis across consecutive windows: a verdict is raised once its rule held at the same hop in
// `raiseAfter` windows in a row, and cleared after `clearAfter` windows in a row without it. A window in which
// the path changed judges nothing but the change: it neither confirms nor clears the other verdicts, and a
// verdict still building up starts again after it.
//
// The step is a pure function of (state, window's verdicts); DiagnosisTracker wraps it for callers that
// keep one per target.

import { diagnose } from './rules.js';
import type { DiagnoseOptions, PathEvidence, RuleId, Verdict } from './types.js';

export interface TrackerOptions {
  /** consecutive windows a verdict must hold before it is raised (default 2) */
  readonly raiseAfter: number;
  /** consecutive windows without it before a raised verdict is cleared (default 2) */
  readonly clearAfter: number;
  /** rules raised on the first window that shows them (default: path-changed, which is an event) */
  readonly immediate: readonly RuleId[];
}

export const DEFAULT_TRACKER_OPTIONS: TrackerOptions = Object.freeze({
  raiseAfter: 2,
  clearAfter: 2,
  immediate: Object.freeze(['path-changed'] as RuleId[]),
});

interface Entry {
  readonly streak: number;
  readonly misses: number;
  readonly active: boolean;
  readonly verdict: Verdict;
}

export interface TrackerState {
  readonly windows: number;
  readonly entries: ReadonlyMap<string, Entry>;
}

export const EMPTY_TRACKER: TrackerState = Object.freeze({ windows: 0, entries: new Map<string, Entry>() });

export interface TrackerStep {
  readonly state: TrackerState;
  /** raised in this window */
  readonly raised: readonly Verdict[];
  /** cleared in this window (the verdict as last seen) */
  readonly cleared: readonly Verdict[];
  /** every raised verdict after this window, with its latest evidence */
  readonly active: readonly Verdict[];
}

export function verdictKey(v: Pick<Verdict, 'rule' | 'hop'>): string {
  return `${v.rule}@${v.hop ?? '-'}`;
}

/** One window's verdicts through the hysteresis. `pathChanged` marks a window whose other verdicts are void. */
export function trackStep(
  state: TrackerState,
  verdicts: readonly Verdict[],
  pathChanged: boolean,
  options: Partial<TrackerOptions> = {},
): TrackerStep {
  const o: TrackerOptions = { ...DEFAULT_TRACKER_OPTIONS, ...options };
  const next = new Map<string, Entry>();
  const raised: Verdict[] = [];
  const cleared: Verdict[] = [];
  const seen = new Map<string, Verdict>();
  for (const v of verdicts) if (!seen.has(verdictKey(v))) seen.set(verdictKey(v), v);

  const needed = (rule: RuleId): number => (o.immediate.includes(rule) ? 1 : o.raiseAfter);

  for (const [key, e] of state.entries) {
    const v = seen.get(key);
    if (v !== undefined) continue; // handled below
    if (pathChanged && e.verdict.rule !== 'path-changed') {
      // a void window: raised verdicts hold, building ones start again
      if (e.active) next.set(key, { ...e, streak: 0 });
      continue;
    }
    if (!e.active) continue; // a candidate that did not hold again: forgotten
    const misses = e.misses + 1;
    if (misses >= o.clearAfter) cleared.push(e.verdict);
    else next.set(key, { ...e, misses, streak: 0 });
  }
  for (const [key, v] of seen) {
    const e = state.entries.get(key);
    const streak = (e?.streak ?? 0) + 1;
    const active = e?.active === true || streak >= needed(v.rule);
    if (active && e?.active !== true) raised.push(v);
    next.set(key, { streak, misses: 0, active, verdict: v });
  }
  const active = [...next.values()].filter((e) => e.active).map((e) => e.verdict);
  return { state: { windows: state.windows + 1, entries: next }, raised, cleared, active: sortVerdicts(active) };
}

/** Path order: by hop (path-wide verdicts first), then by rule id order. */
export function sortVerdicts(vs: readonly Verdict[]): Verdict[] {
  return [...vs].sort((a, b) => (a.hop ?? 0) - (b.hop ?? 0) || a.rule.localeCompare(b.rule));
}

/** One target's diagnosis over its windows. */
export class DiagnosisTracker {
  private state: TrackerState = EMPTY_TRACKER;

  constructor(
    private readonly diagnoseOptions: Partial<DiagnoseOptions> = {},
    private readonly trackerOptions: Partial<TrackerOptions> = {},
  ) {}

  /** Judge one window; returns what was raised and cleared by it. */
  update(path: PathEvidence): TrackerStep {
    const step = trackStep(this.state, diagnose(path, this.diagnoseOptions), path.pathChanged, this.trackerOptions);
    this.state = step.state;
    return step;
  }

  /**
   * Judges `path` (the latest window, now with probes of another kind) again and replaces the verdicts
   * `revisable` selects by what that judgment says: confirmation changes the explanation of evidence
   * already held long enough, so the replacements are raised at once. `before` is the same window without
   * the new probes: an active verdict that window does not raise either (held from earlier windows while the
   * latest one was inconclusive, e.g. a hop with no answer in it) is not the new probes' to clear, and stays.
   */
  revise(
    path: PathEvidence,
    before: PathEvidence,
    revisable: (v: Verdict) => boolean,
  ): { raised: Verdict[]; cleared: Verdict[] } {
    const fresh = diagnose(path, this.diagnoseOptions).filter(revisable);
    const judgedBefore = new Set(diagnose(before, this.diagnoseOptions).map(verdictKey));
    const entries = new Map(this.state.entries);
    const cleared: Verdict[] = [];
    const raised: Verdict[] = [];
    const freshKeys = new Set(fresh.map(verdictKey));
    for (const [key, e] of this.state.entries) {
      if (!e.active || !revisable(e.verdict)) continue;
      if (!freshKeys.has(key) && !judgedBefore.has(key)) continue;
      entries.delete(key);
      if (!freshKeys.has(key)) cleared.push(e.verdict);
    }
    for (const v of fresh) {
      const before = this.state.entries.get(verdictKey(v));
      if (before?.active !== true) raised.push(v);
      entries.set(verdictKey(v), {
        streak: this.trackerOptions.raiseAfter ?? DEFAULT_TRACKER_OPTIONS.raiseAfter,
        misses: 0,
        active: true,
        verdict: v,
      });
    }
    this.state = { windows: this.state.windows, entries };
    return { raised, cleared };
  }

  get windows(): number {
    return this.state.windows;
  }

  active(): Verdict[] {
    return sortVerdicts([...this.state.entries.values()].filter((e) => e.active).map((e) => e.verdict));
  }
}
