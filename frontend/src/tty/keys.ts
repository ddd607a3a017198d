// Keys: the bytes a terminal sends -> key names (decodeInput), and mtr's key map as a pure reducer
// (reduceKey: view state + key -> new view state + commands for the engine and the painter).
//
// mtr's keys (ui/curses.c mtr_curses_keyaction), case-insensitive except Q:
//   ? h help · p Ctrl-S pause · Space Ctrl-Q resume · d display mode · e MPLS · n DNS · r reset
//   o fields · j latency/jitter columns · u UDP · t TCP · y IP info · z AS · + - scroll 5 hops
//   i c f m s b Q prompts · Ctrl-L repaint · q Ctrl-C quit
// Ours too: arrows (1 hop), PgUp/PgDn (a page), Home/End; Ctrl-Z suspends (mtr swallows it); v shows
// the diagnosis in full and back (Esc also closes it).
// Prompts never block probing; they take Backspace, Esc (cancel) and Enter (apply); a refused value
// says why on the line under the prompt.

import { JITTER_ORDER, LATENCY_ORDER, LIVE_FIELD_KEYS } from './columns.js';
import { graphemes } from './width.js';
import { DISPLAY_MODES, type DisplayMode, type LiveSettings, type PromptKind, type ViewState } from './view.js';
import { HEADER_ROWS } from './screen.js';

/**
 * A key: a printable character as itself (' ' for Space), or a name: Enter Backspace Tab Escape Up Down
 * Left Right Home End PageUp PageDown Insert Delete, C-a .. C-z for control letters, Unknown otherwise.
 */
export type Key = string;

export type Input = { readonly key: Key } | { readonly syncSupported: boolean };

const CSI_TILDE: Record<string, Key> = { '1': 'Home', '2': 'Insert', '3': 'Delete', '4': 'End', '5': 'PageUp', '6': 'PageDown', '7': 'Home', '8': 'End' };
const CSI_FINAL: Record<string, Key> = { A: 'Up', B: 'Down', C: 'Right', D: 'Left', H: 'Home', F: 'End' };

/**
 * Decodes one chunk of terminal input. A lone ESC at the end of a chunk is the Escape key (terminals
 * send a sequence in one write). The reply to our DECRQM query for mode 2026 (synchronized output),
 * `CSI ? 2026 ; Ps $ y`, is returned as `syncSupported` and never as keys.
 */
