// The kernel's source address per destination, asked once a second at most: UDP checksums
// need it, and a connect()+getsockname() per probe would cost three syscalls each.
//
// Every probe asks (the daemon checks that its destination is routable), and a session's probes
// mostly go to the destination of the probe before: that one is found by comparing its bytes,
// without building a key. The clock is Date.now (a V8 builtin), not the transport's (an addon
// call): a second's freshness needs no better.

import type { IpVersion } from '@mtr-ts/protocol';

const FRESH_MS = 1000;
const MAX_ENTRIES = 4096;

interface Entry {
  family: IpVersion;
  /** a copy of the destination's bytes */
  dst: Uint8Array;
  src: Uint8Array;
  /** when it was asked (ms, on the cache's clock) */
  at: number;
}

export class SourceCache {
  private readonly entries = new Map<string, Entry>();
  /** the entry the last call returned */
  private last: Entry | undefined;

  constructor(
    private readonly lookup: (family: IpVersion, dst: Uint8Array) => Uint8Array,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Throws what the lookup throws (e.g. { errno: ENETUNREACH }). */
  get(family: IpVersion, dst: Uint8Array): Uint8Array {
    const now = this.nowMs();
    const last = this.last;
    if (last !== undefined && last.family === family && sameBytes(last.dst, dst) && fresh(last, now)) return last.src;
    const key = `${family}:${dst.join('.')}`;
    const e = this.entries.get(key);
    if (e !== undefined && fresh(e, now)) {
      this.last = e;
      return e.src;
    }
    const src = this.lookup(family, dst);
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    const entry: Entry = { family, dst: dst.slice(), src, at: now };
    this.entries.set(key, entry);
    this.last = entry;
    return src;
  }
}

/** Asked less than FRESH_MS ago (a clock that went back makes it stale too). */
function fresh(e: Entry, now: number): boolean {
  const age = now - e.at;
  return age >= 0 && age < FRESH_MS;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
