// The Prometheus side: a prom-client registry fed with exporter events. No clock of its own (the
// scrape-time gauges ask `now()`), no I/O; `render()` gives the text exposition format 0.0.4.
//
// Conventions (https://prometheus.io/docs/practices/naming): prefix mtrts_, seconds, counters end in
// _total, no sample timestamps. Per-hop series have the TTL as their only extra label; responder
// addresses never become labels (they churn with ECMP and route changes): they go to the event stream.
// A target's own `labels:` are on mtrts_target_info only; join them with
//   ... * on (target) group_left (site) mtrts_target_info

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';
import type { PerHopLevel, TargetSpec } from './config.js';
import { PROBE_ERROR_KINDS, type AnyEvent, type VerdictBrief } from './events.js';
import { RULE_IDS, SEVERITY, type RuleId } from '../diagnose/index.js';

/** smokeping_prober's classic layout: 50 µs * 2^k, 20 buckets up to ~26 s, so heat-maps transfer. */
export const RTT_BUCKETS: readonly number[] = exponentialBuckets(5e-5, 2, 20);

/** Samples kept per hop for the window gauges (per_hop: full), whatever the window. */
const WINDOW_CAP = 512;

interface HopWindow {
  at: number[];
  rtt: number[];
  address: string[];
}

interface TargetState {
  spec: TargetSpec;
  /** { target } and, by TTL, { target, ttl }: made once, not per event (prom-client keeps the first it sees) */
  labels: { target: string };
  hopLabels: Array<{ target: string; ttl: string } | undefined>;
  address: string;
  family: 4 | 6 | 0;
  ttls: Set<number>;
  windows: Map<number, HopWindow>;
  lastDestReplyAt: number | undefined;
  /** the destination's TTL as the latest trace saw it */
  destTtl: number | undefined;
  /** the latest path's responders (index 0: TTL 1) */
  responders: readonly (string | null)[];
  /** traces seen, to leave the first one's miss out (its answers come after it) */
  cycles: number;
  infoLabels: Record<string, string> | undefined;
}

export interface MetricsOptions {
  perHop: PerHopLevel;
  /** seconds of samples behind the window gauges */
  window: number;
  /** mtrts_diagnosis* series (default false) */
  diagnosis?: boolean;
  /** milliseconds, the events' clock */
  now?: () => number;
}

/** Scrape-time values the exporter's own gauges read. */
export interface SelfProviders {
  version: string;
  targets(): number;
  inFlight(): number;
  /** process_* and nodejs_* metrics from prom-client */
  processMetrics?: boolean;
}

const quantile = (sorted: readonly number[], q: number): number => {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
};

export class ExporterMetrics {
  readonly registry = new Registry();
  private readonly targets = new Map<string, TargetState>();
  private readonly now: () => number;
  private readonly destProbes: Counter<'target'>;
  private readonly destReplies: Counter<'target'>;
  private readonly destRtt: Histogram<'target'>;
  private readonly reachable: Gauge<'target'>;
  private readonly pathHops: Gauge<'target'>;
  private readonly pathIdG: Gauge<'target'>;
  private readonly pathChanges: Counter<'target'>;
  private readonly probeErrors: Counter<'target' | 'kind'>;
  private info: Gauge<string>;
  private infoKeys: string[] = [];
  private readonly hopProbes: Counter<'target' | 'ttl'> | undefined;
  private readonly hopReplies: Counter<'target' | 'ttl'> | undefined;
  private readonly hopWindowGauges: Array<Gauge<'target' | 'ttl'>> = [];
  private readonly diagnosisG: Gauge<'target' | 'rule' | 'severity'> | undefined;
  private readonly diagnosisHop: Gauge<'target' | 'rule'> | undefined;
  private readonly diagnosisConfidence: Gauge<'target' | 'rule'> | undefined;

