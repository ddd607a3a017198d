// Reads the scenario files in fixtures/diagnose/: a compact description of hops per window, expanded into the
// diagnosis engine's PathEvidence. One file = one scenario; a scenario has one window (`hops` + `expect`)
// or several (`windows`, each with the verdicts active after it).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  AlternateEvidence,
  HopEvidence,
  PathChange,
  PathEvidence,
  ProbeProtocol,
  UnreachableEvidence,
} from '../src/diagnose/index.js';

export const FIXTURE_DIR = fileURLToPath(new URL('./fixtures/diagnose/', import.meta.url));

/** [min, median, p95, max, stddev, mean?] in ms */
type RttTuple = [number, number, number, number, number, number?];

export interface CompactHop {
  ttl: number;
  sent: number;
  recv: number;
  /** the responder, or responders with their answer counts */
  from?: string | Record<string, number>;
  rtt?: RttTuple;
  rttN?: number;
  life?: [number, number];
  unreach?: UnreachableEvidence;
  replyTtls?: number[];
}

export interface CompactWindow {
  hops: CompactHop[];
  pathChanged?: boolean;
  changes?: PathChange[];
  alternates?: AlternateEvidence[];
  /** `rule@hop` keys diagnose() must return, exactly (single-window scenarios) */
  expect?: string[];
  /** `rule@hop` keys active after this window (tracker scenarios) */
  active?: string[];
  raised?: string[];
  cleared?: string[];
}

export interface Scenario extends CompactWindow {
  name: string;
  about: string;
  path?: {
    target?: string;
    protocol?: ProbeProtocol;
    ipVersion?: 4 | 6;
    probeSize?: number;
    maxTtl?: number;
    firstTtl?: number;
  };
  windows?: CompactWindow[];
  /** confidence bounds per key: [low, high] inclusive */
  confidence?: Record<string, [number, number]>;
  /** words the verdict's summary must contain, per key */
  says?: Record<string, string[]>;
  /** evidence numbers per key, with a tolerance of 0.01 */
  evidence?: Record<string, Record<string, number>>;
}

export function loadScenarios(): Scenario[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({
      name: f.replace(/\.json$/, ''),
      ...(JSON.parse(readFileSync(join(FIXTURE_DIR, f), 'utf8')) as Omit<Scenario, 'name'>),
    }));
}

function hopOf(h: CompactHop): HopEvidence {
  const responders =
    h.from === undefined
      ? []
      : typeof h.from === 'string'
        ? h.recv > 0
          ? [{ address: h.from, count: h.recv }]
          : []
        : Object.entries(h.from).map(([address, count]) => ({ address, count }));
  const r = h.rtt;
  return {
    ttl: h.ttl,
    window: { sent: h.sent, received: h.recv },
    lifetime: h.life !== undefined ? { sent: h.life[0], received: h.life[1] } : { sent: h.sent, received: h.recv },
    rtt:
      r !== undefined && h.recv > 0
        ? { n: h.rttN ?? h.recv, min: r[0], median: r[1], p95: r[2], max: r[3], stddev: r[4], mean: r[5] ?? r[1] }
        : undefined,
    responders: responders.sort((a, b) => b.count - a.count),
    unreachable: h.unreach,
    replyTtls: h.replyTtls,
  };
}

export function pathOf(s: Scenario, w: CompactWindow): PathEvidence {
  const target = s.path?.target ?? '10.0.4.2';
  const hops = w.hops.map(hopOf);
  const destHop = hops.find((h) => h.responders.some((r) => r.address === target));
  const cycles = Math.max(0, ...w.hops.map((h) => h.sent));
  return {
    target,
    ipVersion: s.path?.ipVersion ?? 4,
    protocol: s.path?.protocol ?? 'icmp',
    probeSize: s.path?.probeSize ?? 64,
    firstTtl: s.path?.firstTtl ?? 1,
    maxTtl: s.path?.maxTtl ?? 30,
    windowCycles: cycles,
    lifetimeCycles: cycles,
    hops,
    destination: destHop !== undefined ? { reached: true, ttl: destHop.ttl } : { reached: false },
    pathChanged: w.pathChanged ?? false,
    changes: w.changes,
    alternates: w.alternates,
  };
}
