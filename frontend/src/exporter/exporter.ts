// The exporter without its HTTP face: the configuration (load, reload by diff), the engine source, the
// metrics and the event stream, wired so that events flow one way: source -> metrics, stream, probes.

import { readFile } from 'node:fs/promises';
import {
  ConfigError,
  DEFAULT_BUDGET,
  diffTargets,
  parseConfig,
  type ExporterConfig,
  type TargetSpec,
} from './config.js';
import { EngineSource, type SourceOptions } from './engine-source.js';
import type { AnyEvent } from './events.js';
import { ExporterMetrics, SelfMetrics } from './metrics.js';
import { EventStream } from './ndjson.js';

export interface ExporterOptions {
  configFile: string;
  packetPath: string;
  /** the packet program's environment (trust.ts's packetCommand) */
  packetEnv?: NodeJS.ProcessEnv | undefined;
  version: string;
  /** NDJSON event stream: a path, or '-' for stdout */
  eventsFile?: string | undefined;
  /** per-probe lines in the event stream too */
  eventsProbes?: boolean;
  /** process_* / nodejs_* metrics (default true) */
  processMetrics?: boolean;
  log(line: string): void;
  /** for tests: engine over fakes, start delays */
  source?: Partial<SourceOptions>;
}

export interface ReloadResult {
  ok: boolean;
  message: string;
}

/** `/probe` runs at most this many traces of unconfigured hosts at once. */
const MAX_ADHOC = 16;

export class Exporter {
  config!: ExporterConfig;
  metrics!: ExporterMetrics;
  readonly self: SelfMetrics;
  readonly source: EngineSource;
  private readonly stream: EventStream | undefined;
  private readonly listeners = new Set<(e: AnyEvent) => void>();
  private daemonUp = false;
  private adhoc = 0;
  private adhocSeq = 0;
  private stopped = false;

  constructor(private readonly opts: ExporterOptions) {
    this.self = new SelfMetrics({
      version: opts.version,
      targets: () => this.config?.targets.length ?? 0,
      inFlight: () => this.source.inFlight,
      processMetrics: opts.processMetrics !== false,
    });
    if (opts.eventsFile !== undefined) {
      this.stream = new EventStream(opts.eventsFile, opts.eventsProbes === true, () => this.self.eventsDropped.inc());
    }
    this.source = new EngineSource({
      packetPath: opts.packetPath,
      packetEnv: opts.packetEnv,
      budget: DEFAULT_BUDGET,
      emit: (e) => this.dispatch(e),
      ...(this.stream !== undefined
        ? {
            raw: (e, name) => this.stream?.write(e, name),
            verdicts: (after, name, step) => this.stream?.writeVerdicts(after, name, step.raised, step.cleared),
          }
        : {}),
      ...opts.source,
    });
  }

  private dispatch(e: AnyEvent): void {
    if (e.type === 'daemon-started') this.daemonUp = true;
    else if (e.type === 'daemon-exit') {
      this.daemonUp = false;
      this.opts.log(
        `packet program (pid ${e.pid ?? '?'}) ${e.message.replace(/^packet program \S+ /, '')}${e.restarting ? '; starting it again' : ''}`,
      );
    }
    this.self.onEvent(e);
    this.metrics?.onEvent(e);
    for (const l of this.listeners) l(e);
  }

