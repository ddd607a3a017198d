// One run against one target: the scheduler says which TTL is due, the client sends it, the
// outcome goes through the hop reducer. Timers: one setTimeout at a time, nothing polls.

import type { PacketClient, ProbeOutcome } from './client.js';
import { probeFields, PacketProcessError } from './client.js';
import type { Protocol } from './options.js';
import { initialScheduler, step, tickDelay, type SchedulerState } from './scheduler.js';
import { EMPTY_HOP, reduceHop, type HopState } from './stats.js';
import type { RunInfo, Snapshot } from './render/model.js';

export interface SessionConfig {
  readonly targetAddress: string;
  readonly ipVersion: 4 | 6;
  readonly localAddress: string | undefined;
  readonly protocol: Protocol;
  readonly port: number;
  readonly localPort: number;
  readonly psize: number;
  readonly bitpattern: number;
  readonly tos: number;
  readonly mark: number | undefined;
  readonly timeout: number;
  readonly cycles: number;
  readonly interval: number;
  readonly gracetime: number;
  readonly firstTtl: number;
  readonly maxTtl: number;
  readonly maxUnknown: number;
}

export interface SessionEvents {
  /** a probe went out (raw: x) */
  xmit?(hop: number, token: number): void;
  /** an answer with an address (raw: h when new, p) */
  answer?(hop: number, token: number, outcome: Extract<ProbeOutcome, { address: string }>, newAddress: boolean): void;
  /** any hop changed */
  update?(): void;
  /** a cycle finished */
  cycle?(done: number, total: number): void;
  /** a non-fatal note worth one line on stderr */
  warn?(message: string): void;
}

/** A refusal from the packet process that makes going on pointless (mtr 0.95 exits on these). */
export class ProbeError extends Error {
  override name = 'ProbeError';
}

const MIN_PACKET = 28;

export class Session {
  readonly hops: HopState[];
  private sched: SchedulerState;
  private cycles = 0;
  private timer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private inGrace = false;
  private finished = false;
  private size: number;
  private pattern: number;
  private warnedExhausted = false;
  /** this session's probes still unanswered */
  private pending = 0;
  private resolveRun!: (how: 'done' | 'aborted') => void;
  private rejectRun!: (e: Error) => void;

  constructor(
    readonly cfg: SessionConfig,
    private readonly client: PacketClient,
    readonly info: RunInfo,
    private readonly events: SessionEvents = {},
  ) {
    this.hops = Array.from({ length: cfg.maxTtl }, () => EMPTY_HOP);
    this.sched = initialScheduler(cfg);
    this.size = Math.abs(cfg.psize);
    this.pattern = cfg.bitpattern < 0 ? 0 : cfg.bitpattern;
  }

  get cyclesDone(): number {
    return this.cycles;
  }

  /** Resolves 'done' after the last cycle and the grace time, 'aborted' after abort(). */
  run(): Promise<'done' | 'aborted'> {
    const p = new Promise<'done' | 'aborted'>((res, rej) => {
      this.resolveRun = res;
      this.rejectRun = rej;
    });
    if (this.cfg.cycles <= 0) this.startGrace();
    else this.tick();
    return p;
  }

  /** Stop now (Ctrl-C): the snapshot keeps in-flight probes out of the loss. */
  abort(): void {
    this.finish('aborted');
  }

  snapshot(): Snapshot {
    return { info: this.info, hops: this.hops, firstTtl: this.cfg.firstTtl, maxTtl: this.cfg.maxTtl };
  }

  private tick = (): void => {
    this.timer = undefined;
    if (this.finished) return;
    const st = step(this.sched, this.hops, this.cfg.targetAddress, this.cfg);
    if (st.cycleStart) this.newBatch();
    this.sched = st.next;
    this.send(st.send);
    if (this.finished) return;
    if (st.cycleDone) {
      this.cycles++;
      this.events.cycle?.(this.cycles, this.cfg.cycles);
      if (this.cycles >= this.cfg.cycles) {
        this.startGrace();
        return;
      }
    }
    this.timer = setTimeout(this.tick, tickDelay(this.sched, this.cfg.interval));
  };

  private newBatch(): void {
    const c = this.cfg;
    if (c.psize < 0) {
      const max = -c.psize;
      this.size = max <= MIN_PACKET ? MIN_PACKET : MIN_PACKET + Math.floor(Math.random() * (max - MIN_PACKET));
    }
    if (c.bitpattern < 0) this.pattern = Math.floor(Math.random() * 256);
  }

  private send(at: number): void {
    const c = this.cfg;
    let sent: ReturnType<PacketClient['sendProbe']>;
    try {
      sent = this.client.sendProbe(
        probeFields({
          ipVersion: c.ipVersion,
          address: c.targetAddress,
          localAddress: c.localAddress,
          protocol: c.protocol,
          port: c.port,
          localPort: c.localPort,
          ttl: at + 1,
          size: this.size,
          bitPattern: this.pattern,
          tos: c.tos,
          mark: c.mark,
          timeout: c.timeout,
        }),
      );
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    this.pending++;
    this.apply(at, { kind: 'sent' });
    this.events.xmit?.(at, sent.token);
    sent.result.then(
      (o) => this.onOutcome(at, sent.token, o),
      (e: Error) => this.fail(e),
    );
  }

  private apply(at: number, e: Parameters<typeof reduceHop>[1]): void {
    this.hops[at] = reduceHop(this.hops[at] ?? EMPTY_HOP, e);
  }

  private onOutcome(at: number, token: number, o: ProbeOutcome): void {
    this.pending--;
    if (this.finished) return;
    switch (o.kind) {
      case 'reply':
      case 'ttl-expired':
      case 'unreachable': {
        const before = this.hops[at]?.address;
        this.apply(at, {
          kind: 'reply',
          address: o.address,
          rtt: o.rtt,
          mpls: o.mpls,
          error: o.kind === 'unreachable' ? o.reason : undefined,
        });
        this.events.answer?.(at, token, o, before !== o.address);
        break;
      }
      case 'no-reply':
      case 'send-failed':
        this.apply(at, { kind: 'lost' });
        break;
      case 'probes-exhausted':
        this.apply(at, { kind: 'lost' });
        if (!this.warnedExhausted) {
          this.warnedExhausted = true;
          this.events.warn?.('the packet program has too many probes in flight (probes-exhausted); counting those as lost');
        }
        break;
      case 'error':
        this.fail(new ProbeError(o.message));
        return;
    }
    this.events.update?.();
    if (this.inGrace && this.pending === 0) this.finish('done');
  }

  private startGrace(): void {
    this.inGrace = true;
    if (this.pending === 0) {
      this.finish('done');
      return;
    }
    this.graceTimer = setTimeout(() => this.finish('done'), this.cfg.gracetime * 1000);
  }

  private clearTimers(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    this.timer = this.graceTimer = undefined;
  }

  private finish(how: 'done' | 'aborted'): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimers();
    if (how === 'done') for (let i = 0; i < this.hops.length; i++) this.apply(i, { kind: 'end' });
    this.resolveRun(how);
  }

  private fail(e: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimers();
    this.rejectRun(e instanceof PacketProcessError || e instanceof ProbeError ? e : new ProbeError(e.message));
  }
}
