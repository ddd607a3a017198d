// mtr's command line, once: one table feeds yargs, the --help text and the Config type.
//
// Meanings and limits follow mtr 0.95 (ui/mtr.c parse_arg). Differences, on purpose:
// - no GTK: without an output flag (or with -t), mtr-ts shows the live full-screen view when stdin and
//   stdout are terminals (tty/), and otherwise runs in report mode (-r), saying so on stderr when
//   stderr is a terminal;
// - errors are one line on stderr and exit status 1.

import yargs from 'yargs';
import type { ProbeProtocol } from '@mtr-ts/protocol';
import { readFileSync } from 'node:fs';
import { checkOrder, DEFAULT_ORDER } from './fields.js';
import { parseScale } from './tty/chart.js';

export type OutputMode = 'report' | 'wide' | 'json' | 'csv' | 'xml' | 'raw' | 'split' | 'ndjson' | 'rich';
/** the packet protocols, as @mtr-ts/protocol names them */
export type Protocol = ProbeProtocol;

type Kind = 'flag' | 'int' | 'float' | 'string';

interface OptionDef {
  readonly long: string;
  readonly short?: string;
  readonly kind: Kind;
  readonly arg?: string;
  readonly help: string;
}

/** In --help order (mtr's). */
export const OPTIONS = [
  { long: 'filename', short: 'F', kind: 'string', arg: 'FILE', help: 'read hostname(s) from a file' },
  { long: 'inet', short: '4', kind: 'flag', help: 'use IPv4 only' },
  { long: 'inet6', short: '6', kind: 'flag', help: 'use IPv6 only' },
  { long: 'udp', short: 'u', kind: 'flag', help: 'use UDP instead of ICMP echo' },
  { long: 'tcp', short: 'T', kind: 'flag', help: 'use TCP instead of ICMP echo' },
  { long: 'sctp', short: 'S', kind: 'flag', help: 'use SCTP instead of ICMP echo' },
  { long: 'interface', short: 'I', kind: 'string', arg: 'NAME', help: 'use named network interface' },
  { long: 'address', short: 'a', kind: 'string', arg: 'ADDRESS', help: 'bind the outgoing socket to ADDRESS' },
  { long: 'first-ttl', short: 'f', kind: 'int', arg: 'NUMBER', help: 'set what TTL to start' },
  { long: 'max-ttl', short: 'm', kind: 'int', arg: 'NUMBER', help: 'maximum number of hops' },
  { long: 'max-unknown', short: 'U', kind: 'int', arg: 'NUMBER', help: 'maximum unknown host' },
  { long: 'port', short: 'P', kind: 'int', arg: 'PORT', help: 'target port number for TCP, SCTP, or UDP' },
  { long: 'localport', short: 'L', kind: 'int', arg: 'LOCALPORT', help: 'source port number for UDP' },
  { long: 'psize', short: 's', kind: 'int', arg: 'PACKETSIZE', help: 'set the packet size used for probing' },
  { long: 'bitpattern', short: 'B', kind: 'int', arg: 'NUMBER', help: 'set bit pattern to use in payload' },
  { long: 'interval', short: 'i', kind: 'float', arg: 'SECONDS', help: 'ICMP echo request interval' },
  { long: 'gracetime', short: 'G', kind: 'float', arg: 'SECONDS', help: 'number of seconds to wait for responses' },
  { long: 'tos', short: 'Q', kind: 'int', arg: 'NUMBER', help: 'type of service field in IP header' },
  { long: 'mpls', short: 'e', kind: 'flag', help: 'display information from ICMP extensions' },
  { long: 'timeout', short: 'Z', kind: 'int', arg: 'SECONDS', help: 'seconds to keep probe sockets open' },
  { long: 'mark', short: 'M', kind: 'int', arg: 'MARK', help: 'mark each sent packet' },
  { long: 'report', short: 'r', kind: 'flag', help: 'output using report mode' },
  { long: 'report-wide', short: 'w', kind: 'flag', help: 'output wide report' },
  { long: 'report-cycles', short: 'c', kind: 'int', arg: 'COUNT', help: 'set the number of pings sent' },
  { long: 'json', short: 'j', kind: 'flag', help: 'output json' },
  { long: 'xml', short: 'x', kind: 'flag', help: 'output xml' },
  { long: 'csv', short: 'C', kind: 'flag', help: 'output comma separated values' },
  { long: 'raw', short: 'l', kind: 'flag', help: 'output raw format' },
  { long: 'split', short: 'p', kind: 'flag', help: 'split output' },
  { long: 'ndjson', kind: 'flag', help: 'output the event stream, one JSON object per line' },
  { long: 'json-rich', kind: 'flag', help: 'output one JSON document with per-hop, per-responder statistics' },
  { long: 'window', kind: 'int', arg: 'COUNT', help: 'probes per hop in the rolling window (default 100)' },
  { long: 'diagnose', kind: 'flag', help: 'say what the trace means: a Diagnosis section (-r/-w), verdicts (--json-rich, --ndjson)' },
  { long: 'html', kind: 'string', arg: 'FILE', help: 'write the trace, the diagnosis and a latency chart to FILE as one HTML page' },
  {
    long: 'confirm',
    kind: 'flag',
    help: 'probe more (at most 70 probes per target: TCP, large don\'t-fragment, direct pings) to settle a verdict; implies --diagnose',
  },
  { long: 'flows', kind: 'int', arg: 'COUNT', help: 'ECMP: probe COUNT stable flows per TTL (ICMP, UDP, TCP)' },
  { long: 'members', kind: 'flag', help: 'ECMP: one report line per responder of a hop' },
  { long: 'curses', short: 't', kind: 'flag', help: 'use the live full-screen display (default)' },
  { long: 'displaymode', kind: 'int', arg: 'MODE', help: 'live display: 0 stats, 1-2 chart, 3 both' },
  { long: 'scale', kind: 'string', arg: 'SCALE', help: 'chart scale: fast|average|slow|t1:..:t9 ms' },
  { long: 'no-dns', short: 'n', kind: 'flag', help: 'do not resolve host names' },
  { long: 'show-ips', short: 'b', kind: 'flag', help: 'show IP numbers and host names' },
  { long: 'order', short: 'o', kind: 'string', arg: 'FIELDS', help: 'select output fields' },
  { long: 'ipinfo', short: 'y', kind: 'int', arg: 'NUMBER', help: 'select IP information in output' },
  { long: 'aslookup', short: 'z', kind: 'flag', help: 'display AS number' },
  { long: 'help', short: 'h', kind: 'flag', help: 'display this help and exit' },
  { long: 'version', short: 'v', kind: 'flag', help: 'output version information and exit' },
] as const satisfies readonly OptionDef[];

