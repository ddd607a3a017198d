// The exporter's targets, run by the engine (frontend/src/engine): one packet process for all of them,
// restarted when it dies. This module owns the mapping between configuration names and engine targets,
// and translates the engine's events into the exporter's (events.ts). It also decides:
// - when a target starts: after a random part of its interval, so the schedules spread (jitter);
// - what the engine's budget says (budget.ts): global rate, per-router rate, probes in flight;
// - when a failed target (a name that does not resolve, ...) is tried again;
// - when a name is resolved again (every RESOLVE_EVERY_MS), and a target whose address changed restarted;
// - (diagnosis on) each target's path diagnosis (frontend/src/diagnose): a window of 50 traces judged every
//   25, through the same hysteresis as mtr-ts --diagnose; the verdicts raised after it go out as an event.
//   Each target's windows are moved by a random phase within the 25, so the judging spreads over time.

import { MtrPacket } from '@mtr-ts/client';
import { createEngine } from '../engine/engine.js';
import type { EngineEvent, ErrorStage } from '../engine/events.js';
import type { Engine, EngineOptions, TargetId, TargetOptions, TargetRef } from '../engine/types.js';
import { lookupTarget } from '../targets.js';
import {
  DiagnosisTracker,
  ProbeLog,
  scheduleFor,
  windowEvidence,
  type DiagnosisSchedule,
  type TrackerStep,
} from '../diagnose/index.js';
import { isIP } from 'node:net';
import { ProbeBudget, type BudgetLimits } from './budget.js';
import type { TargetSpec } from './config.js';
import type { AnyEvent, BudgetName, ProbeErrorKind } from './events.js';

export const RESOLVE_EVERY_MS = 5 * 60_000;
const RETRY_MIN_MS = 5_000;
const RETRY_MAX_MS = 5 * 60_000;

interface Entry {
  spec: TargetSpec;
  id: TargetId | undefined;
  /** the address the engine probes (once resolved) */
  address: string | undefined;
  /** latest responder per TTL (index ttl-1) that was not the destination: whose ICMP budget a probe uses */
  routers: (string | undefined)[];
  inFlight: number;
  failures: number;
  timer: NodeJS.Timeout | undefined;
  /** this run's diagnosis (diagnosis on) */
  diagnosis: PathJudge | undefined;
  /** this run's recent probes per TTL, what the diagnosis windows read (diagnosis on) */
  log: ProbeLog | undefined;
  /** the options the engine runs the target with (from target-started) */
  options: TargetOptions | undefined;
}

/**
 * One target's diagnosis, run for months: mtr-ts --diagnose's windows (diagnose/run.ts's schedule: 50
 * traces, one every 25, judged once their newest probes are ~2 s old) through the same hysteresis, but
 * keeping nothing of the verdicts it cleared (TargetDiagnosis keeps them all for the final report).
 */
export class PathJudge {
  private readonly tracker = new DiagnosisTracker();
  private nextEnd: number;

  /**
   * `phase` (0 .. step - 1) moves every window end that many traces later: targets started together
   * (the exporter starts them all within one interval) are not all judged in the same second.
   */
  constructor(
    readonly schedule: DiagnosisSchedule,
    phase = 0,
  ) {
    this.nextEnd = schedule.windowCycles + phase;
  }

  /** After trace `cycle`: the window (first and last trace) that became old enough to judge, if any. */
  due(cycle: number): { from: number; to: number } | undefined {
    if (cycle - this.schedule.lagCycles < this.nextEnd) return undefined;
    const to = this.nextEnd;
    this.nextEnd += this.schedule.step;
    return { from: Math.max(1, to - this.schedule.windowCycles + 1), to };
  }

  /** `log`: the hops' probes, instead of the snapshot's samples */
  judge(s: Parameters<typeof windowEvidence>[0], w: { from: number; to: number }, log?: ProbeLog): TrackerStep {
    const spec = { ...w, pendingIsLost: true, memory: this.schedule.memory };
    return this.tracker.update(
      log === undefined ? windowEvidence(s, spec) : windowEvidence(s, spec, undefined, (h) => log.at(h.ttl)),
    );
  }
}

