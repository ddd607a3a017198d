// One hop's statistics with history, bounded: the lifetime accumulator (mtr's HopState, via reduceHop),
// a lifetime percentile histogram, each responder's own accumulator and histogram (at most MAX_RESPONDERS),
// and one ring of the latest probes that serves both the rolling window (its last windowSize entries) and
// the chart samples (its last ringSize entries). Memory depends on those bounds, never on the run's length.
//
// Mutable inside, copied out: snapshot() returns a frozen HopSnapshot that shares nothing mutable.

import type { MplsLabel } from '@mtr-ts/protocol';
import { EMPTY_HOP, reduceHop, type HopError, type HopState } from '../stats.js';
import { addRtt, EMPTY_RTT, foldRtts, viewRtt, withCounts, type HopView, type RttState } from './rtt.js';
import { exactPercentiles, LogHistogram } from './percentiles.js';
import { LOST, PENDING, ProbeRing, REPLY, STATE_NAMES } from './probe-ring.js';
import { MAX_RESPONDERS, type Balancing, type FlowSnapshot, type HopSnapshot, type LastProbe, type ReplyInfo, type ResponderSnapshot, type Percentiles, type RttView, type Sample, type SampleState } from './types.js';

/** One answer, as the hop records it. */
export interface HopAnswer {
  readonly address: string;
  /** µs */
  readonly rtt: number;
  readonly mpls: readonly MplsLabel[];
  readonly reply: ReplyInfo;
  /** set for an unreachable answer: the path ends at this hop */
  readonly error: HopError | undefined;
  /** the quote came back with the flow fields rewritten: a NAT before this hop (`flow` extension) */
  readonly nat?: boolean;
}

interface ResponderAcc {
  readonly address: string;
  rtt: RttState;
  readonly histogram: LogHistogram;
  mpls: readonly MplsLabel[];
  reply: ReplyInfo;
  readonly firstSeen: number;
  lastSeen: number;
  readonly firstCycle: number;
  lastCycle: number;
}

interface FlowAcc {
  readonly flow: number;
  rtt: RttState;
  latest: string | undefined;
  readonly seen: string[];
  changes: number;
  /** losses before the flow's first answer here: charged to its member once it answers (else at the end) */
  unattributed: number;
  /** per (flow, responder): its answers, and the flow's losses while it was the flow's member */
  readonly members: Map<string, RttState>;
}

/** The hop's ring of its latest probes: each slot's responder, and the Sample last handed out for it. */
class SampleRing extends ProbeRing {
  readonly responder: Array<string | undefined>;
  /** each slot's Sample as last handed out; cleared when the slot changes, so unchanged ones are reused */
  readonly shown: Array<Sample | undefined>;

  constructor(capacity: number) {
    super(capacity);
    this.responder = new Array<string | undefined>(capacity).fill(undefined);
    this.shown = new Array<Sample | undefined>(capacity).fill(undefined);
  }

  protected setResponder(slot: number, responder: string | undefined): void {
    this.responder[slot] = responder;
    this.shown[slot] = undefined;
  }

  /** true while the slot still holds this probe (a wrapped ring has overwritten it otherwise) */
  holds(slot: number, probe: number): boolean {
    return slot >= 0 && slot < this.capacity && this.probes[slot] === probe;
  }

  /** the slot as a frozen Sample (the same object while the slot does not change) */
  sample(slot: number): Sample {
    let x = this.shown[slot];
    if (x === undefined) {
      const st = this.states[slot] as number;
      x = Object.freeze({
        probe: this.probes[slot] as number,
        cycle: this.cycles[slot] as number,
        state: STATE_NAMES[st] as SampleState,
        rtt: st === REPLY ? (this.rtts[slot] as number) / 1000 : undefined,
        responder: this.responder[slot],
      });
      this.shown[slot] = x;
    }
    return x;
  }
}

