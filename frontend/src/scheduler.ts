// What to send when: mtr's pacing, as a pure function (ui/net.c net_send_batch, ui/select.c).
//
// A cycle ("batch") probes TTL first..; one probe per tick, ticks `interval / numHosts` apart, so a
// cycle of the known path takes about `interval`. A cycle ends (and the next starts at the first
// TTL) when the probe just sent went to the hop where the destination answered, when some earlier
// hop turns out to be the destination (the path got shorter: the destination's TTL is learned and
// followed), when more than maxUnknown hops before it never answered, when the max TTL is reached,
// or (our addition) when a hop answered unreachable, since nothing beyond it can answer.

import type { HopState } from './stats.js';
import { endsPath } from './stats/path.js';

export interface SchedulerState {
  /** 0-based TTL index of the next probe */
  readonly batchAt: number;
  /** the number of hops a cycle is spread over (mtr starts with 10) */
  readonly numHosts: number;
}

export interface PathLimits {
  readonly firstTtl: number;
  readonly maxTtl: number;
  readonly maxUnknown: number;
}

export function initialScheduler(limits: PathLimits): SchedulerState {
  return { batchAt: limits.firstTtl - 1, numHosts: 10 };
}

/** Milliseconds between two probes. */
export function tickDelay(s: SchedulerState, intervalSeconds: number): number {
  return (intervalSeconds * 1000) / s.numHosts;
}

export interface Step {
  /** 0-based TTL index to probe now */
  readonly send: number;
  /** true when this probe was the last of its cycle */
  readonly cycleDone: boolean;
  /** true when this probe is the first of its cycle */
  readonly cycleStart: boolean;
  readonly next: SchedulerState;
}

const ends = endsPath;

export function step(s: SchedulerState, hops: readonly HopState[], target: string, limits: PathLimits): Step {
  const first = limits.firstTtl - 1;
  const send = s.batchAt;
  let restart = false;
  let numHosts = s.numHosts;
  let unknown = 0;
  for (let i = first; i < send; i++) {
    const h = hops[i];
    if (h === undefined || h.address === undefined) unknown++;
    if (ends(h, target)) {
      restart = true;
      numHosts = i + 1;
      break;
    }
  }
  if (!restart && (ends(hops[send], target) || unknown > limits.maxUnknown || send >= limits.maxTtl - 1)) {
    restart = true;
    numHosts = send + 1;
  }
  const next = restart ? { batchAt: first, numHosts } : { batchAt: send + 1, numHosts };
  return { send, cycleDone: restart, cycleStart: send === first, next };
}
