// The exporter's configuration: YAML text -> a validated, fully defaulted ExporterConfig. Pure: no file
// system, no DNS. Every problem is reported with its place (`targets[2] (web).interval: ...`), all of
// them at once, so one edit fixes a file.

import { isIP } from 'node:net';
import { parseDocument } from 'yaml';

export type Protocol = 'icmp' | 'udp' | 'tcp';
export const PROTOCOLS: readonly Protocol[] = ['icmp', 'udp', 'tcp'];

/** How much per-hop detail each target exports (see the README's series budget). */
export type PerHopLevel = 'off' | 'counters' | 'full';
export const PER_HOP_LEVELS: readonly PerHopLevel[] = ['off', 'counters', 'full'];

/** What a probe looks like: shared by targets, `defaults:` and `/probe` modules. */
export interface ProbeSettings {
  readonly protocol: Protocol;
  /** destination port for udp/tcp; undefined: the packet program's default */
  readonly port: number | undefined;
  /** seconds between two traces of the target */
  readonly interval: number;
  /** whole seconds a probe waits for its answer (the packet protocol's unit) */
  readonly timeout: number;
  /** probe packet size in bytes (mtr's -s) */
  readonly size: number;
  readonly maxTtl: number;
  /** 4 or 6 to force an address family; undefined: the first address the name resolves to */
  readonly ipVersion: 4 | 6 | undefined;
}