/**
 * The RTT view of an accumulator with its probes in flight and percentiles, frozen: viewRtt's literal
 * with the two added (a spread of it, some thirty a frame, is the slow path of V8's object literals).
 */
function rttView(s: RttState, inFlight: number, percentiles: Percentiles | undefined): RttView {
  const v = viewRtt(s) as HopView & { inFlight: number; percentiles: Percentiles | undefined };
  v.inFlight = inFlight;
  v.percentiles = percentiles === undefined ? undefined : Object.freeze(percentiles);
  return Object.freeze(v);
}

export class HopStats {
  /** the lifetime accumulator in mtr's terms (immutable, replaced on each event) */
  state: HopState = EMPTY_HOP;
  private readonly histogram = new LogHistogram();
  private readonly responders: ResponderAcc[] = [];
  private readonly byAddress = new Map<string, ResponderAcc>();
  private overflow = 0;
  /** the responder the next loss is charged to */
  private latest: ResponderAcc | undefined;
  private reply: ReplyInfo | undefined;
  private readonly ring: SampleRing;
  private lastProbeNo = 0;
  private lastProbeState: LastProbe = 'none';
  /** answers with `nat` set */
  private natAnswers = 0;
  /** per flow (ECMP), by ProbeRef.flow; empty for classic probing */
  private readonly flowAccs = new Map<number, FlowAcc>();
  /** the last snapshot, reused until the hop changes (snapshots are immutable, so sharing is safe) */
  private cached: HopSnapshot | undefined;

  constructor(
    readonly ttl: number,
    readonly windowSize: number,
    readonly ringSize: number,
  ) {
    this.ring = new SampleRing(Math.max(1, windowSize, ringSize));
  }

  private flowAcc(flow: number): FlowAcc {
    let f = this.flowAccs.get(flow);
    if (f === undefined) {
      f = { flow, rtt: EMPTY_RTT, latest: undefined, seen: [], changes: 0, unattributed: 0, members: new Map() };
      this.flowAccs.set(flow, f);
    }
    return f;
  }

  /** A probe went out; returns its ring slot (hand it back with its outcome). */
  sent(probe: number, cycle: number, flow?: number): number {
    this.cached = undefined;
    if (flow !== undefined) {
      const f = this.flowAcc(flow);
      f.rtt = withCounts(f.rtt, f.rtt.xmit + 1, f.rtt.inFlight + 1);
    }
    this.state = reduceHop(this.state, { kind: 'sent' });
    this.lastProbeNo = probe;
    this.lastProbeState = 'pending';
    return this.ring.push(probe, cycle);
  }

  /** An answer; `now` in ms since the epoch. Returns true when the responder is new at this hop. */
  answered(slot: number, probe: number, cycle: number, a: HopAnswer, now: number, flow?: number): boolean {
    this.cached = undefined;
    let f: FlowAcc | undefined;
    if (flow !== undefined) {
      f = this.flowAcc(flow);
      f.rtt = addRtt(f.rtt, a.rtt, f.rtt.xmit, Math.max(0, f.rtt.inFlight - 1));
      if (f.latest !== undefined && f.latest !== a.address) f.changes++;
      f.latest = a.address;
      if (!f.seen.includes(a.address) && f.seen.length < MAX_RESPONDERS) f.seen.push(a.address);
      if (f.seen.includes(a.address)) {
        // the flow's losses before its first answer go to the member it first answers from, as below
        let m = f.members.get(a.address) ?? EMPTY_RTT;
        m = withCounts(m, m.xmit + f.unattributed, 0);
        f.members.set(a.address, addRtt(m, a.rtt, m.xmit + 1));
      }
    }
    if (a.nat === true) this.natAnswers++;
    const known = this.state.responders.length;
    this.state = reduceHop(this.state, { kind: 'reply', address: a.address, rtt: a.rtt, mpls: a.mpls, error: a.error });
    const isNew = this.state.responders.length > known;
    this.histogram.add(a.rtt);
    this.reply = a.reply;
    let r = this.byAddress.get(a.address);
    if (r === undefined && this.responders.length < MAX_RESPONDERS && isNew) {
      r = {
        address: a.address,
        rtt: EMPTY_RTT,
        histogram: new LogHistogram(),
        mpls: a.mpls,
        reply: a.reply,
        firstSeen: now,
        lastSeen: now,
        firstCycle: cycle,
        lastCycle: cycle,
      };
      this.responders.push(r);
      this.byAddress.set(a.address, r);
    }
    if (r === undefined) this.overflow++;
    else {
      r.rtt = addRtt(r.rtt, a.rtt, r.rtt.xmit + 1);
      r.histogram.add(a.rtt);
      r.mpls = a.mpls;
      r.reply = a.reply;
      r.lastSeen = now;
      r.lastCycle = cycle;
    }
    this.latest = r;
    if (f !== undefined && f.unattributed > 0 && r !== undefined) {
      r.rtt = withCounts(r.rtt, r.rtt.xmit + f.unattributed, 0);
      f.unattributed = 0;
    }
    if (this.ring.holds(slot, probe)) this.ring.settle(slot, REPLY, a.rtt, a.address);
    if (probe === this.lastProbeNo) this.lastProbeState = 'reply';
    return isNew;
  }

