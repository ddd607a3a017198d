// createEngine: the targets of a run over one packet process (opened when the first target needs it),
// one name service, one event stream. Events are stamped (seq, ts) and delivered in order to every
// subscriber, even when a subscriber's own call into the engine emits more.

import { DEFAULT_TARGET_OPTIONS, type Engine, type EngineOptions, type NameService, type ProbeSender, type TargetOptions, type Unsubscribe } from './types.js';
import type { EngineEvent } from './events.js';
import type { TargetId, TargetRef, TargetSnapshot } from '../stats/types.js';
import { systemClock } from './clock.js';
import { StartFailure, TargetRun, type Draft, type RunHost } from './target-run.js';

/** a packet process that dies sooner than this after it was opened counts as a quick death */
const QUICK_DEATH_MS = 10_000;
/** restart delays after quick deaths: 0.25 s, 0.5 s, 1 s, ... up to 30 s */
const FIRST_RESTART_DELAY_MS = 250;
const MAX_RESTART_DELAY_MS = 30_000;

export function createEngine(options: EngineOptions): Engine {
  return new EngineImpl(options);
}

class EngineImpl implements Engine {
  private seq = 0;
  private readonly listeners = new Set<(e: EngineEvent) => void>();
  /**
   * The latest event of each type (some twenty), kept: events live for one delivery, and the maps an
   * event passes through as it is stamped and frozen are held weakly; with none alive at a major GC they
   * went, and the optimized code of the engine and its listeners with them ('weak objects' deopts).
   */
  private readonly lastOfType = new Map<string, EngineEvent>();
  /** the listeners as an array, made again only when they change (not copied for every event) */
  private listenerList: readonly ((e: EngineEvent) => void)[] = [];
  private readonly queue: EngineEvent[] = [];
  private delivering = false;
  private readonly runs = new Map<TargetId, TargetRun>();
  private nextId = 1;
  private current: ProbeSender | undefined;
  /** the packet process died and none will replace it */
  private dead: Error | undefined;
  private restarts = 0;
  /** when the current packet process was opened (ms), and how many in a row died within QUICK_DEATH_MS */
  private openedAt = 0;
  private quickDeaths = 0;
  private restartTimer: unknown;
  /** per packet process: its answer to `check-support feature flow` */
  private readonly flowSupport = new WeakMap<ProbeSender, Promise<string>>();
  private readonly features = new Map<string, Promise<void>>();
  /** the extensions the current packet process turned on */
  private readonly extensionsOn = new Set<string>();
  private stopped = false;
  private readonly host: RunHost;
  readonly names: NameService | undefined;

  constructor(private readonly options: EngineOptions) {
    const clock = options.clock ?? systemClock;
    this.names = options.names;
    this.names?.listen?.((address) => this.emit({ type: 'name-resolved', address }));
    this.host = {
      clock,
      names: options.names,
      budget: options.budget,
      options,
      emit: (e) => this.emit(e),
      ready: (family, protocol, mark, flows) => this.ready(family, protocol, mark, flows),
      sender: () => this.current,
      fatal: (s) => s === this.current || (this.current === undefined && !this.stopped && this.options.onPacketProcessExit !== 'restart'),
    };
  }