export const VERSION = '0.1.0';
/** the smallest -s for --flows: an IPv6 UDP probe with the flow's 6 payload bytes (40 + 8 + 6) */
export const MIN_FLOW_PSIZE = 54;
/** --flows upper bound */
export const MAX_FLOWS = 64;
export const PROGRAM = 'mtr-ts';

export function versionText(): string {
  return `${PROGRAM} ${VERSION} (mtr 0.95 compatible)`;
}

export function helpText(): string {
  const lines = ['', 'Usage:', ` ${PROGRAM} [options] hostname...`, ''];
  for (const o of OPTIONS as readonly OptionDef[]) {
    const left = (o.short !== undefined ? ` -${o.short}, ` : '     ') + `--${o.long}` + (o.arg !== undefined ? ` ${o.arg}` : '');
    lines.push(left.padEnd(28, ' ') + o.help);
  }
  lines.push(
    '',
    'On a terminal, without an output flag, mtr-ts shows mtr\'s live display (? lists the keys; q quits and',
    'leaves the report in the scrollback; it probes until q, or -c cycles when given). Otherwise (stdout',
    'a file or a pipe) it behaves as with -r (a report after -c cycles, default 10), never writing an',
    'escape byte. Ctrl-C prints the report so far (exit 130). Live fields E and P: median and p95.',
    'Several targets are probed at the same time over one packet process; reports print in the order',
    'given (-l and -p run them one after another).',
    '',
    'Machine outputs (versioned, JSON Schema in frontend/schema/): --ndjson writes every event as it',
    'happens (probe sent/answered/lost, hop and path changes, cycles), one object per line; --json-rich',
    'writes one document at the end with per-hop lifetime and --window statistics, percentiles, and',
    'every responder with its own statistics and MPLS labels. -j stays mtr 0.95\'s JSON.',
    '',
    'Diagnosis: --diagnose judges the run in windows (half the run, 20-50 cycles) and prints what the',
    'trace means after each report, with the hop, the numbers and what to do (rule ids: README);',
    'verdicts need 20 probes per hop and two windows in a row, so run 100 cycles or more (-c 100).',
    '--html FILE writes a self-contained page; --confirm may send up to 70 more probes per target: TCP',
    'when the end of the path is uncertain, pings of a hop suspected of rate limiting (at two rates),',
    'and 1500-byte don\'t-fragment probes for the mtu check',
    '(mtr-packet-ts only: it reports ICMP codes, MTUs and reply TTLs when asked; mtr 0.95\'s does not).',
    '',
    'ECMP: --flows N (ICMP, -u or -T; 1-64) sends each TTL\'s probes on N stable flows in turn: ICMP keeps',
    'identifier and checksum fixed per flow, UDP and TCP a fixed (source port, destination port) pair',
    '(-L+i or 50000+i; -P, or 33434 UDP / 80 TCP; ICMP and TCP need mtr-packet-ts with raw sockets), the',
    'sequence carried elsewhere, so each flow keeps one path through load-balanced hops; losses are',
    'charged to the flow\'s member. --members (implied by --flows) lists each responder of a hop on its',
    'own report line with its own statistics and its share of the probes (-C, -x, -j: added rows,',
    'elements, keys); --json-rich adds per-flow statistics. Without them the report is mtr 0.95\'s.',
    '',
    'Environment:',
    '  MTR_OPTIONS          options read before the command line',
    '  MTR_PACKET           the packet program to run (default: mtr-packet-ts of this package);',
    '                       ignored, and -F refused, when run with more privilege than the caller',
    '  MTR_TS_DNS_SERVER    DNS server(s) for names and AS lookups, e.g. 127.0.0.1:5353',
    '',
    "See the 'man 8 mtr' for details; fields, formats and defaults are mtr 0.95's.",
  );
  return lines.join('\n');
}

