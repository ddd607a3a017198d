// A target's snapshot in the shape the mtr 0.95 renderers (render/*) read.

import { EMPTY_HOP } from '../stats.js';
import type { TargetSnapshot } from '../stats/types.js';
import type { Snapshot } from '../render/model.js';

export function mtrSnapshot(s: TargetSnapshot, localHostname: string): Snapshot {
  const o = s.options;
  return {
    info: {
      localHostname,
      target: s.target.name,
      targetAddress: s.target.address ?? '',
      startTime: s.startTime ?? s.takenAt,
      tos: o.tos,
      psize: o.psize,
      bitpattern: o.bitpattern < 0 ? 0 : o.bitpattern,
      tests: o.cycles ?? 0,
    },
    hops: Array.from({ length: o.maxTtl }, (_, i) => s.hops[i]?.state ?? EMPTY_HOP),
    firstTtl: o.firstTtl,
    maxTtl: o.maxTtl,
  };
}