  constructor(readonly options: MetricsOptions) {
    this.now = options.now ?? Date.now;
    const registers = [this.registry];
    // collect() runs with `this` bound to the metric: what it reads of ours comes through `view`
    const view = { targets: this.targets, now: (): number => this.now(), window: (): number => this.options.window };
    this.destProbes = new Counter({
      name: 'mtrts_destination_probes_total',
      help: 'Probes sent to reach the destination, counted when answered or timed out.',
      labelNames: ['target'],
      registers,
    });
    this.destReplies = new Counter({
      name: 'mtrts_destination_replies_total',
      help: 'Answers from the destination itself.',
      labelNames: ['target'],
      registers,
    });
    this.destRtt = new Histogram({
      name: 'mtrts_destination_rtt_seconds',
      help: "Round-trip time of the destination's answers.",
      labelNames: ['target'],
      buckets: [...RTT_BUCKETS],
      registers,
    });
    this.reachable = new Gauge({
      name: 'mtrts_destination_reachable',
      help: '1 when the destination answered within the last three intervals plus the probe timeout, else 0.',
      labelNames: ['target'],
      registers,
      collect() {
        const now = view.now();
        for (const [name, t] of view.targets) {
          const horizon = (3 * t.spec.interval + t.spec.timeout) * 1000;
          this.set({ target: name }, t.lastDestReplyAt !== undefined && now - t.lastDestReplyAt <= horizon ? 1 : 0);
        }
      },
    });
    this.pathHops = new Gauge({
      name: 'mtrts_path_hops',
      help: 'Hops of the current path (TTL of the destination, or of the last answering hop); 0 when no hop answers.',
      labelNames: ['target'],
      registers,
    });
    this.pathIdG = new Gauge({
      name: 'mtrts_path_id',
      help: "A 48-bit hash of the current path's responders; changes when the path does.",
      labelNames: ['target'],
      registers,
    });
    this.pathChanges = new Counter({
      name: 'mtrts_path_changes_total',
      help: 'Times the path changed (confirmed by two consecutive traces).',
      labelNames: ['target'],
      registers,
    });
    this.probeErrors = new Counter({
      name: 'mtrts_probe_errors_total',
      help: 'Probes that gave no measurement, by cause.',
      labelNames: ['target', 'kind'],
      registers,
    });
    this.info = this.makeInfo([]);
    if (options.diagnosis === true) {
      this.diagnosisG = new Gauge({
        name: 'mtrts_diagnosis',
        help: 'Path diagnosis: 1 while the rule holds (raised after two windows of 50 traces in a row), else 0.',
        labelNames: ['target', 'rule', 'severity'],
        registers,
      });
      this.diagnosisHop = new Gauge({
        name: 'mtrts_diagnosis_hop',
        help: 'The TTL a raised verdict is about (the lowest, if it holds at several); 0 for the whole path.',
        labelNames: ['target', 'rule'],
        registers,
      });
      this.diagnosisConfidence = new Gauge({
        name: 'mtrts_diagnosis_confidence',
        help: 'How sure the numbers make a raised verdict, 0..1 (below 0.8: a suspicion).',
        labelNames: ['target', 'rule'],
        registers,
      });
    }
    if (options.perHop !== 'off') {
      this.hopProbes = new Counter({
        name: 'mtrts_hop_probes_total',
        help: 'Probes sent with this TTL, counted when answered or timed out.',
        labelNames: ['target', 'ttl'],
        registers,
      });
      this.hopReplies = new Counter({
        name: 'mtrts_hop_replies_total',
        help: 'Answers to probes with this TTL (from a router on the way, or the destination).',
        labelNames: ['target', 'ttl'],
        registers,
      });
    }
    if (options.perHop === 'full') {
      const windowGauge = (
        name: string,
        help: string,
        value: (w: HopWindow, sorted: number[]) => number,
      ): Gauge<'target' | 'ttl'> =>
        new Gauge({
          name,
          help,
          labelNames: ['target', 'ttl'],
          registers,
          collect() {
            const from = view.now() - view.window() * 1000;
            for (const [name, t] of view.targets) {
              for (const [ttl, w] of t.windows) {
                prune(w, from);
                this.set(
                  { target: name, ttl: String(ttl) },
                  value(
                    w,
                    [...w.rtt].sort((a, b) => a - b),
                  ),
                );
              }
            }
          },
        });
      this.hopWindowGauges.push(
        windowGauge('mtrts_hop_rtt_min_seconds', 'Lowest round-trip time at this TTL over the window.', (_w, s) =>
          s.length > 0 ? (s[0] as number) / 1000 : NaN,
        ),
        windowGauge(
          'mtrts_hop_rtt_median_seconds',
          'Median round-trip time at this TTL over the window.',
          (_w, s) => quantile(s, 0.5) / 1000,
        ),
        windowGauge(
          'mtrts_hop_rtt_p95_seconds',
          '95th percentile round-trip time at this TTL over the window.',
          (_w, s) => quantile(s, 0.95) / 1000,
        ),
        windowGauge(
          'mtrts_hop_responders',
          'Distinct addresses that answered at this TTL over the window (more than 1: ECMP or a path change).',
          (w) => new Set(w.address).size,
        ),
      );
    }
  }