export interface TargetSpec extends ProbeSettings {
  readonly name: string;
  readonly host: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface BudgetConfig {
  /** all probes of the process, per second */
  readonly probesPerSecond: number;
  /** probes whose answer is expected from one intermediate router, per second (its ICMP limit) */
  readonly routerProbesPerSecond: number;
  /** how many such probes may go in a burst */
  readonly routerBurst: number;
  /** probes in flight at once, below the packet program's own bound */
  readonly maxInFlight: number;
}

export interface ExporterConfig {
  readonly targets: readonly TargetSpec[];
  readonly perHop: PerHopLevel;
  /** seconds of samples behind the per-hop window gauges (per_hop: full) */
  readonly window: number;
  readonly budget: BudgetConfig;
  /** judge each target's path (frontend/src/diagnose) and export the verdicts (mtrts_diagnosis*) */
  readonly diagnosis: boolean;
  /** `/probe?module=NAME` settings; always has `icmp` */
  readonly modules: Readonly<Record<string, ProbeSettings>>;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.length === 1 ? (problems[0] as string) : `${problems.length} problems:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_PROBE: ProbeSettings = Object.freeze({
  protocol: 'icmp',
  port: undefined,
  interval: 1,
  timeout: 2,
  size: 64,
  maxTtl: 30,
  ipVersion: undefined,
});

export const DEFAULT_BUDGET: BudgetConfig = Object.freeze({
  probesPerSecond: 1000,
  // Linux answers with ICMP errors at 1 per second per peer with a burst of 6 (icmp_ratelimit 1000 ms)
  routerProbesPerSecond: 1,
  routerBurst: 6,
  maxInFlight: 4000,
});

export const DEFAULT_WINDOW = 60;

/** Labels the exporter sets itself; a target's `labels:` may not use them. */
export const RESERVED_LABELS: readonly string[] = [
  'target',
  'ttl',
  'kind',
  'le',
  'quantile',
  'address',
  'protocol',
  'port',
  'family',
  'host',
  'result',
  'version',
  'reason',
  'budget',
  'instance',
  'job',
  'rule',
];

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;
const DURATION = /^(?:(\d+(?:\.\d+)?)(ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** `500ms`, `1s`, `1m30s`, `2h`, or a number of seconds; undefined when it is neither. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (/^\d+(?:\.\d+)?$/.test(s)) return Number(s);
  if (!DURATION.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(DURATION_PART)) total += Number(m[1]) * (UNIT_SECONDS[m[2] as string] as number);
  return total;
}

const TARGET_KEYS = [
  'name',
  'host',
  'protocol',
  'port',
  'interval',
  'timeout',
  'size',
  'max_ttl',
  'ip_version',
  'labels',
];
const DEFAULT_KEYS = TARGET_KEYS.filter((k) => k !== 'name' && k !== 'host');
const MODULE_KEYS = DEFAULT_KEYS.filter((k) => k !== 'labels');
const TOP_KEYS = ['defaults', 'targets', 'per_hop', 'window', 'diagnosis', 'budget', 'modules'];
const BUDGET_KEYS = ['probes_per_second', 'router_probes_per_second', 'router_burst', 'max_in_flight'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

class Collector {
  readonly problems: string[] = [];
  add(where: string, msg: string): void {
    this.problems.push(where === '' ? msg : `${where}: ${msg}`);
  }
  unknownKeys(where: string, o: Obj, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.add(where, `unknown key '${k}' (known: ${allowed.join(', ')})`);
    }
  }
}

function numberIn(
  c: Collector,
  where: string,
  v: unknown,
  min: number,
  max: number,
  integer: boolean,
): number | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
    c.add(where, `${JSON.stringify(v)} is not ${integer ? 'an integer' : 'a number'} in ${min}..${max}`);
    return undefined;
  }
  return v;
}

function durationIn(c: Collector, where: string, v: unknown, min: number, max: number): number | undefined {
  const d = parseDuration(v);
  if (d === undefined) {
    c.add(where, `${JSON.stringify(v)} is not a duration (seconds as a number, or e.g. 500ms, 2s, 1m)`);
    return undefined;
  }
  if (d < min || d > max) {
    c.add(where, `${JSON.stringify(v)} is out of range (${min}s..${max}s)`);
    return undefined;
  }
  return d;
}

interface PartialProbe {
  protocol?: Protocol;
  port?: number;
  interval?: number;
  timeout?: number;
  size?: number;
  maxTtl?: number;
  ipVersion?: 4 | 6;
  labels?: Record<string, string>;
}

/** Reads the probe keys of one mapping (a target, `defaults:` or a module). */
function readProbe(c: Collector, where: string, o: Obj): PartialProbe {
  const p: PartialProbe = {};
  const at = (k: string): string => `${where}.${k}`;
  if (o.protocol !== undefined) {
    const v = typeof o.protocol === 'string' ? o.protocol.toLowerCase() : o.protocol;
    if (typeof v === 'string' && (PROTOCOLS as readonly string[]).includes(v)) p.protocol = v as Protocol;
    else c.add(at('protocol'), `${JSON.stringify(o.protocol)} is not one of ${PROTOCOLS.join(', ')}`);
  }
  if (o.port !== undefined) {
    const v = numberIn(c, at('port'), o.port, 1, 65535, true);
    if (v !== undefined) p.port = v;
  }
  if (o.interval !== undefined) {
    const v = durationIn(c, at('interval'), o.interval, 0.05, 3600);
    if (v !== undefined) p.interval = v;
  }
  if (o.timeout !== undefined) {
    const v = durationIn(c, at('timeout'), o.timeout, 1, 60);
    if (v !== undefined) {
      if (!Number.isInteger(v))
        c.add(at('timeout'), `${JSON.stringify(o.timeout)} must be whole seconds (the packet protocol's unit)`);
      else p.timeout = v;
    }
  }
  if (o.size !== undefined) {
    const v = numberIn(c, at('size'), o.size, 28, 9000, true);
    if (v !== undefined) p.size = v;
  }
  if (o.max_ttl !== undefined) {
    const v = numberIn(c, at('max_ttl'), o.max_ttl, 1, 64, true);
    if (v !== undefined) p.maxTtl = v;
  }
  if (o.ip_version !== undefined) {
    if (o.ip_version === 4 || o.ip_version === 6) p.ipVersion = o.ip_version;
    else c.add(at('ip_version'), `${JSON.stringify(o.ip_version)} is not 4 or 6`);
  }
  if (o.labels !== undefined) {
    if (!isObj(o.labels)) c.add(at('labels'), 'must be a mapping of label names to values');
    else {
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(o.labels)) {
        if (!LABEL_NAME.test(k) || k.startsWith('__')) c.add(at('labels'), `'${k}' is not a valid label name`);
        else if (RESERVED_LABELS.includes(k)) c.add(at('labels'), `'${k}' is set by the exporter itself`);
        else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') labels[k] = String(v);
        else c.add(at(`labels.${k}`), 'must be a string');
      }
      p.labels = labels;
    }
  }
  return p;
}