  /**
   * No answer (timeout, send failure): charged to the latest responder, or with a flow to that flow's latest
   * responder (the member the flow takes); before the flow's first answer here, to the member it answers from
   * first (or, if it never answers, at the end to the hop's only responder, and with several to none).
   */
  lost(slot: number, probe: number, flow?: number): void {
    this.cached = undefined;
    this.state = reduceHop(this.state, { kind: 'lost' });
    let charged = this.latest;
    if (flow !== undefined) {
      const f = this.flowAcc(flow);
      f.rtt = withCounts(f.rtt, f.rtt.xmit, Math.max(0, f.rtt.inFlight - 1));
      if (f.latest !== undefined) {
        charged = this.byAddress.get(f.latest) ?? charged;
        const m = f.members.get(f.latest);
        if (m !== undefined) f.members.set(f.latest, withCounts(m, m.xmit + 1, 0));
      } else {
        f.unattributed++;
        charged = undefined;
      }
    }
    if (charged !== undefined) charged.rtt = withCounts(charged.rtt, charged.rtt.xmit + 1, 0);
    if (this.ring.holds(slot, probe)) this.ring.settle(slot, LOST, 0, undefined);
    if (probe === this.lastProbeNo) this.lastProbeState = 'lost';
  }

  /** The run is over: what is still in flight counts as lost (mtr's net_end_transit). */
  end(): void {
    this.cached = undefined;
    // the probes still in flight are lost: charged as lost() charges them (to the flow's member, or the latest)
    const charge = (to: ResponderAcc | undefined, n: number): void => {
      if (to !== undefined && n > 0) to.rtt = withCounts(to.rtt, to.rtt.xmit + n, 0);
    };
    let flowPending = 0;
    for (const f of this.flowAccs.values()) {
      flowPending += f.rtt.inFlight;
      // a flow that never answered here took an unknown member: with one responder it is that one; with
      // several, charging the hop's latest would put a lossy member's losses on another (the ECMP lab once
      // showed its good member at 24% that way), so they stay in the hop's loss and on no member
      const member =
        f.latest !== undefined ? this.byAddress.get(f.latest) : this.byAddress.size === 1 ? this.latest : undefined;
      charge(member, f.rtt.inFlight + f.unattributed);
      const m = f.latest !== undefined ? f.members.get(f.latest) : undefined;
      if (m !== undefined && f.latest !== undefined) f.members.set(f.latest, withCounts(m, m.xmit + f.rtt.inFlight + f.unattributed, 0));
      f.unattributed = 0;
      f.rtt = withCounts(f.rtt, f.rtt.xmit, 0);
    }
    charge(this.latest, this.state.inFlight - flowPending);
    this.state = reduceHop(this.state, { kind: 'end' });
    for (const slot of this.ring.last(this.ring.length)) if (this.ring.states[slot] === PENDING) this.ring.settle(slot, LOST, 0, undefined);
    if (this.lastProbeState === 'pending') this.lastProbeState = 'lost';
  }

