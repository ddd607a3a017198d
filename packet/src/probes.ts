// The table of probes in flight: sequence allocation, O(1) lookup by sequence, and the
// deadlines ordered in an indexed binary heap so a reply removes its probe in O(log n)
// and nothing answered lingers in memory until its timeout.

import type { IpVersion, ProbeProtocol } from '@mtr-ts/protocol';
import { IdMap } from './id-map.js';

/** Sequence numbers live where a port can carry them too (UDP/TCP/SCTP), as mtr-packet's do. */
export const MIN_SEQUENCE = 33434;
export const MAX_SEQUENCE = 65535;
const SEQUENCE_SPAN = MAX_SEQUENCE - MIN_SEQUENCE + 1;

/** Far below the sequence span, so a sequence is never reused soon after it was freed. */
export const DEFAULT_MAX_IN_FLIGHT = 16384;

export interface Probe {
  token: number;
  family: IpVersion;
  protocol: ProbeProtocol;
  /** destination address bytes (4 or 16) */
  dst: Uint8Array;
  /** where its echo reply comes from: dst, or loopback for the unspecified address */
  echoFrom?: Uint8Array;
  sequence: number;
  /** UDP/TCP/SCTP: the ports on the wire (0 for ICMP) */
  srcPort: number;
  dstPort: number;
  /** the native TCP probe id while its socket is open; -1 otherwise */
  tcpId: number;
  /** a TCP connect error waiting for the router's own ICMP message; 0 when none */
  failedErrno: number;
  /** departure, on the native clock (ns): the pre-send clock, replaced by the kernel's transmit stamp when one comes */
  txNs: number;
  /** raw probes: the id its transmit stamp will carry, while that may still come; -1 otherwise */
  txId: number;
  /** raw IPv4 probes: the IPv4 identification it carries (an answer quoting another is not for it) */
  ipId?: number;
  /** ICMP probes: the length of the echo request message (an echo reply of another length is not for it) */
  icmpLength?: number;
  /** ICMP probes with data: the byte it repeats (the bit pattern); an echo reply with other data is not for it */
  icmpPattern?: number;
  /** extension `flow`: the stable flow it went out on (undefined: a classic probe) */
  flow?: number;
  /** ICMP flow probes: the identifier and checksum the flow's echo requests carry */
  flowIcmpId?: number;
  flowChecksum?: number;
  /** flow probes: the source address it left from, where known (a quote from another: a NAT) */
  src?: Uint8Array;
  /** departure + timeout (ns) */
  deadlineNs: number;
  /** position in the deadline heap; -1 when not in it */
  heapIndex: number;
  /** set by ProbeTable.add: its place among the adds, which breaks ties between equal deadlines */
  addOrder?: number;
}

export class ProbeTable {
  private readonly bySequence = new IdMap<Probe>();
  private readonly heap: Probe[] = [];
  private cursor: number;
  private adds = 0;

  constructor(readonly maxInFlight: number = DEFAULT_MAX_IN_FLIGHT, firstSequence?: number) {
    if (maxInFlight < 1 || maxInFlight > SEQUENCE_SPAN - 1024) {
      throw new RangeError(`maxInFlight must be between 1 and ${SEQUENCE_SPAN - 1024}`);
    }
    this.cursor =
      firstSequence ?? MIN_SEQUENCE + Math.floor(Math.random() * SEQUENCE_SPAN);
  }

  get size(): number {
    return this.bySequence.size;
  }

  get full(): boolean {
    return this.bySequence.size >= this.maxInFlight;
  }

  /** The next free sequence, going round the space so a freed one is reused as late as possible. */
  allocateSequence(): number {
    for (;;) {
      const s = this.cursor;
      this.cursor = s >= MAX_SEQUENCE ? MIN_SEQUENCE : s + 1;
      if (!this.bySequence.has(s)) return s;
    }
  }

  get(sequence: number): Probe | undefined {
    return this.bySequence.get(sequence);
  }

  add(probe: Probe): void {
    this.bySequence.set(probe.sequence, probe);
    probe.addOrder = this.adds++;
    probe.heapIndex = this.heap.length;
    this.heap.push(probe);
    this.siftUp(probe.heapIndex);
  }

  /** Removes a probe (answered or expired). */
  remove(probe: Probe): void {
    if (this.bySequence.get(probe.sequence) !== probe) return;
    this.bySequence.delete(probe.sequence);
    const i = probe.heapIndex;
    const last = this.heap.pop()!;
    probe.heapIndex = -1;
    if (last !== probe) {
      this.heap[i] = last;
      last.heapIndex = i;
      this.siftDown(i);
      this.siftUp(last.heapIndex);
    }
  }

  /** Moves a probe's deadline. */
  reschedule(probe: Probe, deadlineNs: number): void {
    this.remove(probe);
    probe.deadlineNs = deadlineNs;
    this.add(probe);
  }

  /** The probe with the earliest deadline. */
  peekDeadline(): Probe | undefined {
    return this.heap[0];
  }

  /** Removes and returns every probe whose deadline is at or before nowNs, earliest first. */
  takeExpired(nowNs: number): Probe[] {
    const out: Probe[] = [];
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.deadlineNs > nowNs) return out;
      this.remove(top);
      out.push(top);
    }
  }

  private less(a: Probe, b: Probe): boolean {
    // ties broken by the order of the adds, which is the sending order (the probes of one send
    // batch share a departure; and a transmit stamp changes txNs while the probe is in the heap)
    return a.deadlineNs < b.deadlineNs || (a.deadlineNs === b.deadlineNs && a.addOrder! < b.addOrder!);
  }

  private siftUp(i: number): void {
    const h = this.heap;
    const p = h[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const q = h[parent]!;
      if (!this.less(p, q)) break;
      h[i] = q;
      q.heapIndex = i;
      i = parent;
    }
    h[i] = p;
    p.heapIndex = i;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    const p = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.less(h[r]!, h[l]!)) c = r;
      const child = h[c]!;
      if (!this.less(child, p)) break;
      h[i] = child;
      child.heapIndex = i;
      i = c;
    }
    h[i] = p;
    p.heapIndex = i;
  }
}
