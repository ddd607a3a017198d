// What every renderer reads: one run's facts, the hops' states, and the names known so far.
// Renderers are pure: (snapshot, options) -> lines. One place (cli) writes them.

import type { HopState } from '../stats.js';

export interface RunInfo {
  /** os.hostname(), mtr's LocalHostname */
  readonly localHostname: string;
  /** the target as the user wrote it */
  readonly target: string;
  /** the address probed */
  readonly targetAddress: string;
  /** ms since the epoch */
  readonly startTime: number;
  readonly tos: number;
  readonly psize: number;
  readonly bitpattern: number;
  /** -c */
  readonly tests: number;
}

export interface Snapshot {
  readonly info: RunInfo;
  /** index = TTL - 1 */
  readonly hops: readonly HopState[];
  /** -f */
  readonly firstTtl: number;
  /** -m */
  readonly maxTtl: number;
}

/** Names found so far; both return undefined when not (yet) known. */
export interface Names {
  host(address: string): string | undefined;
  /** the selected IP-info item (-y N / -z), e.g. "15169" for the AS number */
  ipinfo(address: string): string | undefined;
}

export const NO_NAMES: Names = { host: () => undefined, ipinfo: () => undefined };

export interface RenderOptions {
  /** -o */
  readonly order: string;
  /** -w */
  readonly wide: boolean;
  /** not -n */
  readonly dns: boolean;
  /** -b */
  readonly showIps: boolean;
  /** -y N, -z = 0; undefined when off */
  readonly ipinfo: number | undefined;
  /** -e */
  readonly mpls: boolean;
}
