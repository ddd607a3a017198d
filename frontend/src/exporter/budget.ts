// Being a good citizen of the network: a global probes-per-second budget and one per responding
// router, as token buckets on an injected clock (pure: tested without timers).
//
// The router budget exists because routers limit the ICMP errors they send per peer (Linux: 1 per
// second after a burst of 6); a hundred targets behind the same first hops would otherwise trip that
// limit, and the answers it swallows would show as loss. A probe the budget keeps back is skipped:
// not sent, and so neither a probe nor a loss in the metrics.

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
    }
  }

  /** Whether a token is there now (without taking it). */
  available(now: number): boolean {
    this.refill(now);
    return this.tokens >= 1;
  }

  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whether the bucket is full again, i.e. carries no memory (and can be forgotten). */
  idle(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }
}

export type BudgetVerdict = 'ok' | 'global' | 'router' | 'in_flight';

export interface BudgetLimits {
  readonly probesPerSecond: number;
  readonly routerProbesPerSecond: number;
  readonly routerBurst: number;
  readonly maxInFlight: number;
}

export class ProbeBudget {
  private global: TokenBucket;
  private readonly routers = new Map<string, TokenBucket>();
  private sweepAt = 0;

  constructor(
    private limits: BudgetLimits,
    now: number,
  ) {
    // the global bucket holds a tenth of a second of probes, so a burst stays short
    this.global = new TokenBucket(limits.probesPerSecond, Math.max(1, limits.probesPerSecond / 10), now);
  }

  setLimits(limits: BudgetLimits, now: number): void {
    if (limits.probesPerSecond !== this.limits.probesPerSecond) {
      this.global = new TokenBucket(limits.probesPerSecond, Math.max(1, limits.probesPerSecond / 10), now);
    }
    if (
      limits.routerProbesPerSecond !== this.limits.routerProbesPerSecond ||
      limits.routerBurst !== this.limits.routerBurst
    )
      this.routers.clear();
    this.limits = limits;
  }

  /**
   * May a probe go now? `router` is the address expected to answer it (the responder this TTL had
   * last time), undefined for the destination's TTL or a hop not seen yet. Takes the tokens when yes.
   */
  admit(now: number, inFlight: number, router: string | undefined): BudgetVerdict {
    if (inFlight >= this.limits.maxInFlight) return 'in_flight';
    let bucket: TokenBucket | undefined;
    if (router !== undefined) {
      bucket = this.routers.get(router);
      if (bucket === undefined) {
        bucket = new TokenBucket(this.limits.routerProbesPerSecond, this.limits.routerBurst, now);
        this.routers.set(router, bucket);
      }
      if (!bucket.available(now)) return 'router';
    }
    if (!this.global.take(now)) return 'global';
    bucket?.take(now);
    this.sweep(now);
    return 'ok';
  }

  /** Forgets full router buckets now and then, so the map does not grow with every address ever seen. */
  private sweep(now: number): void {
    if (now < this.sweepAt) return;
    this.sweepAt = now + 60_000;
    for (const [k, b] of this.routers) if (b.idle(now)) this.routers.delete(k);
  }

  get routersTracked(): number {
    return this.routers.size;
  }
}
