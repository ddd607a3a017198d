// The diagnosis as a consumer of the engine's events: one TargetDiagnosis per target, judged on
// cycle-done and once more on target-done; the "Diagnosis" section after a target's report (--diagnose),
// the HTML page (--html FILE), and raised/cleared callbacks for the streaming outputs.
//
// Like adapter.ts it declares the parts of the engine it reads, so it compiles against any engine whose
// snapshots and events have these fields.

import { ReplyTtlLog, type HopLike, type SnapshotLike } from './adapter.js';
import { renderHtml, type HtmlHop, type HtmlReport } from './html.js';
import { scheduleFor, TargetDiagnosis } from './run.js';
import { renderDiagnosis } from './text.js';
import type { AlternateEvidence, Verdict } from './types.js';

export interface RttViewLike {
  readonly sent: number;
  readonly received: number;
  readonly inFlight: number;
  readonly lossPercent: number;
  readonly last: number;
  readonly best: number;
  readonly avg: number;
  readonly worst: number;
  readonly stdev: number;
  readonly percentiles: { readonly p50: number; readonly p95: number } | undefined;
}

export interface ReportHopLike extends HopLike {
  readonly lifetime: RttViewLike;
  readonly address: string | undefined;
}

export interface TargetLike {
  readonly id: number;
  readonly name: string;
  readonly address: string | undefined;
  readonly family: 4 | 6 | undefined;
}

export interface ReportSnapshotLike extends SnapshotLike {
  readonly target: TargetLike;
  readonly options: SnapshotLike['options'] & { readonly interval: number; readonly cycles: number | undefined };
  readonly startTime: number | undefined;
  readonly hops: readonly ReportHopLike[];
  readonly path: { readonly destinationTtl: number | undefined };
}

export interface EventLike {
  readonly type: string;
  readonly target?: { readonly id: number } | undefined;
  readonly reason?: string;
  /** probe-answered: the probe and how its answer came back (reply-ttl with the icmp-detail extension) */
  readonly probe?: { readonly ttl: number; readonly cycle: number } | undefined;
  readonly reply?: { readonly replyTtl?: number | undefined } | undefined;
}

export interface DiagnosisOutputOptions {
  readonly snapshot: (id: number) => ReportSnapshotLike | undefined;
  readonly names: { host(address: string): string | undefined };
  readonly dns: boolean;
  readonly localHostname: string;
  readonly generator: string;
  /** --diagnose: the section after each target's document */
  readonly text: boolean;
  /** --html FILE */
  readonly htmlFile: string | undefined;
  readonly writeFile: (path: string, text: string) => void;
  /** a verdict was raised or cleared (NDJSON, live view) */
  readonly onVerdict?: (kind: 'raised' | 'cleared', target: TargetLike, verdict: Verdict) => void;
  /** line width of the text section */
  readonly width?: number;
}

export interface DiagnosisOutput {
  onEvent(e: EventLike): void;
  /** the lines to print after the target's own document */
  final(s: ReportSnapshotLike): string[];
  /** the verdicts raised now for a target (rich JSON) */
  verdicts(id: number): Verdict[];
  /** writes the HTML page, if asked for */
  close(): void;
  /** the run of a target (for --confirm) */
  run(id: number): TargetDiagnosis | undefined;
  /** what probes of another kind found for a target: judged again, raised/cleared reported */
  confirm(s: ReportSnapshotLike, found: readonly AlternateEvidence[]): void;
}