  private makeInfo(keys: string[]): Gauge<string> {
    return new Gauge({
      name: 'mtrts_target_info',
      help: "A target's settings, its resolved address and its configured labels; the value is 1.",
      labelNames: ['target', 'host', 'address', 'family', 'protocol', 'port', ...keys],
      registers: [this.registry],
    });
  }

  /** The target's info labels, '' for what it does not have. */
  private infoLabels(t: TargetState): Record<string, string> {
    const l: Record<string, string> = {
      target: t.spec.name,
      host: t.spec.host,
      address: t.address,
      family: t.family === 0 ? '' : `ipv${t.family}`,
      protocol: t.spec.protocol,
      port: t.spec.port === undefined ? '' : String(t.spec.port),
    };
    for (const k of this.infoKeys) l[k] = t.spec.labels[k] ?? '';
    return l;
  }

  private setInfo(t: TargetState): void {
    if (t.infoLabels !== undefined) this.info.remove(t.infoLabels);
    t.infoLabels = this.infoLabels(t);
    this.info.set(t.infoLabels, 1);
  }

  /** Rebuilds mtrts_target_info when the set of configured label names changed (it has no state but 1s). */
  private refreshInfoKeys(): void {
    const keys = [...new Set([...this.targets.values()].flatMap((t) => Object.keys(t.spec.labels)))].sort();
    if (keys.length === this.infoKeys.length && keys.every((k, i) => k === this.infoKeys[i])) return;
    this.registry.removeSingleMetric('mtrts_target_info');
    this.infoKeys = keys;
    this.info = this.makeInfo(keys);
    for (const t of this.targets.values()) {
      t.infoLabels = undefined;
      this.setInfo(t);
    }
  }

  /** Starts a target's series: every target-level series exists from now on, at 0. */
  addTarget(spec: TargetSpec): void {
    if (this.targets.has(spec.name)) this.removeTarget(spec.name);
    const t: TargetState = {
      spec,
      labels: { target: spec.name },
      hopLabels: [],
      address: '',
      family: 0,
      ttls: new Set(),
      windows: new Map(),
      lastDestReplyAt: undefined,
      destTtl: undefined,
      responders: [],
      cycles: 0,
      infoLabels: undefined,
    };
    this.targets.set(spec.name, t);
    const l = { target: spec.name };
    this.destProbes.inc(l, 0);
    this.destReplies.inc(l, 0);
    this.destRtt.zero(l);
    this.pathHops.set(l, 0);
    this.pathIdG.set(l, 0);
    this.pathChanges.inc(l, 0);
    for (const kind of PROBE_ERROR_KINDS) this.probeErrors.inc({ target: spec.name, kind }, 0);
    if (this.diagnosisG !== undefined)
      for (const rule of RULE_IDS) this.diagnosisG.set({ target: spec.name, rule, severity: SEVERITY[rule] }, 0);
    this.refreshInfoKeys();
    this.setInfo(t);
  }

  /** Removes every series of a target. */
  removeTarget(name: string): void {
    const t = this.targets.get(name);
    if (t === undefined) return;
    this.targets.delete(name);
    const l = { target: name };
    this.destProbes.remove(l);
    this.destReplies.remove(l);
    this.destRtt.remove(l);
    this.reachable.remove(l);
    this.pathHops.remove(l);
    this.pathIdG.remove(l);
    this.pathChanges.remove(l);
    for (const kind of PROBE_ERROR_KINDS) this.probeErrors.remove({ target: name, kind });
    for (const rule of RULE_IDS) {
      this.diagnosisG?.remove({ target: name, rule, severity: SEVERITY[rule] });
      this.diagnosisHop?.remove({ target: name, rule });
      this.diagnosisConfidence?.remove({ target: name, rule });
    }
    if (t.infoLabels !== undefined) this.info.remove(t.infoLabels);
    for (const ttl of t.ttls) {
      const hl = { target: name, ttl: String(ttl) };
      this.hopProbes?.remove(hl);
      this.hopReplies?.remove(hl);
      for (const g of this.hopWindowGauges) g.remove(hl);
    }
    this.refreshInfoKeys();
  }

  has(name: string): boolean {
    return this.targets.has(name);
  }

  get targetCount(): number {
    return this.targets.size;
  }

  private hop(t: TargetState, ttl: number, answered: boolean): void {
    if (this.hopProbes === undefined || this.hopReplies === undefined) return;
    if (t.destTtl !== undefined && ttl > t.destTtl) return; // beyond the destination: not a hop of the path
    let hl = t.hopLabels[ttl];
    if (hl === undefined) {
      hl = { target: t.spec.name, ttl: String(ttl) };
      t.hopLabels[ttl] = hl;
    }
    if (!t.ttls.has(ttl)) {
      t.ttls.add(ttl);
      this.hopReplies.inc(hl, 0);
    }
    this.hopProbes.inc(hl);
    if (answered) this.hopReplies.inc(hl);
  }