export interface Config {
  mode: OutputMode;
  /** true when no output flag was given (or -t): the live view on a terminal, else report mode */
  defaultedMode: boolean;
  /** -c was given (the live view then quits after that many cycles) */
  cyclesGiven: boolean;
  /** --displaymode, 0-3 */
  displayMode: number;
  /** --scale text (checked) */
  scale: string | undefined;
  targets: string[];
  cycles: number;
  /** seconds */
  interval: number;
  gracetime: number;
  /** whole seconds, as sent to the packet process */
  timeout: number;
  firstTtl: number;
  maxTtl: number;
  maxUnknown: number;
  /** negative: random sizes up to |psize| */
  psize: number;
  /** -1: random */
  bitpattern: number;
  tos: number;
  mpls: boolean;
  interfaceName: string | undefined;
  address: string | undefined;
  protocol: Protocol;
  /** 0 = not given */
  port: number;
  localPort: number;
  mark: number | undefined;
  af: 4 | 6 | undefined;
  dns: boolean;
  showIps: boolean;
  order: string;
  ipinfo: number | undefined;
  /** --window: probes per hop in the rolling window */
  window: number;
  /** --diagnose, --html FILE, --confirm */
  diagnose: boolean;
  html: string | undefined;
  confirm: boolean;
  /** --flows: stable flows per TTL (ECMP); undefined: mtr's classic probing */
  flows: number | undefined;
  /** --members (or --flows): a report line per responder of a hop */
  members: boolean;
  help: boolean;
  version: boolean;
}

export class UsageError extends Error {}

