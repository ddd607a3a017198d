// One target's life inside the engine: resolve, ask the packet process, then probe on mtr's pacing
// (scheduler.ts: what to send, and the gap to the next probe) on an absolute grid of the clock (pacing.ts:
// when), feed the answers to its statistics, and say every step as an event.
//
// Timers: one tick timer and one grace timer at a time, from the injected clock; nothing polls.

import type { MplsLabel } from '@mtr-ts/protocol';
import { PacketProcessError, type ProbeFields, type ProbeOutcome } from '@mtr-ts/client';
import { initialScheduler, step, tickDelay, type SchedulerState } from '../scheduler.js';
import { TargetStats } from '../stats/target-stats.js';
import type { PathSnapshot, ReplyInfo, TargetRef, TargetSnapshot, TargetStatus } from '../stats/types.js';
import { resolveErrorText } from '../targets.js';
import type { DoneReason, EngineEvent, ErrorStage, ProbeRef } from './events.js';
import { nextTick } from './pacing.js';
import { flowPorts, type Clock, type EngineOptions, type NameService, type ProbeBudget, type ProbeSender, type TargetOptions } from './types.js';

/** An event before the engine stamps it with seq and ts. */
export type Draft = EngineEvent extends infer E ? (E extends EngineEvent ? Omit<E, 'seq' | 'ts'> : never) : never;

/** A failure on the way to probing, with the stage it belongs to. */
export class StartFailure extends Error {
  constructor(
    readonly stage: ErrorStage,
    message: string,
  ) {
    super(message);
  }
}

/** What a run needs from its engine. */
export interface RunHost {
  readonly clock: Clock;
  readonly names: NameService | undefined;
  readonly budget: ProbeBudget | undefined;
  readonly options: EngineOptions;
  emit(e: Draft): void;
  /**
   * the packet process, once it supports what is asked; rejects with a StartFailure. With `flows`, also
   * whether it sends flows (the `flow` extension, turned on by asking); ICMP flows without it reject.
   */
  ready(family: 4 | 6, protocol: TargetOptions['protocol'], mark: boolean, flows?: boolean): Promise<boolean | void>;
  /** the packet process to send on now; undefined while none is running */
  sender(): ProbeSender | undefined;
  /** true when a rejection from this sender is a death to fail on (not a restart's or stop's) */
  fatal(sender: ProbeSender): boolean;
}

type Phase = 'resolving' | 'checking' | 'running' | 'finishing' | 'ended';

/** Options whose change restarts the target (they change what is measured). */
const RESTART_KEYS = [
  'family',
  'protocol',
  'port',
  'localPort',
  'localAddress',
  'interfaceName',
  'psize',
  'bitpattern',
  'tos',
  'mark',
  'firstTtl',
  'maxTtl',
  'windowSize',
  'ringSize',
  'flows',
] as const satisfies readonly (keyof TargetOptions)[];

const MIN_PACKET = 28;
const NO_LABELS: readonly MplsLabel[] = Object.freeze([]);
const NO_PATH: PathSnapshot = Object.freeze({
  id: undefined,
  responders: Object.freeze([]),
  changes: 0,
  lastChangeCycle: undefined,
  destinationTtl: undefined,
  reached: false,
  end: 'unknown',
});

export class TargetRun {
  ref: TargetRef;
  private phase: Phase = 'resolving';
  private endStatus: TargetStatus = 'done';
  private paused = false;
  /** a restarted packet process is being asked what it supports: no probes until it answers */
  /** the packet process sends flows (`flow` extension on); asked at start and after a restart */
  private flowExt = false;
  private blocked = false;
  private stats: TargetStats | undefined;
  private sched: SchedulerState;
  private timer: unknown;
  /** when the pending tick is due (ms, the clock's): the grid the next tick is placed on (pacing.ts) */
  private due = 0;
  private graceTimer: unknown;
  /** bumped by reset and restart: answers to older probes no longer count */
  private generation = 0;
  /** bumped by restart and end: an older start-up stops where it is */
  private attempt = 0;
  private startTime: number | undefined;
  private cyclesDone = 0;
  private probesSinceStart = 0;
  /** the cycle being sent, 1-based, counting on across resets */
  private cycleNo = 1;
  private probeNo = 0;
  private pending = 0;
  private size: number;
  private pattern: number;
  private localAddress: string | undefined;
  private warnedExhausted = false;
  readonly settled: Promise<void>;
  private settle!: () => void;

