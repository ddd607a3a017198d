// The diagnosis (frontend/src/diagnose) as the live view shows it: one TargetDiagnosis for the shown
// target, fed from the engine's events, judged in windows of 50 cycles that overlap by half (the same
// schedule as `--diagnose` on a run without -c); started again on `r` and on a change of what is
// measured (the engine's target-reset).
//
// A window is judged only when one is due: the engine's snapshot is taken then, not on every cycle, so
// the diagnosis costs the live view next to nothing between windows.

import { scheduleFor, TargetDiagnosis, type DiagnosisContext, type SnapshotLike, type Verdict } from '../diagnose/index.js';

/** What the screen shows of the diagnosis (snapshot.ts's LiveSnapshot carries it). */
export interface LiveDiagnosis {
  /** raised now, in path order */
  readonly verdicts: readonly Verdict[];
  readonly context: DiagnosisContext;
}

export interface DiagnosisEvent {
  readonly type: string;
  readonly target?: { readonly id: number } | undefined;
}

export class LiveDiagnoser {
  private run: TargetDiagnosis;
  /** cycles done since the diagnosis (re)started */
  private cycles = 0;
  private current: LiveDiagnosis;

  constructor(
    private readonly id: number,
    private readonly snapshot: () => SnapshotLike | undefined,
    private readonly interval: () => number,
  ) {
    this.run = this.fresh();
    this.current = { verdicts: [], context: this.run.context() };
  }

  private fresh(): TargetDiagnosis {
    this.cycles = 0;
    return new TargetDiagnosis(scheduleFor(undefined, this.interval()));
  }

  /** Returns true when what the screen shows of the diagnosis changed. */
  onEvent(e: DiagnosisEvent): boolean {
    if (e.target?.id !== this.id) return false;
    if (e.type === 'target-reset') {
      this.run = this.fresh();
      this.current = { verdicts: [], context: this.run.context() };
      return true;
    }
    if (e.type !== 'cycle-done') return false;
    this.cycles++;
    const { windowCycles, step, lagCycles } = this.run.schedule;
    const first = windowCycles + lagCycles;
    const due = this.cycles >= first && (this.cycles - first) % step === 0;
    const s = due ? this.snapshot() : undefined;
    if (s !== undefined) {
      this.run.onCycle(s);
      this.current = { verdicts: this.run.active(), context: { ...this.run.context(), cycles: this.cycles } };
      return true;
    }
    // only the count of cycles moved (the expanded view and the line before the first window show it)
    const c = this.current.context;
    const tooThin = c.tooThin?.replace(/^\d+ cycles/, `${this.cycles} cycles`);
    this.current = { ...this.current, context: { ...c, cycles: this.cycles, tooThin } };
    return this.current.context.windows === 0;
  }

  get state(): LiveDiagnosis {
    return this.current;
  }
}