export interface SourceOptions {
  /** the packet program (ours by default) */
  packetPath: string;
  /** its environment (trust.ts's packetCommand); the exporter's own when not given */
  packetEnv?: NodeJS.ProcessEnv | undefined;
  budget: BudgetLimits;
  emit(e: AnyEvent): void;
  /** for tests: an engine over fakes */
  engineOptions?: Partial<EngineOptions>;
  /** milliseconds before a target's first probe; default: random within its interval */
  startDelay?(spec: TargetSpec): number;
  /** traces by which a target's diagnosis windows are moved (PathJudge's phase); default: random within a step */
  judgePhase?(spec: TargetSpec, step: number): number;
  /** re-resolve names (default true) */
  reresolve?: boolean;
  /** ms since the epoch on the engine's clock (default Date.now) */
  now?(): number;
  /** every engine event as it is, with the configuration's name of its target (the event stream) */
  raw?(e: EngineEvent, name: string | undefined): void;
  /** judge each target's path and emit `diagnosis` events (default false; setDiagnosis changes it) */
  diagnosis?: boolean;
  /** the verdicts a judged window raised and cleared, after the trace that led to it (the event stream) */
  verdicts?(after: Extract<EngineEvent, { type: 'cycle-done' }>, name: string, step: TrackerStep): void;
}

const STAGE_KIND: Record<ErrorStage, ProbeErrorKind | undefined> = {
  resolve: 'resolve',
  'local-address': 'refused',
  features: 'unsupported',
  probe: 'refused',
  'packet-process': 'daemon_exit',
  listener: undefined,
};

export class EngineSource {
  readonly engine: Engine;
  private readonly byName = new Map<string, Entry>();
  private readonly byId = new Map<TargetId, Entry>();
  private readonly budget: ProbeBudget;
  private inFlightTotal = 0;
  private resolveTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private diagnosis: boolean;
  /** the entry engine.add() is adding (its target-added event comes before add() returns the id) */
  private starting: Entry | undefined;
  daemonPid: number | undefined;

  constructor(private readonly opts: SourceOptions) {
    this.budget = new ProbeBudget(opts.budget, (opts.now ?? Date.now)());
    this.diagnosis = opts.diagnosis === true;
    this.engine = createEngine({
      // the engine starts a packet program that keeps dying ever more slowly (no tight loop)
      connect: () => MtrPacket.spawn({
          command: opts.packetPath,
          ...(opts.packetEnv !== undefined ? { env: opts.packetEnv, allowEnvironment: false } : {}),
          stderr: 'inherit',
          closeWaitMs: 0,
        }),
      lookup: lookupTarget,
      onPacketProcessExit: 'restart',
      defaults: { cycles: undefined },
      budget: { tryTake: (target, ttl, at) => this.admit(target, ttl, at) },
      ...opts.engineOptions,
    });
    this.engine.subscribe((e) => this.onEngineEvent(e));
    if (opts.reresolve !== false) {
      this.resolveTimer = setInterval(() => void this.reresolve(), RESOLVE_EVERY_MS);
      this.resolveTimer.unref();
    }
  }

  get inFlight(): number {
    return this.inFlightTotal;
  }

  setBudget(limits: BudgetLimits): void {
    this.budget.setLimits(limits, (this.opts.now ?? Date.now)());
  }

