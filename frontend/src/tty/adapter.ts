// The engine's TargetSnapshot -> the live view's LiveSnapshot, and the engine as a LiveSource.
//
// The types below are the parts of the engine's contract (frontend/src/stats/types.ts, engine/types.ts,
// /work/coord/engine.md) this file reads, written structurally: the engine's own types satisfy them.
//
// Which hops are shown is mtr's net_min..net_max: from the first TTL up to the destination or the first
// hop that answered unreachable; otherwise one past the last hop that answered, capped at the max TTL.
// A hop is "down" (bold) as in mtr: its latest finished probe was lost, or a new probe went out while
// the previous one was still unanswered.

import { memberProbes, sharePct } from '../render/members.js';
import type { LiveDiagnosis } from './diagnosis.js';
import type { LiveSource } from './live.js';
import type { LiveHop, LiveNames, LiveProtocol, LiveSample, LiveSnapshot, LiveStats } from './snapshot.js';
import { EMPTY_STATS, NO_LIVE_NAMES } from './snapshot.js';
import type { LiveSettings } from './view.js';

interface EngineSample {
  readonly state: 'pending' | 'reply' | 'lost';
  readonly rtt: number | undefined;
}
interface EngineResponder {
  readonly address: string;
  readonly stats: LiveStats;
  readonly mpls: readonly { readonly label: number; readonly tc: number; readonly bottomOfStack: number; readonly ttl: number }[];
}
interface EngineHop {
  readonly ttl: number;
  readonly lifetime: LiveStats & { readonly percentiles: { readonly p50: number; readonly p95: number } | undefined };
  readonly address: string | undefined;
  readonly error: string | undefined;
  readonly lastProbe: 'none' | 'pending' | 'reply' | 'lost';
  readonly responders: readonly EngineResponder[];
  readonly samples: readonly EngineSample[];
  readonly flows?: readonly unknown[] | undefined;
  readonly balancing?: 'none' | 'per-flow' | 'per-packet' | undefined;
  readonly nat?: number | undefined;
}
export interface EngineTargetSnapshot {
  readonly target: { readonly id: number; readonly name: string; readonly address: string | undefined };
  readonly options: {
    readonly protocol: string;
    readonly firstTtl: number;
    readonly maxTtl: number;
    readonly interval: number;
    readonly psize: number;
    readonly bitpattern: number;
    readonly tos: number;
    readonly cycles: number | undefined;
  };
  readonly takenAt: number;
  readonly hops: readonly (EngineHop | undefined)[];
}
export interface EngineLike {
  snapshot(id: number): EngineTargetSnapshot | undefined;
  subscribe(fn: (e: { readonly type: string; readonly target?: { readonly id: number } | undefined }) => void): () => void;
  pause(id?: number): void;
  resume(id?: number): void;
  reset(id?: number): void;
  reconfigure(id: number, patch: Partial<LiveSettings>): void;
  readonly names: LiveNames | undefined;
}

/** mtr head's words for an unreachable answer */
const ERROR_TEXT: Record<string, string> = {
  'no-route': 'no route to host',
  'no-route-host': 'no route to host',
  'no-route-network': 'no route to network',
  'host-down': 'host is down',
  'network-down': 'network is down',
};

/** mtr's "up" is cleared when a probe is sent while the previous one is unanswered. */
export function isDown(samples: readonly EngineSample[]): boolean {
  let i = samples.length - 1;
  const newest = samples[i];
  if (newest === undefined) return false;
  if (newest.state === 'pending') {
    i--;
    const before = samples[i];
    return before !== undefined && before.state !== 'reply';
  }
  return newest.state === 'lost';
}

/** [from, to) TTL indexes shown, as mtr's net_min/net_max. */
export function shownRange(s: EngineTargetSnapshot): { from: number; to: number } {
  const from = s.options.firstTtl - 1;
  let to = 0;
  for (let at = from; at < s.options.maxTtl && at < s.hops.length; at++) {
    const h = s.hops[at];
    if (h === undefined) continue;
    if ((h.address !== undefined && h.address === s.target.address) || h.error !== undefined) return { from, to: at + 1 };
    if (h.address !== undefined) to = at + 2;
  }
  // nothing answered yet: show what has been probed (mtr shows the first rows waiting)
  if (to === 0) to = Math.min(s.hops.length, from + 1);
  return { from, to: Math.min(to, s.options.maxTtl, Math.max(s.hops.length, from + 1)) };
}