export function diagnosisOutput(o: DiagnosisOutputOptions): DiagnosisOutput {
  const runs = new Map<number, TargetDiagnosis>();
  const done = new Set<number>();
  const finished: ReportSnapshotLike[] = [];
  /** reply TTLs by target, gathered from probe-answered events (a target's run starts at its first cycle) */
  const ttlLogs = new Map<number, ReplyTtlLog>();
  const ttlLogOf = (id: number): ReplyTtlLog => {
    let l = ttlLogs.get(id);
    if (l === undefined) ttlLogs.set(id, (l = new ReplyTtlLog()));
    return l;
  };

  const runOf = (s: ReportSnapshotLike): TargetDiagnosis => {
    let r = runs.get(s.target.id);
    if (r === undefined) {
      runs.set(s.target.id, (r = new TargetDiagnosis(scheduleFor(s.options.cycles, s.options.interval))));
      r.replyTtls = ttlLogOf(s.target.id);
    }
    return r;
  };
  const report = (s: ReportSnapshotLike, step: ReturnType<TargetDiagnosis['onCycle']>): void => {
    if (step === undefined || o.onVerdict === undefined) return;
    for (const v of step.raised) o.onVerdict('raised', s.target, v);
    for (const v of step.cleared) o.onVerdict('cleared', s.target, v);
  };
  const finish = (s: ReportSnapshotLike, complete: boolean): void => {
    if (done.has(s.target.id)) return;
    done.add(s.target.id);
    report(s, runOf(s).finish(s, complete));
    finished.push(s);
  };

  return {
    onEvent(e) {
      const id = e.target?.id;
      if (id === undefined) return;
      switch (e.type) {
        case 'probe-answered': {
          const t = e.reply?.replyTtl;
          if (t !== undefined && e.probe !== undefined) ttlLogOf(id).add(e.probe.ttl, e.probe.cycle, t);
          return;
        }
        case 'cycle-done': {
          const s = o.snapshot(id);
          if (s !== undefined) report(s, runOf(s).onCycle(s));
          return;
        }
        case 'target-reset':
          runs.delete(id);
          done.delete(id);
          ttlLogs.delete(id);
          return;
        case 'target-done': {
          const s = o.snapshot(id);
          if (s !== undefined && e.reason !== 'failed' && e.reason !== 'removed') finish(s, e.reason === 'completed');
          return;
        }
        default:
          return;
      }
    },
    final(s) {
      finish(s, s.options.cycles !== undefined && s.cycles >= s.options.cycles);
      if (!o.text) return [];
      const r = runOf(s);
      return renderDiagnosis(r.active(), r.context(), o.width ?? 100);
    },
    verdicts(id) {
      return runs.get(id)?.active() ?? [];
    },
    run(id) {
      return runs.get(id);
    },
    confirm(s, found) {
      const change = runOf(s).confirm(found);
      if (o.onVerdict === undefined) return;
      for (const v of change.raised) o.onVerdict('raised', s.target, v);
      for (const v of change.cleared) o.onVerdict('cleared', s.target, v);
    },
    close() {
      if (o.htmlFile === undefined || finished.length === 0) return;
      o.writeFile(o.htmlFile, renderHtml(finished.map((s) => htmlReportOf(s, runOf(s), o))));
    },
  };
}

/** The hops a report shows: up to the destination, else one past the last hop that answered. */
export function shownHops(s: ReportSnapshotLike): ReportHopLike[] {
  const first = s.options.firstTtl;
  let last = s.path.destinationTtl;
  if (last === undefined) {
    let answered = 0;
    for (const h of s.hops) if (h.address !== undefined) answered = h.ttl;
    last = Math.min(answered + 1, s.options.maxTtl, s.hops.length);
  }
  return s.hops.filter((h) => h.ttl >= first && h.ttl <= (last as number));
}

function htmlReportOf(s: ReportSnapshotLike, r: TargetDiagnosis, o: DiagnosisOutputOptions): HtmlReport {
  const hops: HtmlHop[] = shownHops(s).map((h) => {
    const l = h.lifetime;
    const name = (a: string): string => {
      const n = o.dns ? o.names.host(a) : undefined;
      return n === undefined ? a : `${n} (${a})`;
    };
    const others = h.responders.map((x) => x.address).filter((a) => a !== h.address);
    return {
      ttl: h.ttl,
      host: h.address === undefined ? '???' : name(h.address),
      others: others.map(name),
      lossPercent: l.lossPercent,
      sent: l.sent,
      received: l.received,
      last: l.last,
      best: l.best,
      avg: l.avg,
      worst: l.worst,
      stdev: l.stdev,
      median: l.percentiles?.p50,
      p95: l.percentiles?.p95,
    };
  });
  const ctx = r.context();
  return {
    target: s.target.name,
    targetAddress: s.target.address ?? '',
    localHostname: o.localHostname,
    startTime: s.startTime ?? Date.now(),
    protocol: s.options.protocol,
    probeSize: Math.abs(s.options.psize),
    cycles: s.cycles,
    interval: s.options.interval,
    hops,
    verdicts: r.active(),
    earlier: ctx.earlier,
    diagnosisNote:
      ctx.tooThin ??
      `Judged on ${ctx.windows} windows of ${ctx.windowCycles} cycles; a verdict is shown once it held in ` +
        `${ctx.raiseAfter} windows in a row.`,
    generator: o.generator,
  };
}