function settle(where: string, c: Collector, p: PartialProbe, base: ProbeSettings): ProbeSettings {
  const s: ProbeSettings = {
    protocol: p.protocol ?? base.protocol,
    port: p.port ?? base.port,
    interval: p.interval ?? base.interval,
    timeout: p.timeout ?? base.timeout,
    size: p.size ?? base.size,
    maxTtl: p.maxTtl ?? base.maxTtl,
    ipVersion: p.ipVersion ?? base.ipVersion,
  };
  if (s.protocol === 'icmp' && p.port !== undefined) c.add(`${where}.port`, 'only udp and tcp probes have a port');
  return s.protocol === 'icmp' ? { ...s, port: undefined } : s;
}

function validHost(h: string): boolean {
  return isIP(h) !== 0 || HOSTNAME.test(h);
}

/** Parses and validates a configuration file's text. Throws ConfigError listing every problem. */
export function parseConfig(text: string): ExporterConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `YAML: ${(e.message.split('\n')[0] ?? '').replace(/:$/, '')}`));
  }
  const root: unknown = doc.toJS();
  const c = new Collector();
  if (!isObj(root)) throw new ConfigError(['the file must be a YAML mapping with a `targets:` list']);
  c.unknownKeys('', root, TOP_KEYS);

  let defaults = DEFAULT_PROBE;
  let defaultLabels: Record<string, string> = {};
  if (root.defaults !== undefined) {
    if (!isObj(root.defaults)) c.add('defaults', 'must be a mapping');
    else {
      c.unknownKeys('defaults', root.defaults, DEFAULT_KEYS);
      const p = readProbe(c, 'defaults', root.defaults);
      defaults = settle('defaults', c, p, DEFAULT_PROBE);
      defaultLabels = p.labels ?? {};
    }
  }

  let perHop: PerHopLevel = 'counters';
  if (root.per_hop !== undefined) {
    if ((PER_HOP_LEVELS as readonly unknown[]).includes(root.per_hop)) perHop = root.per_hop as PerHopLevel;
    else c.add('per_hop', `${JSON.stringify(root.per_hop)} is not one of ${PER_HOP_LEVELS.join(', ')}`);
  }
  let window = DEFAULT_WINDOW;
  if (root.window !== undefined) window = durationIn(c, 'window', root.window, 1, 86400) ?? window;

  let diagnosis = true;
  if (root.diagnosis !== undefined) {
    if (typeof root.diagnosis === 'boolean') diagnosis = root.diagnosis;
    else c.add('diagnosis', `${JSON.stringify(root.diagnosis)} is not true or false`);
  }

  let budget = DEFAULT_BUDGET;
  if (root.budget !== undefined) {
    if (!isObj(root.budget)) c.add('budget', 'must be a mapping');
    else {
      const b = root.budget;
      c.unknownKeys('budget', b, BUDGET_KEYS);
      const num = (k: string, min: number, max: number, int: boolean, dflt: number): number =>
        b[k] === undefined ? dflt : (numberIn(c, `budget.${k}`, b[k], min, max, int) ?? dflt);
      budget = {
        probesPerSecond: num('probes_per_second', 0.1, 100000, false, DEFAULT_BUDGET.probesPerSecond),
        routerProbesPerSecond: num(
          'router_probes_per_second',
          0.01,
          100000,
          false,
          DEFAULT_BUDGET.routerProbesPerSecond,
        ),
        routerBurst: num('router_burst', 1, 100000, true, DEFAULT_BUDGET.routerBurst),
        maxInFlight: num('max_in_flight', 1, 10000, true, DEFAULT_BUDGET.maxInFlight),
      };
    }
  }

  const modules: Record<string, ProbeSettings> = {
    icmp: defaults.protocol === 'icmp' ? defaults : { ...defaults, protocol: 'icmp', port: undefined },
  };
  if (root.modules !== undefined) {
    if (!isObj(root.modules)) c.add('modules', 'must be a mapping of module names to probe settings');
    else {
      for (const [name, m] of Object.entries(root.modules)) {
        const where = `modules.${name}`;
        if (!isObj(m)) {
          c.add(where, 'must be a mapping');
          continue;
        }
        c.unknownKeys(where, m, MODULE_KEYS);
        modules[name] = settle(where, c, readProbe(c, where, m), defaults);
      }
    }
  }

  const targets: TargetSpec[] = [];
  if (root.targets === undefined) c.add('', 'no `targets:` list');
  else if (root.targets === null) {
    // `targets:` with nothing under it: an empty list, so a running exporter can be emptied by a reload
  } else if (!Array.isArray(root.targets)) c.add('targets', 'must be a list');
  else {
    const seen = new Map<string, number>();
    root.targets.forEach((t: unknown, i: number) => {
      let where = `targets[${i}]`;
      if (!isObj(t)) {
        c.add(where, 'must be a mapping with at least `name` and `host`');
        return;
      }
      const name = typeof t.name === 'string' || typeof t.name === 'number' ? String(t.name) : undefined;
      if (name !== undefined) where += ` (${name})`;
      c.unknownKeys(where, t, TARGET_KEYS);
      if (name === undefined || name === '') c.add(where, 'needs a `name`');
      else if (name.length > 128 || /[\x00-\x1f\x7f]/.test(name))
        c.add(`${where}.name`, 'must be at most 128 printable characters');
      else if (seen.has(name)) c.add(`${where}.name`, `'${name}' is also the name of targets[${seen.get(name)}]`);
      else seen.set(name, i);
      const host = typeof t.host === 'string' ? t.host.trim() : undefined;
      if (host === undefined || host === '') c.add(where, 'needs a `host` (an address or a name)');
      else if (!validHost(host)) c.add(`${where}.host`, `'${host}' is neither an IP address nor a host name`);
      const p = readProbe(c, where, t);
      const s = settle(where, c, p, defaults);
      if (host !== undefined && s.ipVersion !== undefined) {
        const fam = isIP(host);
        if (fam !== 0 && fam !== s.ipVersion)
          c.add(`${where}.ip_version`, `${s.ipVersion} does not fit the address ${host}`);
      }
      if (name !== undefined && host !== undefined)
        targets.push({ ...s, name, host, labels: { ...defaultLabels, ...(p.labels ?? {}) } });
    });
  }
  if (c.problems.length > 0) throw new ConfigError(c.problems);
  return { targets, perHop, window, diagnosis, budget, modules };
}

