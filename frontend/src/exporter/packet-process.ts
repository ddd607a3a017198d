// The packet program for the engine, started again with back-off: the engine opens a new one as soon as
// the old one dies (onPacketProcessExit 'restart'); when it keeps dying at once (a missing or broken
// executable), starting it in a tight loop would burn a core and flood the log. A process that lived
// less than STABLE_MS makes the next start wait twice as long as the last (from MIN_DELAY_MS up to
// MAX_DELAY_MS); one that lived longer resets the delay. While it waits, the sender answers nothing
// (the engine asks a new process what it supports before it sends a probe, so nothing is lost).

import type { IpVersion, ProbeProtocol } from '@mtr-ts/protocol';
import { PacketClient, type ProbeFields, type ProbeOutcome } from '../client.js';
import type { ProbeSender } from '../engine/types.js';

export const STABLE_MS = 10_000;
export const MIN_DELAY_MS = 250;
export const MAX_DELAY_MS = 30_000;

/** The back-off state across starts: pure, so it is tested without processes. */
export class Backoff {
  private delay = 0;
  private startedAt: number | undefined;

  /** ms to wait before the next start, given that the previous one (if any) died at `now`. */
  next(now: number): number {
    if (this.startedAt !== undefined) {
      const lived = now - this.startedAt;
      this.delay = lived >= STABLE_MS ? 0 : Math.min(MAX_DELAY_MS, Math.max(MIN_DELAY_MS, this.delay * 2));
    }
    this.startedAt = now + this.delay;
    return this.delay;
  }
}

export class DelayedPacketProcess implements ProbeSender {
  private client: PacketClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly started: Promise<PacketClient | undefined>;
  readonly exited: Promise<Error | undefined>;
  private closed = false;

  constructor(make: () => PacketClient, delayMs: number) {
    this.started = new Promise((resolve) => {
      const start = (): void => {
        this.timer = undefined;
        if (this.closed) return resolve(undefined);
        this.client = make();
        resolve(this.client);
      };
      if (delayMs <= 0) start();
      else this.timer = setTimeout(start, delayMs);
    });
    this.exited = this.started.then((c) => (c === undefined ? undefined : c.exited));
  }

  get pid(): number | undefined {
    return this.client?.pid;
  }

  async checkFeatures(ipVersion: IpVersion, protocol: ProbeProtocol, mark: boolean): Promise<void> {
    const c = await this.started;
    if (c === undefined) throw new Error('the packet program was closed before it started');
    return c.checkFeatures(ipVersion, protocol, mark);
  }

  sendProbe(fields: ProbeFields): { token: number; result: Promise<ProbeOutcome> } {
    if (this.client === undefined) throw new Error('the packet program has not started yet');
    return this.client.sendProbe(fields);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const c = await this.started;
    await c?.close();
  }
}