const MODE_OF: Record<string, OutputMode | 'curses'> = {
  r: 'report', report: 'report',
  w: 'wide', 'report-wide': 'wide',
  j: 'json', json: 'json',
  C: 'csv', csv: 'csv',
  x: 'xml', xml: 'xml',
  l: 'raw', raw: 'raw',
  p: 'split', split: 'split',
  ndjson: 'ndjson',
  'json-rich': 'rich',
  t: 'curses', curses: 'curses',
};

const TAKES_ARG = new Set<string>();
for (const o of OPTIONS as readonly OptionDef[]) {
  if (o.kind !== 'flag') {
    TAKES_ARG.add(o.long);
    if (o.short !== undefined) TAKES_ARG.add(o.short);
  }
}

const LONG_OF = new Map<string, string>();
for (const o of OPTIONS as readonly OptionDef[]) {
  LONG_OF.set(o.long, o.long);
  if (o.short !== undefined) LONG_OF.set(o.short, o.long);
}

/** The options in argv order, by long name (values skipped): mtr applies them in this order. */
export function optionsInOrder(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') break;
    if (a.startsWith('--')) {
      const name = a.slice(2).split('=')[0] as string;
      const long = LONG_OF.get(name);
      if (long !== undefined) out.push(long);
      if (TAKES_ARG.has(name) && !a.includes('=')) i++;
    } else if (a.startsWith('-') && a.length > 1) {
      for (let k = 1; k < a.length; k++) {
        const c = a[k] as string;
        const long = LONG_OF.get(c);
        if (long !== undefined) out.push(long);
        if (TAKES_ARG.has(c)) {
          if (k === a.length - 1) i++;
          break;
        }
      }
    }
  }
  return out;
}

/** The last of `names` given (long names), in argv order (mtr: the last one wins). */
function lastOf<T extends string>(order: readonly string[], names: readonly T[]): T | undefined {
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i] as T;
    if (names.includes(n)) return n;
  }
  return undefined;
}

/** The last output-mode flag in argv order (mtr: the last one wins). */
function lastMode(order: readonly string[]): OutputMode | 'curses' | undefined {
  const m = lastOf(order, Object.keys(MODE_OF));
  return m === undefined ? undefined : MODE_OF[m];
}

function toInt(v: unknown, flag: string): number {
  const s = String(v).trim();
  if (!/^[+-]?(0x[0-9a-f]+|\d+)$/i.test(s)) throw new UsageError(`invalid argument: '${String(v)}' for ${flag}`);
  const n = Number(s.replace(/^\+/, ''));
  if (!Number.isSafeInteger(n)) throw new UsageError(`invalid argument: '${String(v)}' for ${flag}`);
  return n;
}

function toFloat(v: unknown, flag: string): number {
  const s = String(v).trim();
  const n = Number(s);
  if (s === '' || !Number.isFinite(n)) throw new UsageError(`invalid argument: '${String(v)}' for ${flag}`);
  return n;
}

/** MTR_OPTIONS words, split on spaces and tabs as mtr does. */
export function splitEnvOptions(text: string | undefined): string[] {
  return text === undefined ? [] : text.split(/[ \t]+/).filter((w) => w.length > 0);
}

export interface ParseEnv {
  isRoot: boolean;
  readFile: (path: string) => string;
}

const defaultEnv: ParseEnv = {
  isRoot: typeof process.getuid === 'function' ? process.getuid() === 0 : false,
  readFile: (p) => readFileSync(p === '-' ? 0 : p, 'utf8'),
};