  private async load(): Promise<ExporterConfig> {
    let text: string;
    try {
      text = await readFile(this.opts.configFile, 'utf8');
    } catch (e) {
      throw new ConfigError([
        `cannot read ${this.opts.configFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      ]);
    }
    return parseConfig(text);
  }

  /** Loads the configuration and starts every target. Throws ConfigError. */
  async start(): Promise<void> {
    const cfg = await this.load();
    this.config = cfg;
    this.metrics = new ExporterMetrics({ perHop: cfg.perHop, window: cfg.window, diagnosis: cfg.diagnosis });
    this.source.setBudget(cfg.budget);
    this.source.setDiagnosis(cfg.diagnosis);
    for (const t of cfg.targets) this.startTarget(t);
    this.self.reloads.inc({ result: 'success' });
    this.self.lastReloadOk.set(1);
    this.self.lastReloadTime.set(Date.now() / 1000);
  }

  private startTarget(t: TargetSpec): void {
    this.metrics.addTarget(t);
    this.source.add(t);
  }

  private stopTarget(name: string): void {
    this.source.remove(name);
    this.metrics.removeTarget(name);
  }

  /**
   * Reads the file again and applies the difference: new targets start, removed ones stop and lose their
   * series, changed ones start over; the others go on untouched. A bad file changes nothing.
   */
  async reload(): Promise<ReloadResult> {
    let cfg: ExporterConfig;
    try {
      cfg = await this.load();
    } catch (e) {
      this.self.reloads.inc({ result: 'failure' });
      this.self.lastReloadOk.set(0);
      const message = e instanceof ConfigError ? e.message : String(e);
      this.opts.log(`reload failed, the running configuration stays: ${message}`);
      return { ok: false, message };
    }
    const old = this.config;
    this.source.setBudget(cfg.budget);
    let message: string;
    if (cfg.perHop !== old.perHop || cfg.window !== old.window || cfg.diagnosis !== old.diagnosis) {
      // the per-hop level and diagnosis decide which metric families exist: every target's series start over
      for (const t of old.targets) this.stopTarget(t.name);
      this.metrics = new ExporterMetrics({ perHop: cfg.perHop, window: cfg.window, diagnosis: cfg.diagnosis });
      this.source.setDiagnosis(cfg.diagnosis);
      for (const t of cfg.targets) this.startTarget(t);
      message = `per_hop/window/diagnosis changed: all ${cfg.targets.length} targets restarted`;
    } else {
      const d = diffTargets(old.targets, cfg.targets);
      for (const t of d.removed) this.stopTarget(t.name);
      for (const t of d.changed) {
        this.stopTarget(t.name);
        this.startTarget(t);
      }
      for (const t of d.added) this.startTarget(t);
      message = `${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed, ${d.kept.length} kept`;
    }
    this.config = cfg;
    this.self.reloads.inc({ result: 'success' });
    this.self.lastReloadOk.set(1);
    this.self.lastReloadTime.set(Date.now() / 1000);
    this.opts.log(`configuration reloaded: ${message}`);
    return { ok: true, message };
  }

  /** Ready: configured, and the packet program runs (once a target needed it). */
  ready(): boolean {
    return this.config !== undefined && !this.stopped && (this.config.targets.length === 0 || this.daemonUp);
  }

  async render(): Promise<string> {
    return (await this.metrics.render()) + (await this.self.render());
  }

  get contentType(): string {
    return this.self.registry.contentType;
  }

  /** The configured target named (or with the host) `target`, if any. */
  configured(target: string): TargetSpec | undefined {
    return this.config.targets.find((t) => t.name === target) ?? this.config.targets.find((t) => t.host === target);
  }

  /**
   * `/probe?target=&module=`: a configured target's series as they are; another host is traced for
   * `seconds` with the module's settings, and its series (plus mtrts_probe_success and
   * mtrts_probe_duration_seconds) returned.
   */
  async probe(target: string, moduleName: string, seconds: number): Promise<{ status: number; body: string }> {
    const known = this.configured(target);
    if (known !== undefined) return { status: 200, body: filterTarget(await this.metrics.render(), known.name) };
    const module = this.config.modules[moduleName];
    if (module === undefined)
      return {
        status: 400,
        body: `unknown module '${moduleName}' (known: ${Object.keys(this.config.modules).join(', ')})\n`,
      };
    if (!/^[A-Za-z0-9_.:-]{1,253}$/.test(target))
      return { status: 400, body: `'${target}' is not a host name or an address\n` };
    if (this.adhoc >= MAX_ADHOC) return { status: 503, body: `too many /probe traces at once (${MAX_ADHOC})\n` };
    this.adhoc++;
    const internal = `\u0000probe-${++this.adhocSeq}`;
    const spec: TargetSpec = { ...module, name: internal, host: target, labels: {} };
    const m = new ExporterMetrics({ perHop: 'counters', window: this.config.window });
    m.addTarget({ ...spec, name: target });
    let reached = false;
    const listener = (e: AnyEvent): void => {
      if (!('target' in e) || e.target !== internal) return;
      if (e.type === 'probe-answered' && e.destination) reached = true;
      m.onEvent({ ...e, target });
    };
    const started = Date.now();
    this.listeners.add(listener);
    try {
      this.source.add(spec, 0);
      await new Promise((r) => setTimeout(r, seconds * 1000));
    } finally {
      this.source.remove(internal);
      this.listeners.delete(listener);
      this.adhoc--;
    }
    const duration = (Date.now() - started) / 1000;
    const extra =
      '# HELP mtrts_probe_success 1 when the destination answered during the probe.\n# TYPE mtrts_probe_success gauge\n' +
      `mtrts_probe_success ${reached ? 1 : 0}\n` +
      '# HELP mtrts_probe_duration_seconds How long the probe traced.\n# TYPE mtrts_probe_duration_seconds gauge\n' +
      `mtrts_probe_duration_seconds ${duration}\n`;
    return { status: 200, body: (await m.render()) + extra };
  }

  /** Stops probing (in-flight probes abandoned), the packet program, the event stream. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.source.stop();
    await this.stream?.close();
  }
}

/** The exposition text reduced to one target's samples (families without any are left out). */
export function filterTarget(text: string, target: string): string {
  const needle = `target="${target.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  const out: string[] = [];
  let header: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) {
      if (line.startsWith('# HELP')) header = [];
      header.push(line);
    } else if (line.includes(needle)) {
      out.push(...header, line);
      header = [];
    }
  }
  return out.length > 0 ? out.join('\n') + '\n' : '';
}
