// One target's statistics: a HopStats per TTL, the hop states the scheduler reads, and the path id with
// its change count. Pure (no clock, no I/O): the engine passes `now` in and copies snapshots out.

import { EMPTY_HOP, type HopState } from '../stats.js';
import { HopStats, type HopAnswer } from './hop-stats.js';
import { pathEnd, pathExtent, pathId, responderSequence } from './path.js';
import type { HopSnapshot, PathSnapshot } from './types.js';

export interface StatsLimits {
  readonly targetAddress: string;
  readonly firstTtl: number;
  readonly maxTtl: number;
  readonly windowSize: number;
  readonly ringSize: number;
}

/** What cycleDone() found. */
export interface CycleResult {
  readonly pathId: string;
  readonly sequence: readonly (string | null)[];
  /** set when the id differs from the previous cycle's */
  readonly changed: { readonly previousId: string; readonly previous: readonly (string | null)[] } | undefined;
  readonly changes: number;
}

export class TargetStats {
  private readonly hops: (HopStats | undefined)[] = [];
  /** index = TTL - 1, EMPTY_HOP where nothing was sent: what the scheduler and the path rules read */
  readonly states: HopState[];
  private highest = 0;
  private id: string | undefined;
  private sequence: readonly (string | null)[] = [];
  private changes = 0;
  private lastChangeCycle: number | undefined;
  private cycles = 0;

  constructor(readonly limits: StatsLimits) {
    this.states = Array.from({ length: limits.maxTtl }, () => EMPTY_HOP);
  }

  private hop(ttl: number): HopStats {
    let h = this.hops[ttl - 1];
    if (h === undefined) {
      h = new HopStats(ttl, this.limits.windowSize, this.limits.ringSize);
      this.hops[ttl - 1] = h;
      if (ttl > this.highest) this.highest = ttl;
    }
    return h;
  }

  /** returns the probe's ring slot */
  sent(ttl: number, probe: number, cycle: number, flow?: number): number {
    const h = this.hop(ttl);
    const slot = h.sent(probe, cycle, flow);
    this.states[ttl - 1] = h.state;
    return slot;
  }

  /** returns true when the responder is new at this TTL */
  answered(ttl: number, slot: number, probe: number, cycle: number, a: HopAnswer, now: number, flow?: number): boolean {
    const h = this.hop(ttl);
    const isNew = h.answered(slot, probe, cycle, a, now, flow);
    this.states[ttl - 1] = h.state;
    return isNew;
  }

  lost(ttl: number, slot: number, probe: number, flow?: number): void {
    const h = this.hop(ttl);
    h.lost(slot, probe, flow);
    this.states[ttl - 1] = h.state;
  }

  /** every responder at a TTL, first seen first */
  responders(ttl: number): string[] {
    return this.states[ttl - 1]?.responders.map((r) => r.address) ?? [];
  }

  /** The run is over: in-flight probes count as lost. */
  end(): void {
    for (const h of this.hops) {
      if (h === undefined) continue;
      h.end();
      this.states[h.ttl - 1] = h.state;
    }
  }

  /** A cycle ended: recompute the path id. */
  cycleDone(cycle: number): CycleResult {
    this.cycles++;
    const l = this.limits;
    const sequence = responderSequence(this.states, l.targetAddress, l.firstTtl, l.maxTtl);
    const id = pathId(sequence);
    let changed: CycleResult['changed'];
    if (this.id !== undefined && id !== this.id) {
      changed = { previousId: this.id, previous: this.sequence };
      this.changes++;
      this.lastChangeCycle = cycle;
    }
    this.id = id;
    this.sequence = Object.freeze(sequence);
    return { pathId: id, sequence: this.sequence, changed, changes: this.changes };
  }

  path(): PathSnapshot {
    const l = this.limits;
    const e = pathExtent(this.states, l.targetAddress, l.firstTtl, l.maxTtl);
    return Object.freeze({
      id: this.id,
      responders: this.sequence,
      changes: this.changes,
      lastChangeCycle: this.lastChangeCycle,
      destinationTtl: e.reached ? e.endTtl : undefined,
      reached: e.reached,
      end: pathEnd(e, this.highest, l.maxTtl, this.cycles),
    });
  }

  /** index = TTL - 1, up to the highest TTL probed; empty hops below firstTtl */
  hopSnapshots(): HopSnapshot[] {
    const out: HopSnapshot[] = [];
    for (let i = 0; i < this.highest; i++) out.push((this.hops[i] ?? new HopStats(i + 1, 1, 1)).snapshot());
    return out;
  }
}