  constructor(
    id: number,
    name: string,
    public opts: TargetOptions,
    private readonly host: RunHost,
  ) {
    this.ref = Object.freeze({ id, name, address: undefined, family: undefined });
    this.sched = initialScheduler(opts);
    this.size = Math.abs(opts.psize);
    this.pattern = opts.bitpattern < 0 ? 0 : opts.bitpattern;
    this.settled = new Promise((r) => (this.settle = r));
  }

  get ended(): boolean {
    return this.phase === 'ended';
  }

  get started(): boolean {
    return this.phase !== 'resolving' && this.phase !== 'checking' && this.startTime !== undefined;
  }

  status(): TargetStatus {
    switch (this.phase) {
      case 'resolving':
      case 'checking':
        return 'starting';
      case 'running':
        return this.paused ? 'paused' : 'running';
      case 'finishing':
        return 'finishing';
      case 'ended':
        return this.endStatus;
    }
  }

  /** Resolve, check, probe. */
  start(): void {
    const attempt = ++this.attempt;
    this.begin(attempt).catch((e: unknown) => this.fail('probe', (e as Error).message));
  }

  private async begin(attempt: number): Promise<void> {
    const o = this.opts;
    const h = this.host;
    this.phase = 'resolving';
    let found: { address: string; family: 4 | 6 };
    try {
      found = await h.options.lookup(this.ref.name, o.family);
    } catch (e) {
      if (attempt !== this.attempt) return;
      const code = (e as NodeJS.ErrnoException).code;
      this.fail('resolve', resolveErrorText(this.ref.name, code), code);
      return;
    }
    if (attempt !== this.attempt) return;
    this.ref = Object.freeze({ ...this.ref, address: found.address, family: found.family });
    try {
      this.localAddress = h.options.localAddress?.(o, found.family);
    } catch (e) {
      this.fail('local-address', (e as Error).message);
      return;
    }
    this.phase = 'checking';
    try {
      this.flowExt = (await h.ready(found.family, o.protocol, o.mark !== undefined, o.flows !== undefined)) === true;
    } catch (e) {
      if (attempt !== this.attempt) return;
      this.fail(e instanceof StartFailure ? e.stage : 'features', (e as Error).message);
      return;
    }
    if (attempt !== this.attempt) return;
    this.phase = 'running';
    this.newStats();
    h.emit({ type: 'target-started', target: this.ref, options: this.opts, localAddress: this.localAddress });
    if (o.cycles !== undefined && o.cycles <= 0) this.startGrace();
    else if (!this.paused) {
      this.due = h.clock.now();
      this.tick();
    }
  }

  private newStats(): void {
    const o = this.opts;
    this.stats = new TargetStats({
      targetAddress: this.ref.address ?? '',
      firstTtl: o.firstTtl,
      maxTtl: o.maxTtl,
      windowSize: o.windowSize,
      ringSize: o.ringSize,
    });
    this.startTime = this.host.clock.now();
    this.cyclesDone = 0;
    this.probesSinceStart = 0;
    this.sched = initialScheduler(o);
  }

  /** The next tick, `gap` ms after the one due at this.due (it ran at `now`), on the grid (pacing.ts). */
  private schedule(now: number, gap: number): void {
    // at most one interval (a cycle) of lateness is made up
    const next = nextTick(this.due, now, gap, this.opts.interval * 1000);
    this.due = next.due;
    this.timer = this.host.clock.setTimeout(this.tick, Math.max(0, next.delay - (this.host.clock.now() - now)));
  }