  /** Diagnosis on or off for the targets started from now on. */
  setDiagnosis(on: boolean): void {
    this.diagnosis = on;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Starts a target after `delayMs` (default: the jitter). */
  add(spec: TargetSpec, delayMs?: number): void {
    if (this.stopped) return;
    if (this.byName.has(spec.name)) this.remove(spec.name);
    const e: Entry = {
      spec,
      id: undefined,
      address: undefined,
      routers: [],
      inFlight: 0,
      failures: 0,
      timer: undefined,
      diagnosis: undefined,
      log: undefined,
      options: undefined,
    };
    this.byName.set(spec.name, e);
    const delay = delayMs ?? this.opts.startDelay?.(spec) ?? Math.random() * spec.interval * 1000;
    e.timer = setTimeout(() => this.start(e), delay);
  }

  private start(e: Entry): void {
    e.timer = undefined;
    if (this.stopped || this.byName.get(e.spec.name) !== e) return;
    const s = e.spec;
    this.starting = e;
    // the probes kept per hop: what a diagnosis window needs, in this run's ProbeLog (columns, nothing per
    // probe); the engine keeps one (its 400 are for mtr-ts's charts, and its snapshots hand each out as an
    // object: a thousand targets' windows made ~2,500 a second, each kept a minute)
    const schedule = scheduleFor(undefined, s.interval);
    const keep = schedule.windowCycles + schedule.lagCycles + 8;
    const ref = this.engine.add(s.host, {
      windowSize: 1,
      ringSize: 1,
      protocol: s.protocol,
      port: s.port ?? 0,
      interval: s.interval,
      timeout: s.timeout,
      psize: s.size,
      maxTtl: s.maxTtl,
      family: s.ipVersion,
      cycles: undefined,
    });
    this.starting = undefined;
    e.id = ref.id;
    e.routers = [];
    // internal /probe targets (a few seconds long) are not judged
    // (each with its own phase: judging a thousand targets in one second stalls probing and piles up garbage)
    e.diagnosis =
      this.diagnosis && !s.name.startsWith('\u0000')
        ? new PathJudge(schedule, this.opts.judgePhase?.(s, schedule.step) ?? Math.floor(Math.random() * schedule.step))
        : undefined;
    e.log = e.diagnosis !== undefined ? new ProbeLog(keep, s.maxTtl) : undefined;
    this.byId.set(ref.id, e);
  }

  /** Stops a target; its in-flight probes are forgotten (their answers are ignored). */
  remove(name: string): void {
    const e = this.byName.get(name);
    if (e === undefined) return;
    this.byName.delete(name);
    this.detach(e);
  }

  private detach(e: Entry): void {
    if (e.timer !== undefined) clearTimeout(e.timer);
    e.timer = undefined;
    e.diagnosis = undefined;
    e.log = undefined;
    if (e.id !== undefined) {
      this.byId.delete(e.id);
      this.engine.remove(e.id);
      e.id = undefined;
    }
    this.inFlightTotal -= e.inFlight;
    e.inFlight = 0;
  }

  private admit(target: TargetRef, ttl: number, now: number): boolean {
    const e = this.byId.get(target.id);
    const router = e?.routers[ttl - 1];
    const v = this.budget.admit(now, this.inFlightTotal, router);
    if (v === 'ok') return true;
    if (e !== undefined)
      this.opts.emit({ type: 'probe-deferred', target: e.spec.name, at: now, ttl, budget: v as BudgetName });
    return false;
  }

  private onEngineEvent(ev: EngineEvent): void {
    if (this.opts.raw !== undefined) {
      const t = 'target' in ev && ev.target !== undefined ? (this.byId.get(ev.target.id) ?? this.starting) : undefined;
      if (t === undefined || !t.spec.name.startsWith('\u0000')) this.opts.raw(ev, t?.spec.name);
    }
    switch (ev.type) {
      case 'packet-process-started':
        this.daemonPid = ev.pid;
        this.opts.emit({ type: 'daemon-started', at: ev.ts, pid: ev.pid, restarts: ev.restarts });
        return;
      case 'packet-process-exited':
        this.opts.emit({ type: 'daemon-exit', at: ev.ts, pid: ev.pid, message: ev.message, restarting: ev.restarting });
        return;
      case 'name-resolved':
      case 'warning':
        return;
      default:
        break;
    }
    if (ev.target === undefined) return;
    const e = this.byId.get(ev.target.id);
    if (e === undefined) return;
    const name = e.spec.name;
    switch (ev.type) {
      case 'target-started':
        e.failures = 0;
        e.options = ev.options;
        if (ev.target.address !== undefined && ev.target.family !== undefined) {
          e.address = ev.target.address;
          this.opts.emit({
            type: 'target-address',
            target: name,
            at: ev.ts,
            address: ev.target.address,
            family: ev.target.family,
          });
        }
        return;
      case 'probe-sent':
        e.log?.sent(ev.probe.ttl, ev.probe.probe, ev.probe.cycle);
        e.inFlight++;
        this.inFlightTotal++;
        this.opts.emit({ type: 'probe-sent', target: name, at: ev.ts, ttl: ev.probe.ttl });
        return;
      case 'probe-answered':
        e.log?.answered(ev.probe.ttl, ev.probe.probe, ev.rtt, ev.responder, ev.reply);
        this.settled(e);
        e.routers[ev.probe.ttl - 1] = ev.destination ? undefined : ev.responder;
        this.opts.emit({
          type: 'probe-answered',
          target: name,
          at: ev.ts,
          ttl: ev.probe.ttl,
          kind: ev.reply.kind,
          responder: ev.responder,
          rtt: ev.rtt,
          destination: ev.destination,
        });
        return;
      case 'probe-lost':
        e.log?.lost(ev.probe.ttl, ev.probe.probe);
        this.settled(e);
        this.opts.emit({
          type: 'probe-lost',
          target: name,
          at: ev.ts,
          ttl: ev.probe.ttl,
          reason: ev.reason,
          detail: ev.detail,
        });
        return;
      case 'cycle-done':
        this.opts.emit({
          type: 'cycle-done',
          target: name,
          at: ev.ts,
          cycle: ev.cycle,
          pathId: ev.pathId,
          destinationTtl: ev.destinationTtl,
          reached: ev.reached,
        });
        if (e.log !== undefined) e.log.cycles++;
        if (e.diagnosis !== undefined) this.judge(e, ev);
        return;
      case 'path-changed':
        this.opts.emit({ type: 'path-changed', target: name, at: ev.ts, previous: ev.previous, current: ev.current });
        return;
      case 'error': {
        const kind = STAGE_KIND[ev.stage];
        if (kind !== undefined)
          this.opts.emit({ type: 'target-error', target: name, at: ev.ts, kind, message: ev.message });
        return;
      }
      case 'target-reset':
        // the engine's statistics start over: so do the probes the windows read
        if (e.log !== undefined) e.log = new ProbeLog(e.log.capacity, e.log.maxTtl);
        return;
      case 'target-done':
        if (ev.reason === 'failed') this.retry(e);
        return;
      default:
        return;
    }
  }

  /** After a trace: judges the window that became old enough, if any (the snapshot is taken only then). */
  private judge(e: Entry, ev: Extract<EngineEvent, { type: 'cycle-done' }>): void {
    const w = e.diagnosis?.due(ev.cycle);
    // the log has what the window reads; the engine's snapshot (frozen views of every hop and responder,
    // cached by the hops until their next probe) only when the target's options are not known yet
    const snap =
      w === undefined
        ? undefined
        : e.log !== undefined && e.options !== undefined
          ? e.log.snapshot({ address: ev.target.address, family: ev.target.family, options: e.options })
          : this.engine.snapshot(ev.target.id);
    if (w === undefined || snap === undefined || e.diagnosis === undefined) return;
    const step = e.diagnosis.judge(snap, w, e.log);
    this.opts.emit({
      type: 'diagnosis',
      target: e.spec.name,
      at: ev.ts,
      active: step.active.map((v) => ({ rule: v.rule, hop: v.hop, confidence: v.confidence })),
    });
    if (step.raised.length + step.cleared.length > 0) this.opts.verdicts?.(ev, e.spec.name, step);
  }

  private settled(e: Entry): void {
    if (e.inFlight > 0) {
      e.inFlight--;
      this.inFlightTotal--;
    }
  }

  /** A failed target (name did not resolve, feature missing, refused) starts again later, backing off. */
  private retry(e: Entry): void {
    if (this.stopped || this.byName.get(e.spec.name) !== e) return;
    this.detach(e);
    e.failures++;
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (e.failures - 1));
    e.timer = setTimeout(() => this.start(e), delay);
  }

  /** Resolves every name again; a target whose address changed starts over on the new one. */
  async reresolve(): Promise<void> {
    for (const e of [...this.byName.values()]) {
      const s = e.spec;
      if (isIP(s.host) !== 0 || e.id === undefined || e.address === undefined) continue;
      let now: string;
      try {
        now = (await lookupTarget(s.host, s.ipVersion)).address;
      } catch {
        continue; // a failing lookup keeps probing the address we have
      }
      if (this.byName.get(s.name) !== e || now === e.address || e.id === undefined) continue;
      this.detach(e);
      this.start(e);
    }
  }

  /** Stops every target and the packet process; in-flight probes are abandoned (not counted as lost). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resolveTimer !== undefined) clearInterval(this.resolveTimer);
    for (const e of this.byName.values()) if (e.timer !== undefined) clearTimeout(e.timer);
    this.byName.clear();
    this.byId.clear();
    await this.engine.stop();
  }
}