/** argv (without node and script) -> Config, or a UsageError with one line to print. */
export function parseOptions(argv: readonly string[], envOptions: string | undefined = undefined, env: ParseEnv = defaultEnv): Config {
  const args = [...splitEnvOptions(envOptions), ...argv];
  const y = yargs(args)
    .help(false)
    .version(false)
    .strictOptions()
    .exitProcess(false)
    .parserConfiguration({
      'duplicate-arguments-array': false,
      'camel-case-expansion': false,
      'boolean-negation': false,
      'strip-aliased': true,
      'short-option-groups': true,
      'halt-at-non-option': false,
    })
    .fail((msg, err) => {
      throw new UsageError(err?.message ?? msg);
    });
  for (const o of OPTIONS as readonly OptionDef[]) {
    y.option(o.long, {
      ...(o.short !== undefined ? { alias: o.short } : {}),
      type: o.kind === 'flag' ? 'boolean' : 'string',
      ...(o.kind === 'flag' ? {} : { requiresArg: true }),
    });
  }
  let a: Record<string, unknown>;
  try {
    a = y.parseSync() as Record<string, unknown>;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message);
  }
  const has = (k: string): boolean => a[k] !== undefined && a[k] !== false;
  const last = (k: string): unknown => (Array.isArray(a[k]) ? (a[k] as unknown[]).at(-1) : a[k]);

  const order = optionsInOrder(args);
  const mode = lastMode(order);
  const cfg: Config = {
    mode: mode === undefined || mode === 'curses' ? 'report' : mode,
    defaultedMode: mode === undefined || mode === 'curses',
    targets: [],
    cycles: 10,
    cyclesGiven: false,
    displayMode: 0,
    scale: undefined,
    interval: 1,
    gracetime: 5,
    timeout: 10,
    firstTtl: 1,
    maxTtl: 30,
    maxUnknown: 12,
    psize: 64,
    bitpattern: 0,
    tos: 0,
    mpls: has('mpls'),
    interfaceName: undefined,
    address: undefined,
    protocol: 'icmp',
    port: 0,
    localPort: 0,
    mark: undefined,
    af: undefined,
    dns: !has('no-dns'),
    showIps: has('show-ips'),
    order: DEFAULT_ORDER,
    ipinfo: undefined,
    window: 100,
    diagnose: has('diagnose') || has('confirm'),
    html: undefined,
    confirm: has('confirm'),
    flows: undefined,
    members: has('members'),
    help: has('help'),
    version: has('version'),
  };
  if (cfg.help || cfg.version) return cfg;

  if (has('report-cycles')) {
    cfg.cycles = toInt(last('report-cycles'), '-c');
    cfg.cyclesGiven = true;
  }
  if (has('psize')) cfg.psize = toInt(last('psize'), '-s');
  if (has('interface')) cfg.interfaceName = String(last('interface'));
  if (has('address')) cfg.address = String(last('address'));
  if (has('interval')) {
    cfg.interval = toFloat(last('interval'), '-i');
    if (cfg.interval <= 0) throw new UsageError('wait time must be positive');
    if (!env.isRoot && cfg.interval < 1) throw new UsageError('non-root users cannot request an interval < 1.0 seconds');
  }
  if (has('max-ttl')) cfg.maxTtl = Math.max(1, Math.min(255, toInt(last('max-ttl'), '-m')));
  if (has('first-ttl')) cfg.firstTtl = Math.max(1, Math.min(cfg.maxTtl, toInt(last('first-ttl'), '-f')));
  if (cfg.firstTtl > cfg.maxTtl) cfg.firstTtl = cfg.maxTtl;
  if (has('max-unknown')) cfg.maxUnknown = Math.max(1, toInt(last('max-unknown'), '-U'));
  if (has('order')) {
    const o = String(last('order'));
    // E and P (median, p95) are the live view's; the reports skip them
    const err = o.length > 20 ? checkOrder(o) : checkOrder(o.replace(/[EP]/g, ''));
    if (err !== undefined) throw new UsageError(err);
    cfg.order = o;
  }
  if (has('bitpattern')) {
    cfg.bitpattern = toInt(last('bitpattern'), '-B');
    if (cfg.bitpattern > 255) cfg.bitpattern = -1;
  }
  if (has('gracetime')) {
    cfg.gracetime = toFloat(last('gracetime'), '-G');
    if (cfg.gracetime <= 0) throw new UsageError('wait time must be positive');
  }
  if (has('tos')) {
    cfg.tos = toInt(last('tos'), '-Q');
    if (cfg.tos > 255 || cfg.tos < 0) cfg.tos = 0;
  }
  const protos = (['udp', 'tcp', 'sctp'] as const).filter((p) => has(p));
  if (protos.length > 1) throw new UsageError('-u , -T and -S are mutually exclusive');
  if (protos[0] !== undefined) cfg.protocol = protos[0];
  if (cfg.protocol === 'tcp' || cfg.protocol === 'sctp') cfg.port = 80;
  if (has('port')) {
    cfg.port = toInt(last('port'), '-P');
    if (cfg.port < 1 || cfg.port > 65535) throw new UsageError(`Illegal port number: ${cfg.port}`);
  }
  if (has('localport')) {
    cfg.localPort = toInt(last('localport'), '-L');
    if (cfg.localPort < 1024 || cfg.localPort > 65535) throw new UsageError(`Illegal port number: ${cfg.localPort}`);
  }
  if (has('timeout')) cfg.timeout = toInt(last('timeout'), '-Z');
  // -4 and -6 in command-line order: the later one wins (`-4 -6` is IPv6), as in mtr
  const family = lastOf(order, ['inet', 'inet6']);
  if (family !== undefined) cfg.af = family === 'inet6' ? 6 : 4;
  if (has('ipinfo')) {
    const n = toInt(last('ipinfo'), '-y');
    if (n < 0 || n > 4) throw new UsageError(`value ${n} out of range (0 - 4)`);
    cfg.ipinfo = n;
  }
  if (has('aslookup')) cfg.ipinfo = 0;
  if (has('window')) {
    cfg.window = toInt(last('window'), '--window');
    if (cfg.window < 1 || cfg.window > 100_000) throw new UsageError(`value ${cfg.window} out of range (1 - 100000)`);
  }
  if (has('html')) {
    cfg.html = String(last('html'));
    if (cfg.html === '') throw new UsageError('--html needs a file name');
  }
  if (has('flows')) {
    const n = toInt(last('flows'), '--flows');
    if (n < 1 || n > MAX_FLOWS) throw new UsageError(`value ${n} out of range (1 - ${MAX_FLOWS}) for --flows`);
    if (cfg.protocol === 'sctp') throw new UsageError('--flows works with ICMP, UDP (-u) and TCP (-T): not with SCTP');
    if (cfg.localPort !== 0 && cfg.localPort + n - 1 > 65535) throw new UsageError(`--flows ${n} from -L ${cfg.localPort} passes port 65535`);
    // a flow probe's payload starts with 2 compensating bytes (and, UDP, the packet program's 4-byte tag);
    // a TCP flow probe is a bare SYN whatever -s says, as mtr's TCP probes ignore it
    if (cfg.protocol !== 'tcp' && cfg.psize < MIN_FLOW_PSIZE) {
      throw new UsageError(`--flows needs -s ${MIN_FLOW_PSIZE} or more (room for the flow's checksum compensation)`);
    }
    cfg.flows = n;
    cfg.members = true;
  }
  if (has('mark')) {
    const m = toInt(last('mark'), '-M');
    if (m < 0 || m > 0xffffffff) throw new UsageError(`invalid argument: '${String(last('mark'))}' for -M`);
    cfg.mark = m;
  }
  if (has('displaymode')) {
    const d = toInt(last('displaymode'), '--displaymode');
    if (d < 0 || d > 3) throw new UsageError(`value out of range (0 - 3): ${d}`);
    cfg.displayMode = d;
  }
  if (has('scale')) {
    const text = String(last('scale'));
    const err = parseScale(text);
    if (typeof err === 'string') throw new UsageError(err);
    cfg.scale = text;
  }
  if (has('filename')) {
    const file = String(last('filename'));
    let text: string;
    try {
      text = env.readFile(file);
    } catch (e) {
      throw new UsageError(`open ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    for (const line of text.split('\n')) {
      const t = line.trim();
      if (t.length > 0) cfg.targets.push(t);
    }
  }
  for (const t of a['_'] as Array<string | number>) cfg.targets.push(String(t));
  if (cfg.targets.length === 0) cfg.targets.push('localhost');
  return cfg;
}