  private tick = (): void => {
    this.timer = undefined;
    if (this.phase !== 'running' || this.paused || this.stats === undefined) return;
    const o = this.opts;
    const now = this.host.clock.now();
    const delay = tickDelay(this.sched, o.interval);
    const st = step(this.sched, this.stats.states, this.ref.address ?? '', o);
    const budget = this.host.budget;
    if (this.blocked || (budget !== undefined && !budget.tryTake(this.ref, st.send + 1, now))) {
      this.schedule(now, delay); // not now: the same probe one tick later
      return;
    }
    if (st.cycleStart) this.newBatch();
    this.sched = st.next;
    this.send(st.send + 1);
    if (this.phase !== 'running') return;
    if (st.cycleDone) {
      this.cycleEnded();
      if (this.phase !== 'running') return;
    }
    this.schedule(now, tickDelay(this.sched, o.interval));
  };

  private newBatch(): void {
    const o = this.opts;
    if (o.psize < 0) {
      const max = -o.psize;
      this.size = max <= MIN_PACKET ? MIN_PACKET : MIN_PACKET + Math.floor(Math.random() * (max - MIN_PACKET));
    }
    if (o.bitpattern < 0) this.pattern = Math.floor(Math.random() * 256);
  }

  private send(ttl: number): void {
    const o = this.opts;
    const sender = this.host.sender();
    const stats = this.stats;
    if (sender === undefined || stats === undefined) return;
    let sent: ReturnType<ProbeSender['sendProbe']>;
    // ECMP: every probe of a cycle on the same stable flow, the flows taken in turn
    const flow = o.flows !== undefined && o.flows > 0 ? (this.cycleNo - 1) % o.flows : undefined;
    const ports = flow === undefined || o.protocol === 'icmp' ? { port: o.port, localPort: o.localPort } : flowPorts(o, flow);
    // the probe's fields as one literal of one shape (probeFields()'s keys, in its order): a spread per
    // probe was the slow path of V8's object literals
    const fields: ProbeFields = {
      ipVersion: this.ref.family,
      address: this.ref.address,
      protocol: o.protocol,
      port: ports.port,
      localAddress: this.localAddress,
      localPort: ports.localPort,
      ttl,
      size: this.size,
      bitPattern: this.pattern,
      tos: o.tos,
      mark: o.mark,
      timeout: o.timeout,
      localDevice: undefined,
    };
    if (o.dontFragment === true) fields.dontFragment = true;
    // the packet process's flow extension: ICMP and TCP flows need it; UDP flows gain NAT detection
    if (flow !== undefined && this.flowExt) fields.flow = flow;
    try {
      sent = sender.sendProbe(fields);
    } catch (e) {
      this.fail(e instanceof PacketProcessError ? 'packet-process' : 'probe', (e as Error).message);
      return;
    }
    this.pending++;
    this.probesSinceStart++;
    const probeNo = ++this.probeNo;
    const probe: ProbeRef = Object.freeze(
      flow === undefined ? { probe: probeNo, token: sent.token, ttl, cycle: this.cycleNo } : { probe: probeNo, token: sent.token, ttl, cycle: this.cycleNo, flow },
    );
    const slot = stats.sent(ttl, probe.probe, probe.cycle, flow);
    const generation = this.generation;
    this.host.emit({ type: 'probe-sent', target: this.ref, probe, size: this.size, bitPattern: this.pattern });
    sent.result.then(
      (out) => this.onOutcome(probe, slot, generation, out),
      (e: Error) => this.onRejected(probe, slot, generation, sender, e),
    );
  }

  private cycleEnded(): void {
    const stats = this.stats as TargetStats;
    this.cyclesDone++;
    const cycle = this.cycleNo++;
    const r = stats.cycleDone(cycle);
    if (r.changed !== undefined) {
      this.host.emit({
        type: 'path-changed',
        target: this.ref,
        cycle,
        previous: { id: r.changed.previousId, responders: r.changed.previous },
        current: { id: r.pathId, responders: r.sequence },
        changes: r.changes,
      });
    }
    const p = stats.path();
    this.host.emit({
      type: 'cycle-done',
      target: this.ref,
      cycle,
      of: this.opts.cycles,
      pathId: r.pathId,
      destinationTtl: p.destinationTtl,
      reached: p.reached,
      end: p.end,
    });
    if (this.opts.cycles !== undefined && this.cyclesDone >= this.opts.cycles) this.startGrace();
  }

