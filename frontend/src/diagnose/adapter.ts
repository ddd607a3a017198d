// From the engine's target snapshot to the rules' PathEvidence for one window of cycles.
//
// The adapter declares the part of the snapshot it reads (SnapshotLike) instead of importing the engine's
// types, so the diagnosis does not move when the engine grows; the engine's TargetSnapshot satisfies it.
// Everything comes from each hop's ring of recent probes (cycle, state, RTT, responder), so a window is
// exactly the cycles asked for, with its own responders and percentiles.

import type {
  AlternateEvidence,
  HopEvidence,
  PathChange,
  PathEvidence,
  ProbeProtocol,
  ResponderCount,
  RttSummary,
} from './types.js';

export interface SampleLike {
  readonly cycle: number;
  readonly state: 'pending' | 'reply' | 'lost';
  /** ms */
  readonly rtt: number | undefined;
  readonly responder: string | undefined;
}

/**
 * A hop's recent probes, oldest first, read by index: the snapshot's samples (sampleView), or columns kept
 * without an object per probe (ProbeLog, the exporter's).
 */
export interface SampleView {
  readonly length: number;
  cycle(i: number): number;
  state(i: number): SampleLike['state'];
  /** ms; undefined unless a reply */
  rtt(i: number): number | undefined;
  responder(i: number): string | undefined;
}

/** An array of samples as a SampleView. */
export function sampleView(samples: readonly SampleLike[]): SampleView {
  return {
    length: samples.length,
    cycle: (i) => samples[i]!.cycle,
    state: (i) => samples[i]!.state,
    rtt: (i) => samples[i]!.rtt,
    responder: (i) => samples[i]!.responder,
  };
}

export interface ResponderLike {
  readonly address: string;
  /**
   * the kind of its latest answer; with the packet program's icmp-detail extension also its ICMP type and
   * code and the MTU it reported
   */
  readonly reply: {
    readonly kind: string;
    readonly code?: string | undefined;
    readonly icmpType?: number | undefined;
    readonly icmpCode?: number | undefined;
    readonly mtu?: number | undefined;
  };
}

export interface HopLike {
  readonly ttl: number;
  readonly lifetime: { readonly sent: number; readonly received: number; readonly inFlight: number };
  /** oldest first */
  readonly samples: readonly SampleLike[];
  readonly responders: readonly ResponderLike[];
}

export interface SnapshotLike {
  readonly target: { readonly address: string | undefined; readonly family: 4 | 6 | undefined };
  readonly options: {
    readonly protocol: string;
    readonly psize: number;
    readonly firstTtl: number;
    readonly maxTtl: number;
  };
  /** cycles completed */
  readonly cycles: number;
  readonly hops: readonly HopLike[];
}

export interface WindowSpec {
  /** first and last cycle of the window, inclusive */
  readonly from: number;
  readonly to: number;
  /** count probes still pending in the window as lost (they are older than any answer can be) */
  readonly pendingIsLost: boolean;
  /** cycles a responder must have been away to count as new at its TTL (a path change) */
  readonly memory: number;
  /** the IP TTLs the answers at a TTL arrived with in cycles from..to (icmp-detail's reply-ttl); none: unknown */
  readonly replyTtls?: ((ttl: number, from: number, to: number) => readonly number[]) | undefined;
}

/**
 * The reply TTLs the packet program reported (icmp-detail), per probed TTL, with their cycle: the last
 * `perTtl` of each TTL, so a window's are at hand and memory stays bounded.
 */
export class ReplyTtlLog {
  private readonly byTtl = new Map<number, Array<[cycle: number, replyTtl: number]>>();
  constructor(private readonly perTtl = 512) {}

  add(ttl: number, cycle: number, replyTtl: number): void {
    let a = this.byTtl.get(ttl);
    if (a === undefined) this.byTtl.set(ttl, (a = []));
    a.push([cycle, replyTtl]);
    if (a.length > this.perTtl) a.splice(0, a.length - this.perTtl);
  }

  /** the reply TTLs at `ttl` in cycles from..to */
  between(ttl: number, from: number, to: number): number[] {
    return (this.byTtl.get(ttl) ?? []).filter(([c]) => c >= from && c <= to).map(([, t]) => t);
  }
}

const PROTOCOLS: readonly ProbeProtocol[] = ['icmp', 'udp', 'tcp', 'sctp'];

/** nearest rank: the sample at rank ceil(q * n) of the sorted values */
function rank(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1;
  return sorted[i] as number;
}

export function rttSummary(values: readonly number[]): RttSummary | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = sorted.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? sorted.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (n - 1) : 0;
  return {
    n,
    min: sorted[0] as number,
    mean,
    median: rank(sorted, 0.5),
    p95: rank(sorted, 0.95),
    max: sorted[n - 1] as number,
    stddev: Math.sqrt(variance),
  };
}

/**
 * Path changes seen in a hop's ring: a responder answering (twice or more) at a TTL where, in the `memory`
 * cycles before its first answer, another responder answered and it did not, once the TTL has answered for
 * at least `memory` cycles. Per-packet load balancing keeps every member answering, so it is not a change;
 * a router that starts or stops answering is loss, not a change.
 */