  /** Feeds one event. Events of unknown targets are ignored (a removed target's late answers). */
  onEvent(e: AnyEvent): void {
    switch (e.type) {
      case 'daemon-exit':
      case 'daemon-started':
      case 'probe-sent':
      case 'probe-deferred':
        return;
      default:
        break;
    }
    const t = this.targets.get(e.target);
    if (t === undefined) return;
    const l = t.labels;
    switch (e.type) {
      case 'target-address':
        t.address = e.address;
        t.family = e.family;
        this.setInfo(t);
        return;
      case 'probe-answered':
        if (e.destination && (t.destTtl === undefined || e.ttl < t.destTtl)) t.destTtl = e.ttl;
        this.hop(t, e.ttl, true);
        if (e.destination) {
          this.destProbes.inc(l);
          this.destReplies.inc(l);
          this.destRtt.observe(l, e.rtt / 1000);
          t.lastDestReplyAt = e.at;
        } else if (e.kind === 'unreachable' && t.destTtl !== undefined && e.ttl >= t.destTtl) {
          this.destProbes.inc(l); // the path now ends before the destination: a probe it did not answer
        }
        if (this.options.perHop === 'full') this.sample(t, e.ttl, e.at, e.rtt, e.responder);
        return;
      case 'probe-lost':
        if (e.reason === 'send-failed' || e.reason === 'probes-exhausted' || e.detail === 'packet process exited') {
          // our side's failure, not the network's: an error, never a loss
          const kind =
            e.reason === 'send-failed'
              ? 'send_failed'
              : e.reason === 'probes-exhausted'
                ? 'probes_exhausted'
                : 'daemon_exit';
          this.probeErrors.inc({ target: e.target, kind });
          return;
        }
        this.hop(t, e.ttl, false);
        if (t.destTtl !== undefined && e.ttl >= t.destTtl) this.destProbes.inc(l);
        return;
      case 'target-error':
        this.probeErrors.inc({ target: e.target, kind: e.kind });
        return;
      case 'cycle-done': {
        t.cycles++;
        // a trace that has not found the destination counts one destination probe without an answer
        // (its own answers come after it: the first trace is left out)
        if (e.destinationTtl === undefined && t.cycles > 1) this.destProbes.inc(l);
        t.destTtl = e.destinationTtl;
        this.pathIdG.set(l, pathIdValue(e.pathId));
        this.pathHops.set(l, e.destinationTtl ?? lastAnswering(t.responders));
        return;
      }
      case 'diagnosis':
        this.verdicts(e.target, e.active);
        return;
      case 'path-changed':
        t.responders = e.current.responders;
        // the engine's first trace ends before its answers arrive: a change from nothing known is not a change
        if (e.previous.responders.some((r) => r !== null)) this.pathChanges.inc(l);
        this.pathIdG.set(l, pathIdValue(e.current.id));
        return;
      default:
        return;
    }
  }

  /** The raised verdicts after a window: 1 and hop/confidence for their rules, 0 (and no hop) for the rest. */
  private verdicts(target: string, active: readonly VerdictBrief[]): void {
    if (this.diagnosisG === undefined) return;
    const first = new Map<RuleId, VerdictBrief>();
    for (const v of active) {
      const had = first.get(v.rule);
      if (had === undefined || (v.hop ?? 0) < (had.hop ?? 0)) first.set(v.rule, v);
    }
    for (const rule of RULE_IDS) {
      const v = first.get(rule);
      const l = { target, rule };
      this.diagnosisG.set({ ...l, severity: SEVERITY[rule] }, v === undefined ? 0 : 1);
      if (v === undefined) {
        this.diagnosisHop?.remove(l);
        this.diagnosisConfidence?.remove(l);
      } else {
        this.diagnosisHop?.set(l, v.hop ?? 0);
        this.diagnosisConfidence?.set(l, v.confidence);
      }
    }
  }

  private sample(t: TargetState, ttl: number, at: number, rtt: number, address: string): void {
    let w = t.windows.get(ttl);
    if (w === undefined) {
      w = { at: [], rtt: [], address: [] };
      t.windows.set(ttl, w);
    }
    w.at.push(at);
    w.rtt.push(rtt);
    w.address.push(address);
    if (w.at.length > WINDOW_CAP) {
      w.at.shift();
      w.rtt.shift();
      w.address.shift();
    }
    prune(w, this.now() - this.options.window * 1000);
  }

