// A target's path as the probes see it: where it ends (the path-end rule, once), the responder sequence up
// to there, and a path id (a hash of that sequence) that changes only when the sequence changes.

import type { HopState } from '../stats.js';
import type { PathEnd } from './types.js';

/** The TTL range a report shows and the path's end; hops indexed by TTL - 1. */
export interface PathExtent {
  /** 0-based index of firstTtl */
  readonly from: number;
  /** exclusive 0-based end: up to the destination or unreachable hop, else one past the last answer */
  readonly to: number;
  /** 1-based TTL where the destination (or an unreachable answer) ended the path; undefined otherwise */
  readonly endTtl: number | undefined;
  readonly reached: boolean;
  readonly unreachable: boolean;
}

/** True when this hop ends the path: the destination answered there, or an unreachable error did. */
export const endsPath = (h: HopState | undefined, target: string): boolean => h !== undefined && (h.address === target || h.error !== undefined);

/**
 * mtr's net_min/net_max: up to the destination or the first hop that answered with an unreachable error;
 * otherwise one hop past the last hop that answered, capped at the max TTL.
 */
export function pathExtent(hops: readonly (HopState | undefined)[], target: string, firstTtl: number, maxTtl: number): PathExtent {
  const from = firstTtl - 1;
  let to = 0;
  for (let at = 0; at < maxTtl; at++) {
    const h = hops[at];
    if (h === undefined) continue;
    if (endsPath(h, target)) return { from, to: at + 1, endTtl: at + 1, reached: h.address === target, unreachable: h.address !== target };
    if (h.address !== undefined) to = at + 2;
  }
  if (to > maxTtl) to = maxTtl;
  return { from, to, endTtl: undefined, reached: false, unreachable: false };
}

/** The responder sequence a path id is computed from: firstTtl up to the end (or the last answer). */
export function responderSequence(hops: readonly (HopState | undefined)[], target: string, firstTtl: number, maxTtl: number): (string | null)[] {
  const e = pathExtent(hops, target, firstTtl, maxTtl);
  const last = e.endTtl !== undefined ? e.endTtl : e.to - 1; // without an end: drop the silent hop past the last answer
  const out: (string | null)[] = [];
  for (let at = e.from; at < last; at++) out.push(hops[at]?.address ?? null);
  return out;
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = 0xffffffffffffffffn;
const utf8 = new TextEncoder();

/** 16 hex digits: 64-bit FNV-1a over the UTF-8 of the sequence ("*" for a silent hop, "," between hops). */
export function pathId(sequence: readonly (string | null)[]): string {
  let h = FNV_OFFSET;
  for (const byte of utf8.encode(sequence.map((a) => a ?? '*').join(','))) {
    h ^= BigInt(byte);
    h = (h * FNV_PRIME) & MASK64;
  }
  return h.toString(16).padStart(16, '0');
}

/** Why a path without an end answer stopped where it did. */
export function pathEnd(e: PathExtent, highestProbedTtl: number, maxTtl: number, cycles: number): PathEnd {
  if (e.reached) return 'destination';
  if (e.unreachable) return 'unreachable';
  if (cycles === 0) return 'unknown';
  return highestProbedTtl >= maxTtl ? 'max-ttl' : 'max-unknown';
}
