// The live view's own state: what the person chose to see (display mode, columns, names, scroll), the
// terminal's size, an open prompt or help screen, and a copy of the probe settings that the prompts show
// and change. Pure data; keys.ts changes it, screen.ts reads it.

import type { LiveProtocol } from './snapshot.js';
import { LATENCY_ORDER } from './columns.js';

/** 0 statistics, 1 stripchart '.'/'>', 2 stripchart scaled, 3 statistics with a per-hop sparkline */
export type DisplayMode = 0 | 1 | 2 | 3;
export const DISPLAY_MODES = 4;

/** The probe settings the keys change (mtr's i f m s b Q c u t). */
export interface LiveSettings {
  readonly protocol: LiveProtocol;
  /** seconds */
  readonly interval: number;
  readonly firstTtl: number;
  readonly maxTtl: number;
  readonly psize: number;
  readonly bitpattern: number;
  readonly tos: number;
  /** undefined: until quit */
  readonly cycles: number | undefined;
}

export type PromptKind = 'o' | 'i' | 'c' | 'f' | 'm' | 's' | 'b' | 'Q';

export interface Prompt {
  readonly kind: PromptKind;
  /** what was typed so far */
  readonly text: string;
}

export interface ViewState {
  readonly mode: DisplayMode;
  /** field letters, as -o */
  readonly order: string;
  /** names instead of addresses (n) */
  readonly dns: boolean;
  /** "name (ip)" (-b) */
  readonly showIps: boolean;
  /** MPLS label lines (e) */
  readonly mpls: boolean;
  /** IP info item shown before names (y cycles 0..4, z toggles AS); undefined: off */
  readonly ipinfo: number | undefined;
  /** responders listed per hop, the first included (mtr head's -E, default 8) */
  readonly maxPaths: number;
  /** first hop shown (scrolling), in hops */
  readonly scroll: number;
  readonly cols: number;
  readonly rows: number;
  readonly prompt: Prompt | undefined;
  readonly help: boolean;
  /** the diagnosis in full instead of the hops (v) */
  readonly diagnosis: boolean;
  /** probing and redrawing stopped (p / Ctrl-S; Space / Ctrl-Q resumes) */
  readonly paused: boolean;
  /** a one-line note under the keys line (a refused value), until the next key */
  readonly message: string | undefined;
  /** fixed stripchart thresholds (ms) from --scale; undefined: mtr's dynamic scale */
  readonly scale: readonly number[] | undefined;
  /** root may set intervals below 1 s (mtr's rule) */
  readonly isRoot: boolean;
  readonly settings: LiveSettings;
  /** the program's name and version for the title */
  readonly version: string;
}

export const DEFAULT_SETTINGS: LiveSettings = Object.freeze({
  protocol: 'icmp',
  interval: 1,
  firstTtl: 1,
  maxTtl: 30,
  psize: 64,
  bitpattern: 0,
  tos: 0,
  cycles: undefined,
});

export function initialView(over: Partial<ViewState> = {}): ViewState {
  return {
    mode: 0,
    order: LATENCY_ORDER,
    dns: true,
    showIps: false,
    mpls: false,
    ipinfo: undefined,
    maxPaths: 8,
    scroll: 0,
    cols: 80,
    rows: 24,
    prompt: undefined,
    help: false,
    diagnosis: false,
    paused: false,
    message: undefined,
    scale: undefined,
    isRoot: false,
    settings: DEFAULT_SETTINGS,
    version: 'mtr-ts',
    ...over,
  };
}
