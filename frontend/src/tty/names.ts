// Names for the live view that the keys can switch: `n` turns reverse DNS on and off and `y`/`z` choose
// the IP-info item, also when the run started with -n or without -y/-z (as in mtr, where `n` starts
// lookups). Lookups run only while wanted: the inner resolver is made when first needed and remade with
// the new choice, and every address seen so far is looked up again by it.

import { NameResolver } from '../resolver.js';

export interface SwitchableNamesOptions {
  readonly dns: boolean;
  readonly ipinfo: number | undefined;
  /** MTR_TS_DNS_SERVER */
  readonly server: string | undefined;
  /** makes a resolver (tests pass a fake) */
  readonly make?: (dns: boolean, ipinfo: number | undefined) => ResolverLike;
}

export interface ResolverLike {
  learn(address: string): void;
  host(address: string): string | undefined;
  ipinfo(address: string): string | undefined;
  settle(ms: number): Promise<void>;
  close(): void;
  listen(listener: (address: string) => void): void;
}

export class SwitchableNames {
  private inner: ResolverLike | undefined;
  private readonly seen = new Set<string>();
  private readonly listeners: Array<(address: string) => void> = [];
  private dns: boolean;
  private item: number | undefined;

  constructor(private readonly opts: SwitchableNamesOptions) {
    this.dns = opts.dns;
    this.item = opts.ipinfo;
    this.remake();
  }

  private remake(): void {
    this.inner?.close();
    this.inner = undefined;
    if (!this.dns && this.item === undefined) return;
    const make = this.opts.make ?? ((dns, ipinfo) => new NameResolver({ dns, ipinfo, server: this.opts.server }));
    const r = make(this.dns, this.item);
    r.listen((a) => {
      if (this.inner === r) for (const l of this.listeners) l(a);
    });
    this.inner = r;
    for (const a of this.seen) r.learn(a);
  }

  setDns(on: boolean): void {
    if (on === this.dns) return;
    this.dns = on;
    this.remake();
  }

  setIpinfo(item: number | undefined): void {
    if (item === this.item) return;
    this.item = item;
    this.remake();
  }

  learn(address: string): void {
    this.seen.add(address);
    this.inner?.learn(address);
  }
  host(address: string): string | undefined {
    return this.inner?.host(address);
  }
  ipinfo(address: string): string | undefined {
    return this.inner?.ipinfo(address);
  }
  settle(ms: number): Promise<void> {
    return this.inner?.settle(ms) ?? Promise.resolve();
  }
  close(): void {
    this.inner?.close();
    this.inner = undefined;
  }
  listen(listener: (address: string) => void): void {
    this.listeners.push(listener);
  }
}