const PROTOCOLS = new Set(['icmp', 'udp', 'tcp', 'sctp']);

function liveHop(h: EngineHop | undefined, ttl: number): LiveHop {
  if (h === undefined) {
    return { ttl, responders: [], down: false, stats: EMPTY_STATS, samples: [] };
  }
  // the engine's samples as they are ({ state, rtt }): a frame copies nothing it does not draw
  const samples: readonly LiveSample[] = h.samples;
  // with flows, each member's own statistics and share, counted as the report's member lines count it
  const flows = h.flows !== undefined;
  const total = flows ? memberProbes(h.responders) : 0;
  const hop: { -readonly [K in keyof LiveHop]: LiveHop[K] } = {
    ttl,
    responders: h.responders.map((r) =>
      flows
        ? {
            address: r.address,
            replies: r.stats.received,
            mpls: r.mpls,
            member: { stats: r.stats, share: sharePct(r.stats.sent, total) },
          }
        : { address: r.address, replies: r.stats.received, mpls: r.mpls },
    ),
    error: h.error === undefined ? undefined : (ERROR_TEXT[h.error] ?? h.error),
    down: isDown(h.samples),
    stats: h.lifetime,
    samples,
  };
  // added, not spread (every hop, every frame)
  if (h.balancing !== undefined) hop.balancing = h.balancing;
  if (h.nat !== undefined && h.nat > 0) hop.nat = h.nat;
  return hop;
}


export interface RunFacts {
  /** os.hostname() */
  readonly localHostname: string;
  /** the source address, when known */
  readonly localAddress: string | undefined;
}

export function liveSnapshot(s: EngineTargetSnapshot, facts: RunFacts, now: number = s.takenAt): LiveSnapshot {
  const { from, to } = shownRange(s);
  const hops: LiveHop[] = [];
  for (let at = from; at < to; at++) hops.push(liveHop(s.hops[at], at + 1));
  const p = s.options.protocol;
  return {
    localHostname: facts.localHostname,
    localAddress: facts.localAddress,
    target: s.target.name,
    targetAddress: s.target.address,
    protocol: (PROTOCOLS.has(p) ? p : 'icmp') as LiveProtocol,
    now,
    hops,
  };
}

/** The probe settings the keys show and change, from the target's options. */
export function liveSettings(s: EngineTargetSnapshot): LiveSettings {
  const o = s.options;
  const p = o.protocol;
  return {
    protocol: (PROTOCOLS.has(p) ? p : 'icmp') as LiveProtocol,
    interval: o.interval,
    firstTtl: o.firstTtl,
    maxTtl: o.maxTtl,
    psize: o.psize,
    bitpattern: o.bitpattern,
    tos: o.tos,
    cycles: o.cycles,
  };
}

/** One engine target as the live view's source. `now` gives the clock shown. */
export function engineSource(
  engine: EngineLike,
  id: number,
  facts: () => RunFacts,
  now: () => number = Date.now,
  diagnosis?: () => LiveDiagnosis,
): LiveSource {
  let last: LiveSnapshot | undefined;
  return {
    snapshot: () => {
      const s = engine.snapshot(id);
      if (s !== undefined) {
        const snap: { -readonly [K in keyof LiveSnapshot]: LiveSnapshot[K] } = liveSnapshot(s, facts(), now());
        if (diagnosis !== undefined) snap.diagnosis = diagnosis();
        last = snap;
      }
      return (
        last ?? {
          localHostname: facts().localHostname,
          localAddress: facts().localAddress,
          target: '',
          targetAddress: undefined,
          protocol: 'icmp',
          now: now(),
          hops: [],
        }
      );
    },
    names: engine.names ?? NO_LIVE_NAMES,
    onChange: (fn) =>
      engine.subscribe((e) => {
        if (e.type === 'name-resolved' || e.target === undefined || e.target.id === id) fn();
      }),
    pause: () => engine.pause(id),
    resume: () => engine.resume(id),
    reset: () => engine.reset(id),
    set: (patch) => engine.reconfigure(id, patch),
    // names that the keys can switch (names.ts); plain resolvers ignore n/y/z beyond the view
    dns: (on) => (engine.names as { setDns?: (on: boolean) => void } | undefined)?.setDns?.(on),
    ipinfo: (item) => (engine.names as { setIpinfo?: (item: number | undefined) => void } | undefined)?.setIpinfo?.(item),
  };
}
