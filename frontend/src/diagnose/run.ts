// One target's diagnosis over a run: when a window is judged, which cycles it covers, and the hysteresis.
//
// A window is `windowCycles` cycles. It is judged once its newest probes are `lagCycles` old (about two
// seconds), so that probes still unanswered in it are lost and not merely late; windows start every
// `step` cycles (half a window) and overlap. When the run ends the last `windowCycles` cycles are judged
// once more (after mtr's grace time every probe has its outcome).

import { ReplyTtlLog, windowEvidence, type SnapshotLike } from './adapter.js';
import {
  DiagnosisTracker,
  DEFAULT_TRACKER_OPTIONS,
  verdictKey,
  type TrackerOptions,
  type TrackerStep,
} from './tracker.js';
import type { DiagnosisContext, EarlierVerdict } from './text.js';
import {
  DEFAULT_DIAGNOSE_OPTIONS,
  type AlternateEvidence,
  type DiagnoseOptions,
  type PathEvidence,
  type Verdict,
} from './types.js';

export interface DiagnosisSchedule {
  readonly windowCycles: number;
  readonly step: number;
  readonly lagCycles: number;
  /** cycles a responder must be away from a TTL to count as a new one there */
  readonly memory: number;
}

/** Seconds a probe may stay unanswered before a window counts it as lost. */
export const LATE_AFTER_SECONDS = 2;

/**
 * Windows of half the run, between 20 and 50 cycles (a verdict needs 20 probes per hop and two windows in
 * a row): a 100-cycle run is judged on cycles 1-50, 26-75 and 51-100.
 */
export function scheduleFor(cycles: number | undefined, interval: number): DiagnosisSchedule {
  const windowCycles = cycles === undefined ? 50 : Math.min(50, Math.max(20, Math.floor(cycles / 2)));
  return {
    windowCycles,
    step: Math.max(1, Math.floor(windowCycles / 2)),
    lagCycles: Math.max(1, Math.ceil(LATE_AFTER_SECONDS / Math.max(interval, 0.001))),
    memory: Math.min(10, windowCycles),
  };
}

/**
 * verdicts about the end of the path, which probes of another kind can explain differently, `mtu`, which only
 * large don't-fragment probes show, and `icmp-rate-limited`, which direct pings of the hop settle
 */
const REVISABLE = new Set<string>([
  'path-breaks',
  'destination-drops-icmp',
  'icmp-filtered-beyond',
  'mtu',
  'icmp-rate-limited',
]);

export class TargetDiagnosis {
  private readonly tracker: DiagnosisTracker;
  private nextEnd: number;
  private lastEnd = 0;
  private latest: PathEvidence | undefined;
  private cyclesSeen = 0;
  /** the window (its last cycle) that raised each active verdict */
  private readonly raisedAt = new Map<string, number>();
  private readonly earlier: EarlierVerdict[] = [];
  alternates: AlternateEvidence[] = [];
  /** the reply TTLs of the answers (the packet program's icmp-detail extension), for asymmetric-return */
  replyTtls = new ReplyTtlLog();

  constructor(
    readonly schedule: DiagnosisSchedule,
    private readonly diagnoseOptions: Partial<DiagnoseOptions> = {},
    private readonly trackerOptions: Partial<TrackerOptions> = {},
  ) {
    this.tracker = new DiagnosisTracker(diagnoseOptions, trackerOptions);
    this.nextEnd = schedule.windowCycles;
  }

  /** After a cycle is done: judges the window that became old enough, if any. */
  onCycle(s: SnapshotLike): TrackerStep | undefined {
    this.cyclesSeen = s.cycles;
    const ready = s.cycles - this.schedule.lagCycles;
    if (ready < this.nextEnd) return undefined;
    const to = this.nextEnd;
    this.nextEnd += this.schedule.step;
    return this.judge(s, to, true);
  }

  /**
   * The run is over. `complete`: every probe has its outcome (the grace time passed); otherwise (stopped)
   * the newest probes are too young to call lost, and the last window ends `lagCycles` earlier.
   */
  finish(s: SnapshotLike, complete: boolean): TrackerStep | undefined {
    this.cyclesSeen = s.cycles;
    const to = complete ? s.cycles : s.cycles - this.schedule.lagCycles;
    if (to < this.schedule.windowCycles || to <= this.lastEnd) return undefined;
    return this.judge(s, to, true);
  }

  private judge(s: SnapshotLike, to: number, pendingIsLost: boolean): TrackerStep {
    const from = Math.max(1, to - this.schedule.windowCycles + 1);
    this.lastEnd = to;
    const log = this.replyTtls;
    this.latest = windowEvidence(
      s,
      { from, to, pendingIsLost, memory: this.schedule.memory, replyTtls: (ttl, a, b) => log.between(ttl, a, b) },
      this.alternates,
    );
    const step = this.tracker.update(this.latest);
    for (const v of step.raised) this.raisedAt.set(verdictKey(v), to);
    for (const v of step.cleared) {
      const key = verdictKey(v);
      this.earlier.push({ verdict: v, raisedAt: this.raisedAt.get(key) ?? to, clearedAt: to });
      this.raisedAt.delete(key);
    }
    return step;
  }

  /**
   * Adds what probes of another kind found (--confirm) and judges the latest window again with it: the
   * verdicts about where the path ends and about loss at the destination may change explanation.
   */
  confirm(found: readonly AlternateEvidence[]): { raised: Verdict[]; cleared: Verdict[] } {
    const earlier = [...this.alternates];
    this.alternates.push(...found);
    const latest = this.latest;
    if (latest === undefined) return { raised: [], cleared: [] };
    this.latest = { ...latest, alternates: [...this.alternates] };
    const dest = latest.destination.ttl;
    return this.tracker.revise(
      this.latest,
      { ...latest, alternates: earlier },
      (v) => REVISABLE.has(v.rule) || (v.rule === 'forwarding-loss' && dest !== undefined && v.hop === dest),
    );
  }

  active(): Verdict[] {
    return this.tracker.active();
  }

  /** the evidence of the latest window judged */
  get evidence(): PathEvidence | undefined {
    return this.latest;
  }

  context(): DiagnosisContext {
    const raiseAfter = this.trackerOptions.raiseAfter ?? DEFAULT_TRACKER_OPTIONS.raiseAfter;
    const min = this.diagnoseOptions.minSamples ?? DEFAULT_DIAGNOSE_OPTIONS.minSamples;
    const windows = this.tracker.windows;
    return {
      earlier: this.earlier.filter((e) => !this.tracker.active().some((v) => verdictKey(v) === verdictKey(e.verdict))),
      cycles: this.cyclesSeen,
      windows,
      windowCycles: this.schedule.windowCycles,
      raiseAfter,
      tooThin:
        windows < raiseAfter
          ? `${this.cyclesSeen} cycles; a verdict needs ${raiseAfter} windows of ${this.schedule.windowCycles} ` +
            `cycles in a row (at least ${min} probes per hop in each): run 100 cycles or more (-c 100).`
          : undefined,
    };
  }
}