  private onOutcome(probe: ProbeRef, slot: number, generation: number, o: ProbeOutcome): void {
    this.pending--;
    if (this.phase === 'ended') return;
    const stats = generation === this.generation ? this.stats : undefined;
    const target = this.ref;
    const h = this.host;
    switch (o.kind) {
      case 'reply':
      case 'ttl-expired':
      case 'unreachable': {
        const reply: ReplyInfo = replyInfoOf(o);
        const mpls = o.mpls ?? NO_LABELS;
        const error = o.kind === 'unreachable' ? o.reason : undefined;
        const nat = o.nat === true;
        const isNew =
          stats?.answered(
            probe.ttl,
            slot,
            probe.probe,
            probe.cycle,
            nat ? { address: o.address, rtt: o.rtt, mpls, reply, error, nat } : { address: o.address, rtt: o.rtt, mpls, reply, error },
            h.clock.now(),
            probe.flow,
          ) ??
          false;
        h.names?.learn(o.address);
        const answered = {
          type: 'probe-answered' as const,
          target,
          probe,
          reply,
          responder: o.address,
          rtt: o.rtt / 1000,
          mpls,
          destination: o.address === target.address,
          newResponder: isNew,
        };
        h.emit(nat ? Object.assign(answered, { nat }) : answered);
        if (isNew && stats !== undefined) {
          h.emit({ type: 'hop-changed', target, ttl: probe.ttl, added: o.address, responders: Object.freeze(stats.responders(probe.ttl)), cycle: probe.cycle });
        }
        break;
      }
      case 'no-reply':
        stats?.lost(probe.ttl, slot, probe.probe, probe.flow);
        h.emit({ type: 'probe-lost', target, probe, reason: 'no-reply' });
        break;
      case 'send-failed':
        stats?.lost(probe.ttl, slot, probe.probe, probe.flow);
        h.emit({ type: 'probe-lost', target, probe, reason: 'send-failed', detail: o.reason });
        break;
      case 'refused':
        if (o.reason !== 'probes-exhausted') {
          // a refusal that will not go away by trying again; mtr 0.95 exits on these
          this.fail('probe', o.message, o.reason);
          return;
        }
        stats?.lost(probe.ttl, slot, probe.probe, probe.flow);
        h.emit({ type: 'probe-lost', target, probe, reason: 'probes-exhausted' });
        if (!this.warnedExhausted) {
          this.warnedExhausted = true;
          h.emit({
            type: 'warning',
            target,
            code: 'probes-exhausted',
            message: 'the packet program has too many probes in flight (probes-exhausted); counting those as lost',
          });
        }
        break;
    }
    if (this.phase === 'finishing' && this.pending === 0) this.complete();
  }

  private onRejected(probe: ProbeRef, slot: number, generation: number, sender: ProbeSender, e: Error): void {
    if (this.phase === 'ended') {
      this.pending--;
      return;
    }
    if (e instanceof PacketProcessError && !this.host.fatal(sender)) {
      // a packet process we replaced (restart) took this probe with it: it is lost, the target goes on
      this.pending--;
      if (generation === this.generation) this.stats?.lost(probe.ttl, slot, probe.probe, probe.flow);
      this.host.emit({ type: 'probe-lost', target: this.ref, probe, reason: 'no-reply', detail: 'packet process exited' });
      if (this.phase === 'finishing' && this.pending === 0) this.complete();
      return;
    }
    this.pending--;
    this.fail(e instanceof PacketProcessError ? 'packet-process' : 'probe', e.message);
  }

  private startGrace(): void {
    this.phase = 'finishing';
    this.clearTimer();
    if (this.pending === 0) {
      this.complete();
      return;
    }
    this.graceTimer = this.host.clock.setTimeout(() => this.complete(), this.opts.gracetime * 1000);
  }

  private complete(): void {
    if (this.phase === 'ended') return;
    this.stats?.end();
    this.end('done', 'completed');
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.host.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private end(status: TargetStatus, reason: DoneReason): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.attempt++;
    this.endStatus = status;
    this.clearTimer();
    if (this.graceTimer !== undefined) this.host.clock.clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.host.emit({ type: 'target-done', target: this.ref, reason });
    this.settle();
  }

