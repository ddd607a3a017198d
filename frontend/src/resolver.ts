// Names that never hold up probing: reverse DNS and IP-info (AS) lookups run in the background,
// are cached per address, and whoever renders asks `host()` / `ipinfo()` for what is known so far.
//
// Reverse DNS uses getnameinfo (dns.lookupService: /etc/hosts, then the system's DNS) unless a
// DNS server is given (MTR_TS_DNS_SERVER=host[:port][,host[:port]...]); then both reverse and AS
// lookups ask that server through node:dns's Resolver. AS lookups are mtr's: a TXT query for
// <reversed IPv4>.origin.asn.cymru.com or <reversed nibbles of the top 64 bits>.origin6.asn.cymru.com,
// whose answer "ASN | route | country | registry | allocated" is split on '|'.

import { promises as dnsp, lookupService } from 'node:dns';
import { isIPv4, isIPv6 } from 'node:net';
import type { Names } from './render/model.js';

export interface ResolverOptions {
  /** look up names at all (not -n) */
  readonly dns: boolean;
  /** which IP-info item (-y N, -z = 0); undefined: no lookups */
  readonly ipinfo: number | undefined;
  /** "127.0.0.1:5353" or a comma list; undefined = the system's */
  readonly server: string | undefined;
  /** per-query timeout, ms */
  readonly timeoutMs?: number;
  /** called when a name or an IP-info item arrives (or a lookup ends without one) */
  readonly onChange?: (address: string) => void;
}

/** The TXT name mtr asks for an address's AS data. */
export function asnQueryName(address: string): string | undefined {
  if (isIPv4(address)) return address.split('.').reverse().join('.') + '.origin.asn.cymru.com';
  if (isIPv6(address)) {
    const bytes = ipv6Bytes(address);
    if (bytes === undefined) return undefined;
    const nibbles: string[] = [];
    for (let i = 7; i >= 0; i--) {
      const b = bytes[i] as number;
      nibbles.push((b & 0xf).toString(16), (b >> 4).toString(16));
    }
    return nibbles.join('.') + '.origin6.asn.cymru.com';
  }
  return undefined;
}

function ipv6Bytes(address: string): number[] | undefined {
  let a = address.split('%')[0] as string;
  // embedded IPv4 tail
  const m = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (m !== null) {
    const v4 = (m[1] as string).split('.').map(Number);
    a = a.slice(0, m.index) + (((v4[0] as number) << 8) | (v4[1] as number)).toString(16) + ':' + (((v4[2] as number) << 8) | (v4[3] as number)).toString(16);
  }
  const [head, tail] = a.includes('::') ? (a.split('::') as [string, string]) : [a, undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  const out: number[] = [];
  for (const g of groups) {
    const n = parseInt(g, 16);
    out.push(n >> 8, n & 0xff);
  }
  return out;
}

/** "15169 | 8.8.8.0/24 | US | arin | 2000-03-30" -> items; item n, or item 0 if there is no item n. */
export function ipinfoItem(txt: string, n: number): string | undefined {
  const items = txt.split('|').map((s) => s.trim());
  const v = n < items.length ? items[n] : items[0];
  return v === undefined || v === '' ? undefined : v;
}

export function parseServers(spec: string): string[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      // "127.0.0.1:5353" stays; "::1" -> "[::1]"; "[::1]:5353" stays
      if (isIPv6(s)) return `[${s}]`;
      return s;
    });
}

export class NameResolver implements Names {
  private readonly names = new Map<string, string | null>();
  private readonly infos = new Map<string, string | null>();
  private readonly resolver: dnsp.Resolver | undefined;
  private outstanding = 0;
  private readonly running = new Set<Promise<unknown>>();
  private closed = false;
  private readonly listeners: Array<(address: string) => void> = [];

  constructor(private readonly opts: ResolverOptions) {
    if (opts.server !== undefined || opts.ipinfo !== undefined) {
      this.resolver = new dnsp.Resolver({ timeout: opts.timeoutMs ?? 2000, tries: 2 });
      if (opts.server !== undefined) this.resolver.setServers(parseServers(opts.server));
    }
  }

  /** lookups still running */
  get busy(): number {
    return this.outstanding;
  }

  /** Start lookups for an address (cheap when already known or running). */
  learn(address: string): void {
    if (this.closed) return;
    if (this.opts.dns && !this.names.has(address)) {
      this.names.set(address, null);
      this.track(address, this.reverse(address).then((n) => n !== undefined && this.names.set(address, n)));
    }
    if (this.opts.ipinfo !== undefined && !this.infos.has(address)) {
      this.infos.set(address, null);
      const q = asnQueryName(address);
      if (q !== undefined && this.resolver !== undefined) {
        const n = this.opts.ipinfo;
        this.track(
          address,
          this.resolver.resolveTxt(q).then((records) => {
            const txt = records[0]?.join('');
            const item = txt === undefined ? undefined : ipinfoItem(txt, n);
            if (item !== undefined) this.infos.set(address, item);
          }),
        );
      }
    }
  }

  private async reverse(address: string): Promise<string | undefined> {
    if (this.resolver !== undefined && this.opts.server !== undefined) {
      const names = await this.resolver.reverse(address);
      return names[0];
    }
    return new Promise((res) => lookupService(address, 0, (err, host) => res(err || host === address ? undefined : host)));
  }

  /** Another listener for arrivals, beside `onChange`. */
  listen(listener: (address: string) => void): void {
    this.listeners.push(listener);
  }

  private track(address: string, p: Promise<unknown>): void {
    this.outstanding++;
    const done: Promise<unknown> = p
      .catch(() => undefined)
      .finally(() => {
        this.outstanding--;
        this.running.delete(done);
        if (this.closed) return;
        this.opts.onChange?.(address);
        for (const l of this.listeners) l(address);
      });
    this.running.add(done);
  }

  host(address: string): string | undefined {
    return this.names.get(address) ?? undefined;
  }

  ipinfo(address: string): string | undefined {
    return this.infos.get(address) ?? undefined;
  }

  /** Wait (at most `ms`) for lookups still running, e.g. before printing a report. */
  async settle(ms: number): Promise<void> {
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, ms)));
    await Promise.race([Promise.all([...this.running]), timeout]);
    clearTimeout(timer);
  }

  close(): void {
    this.closed = true;
    this.resolver?.cancel();
  }
}