export function decodeInput(chunk: string): Input[] {
  const out: Input[] = [];
  let i = 0;
  while (i < chunk.length) {
    const c = chunk[i] as string;
    if (c === '\x1b') {
      const n = chunk[i + 1];
      if (n === undefined) {
        out.push({ key: 'Escape' });
        i++;
        continue;
      }
      if (n === '[') {
        let j = i + 2;
        while (j < chunk.length && /[\x30-\x3f]/.test(chunk[j] as string)) j++;
        const params = chunk.slice(i + 2, j);
        let k = j;
        while (k < chunk.length && /[\x20-\x2f]/.test(chunk[k] as string)) k++;
        const inter = chunk.slice(j, k);
        const final = chunk[k];
        if (final === undefined) {
          out.push({ key: 'Unknown' });
          i = chunk.length;
          continue;
        }
        i = k + 1;
        if (final === 'y' && inter === '$' && params.startsWith('?2026;')) {
          const ps = Number(params.slice(6));
          out.push({ syncSupported: ps === 1 || ps === 2 });
        } else if (final === '~') out.push({ key: CSI_TILDE[params.split(';')[0] ?? ''] ?? 'Unknown' });
        else out.push({ key: CSI_FINAL[final] ?? 'Unknown' });
        continue;
      }
      if (n === 'O' && i + 2 < chunk.length) {
        out.push({ key: CSI_FINAL[chunk[i + 2] as string] ?? 'Unknown' });
        i += 3;
        continue;
      }
      if (n === '\x1b') {
        out.push({ key: 'Escape' });
        i++;
        continue;
      }
      // Alt + key: not one of ours
      out.push({ key: 'Unknown' });
      i += 2;
      continue;
    }
    const code = c.charCodeAt(0);
    if (c === '\r' || c === '\n') {
      out.push({ key: 'Enter' });
      // \r\n is one Enter
      i += c === '\r' && chunk[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    if (code === 0x7f || code === 0x08) out.push({ key: 'Backspace' });
    else if (c === '\t') out.push({ key: 'Tab' });
    else if (code >= 1 && code <= 26) out.push({ key: `C-${String.fromCharCode(code + 96)}` });
    else if (code < 0x20) out.push({ key: 'Unknown' });
    else {
      // one grapheme (a surrogate pair, an emoji) is one key
      const g = graphemes(chunk.slice(i, i + 8))[0] ?? c;
      out.push({ key: g });
      i += g.length;
      continue;
    }
    i++;
  }
  return out;
}

export type Command =
  | { readonly type: 'quit' }
  | { readonly type: 'repaint' }
  | { readonly type: 'pause' }
  | { readonly type: 'resume' }
  | { readonly type: 'reset' }
  | { readonly type: 'suspend' }
  | { readonly type: 'bell' }
  /** change probe settings (the engine's reconfigure) */
  | { readonly type: 'set'; readonly patch: Partial<LiveSettings> }
  /** reverse DNS wanted on/off */
  | { readonly type: 'dns'; readonly on: boolean }
  /** the IP info item wanted (undefined: none) */
  | { readonly type: 'ipinfo'; readonly item: number | undefined };

export interface KeyResult {
  readonly view: ViewState;
  readonly commands: readonly Command[];
}

const PROMPTS = new Set<string>(['o', 'i', 'c', 'f', 'm', 's', 'b']);
const IPINFO_ITEMS = 5;
const MAX_ORDER = 20;
const NUMBER_CHARS = /^[-+0-9.]$/;

function ok(view: ViewState, ...commands: Command[]): KeyResult {
  return { view, commands };
}

/** The page size for PgUp/PgDn: the rows hops get. */
function page(view: ViewState): number {
  return Math.max(1, view.rows - HEADER_ROWS - 1);
}

export function reduceKey(v0: ViewState, key: Key): KeyResult {
  if (key === 'C-c') return ok(v0, { type: 'quit' });
  const view: ViewState = v0.message !== undefined ? { ...v0, message: undefined } : v0;
  if (view.help) return ok({ ...view, help: false });
  if (view.prompt !== undefined) return promptKey(view, key);

  if (key === 'Q') return ok({ ...view, prompt: { kind: 'Q', text: '' } });
  const k = key.length === 1 ? key.toLowerCase() : key;
  if (PROMPTS.has(k)) return ok({ ...view, prompt: { kind: k as PromptKind, text: '' } });
  switch (k) {
    case 'q':
      return ok(view, { type: 'quit' });
    case 'C-l':
      return ok(view, { type: 'repaint' });
    case 'p':
    case 'C-s':
      return view.paused ? ok(view) : ok({ ...view, paused: true }, { type: 'pause' });
    case ' ':
    case 'C-q':
      return view.paused ? ok({ ...view, paused: false }, { type: 'resume' }) : ok(view);
    case 'r':
      return ok(view, { type: 'reset' });
    case 'd':
      return ok({ ...view, mode: ((view.mode + 1) % DISPLAY_MODES) as DisplayMode, scroll: 0 });
    case 'e':
      return ok({ ...view, mpls: !view.mpls });
    case 'n':
      return ok({ ...view, dns: !view.dns }, { type: 'dns', on: !view.dns });
    case 'y': {
      const item = ((view.ipinfo ?? -1) + 1) % IPINFO_ITEMS;
      return ok({ ...view, ipinfo: item }, { type: 'ipinfo', item });
    }
    case 'z': {
      const item = view.ipinfo === undefined ? 0 : undefined;
      return ok({ ...view, ipinfo: item }, { type: 'ipinfo', item });
    }
    case 'j':
      return ok({ ...view, order: view.order.includes('N') ? JITTER_ORDER : LATENCY_ORDER });
    case 'u': {
      const p = view.settings.protocol;
      const protocol = p === 'udp' ? 'icmp' : 'udp';
      return setting(view, { protocol });
    }
    case 't': {
      const p = view.settings.protocol;
      const protocol = p === 'tcp' ? 'icmp' : 'tcp';
      return setting(view, { protocol });
    }
    case '?':
    case 'h':
      return ok({ ...view, help: true });
    case 'v':
      return ok({ ...view, diagnosis: !view.diagnosis });
    case 'Escape':
      return view.diagnosis ? ok({ ...view, diagnosis: false }) : ok(view);
    case '+':
      return ok({ ...view, scroll: view.scroll + 5 });
    case '-':
      return ok({ ...view, scroll: Math.max(0, view.scroll - 5) });
    case 'Down':
      return ok({ ...view, scroll: view.scroll + 1 });
    case 'Up':
      return ok({ ...view, scroll: Math.max(0, view.scroll - 1) });
    case 'PageDown':
      return ok({ ...view, scroll: view.scroll + page(view) });
    case 'PageUp':
      return ok({ ...view, scroll: Math.max(0, view.scroll - page(view)) });
    case 'Home':
      return ok({ ...view, scroll: 0 });
    case 'End':
      return ok({ ...view, scroll: 1 << 16 });
    case 'C-z':
      return ok(view, { type: 'suspend' });
    default:
      return ok(view);
  }
}

function setting(view: ViewState, patch: Partial<LiveSettings>): KeyResult {
  return ok({ ...view, settings: { ...view.settings, ...patch } }, { type: 'set', patch });
}

function promptKey(view: ViewState, key: Key): KeyResult {
  const p = view.prompt!;
  if (key === 'Escape') return ok({ ...view, prompt: undefined });
  if (key === 'Backspace') return ok({ ...view, prompt: { ...p, text: graphemes(p.text).slice(0, -1).join('') } });
  if (key === 'Enter') return apply({ ...view, prompt: undefined }, p.kind, p.text);
  if (key.length !== 1 && graphemes(key).length !== 1) return ok(view, { type: 'bell' });
  const accepted = p.kind === 'o' ? LIVE_FIELD_KEYS.includes(key) && p.text.length < MAX_ORDER : NUMBER_CHARS.test(key) && p.text.length < 12;
  if (!accepted) return ok(view, { type: 'bell' });
  return ok({ ...view, prompt: { ...p, text: p.text + key } });
}

function refuse(view: ViewState, message: string): KeyResult {
  return ok({ ...view, message }, { type: 'bell' });
}

function int(text: string): number | undefined {
  return /^[-+]?\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
}

function apply(view: ViewState, kind: PromptKind, text: string): KeyResult {
  if (text.trim() === '') return ok(view);
  const s = view.settings;
  switch (kind) {
    case 'o':
      return ok({ ...view, order: text });
    case 'i': {
      const f = Number(text);
      if (!/^\+?(\d+\.?\d*|\.\d+)$/.test(text) || !(f > 0)) return refuse(view, `interval: not a positive number of seconds: ${text}`);
      if (!view.isRoot && f < 1) return refuse(view, 'intervals below 1 second need root');
      return setting(view, { interval: f });
    }
    case 'c': {
      const n = int(text);
      if (n === undefined || n < 0) return refuse(view, `cycles: not a count: ${text}`);
      return setting(view, { cycles: n === 0 ? undefined : n });
    }
    case 'f': {
      const n = int(text);
      if (n === undefined || n < 1 || n > s.maxTtl) return refuse(view, `first TTL: 1 to ${s.maxTtl}`);
      return setting(view, { firstTtl: n });
    }
    case 'm': {
      const n = int(text);
      if (n === undefined || n < s.firstTtl || n > 255) return refuse(view, `max TTL: ${s.firstTtl} to 255`);
      return setting(view, { maxTtl: n });
    }
    case 's': {
      const n = int(text);
      if (n === undefined || Math.abs(n) < 28 || Math.abs(n) > 4470) return refuse(view, 'packet size: 28 to 4470, or negative for random sizes');
      return setting(view, { psize: n });
    }
    case 'b': {
      const n = int(text);
      if (n === undefined) return refuse(view, `bit pattern: not a number: ${text}`);
      return setting(view, { bitpattern: n < 0 || n > 255 ? -1 : n });
    }
    case 'Q': {
      const n = int(text);
      if (n === undefined || n < 0 || n > 255) return refuse(view, 'TOS: 0 to 255');
      return setting(view, { tos: n });
    }
  }
}