  fail(stage: ErrorStage, message: string, code?: string): void {
    if (this.phase === 'ended') return;
    this.host.emit({ type: 'error', target: this.ref, stage, message, ...(code !== undefined ? { code } : {}) });
    this.end('failed', 'failed');
  }

  /** stop() or remove(): in-flight probes are not counted as lost. */
  stop(reason: 'stopped' | 'removed'): void {
    this.end('stopped', reason);
  }

  /** The packet process died and will not come back. */
  packetProcessDied(message: string): void {
    // a target still asking what it supports hears it from its own question (mtr's words for start-up)
    if (this.phase === 'running' || this.phase === 'finishing') this.fail('packet-process', message);
  }

  /** No probes until recheck(): the packet process is gone and a new one is coming. */
  hold(): void {
    if (this.phase === 'running' || this.phase === 'finishing') this.blocked = true;
  }

  /** A new packet process: ask it again before the next probe. */
  recheck(): void {
    if (this.phase !== 'running' && this.phase !== 'finishing') return;
    const family = this.ref.family;
    if (family === undefined) return;
    this.blocked = true;
    this.host.ready(family, this.opts.protocol, this.opts.mark !== undefined, this.opts.flows !== undefined).then(
      (ext) => {
        this.flowExt = ext === true;
        this.blocked = false;
      },
      (e: unknown) => this.fail(e instanceof StartFailure ? e.stage : 'features', (e as Error).message),
    );
  }

  pause(): void {
    if (this.paused || this.phase === 'ended') return;
    this.paused = true;
    this.clearTimer();
    this.host.emit({ type: 'target-paused', target: this.ref });
  }

  resume(): void {
    if (!this.paused || this.phase === 'ended') return;
    this.paused = false;
    this.host.emit({ type: 'target-resumed', target: this.ref });
    if (this.phase === 'running' && this.timer === undefined) {
      // the grid starts again from now: the time paused is not made up
      this.due = this.host.clock.now();
      this.timer = this.host.clock.setTimeout(this.tick, 0);
    }
  }

  reset(reason: 'request' | 'options' = 'request'): void {
    if (this.stats === undefined) return;
    this.generation++;
    this.newStats();
    this.host.emit({ type: 'target-reset', target: this.ref, reason });
  }

  reconfigure(patch: Partial<TargetOptions>): void {
    const next: TargetOptions = Object.freeze({ ...this.opts, ...patch });
    const restart = RESTART_KEYS.some((k) => next[k] !== this.opts[k]);
    this.opts = next;
    this.host.emit({ type: 'target-reconfigured', target: this.ref, options: next, restarted: restart });
    if (!restart) return;
    this.clearTimer();
    if (this.graceTimer !== undefined) this.host.clock.clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    this.generation++;
    this.stats = undefined;
    this.startTime = undefined;
    this.host.emit({ type: 'target-reset', target: this.ref, reason: 'options' });
    if (this.phase !== 'ended') this.start();
  }

  snapshot(): TargetSnapshot {
    const s = this.stats;
    return Object.freeze({
      target: this.ref,
      options: this.opts,
      status: this.status(),
      startTime: this.startTime,
      takenAt: this.host.clock.now(),
      cycles: this.cyclesDone,
      probes: this.probesSinceStart,
      hops: Object.freeze(s?.hopSnapshots() ?? []),
      path: s?.path() ?? NO_PATH,
    });
  }
}

/** How an answer came back, with the icmp-detail extension's fields when the packet program gave them. */
function replyInfoOf(o: Extract<ProbeOutcome, { address: string }>): ReplyInfo {
  const r: { -readonly [K in keyof ReplyInfo]: ReplyInfo[K] } = { kind: o.kind };
  if (o.kind === 'unreachable') r.code = o.reason;
  if (o.icmpType !== undefined) r.icmpType = o.icmpType;
  if (o.icmpCode !== undefined) r.icmpCode = o.icmpCode;
  if (o.mtu !== undefined) r.mtu = o.mtu;
  if (o.replyTtl !== undefined) r.replyTtl = o.replyTtl;
  return Object.freeze(r);
}
