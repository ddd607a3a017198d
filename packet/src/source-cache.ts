// The kernel's source address per destination, asked once a second at most: UDP checksums
// need it, and a connect()+getsockname() per probe would cost three syscalls each.

import type { IpVersion } from '@mtr-ts/protocol';

const FRESH_NS = 1e9;
const MAX_ENTRIES = 4096;

export class SourceCache {
  private readonly entries = new Map<string, { src: Uint8Array; at: number }>();

  constructor(
    private readonly lookup: (family: IpVersion, dst: Uint8Array) => Uint8Array,
    private readonly now: () => number,
  ) {}

  /** Throws what the lookup throws (e.g. { errno: ENETUNREACH }). */
  get(family: IpVersion, dst: Uint8Array): Uint8Array {
    const key = `${family}:${dst.join('.')}`;
    const now = this.now();
    const e = this.entries.get(key);
    if (e !== undefined && now - e.at < FRESH_NS) return e.src;
    const src = this.lookup(family, dst);
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(key, { src, at: now });
    return src;
  }
}