export function changesAt(
  hop: HopLike,
  memory: number,
  view: SampleView = sampleView(hop.samples),
): Array<PathChange & { cycle: number }> {
  // the replies, as indexes into the view
  const replies: number[] = [];
  for (let i = 0; i < view.length; i++) if (view.state(i) === 'reply' && view.responder(i) !== undefined) replies.push(i);
  const out: Array<PathChange & { cycle: number }> = [];
  const lastSeen = new Map<string, number>();
  const firstCycle = replies.length > 0 ? view.cycle(replies[0]!) : 0;
  for (let i = 0; i < replies.length; i++) {
    const cycle = view.cycle(replies[i]!);
    const addr = view.responder(replies[i]!)!;
    const seen = lastSeen.get(addr);
    if ((seen === undefined || cycle - seen > memory) && cycle - firstCycle >= memory) {
      let other: string | undefined;
      for (const [a, c] of lastSeen) if (a !== addr && cycle - c <= memory) other = a;
      let again = false;
      for (let j = i + 1; j < replies.length && !again; j++) again = view.responder(replies[j]!) === addr;
      if (other !== undefined && again) out.push({ ttl: hop.ttl, from: other, to: addr, cycle });
    }
    lastSeen.set(addr, cycle);
  }
  return out;
}

/**
 * One window of a snapshot as the rules' evidence. `samplesOf` gives a hop's probes another way than its
 * `samples` (the exporter's ProbeLog); default: the snapshot's.
 */
export function windowEvidence(
  s: SnapshotLike,
  w: WindowSpec,
  alternates?: readonly AlternateEvidence[],
  samplesOf: (hop: HopLike) => SampleView = (hop) => sampleView(hop.samples),
): PathEvidence {
  const target = s.target.address ?? '';
  const inWindow = (c: number): boolean => c >= w.from && c <= w.to;
  const hops: HopEvidence[] = [];
  const changes: PathChange[] = [];
  let destTtl: number | undefined;
  let lastTtl = 0;
  const views = s.hops.map((h) => (h.ttl < s.options.firstTtl ? undefined : samplesOf(h)));
  s.hops.forEach((h, k) => {
    const v = views[k];
    if (v === undefined) return;
    for (let i = 0; i < v.length; i++)
      if (inWindow(v.cycle(i))) {
        lastTtl = Math.max(lastTtl, h.ttl);
        return;
      }
  });
  for (let k = 0; k < s.hops.length; k++) {
    const h = s.hops[k]!;
    const v = views[k];
    if (v === undefined || h.ttl > lastTtl) continue;
    let sent = 0;
    const rtts: number[] = [];
    const byResponder = new Map<string, number>();
    for (let i = 0; i < v.length; i++) {
      const state = v.state(i);
      if (!inWindow(v.cycle(i)) || (state === 'pending' && !w.pendingIsLost)) continue;
      sent++;
      if (state !== 'reply') continue;
      rtts.push(v.rtt(i) ?? 0);
      const r = v.responder(i);
      if (r !== undefined) byResponder.set(r, (byResponder.get(r) ?? 0) + 1);
    }
    const responders: ResponderCount[] = [...byResponder]
      .map(([address, count]) => ({ address, count }))
      .sort((a, b) => b.count - a.count);
    if (byResponder.has(target) && destTtl === undefined) destTtl = h.ttl;
    let unreachable: HopEvidence['unreachable'];
    for (const r of h.responders) {
      if (r.reply.kind !== 'unreachable') continue;
      const count = byResponder.get(r.address) ?? 0;
      if (count === 0) continue;
      const { icmpType, icmpCode, mtu } = r.reply;
      unreachable = {
        count: (unreachable?.count ?? 0) + count,
        kind: r.reply.code ?? 'unreachable',
        ...(icmpType !== undefined && icmpCode !== undefined ? { icmpType, icmpCode } : {}),
        ...(mtu !== undefined ? { mtu } : {}),
      };
    }
    const replyTtls = w.replyTtls?.(h.ttl, w.from, w.to);
    for (const c of changesAt(h, w.memory, v)) if (inWindow(c.cycle)) changes.push({ ttl: c.ttl, from: c.from, to: c.to });
    hops.push({
      ttl: h.ttl,
      window: { sent, received: rtts.length },
      lifetime: { sent: h.lifetime.sent - h.lifetime.inFlight, received: h.lifetime.received },
      rtt: rttSummary(rtts),
      responders,
      unreachable,
      ...(replyTtls !== undefined && replyTtls.length > 0 ? { replyTtls } : {}),
    });
  }
  const protocol = (PROTOCOLS as readonly string[]).includes(s.options.protocol)
    ? (s.options.protocol as ProbeProtocol)
    : 'icmp';
  return {
    target,
    ipVersion: s.target.family ?? (target.includes(':') ? 6 : 4),
    protocol,
    probeSize: Math.abs(s.options.psize),
    firstTtl: s.options.firstTtl,
    maxTtl: s.options.maxTtl,
    windowCycles: w.to - w.from + 1,
    lifetimeCycles: s.cycles,
    hops,
    destination: destTtl !== undefined ? { reached: true, ttl: destTtl } : { reached: false },
    pathChanged: changes.length > 0,
    changes,
    alternates,
  };
}