/** Whether two target specs probe the same way with the same labels (a reload keeps such a target as is). */
export function sameTarget(a: TargetSpec, b: TargetSpec): boolean {
  if (a.name !== b.name || a.host !== b.host || a.protocol !== b.protocol || a.port !== b.port) return false;
  if (
    a.interval !== b.interval ||
    a.timeout !== b.timeout ||
    a.size !== b.size ||
    a.maxTtl !== b.maxTtl ||
    a.ipVersion !== b.ipVersion
  )
    return false;
  const ka = Object.keys(a.labels).sort();
  const kb = Object.keys(b.labels).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a.labels[k] === b.labels[k]);
}

export interface TargetDiff {
  readonly added: readonly TargetSpec[];
  readonly removed: readonly TargetSpec[];
  readonly changed: readonly TargetSpec[];
  readonly kept: readonly TargetSpec[];
}

/** What a reload does: targets by name, added, removed, changed (restarted) and kept (untouched). */
export function diffTargets(before: readonly TargetSpec[], after: readonly TargetSpec[]): TargetDiff {
  const old = new Map(before.map((t) => [t.name, t]));
  const next = new Map(after.map((t) => [t.name, t]));
  const added: TargetSpec[] = [];
  const changed: TargetSpec[] = [];
  const kept: TargetSpec[] = [];
  for (const t of after) {
    const o = old.get(t.name);
    if (o === undefined) added.push(t);
    else if (sameTarget(o, t)) kept.push(t);
    else changed.push(t);
  }
  const removed = before.filter((t) => !next.has(t.name));
  return { added, removed, changed, kept };
}