  /** The exposition text (format 0.0.4). */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The exporter's own metrics: they outlive reloads (the target registry may be rebuilt). */
export class SelfMetrics {
  readonly registry = new Registry();
  readonly eventsDropped: Counter;
  readonly daemonRestarts: Counter;
  readonly reloads: Counter<'result'>;
  readonly lastReloadOk: Gauge;
  readonly lastReloadTime: Gauge;
  readonly probesSent: Counter;
  readonly probesDeferred: Counter<'budget'>;

  constructor(self: SelfProviders) {
    const registers = [this.registry];
    new Gauge({
      name: 'mtrts_build_info',
      help: 'Version of mtr-ts-exporter and of Node.js; the value is 1.',
      labelNames: ['version', 'nodejs'],
      registers,
    }).set({ version: self.version, nodejs: process.versions.node }, 1);
    new Gauge({
      name: 'mtrts_targets',
      help: 'Targets being traced.',
      registers,
      collect() {
        this.set(self.targets());
      },
    });
    new Gauge({
      name: 'mtrts_probes_in_flight',
      help: 'Probes sent and not yet answered nor timed out.',
      registers,
      collect() {
        this.set(self.inFlight());
      },
    });
    this.probesSent = new Counter({
      name: 'mtrts_probes_sent_total',
      help: 'Probes handed to the packet program.',
      registers,
    });
    this.probesDeferred = new Counter({
      name: 'mtrts_probes_deferred_total',
      help: 'Times a budget held a probe back by one tick (not sent yet, never counted as loss).',
      labelNames: ['budget'],
      registers,
    });
    for (const b of ['global', 'router', 'in_flight']) this.probesDeferred.inc({ budget: b }, 0);
    this.eventsDropped = new Counter({
      name: 'mtrts_events_dropped_total',
      help: 'Event stream lines dropped because its reader was too slow.',
      registers,
    });
    this.daemonRestarts = new Counter({
      name: 'mtrts_packet_daemon_restarts_total',
      help: 'Times the packet program died and was started again.',
      registers,
    });
    this.reloads = new Counter({
      name: 'mtrts_config_reloads_total',
      help: 'Configuration reloads, by result.',
      labelNames: ['result'],
      registers,
    });
    this.reloads.inc({ result: 'success' }, 0);
    this.reloads.inc({ result: 'failure' }, 0);
    this.lastReloadOk = new Gauge({
      name: 'mtrts_config_last_reload_successful',
      help: '1 when the last configuration load succeeded.',
      registers,
    });
    this.lastReloadTime = new Gauge({
      name: 'mtrts_config_last_reload_success_timestamp_seconds',
      help: 'When the configuration was last loaded successfully (Unix time).',
      registers,
    });
    if (self.processMetrics === true) collectDefaultMetrics({ register: this.registry });
  }

  onEvent(e: AnyEvent): void {
    if (e.type === 'probe-sent') this.probesSent.inc();
    else if (e.type === 'probe-deferred') this.probesDeferred.inc({ budget: e.budget });
    else if (e.type === 'daemon-exit' && e.restarting) this.daemonRestarts.inc();
  }

  async render(): Promise<string> {
    return dropFamilies(await this.registry.metrics(), LINT_FAILING_DEFAULTS);
  }
}

/**
 * prom-client's default metrics include gauges named *_total, which `promtool check metrics` rejects
 * (a _total suffix means a counter); the same counts are there without the suffix (nodejs_active_handles).
 */
const LINT_FAILING_DEFAULTS = new Set([
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
]);

/** The exposition text without the named families. */
export function dropFamilies(text: string, names: ReadonlySet<string>): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const name = line.startsWith('# ') ? line.split(' ')[2] : line.split(/[{ ]/)[0];
    if (name === undefined || !names.has(name)) out.push(line);
  }
  return out.join('\n');
}

/** The engine's 16-hex-digit path id as a gauge value: its first 48 bits (exact in a float64). */
export function pathIdValue(id: string): number {
  const v = parseInt(id.slice(0, 12), 16);
  return Number.isFinite(v) ? v : 0;
}

function lastAnswering(responders: readonly (string | null)[]): number {
  for (let i = responders.length - 1; i >= 0; i--)
    if (responders[i] !== null && responders[i] !== undefined) return i + 1;
  return 0;
}

function prune(w: HopWindow, from: number): void {
  let n = 0;
  while (n < w.at.length && (w.at[n] as number) < from) n++;
  if (n > 0) {
    w.at.splice(0, n);
    w.rtt.splice(0, n);
    w.address.splice(0, n);
  }
}