  private windowView(): RttView {
    let xmit = 0;
    let inFlight = 0;
    const rtts: number[] = [];
    const ring = this.ring;
    const n = Math.min(this.windowSize, ring.length);
    for (let i = ring.length - n; i < ring.length; i++) {
      const slot = ring.slot(i);
      xmit++;
      const st = ring.states[slot];
      if (st === PENDING) inFlight++;
      else if (st === REPLY) rtts.push(ring.rtts[slot] as number);
    }
    const acc = foldRtts(rtts, xmit, inFlight);
    return rttView(acc, inFlight, exactPercentiles(rtts));
  }

  snapshot(): HopSnapshot {
    this.cached ??= this.build();
    return this.cached;
  }

  private build(): HopSnapshot {
    const samples: Sample[] = [];
    for (const slot of this.ring.last(this.ringSize)) samples.push(this.ring.sample(slot));
    const responders: ResponderSnapshot[] = this.responders.map((r) =>
      Object.freeze({
        address: r.address,
        stats: rttView(r.rtt, 0, r.histogram.percentiles()),
        mpls: r.mpls,
        reply: r.reply,
        firstSeen: r.firstSeen,
        lastSeen: r.lastSeen,
        firstCycle: r.firstCycle,
        lastCycle: r.lastCycle,
      }),
    );
    const s = this.state;
    const flows = this.flowSnapshots();
    const snap: { -readonly [K in keyof HopSnapshot]: HopSnapshot[K] } = {
      ttl: this.ttl,
      lifetime: rttView(s, s.inFlight, this.histogram.percentiles()),
      window: this.windowView(),
      address: s.address,
      mpls: s.mpls,
      reply: this.reply,
      error: s.error,
      lastProbe: this.lastProbeState,
      responders: Object.freeze(responders),
      respondersOverflow: this.overflow,
      samples: Object.freeze(samples),
      state: freezeState(s),
    };
    // added to the literal in the spread's order, not spread into it (a frame builds every hop's)
    if (flows !== undefined) {
      snap.flows = flows;
      snap.balancing = balancingOf(flows);
    }
    if (this.natAnswers > 0) snap.nat = this.natAnswers;
    return Object.freeze(snap);
  }

  private flowSnapshots(): readonly FlowSnapshot[] | undefined {
    if (this.flowAccs.size === 0) return undefined;
    const out = [...this.flowAccs.values()]
      .sort((a, b) => a.flow - b.flow)
      .map((f) =>
        Object.freeze({
          flow: f.flow,
          stats: rttView(f.rtt, f.rtt.inFlight, undefined),
          responder: f.latest,
          responders: Object.freeze([...f.seen]),
          changes: f.changes,
          members: Object.freeze(
            f.seen.map((address) =>
              Object.freeze({
                address,
                stats: rttView(f.members.get(address) ?? EMPTY_RTT, 0, undefined),
              }),
            ),
          ),
        }),
      );
    return Object.freeze(out);
  }
}

/** A flow that met several responders: per-packet; flows that each keep one but differ: per-flow. */
export function balancingOf(flows: readonly FlowSnapshot[]): Balancing {
  if (flows.some((f) => f.responders.length > 1)) return 'per-packet';
  const members = new Set(flows.flatMap((f) => f.responders));
  return members.size > 1 ? 'per-flow' : 'none';
}

/** The lifetime state is replaced, never changed, inside; frozen so no consumer can change it either. */
function freezeState(s: HopState): HopState {
  if (Object.isFrozen(s)) return s;
  for (const r of s.responders) Object.freeze(r);
  Object.freeze(s.responders);
  Object.freeze(s.mpls);
  return Object.freeze(s);
}
