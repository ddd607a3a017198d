// Fakes for the engine's I/O: a manual clock and a scripted packet process (a ProbeSender).

import { PacketProcessError, PacketProcessExited, type ProbeFields, type ProbeOutcome } from '@mtr-ts/client';
import type { Clock, EngineOptions, ProbeSender } from '../src/engine/types.js';
import type { EngineEvent } from '../src/engine/events.js';

/** Lets every pending promise callback run. */
export const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

export class FakeClock implements Clock {
  t = Date.UTC(2026, 11, 2, 12, 0, 0);
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 1;
  /** ms every timer runs after it was due (a loaded event loop); 0: on time */
  lateMs = 0;

  now = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.nextId++;
    this.timers.push({ at: this.t + Math.max(0, ms) + this.lateMs, fn, id });
    return id;
  };

  /** The event loop blocked for `ms`: time jumps, and the timers due meanwhile run at the next advance(). */
  stall(ms: number): void {
    this.t += ms;
  }
  clearTimeout = (h: unknown): void => {
    this.timers = this.timers.filter((x) => x.id !== h);
  };

  get pending(): number {
    return this.timers.length;
  }

  /** Runs every timer due within `ms`, in time order, letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flush();
    for (;;) {
      let next: (typeof this.timers)[number] | undefined;
      for (const x of this.timers) if (x.at <= end && (next === undefined || x.at < next.at || (x.at === next.at && x.id < next.id))) next = x;
      if (next === undefined) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = Math.max(this.t, next.at); // a timer overdue after a stall runs now
      next.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

/** What the fake network answers to one probe, and after how many ms. */
export type Script = (f: ProbeFields) => { outcome: ProbeOutcome; after: number };

/**
 * A path as a list of hops: hop k answers TTL k (ttl-expired), the last one answers `reply` for any
 * larger TTL; '*' never answers (no-reply after `timeoutMs`). RTT: `rttMs` + ttl / 10.
 */
export function pathScript(hops: readonly string[], rttMs = 1, timeoutMs = 500): Script {
  return (f) => {
    const at = Math.min(f.ttl, hops.length) - 1;
    const hop = hops[at] as string;
    if (hop === '*') return { outcome: { kind: 'no-reply' }, after: timeoutMs };
    const rtt = rttMs * 1000 + f.ttl * 100;
    const kind = f.ttl >= hops.length ? 'reply' : 'ttl-expired';
    return { outcome: { kind, address: hop, rtt, mpls: undefined }, after: rtt / 1000 };
  };
}

export class FakeSender implements ProbeSender {
  static nextPid = 5000;
  readonly pid = FakeSender.nextPid++;
  readonly sent: Array<ProbeFields & { token: number }> = [];
  readonly checked: string[] = [];
  private nextToken = 33000;
  private readonly inFlight = new Map<number, { reject: (e: Error) => void; timer: unknown }>();
  private dead = false;
  private settleExit!: (e: Error | undefined) => void;
  readonly exited = new Promise<Error | undefined>((r) => (this.settleExit = r));

  constructor(
    private readonly clock: FakeClock,
    /** per destination address */
    private readonly scripts: Record<string, Script>,
    private readonly unsupported: readonly string[] = [],
  ) {}

  async checkFeatures(ipVersion: 4 | 6, protocol: string, mark: boolean): Promise<void> {
    this.checked.push(`${ipVersion} ${protocol} ${mark}`);
    if (this.dead) throw new PacketProcessError('dead');
    if (this.unsupported.includes(protocol)) throw new PacketProcessError(`Packet type unsupported: the packet program answers 'no' for ${protocol}`);
  }

  /** extensions: `ok` unless listed in `unsupported` */
  async checkSupport(feature: string): Promise<string> {
    this.checked.push(`feature ${feature}`);
    if (this.dead) throw new PacketProcessError('dead');
    return this.unsupported.includes(feature) ? 'no' : 'ok';
  }

  sendProbe(f: ProbeFields): { token: number; result: Promise<ProbeOutcome> } {
    if (this.dead) throw new PacketProcessError('the fake packet process is gone');
    const token = this.nextToken++;
    this.sent.push({ ...f, token });
    const script = this.scripts[f.address ?? ''];
    if (script === undefined) throw new Error(`no script for ${f.address}`);
    const { outcome, after } = script(f);
    const result = new Promise<ProbeOutcome>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.inFlight.delete(token);
        resolve(outcome);
      }, after);
      this.inFlight.set(token, { reject, timer });
    });
    return { token, result };
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  private end(err: Error | undefined, rejectWith: Error): void {
    if (this.dead) return;
    this.dead = true;
    for (const p of this.inFlight.values()) {
      this.clock.clearTimeout(p.timer);
      p.reject(rejectWith);
    }
    this.inFlight.clear();
    this.settleExit(err);
  }

  /** the process dies */
  kill(message = 'packet program fake exited with status 3'): void {
    const e = new PacketProcessExited(message, 3);
    this.end(e, e);
  }

  async close(): Promise<void> {
    this.end(undefined, new PacketProcessError('closed'));
  }
}

/** Engine options over the fakes; `senders` collects every process the engine opened. */
export function fakeEngineOptions(
  clock: FakeClock,
  scripts: Record<string, Script>,
  extra: Partial<EngineOptions> & { unsupported?: string[]; names?: EngineOptions['names'] } = {},
): EngineOptions & { senders: FakeSender[] } {
  const senders: FakeSender[] = [];
  return {
    senders,
    connect: () => {
      const s = new FakeSender(clock, scripts, extra.unsupported ?? []);
      senders.push(s);
      return s;
    },
    lookup: async (name, family) => {
      if (name in scripts) return { address: name, family: name.includes(':') ? 6 : 4 };
      if (family === undefined && `${name}.v4` in scripts) return { address: `${name}.v4`, family: 4 };
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    },
    clock,
    ...extra,
  };
}

/** Collects events; `of(type)` filters them. */
export function recorder(): { events: EngineEvent[]; listener: (e: EngineEvent) => void; of: <T extends EngineEvent['type']>(t: T) => Extract<EngineEvent, { type: T }>[] } {
  const events: EngineEvent[] = [];
  return {
    events,
    listener: (e) => events.push(e),
    of: <T extends EngineEvent['type']>(t: T) => events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === t),
  };
}