  private emit(d: Draft): void {
    // every draft is a fresh literal of its emitter (target-run.ts, here): it becomes the event itself,
    // stamped and frozen, instead of being copied (a spread of some twenty event shapes per probe was
    // the slow path of V8's object literals)
    const stamp = d as unknown as { seq: number; ts: number };
    stamp.seq = ++this.seq;
    stamp.ts = this.host.clock.now();
    const e = Object.freeze(d) as unknown as EngineEvent;
    this.lastOfType.set(e.type, e);
    this.queue.push(e);
    if (this.delivering) return; // delivered in order by the loop below
    this.delivering = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        for (const l of this.listenerList) {
          if (!this.listeners.has(l)) continue;
          try {
            l(next);
          } catch (err) {
            this.listeners.delete(l);
            this.listenerList = [...this.listeners];
            this.queue.push(
              Object.freeze({
                type: 'error',
                target: undefined,
                stage: 'listener',
                message: `an event listener threw and was removed: ${(err as Error)?.message ?? String(err)}`,
                seq: ++this.seq,
                ts: this.host.clock.now(),
              }) as EngineEvent,
            );
          }
        }
      }
    } finally {
      this.delivering = false;
    }
  }

  private sender(): ProbeSender {
    if (this.current !== undefined) return this.current;
    const s = this.options.connect();
    this.current = s;
    this.openedAt = this.host.clock.now();
    this.features.clear();
    this.extensionsOn.clear();
    this.emit({ type: 'packet-process-started', pid: s.pid, restarts: this.restarts });
    s.exited.then((err) => this.onExit(s, err));
    return s;
  }

  private onExit(s: ProbeSender, err: Error | undefined): void {
    if (s !== this.current || err === undefined) return; // replaced or closed on purpose
    this.current = undefined;
    this.features.clear();
    this.extensionsOn.clear();
    const restarting = this.options.onPacketProcessExit === 'restart' && !this.stopped;
    this.emit({ type: 'packet-process-exited', pid: s.pid, message: err.message, restarting });
    if (restarting) {
      // one that keeps dying at once (a missing program, no privileges) is retried ever more slowly
      this.quickDeaths = this.host.clock.now() - this.openedAt < QUICK_DEATH_MS ? this.quickDeaths + 1 : 0;
      const delay = this.quickDeaths === 0 ? 0 : Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** (this.quickDeaths - 1));
      for (const r of this.runs.values()) r.hold();
      this.restartTimer = this.host.clock.setTimeout(() => {
        this.restartTimer = undefined;
        if (this.stopped || this.current !== undefined) return;
        this.restarts++;
        this.sender();
        for (const r of this.runs.values()) r.recheck();
      }, delay);
      return;
    }
    this.dead = err;
    for (const r of this.runs.values()) r.packetProcessDied(err.message);
  }

  private async ready(family: 4 | 6, protocol: TargetOptions['protocol'], mark: boolean, flows = false): Promise<boolean> {
    if (this.stopped) throw new StartFailure('packet-process', 'the engine was stopped');
    if (this.dead !== undefined) throw new StartFailure('packet-process', this.dead.message);
    let s: ProbeSender;
    try {
      s = this.sender();
    } catch (e) {
      throw new StartFailure('features', `Failure to start mtr-packet: ${(e as Error).message}`);
    }
    const key = `${family} ${protocol} ${mark}`;
    let p = this.features.get(key);
    if (p === undefined) {
      p = s.checkFeatures(family, protocol, mark).then(() => this.askExtensions(s));
      this.features.set(key, p);
      p.catch(() => this.features.get(key) === p && this.features.delete(key));
    }
    try {
      await p;
    } catch (e) {
      throw new StartFailure('features', (e as Error).message);
    }
    if (!flows) return false;
    // the flow extension: asking turns it on for this packet process (one question per process)
    let f = this.flowSupport.get(s);
    if (f === undefined) {
      f = s.checkSupport === undefined ? Promise.resolve('no') : s.checkSupport('flow').catch(() => 'no');
      this.flowSupport.set(s, f);
    }
    const ok = (await f) === 'ok';
    if (!ok && (protocol === 'icmp' || protocol === 'tcp')) {
      throw new StartFailure(
        'features',
        `--flows with ${protocol.toUpperCase()} needs the packet program's flow extension (mtr-packet-ts with raw sockets); use -u, or run with the privileges raw sockets need`,
      );
    }
    return ok;
  }

  /** Asks a packet process for the extensions of EngineOptions.extensions, once each; `no` or a failure leaves one off. */
  private async askExtensions(s: ProbeSender): Promise<void> {
    const ask = s.checkSupport?.bind(s);
    if (ask === undefined) return;
    for (const f of this.options.extensions ?? []) {
      const key = `extension ${f}`;
      let p = this.features.get(key);
      if (p === undefined) {
        p = ask(f).then(
          (support) => {
            if (support === 'ok' && s === this.current) this.extensionsOn.add(f);
          },
          () => {},
        );
        this.features.set(key, p);
      }
      await p;
    }
  }

  extensionOn(feature: string): boolean {
    return this.extensionsOn.has(feature);
  }

  add(name: string, options: Partial<TargetOptions> = {}): TargetRef {
    if (this.stopped) throw new Error('the engine was stopped');
    const opts: TargetOptions = Object.freeze({ ...DEFAULT_TARGET_OPTIONS, ...this.options.defaults, ...options });
    const run = new TargetRun(this.nextId++, name, opts, this.host);
    this.runs.set(run.ref.id, run);
    this.emit({ type: 'target-added', target: run.ref, options: opts });
    run.start();
    return run.ref;
  }

  remove(id: TargetId): boolean {
    const run = this.runs.get(id);
    if (run === undefined) return false;
    this.runs.delete(id);
    run.stop('removed');
    return true;
  }

  reconfigure(id: TargetId, patch: Partial<TargetOptions>): void {
    this.runs.get(id)?.reconfigure(patch);
  }

  private each(id: TargetId | undefined, fn: (r: TargetRun) => void): void {
    if (id === undefined) for (const r of this.runs.values()) fn(r);
    else {
      const r = this.runs.get(id);
      if (r !== undefined) fn(r);
    }
  }

  pause(id?: TargetId): void {
    this.each(id, (r) => r.pause());
  }

  resume(id?: TargetId): void {
    this.each(id, (r) => r.resume());
  }

  reset(id?: TargetId): void {
    this.each(id, (r) => r.reset());
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.restartTimer !== undefined) this.host.clock.clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    for (const r of this.runs.values()) r.stop('stopped');
    const s = this.current;
    this.current = undefined;
    await s?.close();
  }

  subscribe(listener: (event: EngineEvent) => void): Unsubscribe {
    this.listeners.add(listener);
    this.listenerList = [...this.listeners];
    return () => {
      this.listeners.delete(listener);
      this.listenerList = [...this.listeners];
    };
  }

  snapshot(id: TargetId): TargetSnapshot | undefined {
    return this.runs.get(id)?.snapshot();
  }

  targets(): readonly TargetRef[] {
    return Object.freeze([...this.runs.values()].map((r) => r.ref));
  }

  async settled(ids?: readonly TargetId[]): Promise<void> {
    const runs = ids === undefined ? [...this.runs.values()] : ids.flatMap((id) => this.runs.get(id) ?? []);
    await Promise.all(runs.map((r) => r.settled));
  }

  async restartPacketProcess(): Promise<void> {
    if (this.stopped) throw new Error('the engine was stopped');
    const old = this.current;
    this.current = undefined;
    this.features.clear();
    this.extensionsOn.clear();
    this.dead = undefined;
    this.quickDeaths = 0;
    if (this.restartTimer !== undefined) this.host.clock.clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (old !== undefined) {
      await old.close();
      this.restarts++;
    }
    this.sender();
    for (const r of this.runs.values()) r.recheck();
  }
}
