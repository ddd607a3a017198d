// A target's recent probes per TTL as columns (typed arrays and one interned address per slot), fed from
// the engine's probe events: what a diagnosis window reads (adapter.ts's SampleView), without an object
// per probe. The exporter judges a thousand targets for months: the engine's snapshot would hand out a
// frozen Sample per probe, each kept ~a minute (promoted to V8's old generation, then garbage there).
//
// Everything is allocated when a TTL is first probed and never grows: `capacity` slots per TTL (the
// oldest overwritten), and per TTL a table of at most capacity + ADDRESS_TABLE responder addresses (rebuilt
// from the slots when full, so an address that left the ring leaves the table).

import { LOST, ProbeRing, REPLY, STATE_NAMES } from '../stats/probe-ring.js';
import type { HopLike, ResponderLike, SampleLike, SampleView, SnapshotLike } from './adapter.js';

/** responders kept per TTL with their latest answer's kind (the engine's MAX_RESPONDERS) */
export const LOG_RESPONDERS = 16;

/** addresses per TTL's table beyond the ring's capacity (a compaction keeps at most `capacity`) */
export const ADDRESS_TABLE = 256;

class TtlRing extends ProbeRing implements SampleView {
  /** index + 1 into `addresses`; 0: none */
  readonly who: Uint16Array;
  private readonly tableSize: number;
  readonly addresses: string[] = [];
  private readonly index = new Map<string, number>();
  /** lifetime counts at this TTL, as the engine's hop state counts them */
  sent = 0;
  received = 0;
  inFlight = 0;
  /** the first LOG_RESPONDERS addresses that answered here, each with its latest answer's kind */
  readonly responders: Array<{ address: string; reply: ResponderLike['reply'] }> = [];

  constructor(capacity: number) {
    if (!(capacity >= 1 && capacity <= 0xffff - ADDRESS_TABLE)) throw new RangeError(`ProbeLog capacity ${capacity}`);
    super(capacity);
    this.who = new Uint16Array(capacity);
    this.tableSize = capacity + ADDRESS_TABLE;
  }

  protected setResponder(slot: number, address: string | undefined): void {
    this.who[slot] = address === undefined ? 0 : this.intern(address);
  }

  /** the slot holding `probe`, newest first (answers come soon after their probe); -1 when overwritten */
  find(probe: number): number {
    for (let i = this.length - 1; i >= 0; i--) {
      const s = this.slot(i);
      if (this.probes[s] === probe) return s;
    }
    return -1;
  }

  private intern(address: string): number {
    const known = this.index.get(address);
    if (known !== undefined) return known;
    if (this.addresses.length >= this.tableSize) this.compact();
    this.addresses.push(address);
    const n = this.addresses.length;
    this.index.set(address, n);
    return n;
  }

  /** the table full: keep only the addresses some slot still holds (at most `capacity`), renumbered */
  private compact(): void {
    const old = this.addresses.splice(0);
    this.index.clear();
    const renumber = new Uint16Array(old.length + 1);
    for (let i = 0; i < this.length; i++) {
      const s = this.slot(i);
      const w = this.who[s] as number;
      if (w === 0) continue;
      if (renumber[w] === 0) {
        this.addresses.push(old[w - 1] as string);
        renumber[w] = this.addresses.length;
        this.index.set(old[w - 1] as string, this.addresses.length);
      }
      this.who[s] = renumber[w] as number;
    }
  }

  cycle(i: number): number {
    return this.cycles[this.slot(i)] as number;
  }

  state(i: number): SampleLike['state'] {
    return STATE_NAMES[this.states[this.slot(i)] as number] as SampleLike['state'];
  }

  rtt(i: number): number | undefined {
    const s = this.slot(i);
    return this.states[s] === REPLY ? (this.rtts[s] as number) : undefined;
  }

  responder(i: number): string | undefined {
    const w = this.who[this.slot(i)] as number;
    return w === 0 ? undefined : this.addresses[w - 1];
  }
}

const EMPTY: SampleView = { length: 0, cycle: () => 0, state: () => 'pending', rtt: () => undefined, responder: () => undefined };

/** What the windows read of a target besides its probes (the engine's TargetOptions has these). */
export interface LogTarget {
  readonly address: string | undefined;
  readonly family: 4 | 6 | undefined;
  readonly options: SnapshotLike['options'];
}

/** One target's probes, `capacity` per TTL (TTL 1..maxTtl), and the lifetime counts the windows read. */
export class ProbeLog {
  private readonly rings: (TtlRing | undefined)[];
  private highest = 0;
  /** probes before this ordinal belong to an earlier run of the target (before a reset): not counted */
  private firstProbe = -1;
  /** traces completed */
  cycles = 0;

  constructor(
    readonly capacity: number,
    readonly maxTtl: number,
  ) {
    this.rings = new Array<TtlRing | undefined>(maxTtl).fill(undefined);
  }

  /** a probe went out (ProbeRef.probe, its TTL and cycle) */
  sent(ttl: number, probe: number, cycle: number): void {
    if (ttl < 1 || ttl > this.maxTtl) return;
    if (this.firstProbe < 0) this.firstProbe = probe;
    let r = this.rings[ttl - 1];
    if (r === undefined) this.rings[ttl - 1] = r = new TtlRing(this.capacity);
    if (ttl > this.highest) this.highest = ttl;
    r.push(probe, cycle);
    r.sent++;
    r.inFlight++;
  }

  /** its answer: RTT in ms; `reply` the answer's kind (and ICMP details) */
  answered(ttl: number, probe: number, rtt: number, responder: string, reply: ResponderLike['reply']): void {
    const r = this.ring(ttl, probe);
    if (r === undefined) return;
    if (r.inFlight > 0) r.inFlight--;
    r.received++;
    const s = r.find(probe);
    if (s >= 0) r.settle(s, REPLY, rtt, responder);
    const known = r.responders.find((x) => x.address === responder);
    if (known !== undefined) known.reply = reply;
    else if (r.responders.length < LOG_RESPONDERS) r.responders.push({ address: responder, reply });
  }

  /** no answer (timeout, send failure, the packet program gone) */
  lost(ttl: number, probe: number): void {
    const r = this.ring(ttl, probe);
    if (r === undefined) return;
    if (r.inFlight > 0) r.inFlight--;
    const s = r.find(probe);
    if (s >= 0) r.settle(s, LOST, 0, undefined);
  }

  private ring(ttl: number, probe: number): TtlRing | undefined {
    return this.firstProbe < 0 || probe < this.firstProbe ? undefined : this.rings[ttl - 1];
  }

  /** the probes at a TTL, oldest first */
  at(ttl: number): SampleView {
    return this.rings[ttl - 1] ?? EMPTY;
  }

  /** addresses interned at a TTL (the table's bound, for tests) */
  addressesAt(ttl: number): number {
    return this.rings[ttl - 1]?.addresses.length ?? 0;
  }

  /**
   * The target as windowEvidence reads it (with `at` for the probes): TTL 1 up to the highest probed,
   * the lifetime counts and responders; made per judged window, kept by nobody.
   */
  snapshot(t: LogTarget): SnapshotLike {
    const hops: HopLike[] = [];
    for (let ttl = 1; ttl <= this.highest; ttl++) {
      const r = this.rings[ttl - 1];
      hops.push({
        ttl,
        lifetime: { sent: r?.sent ?? 0, received: r?.received ?? 0, inFlight: r?.inFlight ?? 0 },
        samples: [],
        responders: r?.responders ?? [],
      });
    }
    return { target: { address: t.address, family: t.family }, options: t.options, cycles: this.cycles, hops };
  }
}
