// The latest probes at one TTL in parallel typed arrays, the oldest overwritten: the one ring under the
// hop's statistics (hop-stats.ts keeps each slot's responder and the Sample it handed out) and under the
// diagnosis's probe log (diagnose/probe-log.ts keeps each slot's responder interned). Allocated once, never
// grows: per slot a probe number, a cycle, a state and an RTT, plus what the subclass keeps of the responder.

import type { SampleState } from './types.js';

export const PENDING = 0;
export const REPLY = 1;
export const LOST = 2;
/** the state codes' names */
export const STATE_NAMES: readonly SampleState[] = ['pending', 'reply', 'lost'];

export abstract class ProbeRing {
  readonly probes: Float64Array;
  readonly cycles: Float64Array;
  /** PENDING, REPLY or LOST */
  readonly states: Uint8Array;
  /** the answer's RTT (in the owner's unit) for REPLY; 0 otherwise */
  readonly rtts: Float64Array;
  /** the slot the next probe takes */
  private next = 0;
  length = 0;

  constructor(readonly capacity: number) {
    this.probes = new Float64Array(capacity);
    this.cycles = new Float64Array(capacity);
    this.states = new Uint8Array(capacity);
    this.rtts = new Float64Array(capacity);
  }

  /** the subclass's record of a slot's responder (undefined: none, as for a new probe) */
  protected abstract setResponder(slot: number, responder: string | undefined): void;

  /** A probe went out: it takes the oldest slot, pending. Returns the slot. */
  push(probe: number, cycle: number): number {
    const slot = this.next;
    this.probes[slot] = probe;
    this.cycles[slot] = cycle;
    this.states[slot] = PENDING;
    this.rtts[slot] = 0;
    this.setResponder(slot, undefined);
    this.next = slot + 1 === this.capacity ? 0 : slot + 1;
    if (this.length < this.capacity) this.length++;
    return slot;
  }

  /** the slot's outcome */
  settle(slot: number, state: number, rtt: number, responder: string | undefined): void {
    this.states[slot] = state;
    this.rtts[slot] = rtt;
    this.setResponder(slot, responder);
  }

  /** the slot of the i-th entry, oldest first */
  slot(i: number): number {
    const s = this.next - this.length + i;
    return s < 0 ? s + this.capacity : s;
  }

  /** the slots of the last n entries, oldest first */
  last(n: number): number[] {
    const k = Math.min(n, this.length);
    const out = new Array<number>(k);
    let slot = (this.next - k + this.capacity) % this.capacity;
    for (let i = 0; i < k; i++) {
      out[i] = slot;
      slot = slot + 1 === this.capacity ? 0 : slot + 1;
    }
    return out;
  }
}
