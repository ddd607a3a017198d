/**
 * Network-namespace lab: a five-node IPv4+IPv6 path
 *
 *     client ──l1── r1 ──l2── r2 ──l3── r3 ──l4── dest
 *
 * built from fresh network namespaces, for integration tests, conformance tests and the benchmark.
 * Every link runs through `wire` (wire.c), our own user-space forwarder, because this kernel has no netem:
 * it adds a per-link delay and loss. Nothing is routed in, or sent to, the root namespace.
 *
 * Addressing (identical in every lab: the namespaces are private):
 *   link k (1..4) joins node k-1 (left, client side) and node k (right, dest side):
 *     IPv4 10.0.k.0/24, left .1, right .2          IPv6 fd00:0:0:k::/64, left ::1, right ::2
 *   Interface names: `lk` on both nodes; `lka` / `lkb` in the wire namespace.
 *   A node's "hop address" is its address on the client side, which is also the source of its Time Exceeded
 *   (Linux picks the source from the route back to the client, i.e. the interface the probe came in on):
 *     r1 10.0.1.2 / fd00:0:0:1::2, r2 10.0.2.2, r3 10.0.3.2, dest 10.0.4.2 (and the IPv6 analogues).
 *   Routes: client default -> r1 -> r2 -> r3; r3 has routes only for the lab subnets (no default), so any other
 *   IPv6 address (see `unroutable6`) gets ICMPv6 no-route from r3. For IPv4, r3 routes 10.0.200.0/24 towards
 *   dest and an nft rule rejects it with ICMP net unreachable (the kernel's own route-miss answer is rate limited
 *   by a global sysctl we may not touch). dest default -> r3.
 *   Neighbour entries are static (fixed MACs), so the first probe is not delayed by ARP/NDP.
 *
 * Every node: ICMP rate limits off (v4 ratelimit/ratemask 0, v6 ratelimit 0), DAD off, rp_filter off,
 * redirects off. Routers forward. `net.ipv4.ping_group_range` is open on every node (unprivileged ICMP sockets).
 */
import { spawn, spawnSync, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODES = ['client', 'r1', 'r2', 'r3', 'dest'] as const;
export type NodeName = (typeof NODES)[number];
export type RouterName = 'r1' | 'r2' | 'r3';
/** Namespaces of a lab: the five nodes plus `wire`, where the forwarders and the link-side veth ends live. */
export type NsName = NodeName | 'wire';
export type LinkIndex = 1 | 2 | 3 | 4;
export type Quad = [number, number, number, number];

export const NS_PREFIX = 'mtrts-';

export interface LabOptions {
  /**
   * One-way delay in ms of each link [client–r1, r1–r2, r2–r3, r3–dest], applied in BOTH directions, so a
   * link adds twice its value to a round trip. Fractions allowed (µs resolution). Default 0.
   */
  delaysMs?: Quad;
  /** Loss in percent (0..100) per link for frames travelling towards dest (i.e. probes). Default 0. */
  lossPct?: Quad;
  /** Loss in percent per link for frames travelling towards the client (i.e. replies). Default 0. */
  lossBackPct?: Quad;
  /** This router never sends ICMP Time Exceeded / ICMPv6 Time Exceeded (nft drop in its output hook). */
  silentRouter?: 1 | 2 | 3;
  /** Seed of the forwarders' loss generators, for reproducible loss patterns. Default: random. */
  seed?: number;
  /** Run forwarders SCHED_FIFO (best effort) for lower jitter under load. Default true. */
  realtime?: boolean;
  /** Delete namespaces of crashed earlier runs before creating this lab. Default true. */
  sweep?: boolean;
}

export interface LinkSettings {
  /** One-way delay in ms, both directions. */
  delayMs?: number;
  /** Loss % towards dest. */
  lossPct?: number;
  /** Loss % towards the client. */
  lossBackPct?: number;
}

export interface DirStats {
  /** Frames read. */
  rx: number;
  /** Frames written. */
  tx: number;
  /** Frames dropped on purpose (configured loss). */
  lost: number;
  /** Frames dropped by accident (queue full, send error): should stay 0. */
  dropped: number;
  /** Worst lateness of a departure against its due time, in µs (forwarder scheduling accuracy). */
  lateMaxUs: number;
  /** Mean lateness in µs over the frames sent. */
  lateMeanUs: number;
  /** Worst time a frame waited in the kernel before the forwarder read it, in µs (absorbed by the delay). */
  rxAgeMaxUs: number;
}

export interface LinkStats {
  /** Towards dest. */
  forward: DirStats;
  /** Towards the client. */
  back: DirStats;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Written to stdin, which is then closed. Without it stdin is closed at once. */
  input?: string;
  /** Kill (SIGKILL) after this many ms; default 30 000. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface LinkInfo {
  index: LinkIndex;
  left: NodeName;
  right: NodeName;
  /** Interface name on both nodes. */
  ifname: string;
  left4: string;
  right4: string;
  left6: string;
  right6: string;
  prefix4: string;
  prefix6: string;
}

export interface Lab {
  /** Unique per lab: `mtrts-<pid>-<random>-`. */
  readonly prefix: string;
  /** Actual namespace names, for `ip netns exec` / `ip -n`. */
  readonly names: Readonly<Record<NsName, string>>;
  /** Each node's client-facing IPv4 address (the client's own address for `client`). */
  readonly addr4: Readonly<Record<NodeName, string>>;
  readonly addr6: Readonly<Record<NodeName, string>>;
  /** Expected responders for TTL 1..4: [r1, r2, r3, dest]. */
  readonly hops4: readonly [string, string, string, string];
  readonly hops6: readonly [string, string, string, string];
  /**
   * An address no router has a route for: r3 answers Destination Unreachable (net) / ICMPv6 no route, without
   * rate limit (IPv4: by an nft reject on 10.0.200.0/24 at r3, since the kernel's own route-miss answer is
   * limited by a global sysctl to 1/s after 5).
   */
  readonly unroutable4: string;
  readonly unroutable6: string;
  readonly links: readonly LinkInfo[];
  /** Nominal round-trip time in ms to hop 1..4 from the current delays (excluding processing, ~0.1 ms). */
  expectedRttMs(): Quad;
  /** Run a command in a namespace and collect its output; never throws on a non-zero exit. */
  exec(ns: NsName, cmd: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Spawn a long-running process in a namespace; killed at teardown if still running. */
  spawnIn(ns: NsName, cmd: string, args?: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Load an nft script (`nft -f -`) in a namespace; throws with nft's message on error. */
  nft(ns: NsName, rules: string): Promise<void>;
  /** Make a router drop (or stop dropping) its outgoing ICMP/ICMPv6 Time Exceeded. */
  setSilent(router: RouterName | 1 | 2 | 3, silent: boolean): Promise<void>;
  /**
   * Make a router answer matching forwarded packets with a Destination Unreachable, e.g.
   * `rejectForward('r2', 'ip daddr 10.0.4.2 meta l4proto udp', 'icmp type host-unreachable')` or
   * `rejectForward('r2', 'ip6 daddr fd00:0:0:4::2', 'icmpv6 type admin-prohibited')`;
   * `icmpx type port-unreachable` covers both families. Rules accumulate in table `inet mtrts_reject`.
   */
  rejectForward(router: RouterName | 1 | 2 | 3, match: string, rejectWith: string): Promise<void>;
  /** Remove every rejectForward rule of a router. */
  clearRejects(router: RouterName | 1 | 2 | 3): Promise<void>;
  /** Change a link's impairment at run time (frames already queued keep their departure time; order kept). */
  setLink(link: LinkIndex, settings: LinkSettings): Promise<void>;
  /**
   * Frame counters of a link's forwarder. With `reset`, the two maxima (lateness, receive age) start afresh
   * after this reading, so a later reading covers only what happened in between.
   */
  linkStats(link: LinkIndex, opts?: { reset?: boolean }): Promise<LinkStats>;
  /**
   * How late the forwarders can have made one round trip to the far end since their last reset: the sum over
   * the four links of the worst departure lateness in each direction, in ms. A wire RTT above the configured
   * delays by more than this (plus the kernel's own time) is a lab fault; below it, a busy host.
   */
  pathLatenessMs(opts?: { reset?: boolean }): Promise<number>;
  /** Kill everything running in the lab and delete its namespaces. Idempotent. */
  teardown(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------
// Environment checks

let cachedCanRun: { ok: true } | { ok: false; reason: string } | undefined;

/** Whether this process can build a lab: Linux, root, `ip` with netns support, `cc`, `nft`. */
export function canRunLab(): { ok: true } | { ok: false; reason: string } {
  if (cachedCanRun) return cachedCanRun;
  const check = (): { ok: true } | { ok: false; reason: string } => {
    if (process.platform !== 'linux') return { ok: false, reason: `needs Linux (platform is ${process.platform})` };
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
      return { ok: false, reason: 'needs root (network namespaces, raw sockets)' };
    }
    const ip = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    if (ip.error || ip.status !== 0) return { ok: false, reason: `\`ip netns\` unusable: ${ip.error?.message ?? ip.stderr}` };
    const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' });
    if (cc.error || cc.status !== 0) return { ok: false, reason: 'no C compiler `cc` (needed for the wire forwarder)' };
    const nft = spawnSync('nft', ['--version'], { encoding: 'utf8' });
    if (nft.error || nft.status !== 0) return { ok: false, reason: 'no `nft` (nftables)' };
    return { ok: true };
  };
  cachedCanRun = check();
  return cachedCanRun;
}

// ---------------------------------------------------------------------------------------------------------
// Forwarder build

const HERE = dirname(fileURLToPath(import.meta.url));
const WIRE_SRC = join(HERE, 'wire.c');
const BUILD_DIR = join(HERE, '.build');

let wireBinary: Promise<string> | undefined;

/** Compile wire.c once per source version into test/lab/.build (atomic rename: parallel workers are fine). */
export function buildWire(): Promise<string> {
  wireBinary ??= (async () => {
    const src = readFileSync(WIRE_SRC);
    const hash = createHash('sha256').update(src).digest('hex').slice(0, 12);
    const bin = join(BUILD_DIR, `wire-${hash}`);
    if (existsSync(bin)) return bin;
    mkdirSync(BUILD_DIR, { recursive: true });
    const tmp = `${bin}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`;
    const r = await run('cc', ['-O2', '-Wall', '-o', tmp, WIRE_SRC]);
    if (r.code !== 0) {
      rmSync(tmp, { force: true });
      throw new Error(`compiling wire.c failed:\n${r.stderr}`);
    }
    renameSync(tmp, bin);
    return bin;
  })();
  wireBinary.catch(() => {
    wireBinary = undefined;
  });
  return wireBinary;
}

// ---------------------------------------------------------------------------------------------------------
// Process helpers

/** Run a command and collect its output; never rejects on a non-zero exit (only if it cannot start). */
export function run(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env, cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // EPIPE if the command exits without reading
    child.stdin.end(opts.input ?? '');
  });
}

async function must(cmd: string, args: readonly string[], opts?: ExecOptions): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const input = opts?.input ? `\ninput:\n${opts.input}` : '';
    throw new Error(`\`${cmd} ${args.join(' ')}\` failed (${r.code ?? r.signal}): ${r.stderr.trim()}${input}`);
  }
  return r.stdout;
}

// ---------------------------------------------------------------------------------------------------------
// Registry and safety net: whatever happens, labs of this process are torn down when it exits.

const liveLabs = new Set<LabImpl>();
let safetyNetInstalled = false;

function installSafetyNet(): void {
  if (safetyNetInstalled) return;
  safetyNetInstalled = true;
  process.on('exit', () => {
    for (const lab of liveLabs) lab.teardownSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      for (const lab of liveLabs) lab.teardownSync();
      process.removeListener(sig, handler);
      // If nobody else handles the signal, die of it as we would have without us.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

function listNetns(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kill every process inside the namespaces, then delete them (synchronous; best effort). */
export function destroyNamespacesSync(names: readonly string[]): void {
  const present = new Set(listNetns());
  const mine = names.filter((n) => present.has(n));
  for (const ns of mine) {
    const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
    for (const p of (r.stdout ?? '').split(/\s+/)) {
      const pid = Number(p);
      if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  }
  if (mine.length === 0) return;
  try {
    execFileSync('ip', ['-force', '-batch', '-'], {
      input: mine.map((n) => `netns del ${n}\n`).join(''),
      stdio: ['pipe', 'ignore', 'ignore'],
    });
  } catch {
    /* reported by the caller's leftover check */
  }
}

/**
 * Delete lab namespaces (`mtrts-<pid>-...`) whose creating process is dead: leftovers of crashed runs.
 * Returns the names deleted. (A recycled pid keeps a stale lab alive until that process ends too.)
 */
export function sweepStaleLabs(): string[] {
  const stale = listNetns().filter((n) => {
    const m = /^mtrts-(\d+)-[0-9a-z]+-/.exec(n);
    return m !== null && !pidAlive(Number(m[1]));
  });
  destroyNamespacesSync(stale);
  return stale;
}

/** Names of all lab namespaces currently present (any run). */
export function listLabNamespaces(): string[] {
  return listNetns().filter((n) => n.startsWith(NS_PREFIX));
}

// ---------------------------------------------------------------------------------------------------------
// Lab

const LINKS: readonly LinkInfo[] = ([1, 2, 3, 4] as const).map((k) => ({
  index: k,
  left: NODES[k - 1]!,
  right: NODES[k]!,
  ifname: `l${k}`,
  left4: `10.0.${k}.1`,
  right4: `10.0.${k}.2`,
  left6: `fd00:0:0:${k}::1`,
  right6: `fd00:0:0:${k}::2`,
  prefix4: `10.0.${k}.0/24`,
  prefix6: `fd00:0:0:${k}::/64`,
}));

const UNROUTABLE4_NET = '10.0.200.0/24';

const mac = (k: number, side: 1 | 2): string => `02:6d:74:00:0${k}:0${side}`;

const ADDR4: Record<NodeName, string> = {
  client: '10.0.1.1',
  r1: '10.0.1.2',
  r2: '10.0.2.2',
  r3: '10.0.3.2',
  dest: '10.0.4.2',
};
const ADDR6: Record<NodeName, string> = {
  client: 'fd00:0:0:1::1',
  r1: 'fd00:0:0:1::2',
  r2: 'fd00:0:0:2::2',
  r3: 'fd00:0:0:3::2',
  dest: 'fd00:0:0:4::2',
};

const REQUIRED_SYSCTLS = [
  'net.ipv6.conf.all.accept_dad=0',
  'net.ipv6.conf.default.accept_dad=0',
  'net.ipv6.conf.all.accept_ra=0',
  'net.ipv6.conf.default.accept_ra=0',
  'net.ipv6.conf.all.disable_ipv6=0',
  'net.ipv6.conf.default.disable_ipv6=0',
  'net.ipv4.icmp_ratelimit=0',
  'net.ipv4.icmp_ratemask=0',
  'net.ipv6.icmp.ratelimit=0',
  'net.ipv4.conf.all.rp_filter=0',
  'net.ipv4.conf.default.rp_filter=0',
  'net.ipv4.conf.all.send_redirects=0',
  'net.ipv4.conf.default.send_redirects=0',
  'net.ipv6.conf.all.router_solicitations=0',
  'net.ipv6.conf.default.router_solicitations=0',
  'net.ipv4.ping_group_range=0 2147483647',
];
const ROUTER_SYSCTLS = ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'];
/** Not per-namespace, or not present, on every kernel: tried, failures ignored. */
const OPTIONAL_SYSCTLS = [
  'net.ipv4.icmp_msgs_per_sec=1000000',
  'net.ipv4.icmp_msgs_burst=1000000',
  'net.ipv6.icmp.ratemask=',
  'net.ipv4.route.error_cost=0',
  'net.ipv4.route.error_burst=1000000',
];

function routerName(r: RouterName | 1 | 2 | 3): RouterName {
  return typeof r === 'number' ? (`r${r}` as RouterName) : r;
}

class Forwarder {
  private buffer = '';
  private waiters: Array<(line: string) => void> = [];
  private lines: string[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  readonly exited: Promise<void>;
  stderr = '';

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.buffer += d;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        const w = this.waiters.shift();
        if (w) w(line);
        else this.lines.push(line);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    child.stdin!.on('error', () => {});
    this.exited = new Promise((resolve) => child.on('close', () => resolve()));
    void this.exited.then(() => {
      for (const w of this.waiters.splice(0)) w('error forwarder exited');
    });
  }

  /** Next line on stdout, or an error if the forwarder dies first or stays silent too long. */
  nextLine(timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const queued = this.lines.shift();
      if (queued !== undefined) {
        if (queued.startsWith('error')) reject(new Error(`wire forwarder: ${queued}`));
        else resolve(queued);
        return;
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        reject(new Error(`wire forwarder exited: ${this.stderr.trim()}`));
        return;
      }
      const timer = setTimeout(() => reject(new Error('wire forwarder did not answer')), timeoutMs);
      this.waiters.push((line) => {
        clearTimeout(timer);
        if (line.startsWith('error')) reject(new Error(`wire forwarder: ${line} ${this.stderr.trim()}`));
        else resolve(line);
      });
    });
  }

  /** One command, one answer line; commands are serialised. */
  command(cmd: string): Promise<string> {
    const p = this.chain.then(() => {
      const answer = this.nextLine();
      this.child.stdin!.write(`${cmd}\n`);
      return answer;
    });
    this.chain = p.catch(() => {});
    return p;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin!.end();
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 1000);
    await this.exited;
    clearTimeout(killer);
  }
}

class LabImpl implements Lab {
  readonly prefix: string;
  readonly names: Record<NsName, string>;
  readonly addr4 = ADDR4;
  readonly addr6 = ADDR6;
  readonly hops4 = [ADDR4.r1, ADDR4.r2, ADDR4.r3, ADDR4.dest] as const;
  readonly hops6 = [ADDR6.r1, ADDR6.r2, ADDR6.r3, ADDR6.dest] as const;
  readonly unroutable4 = '10.0.200.1';  // inside UNROUTABLE4_NET
  readonly unroutable6 = 'fd00:0:0:200::1';
  readonly links = LINKS;

  private readonly delays: Quad;
  private readonly loss: Quad;
  private readonly lossBack: Quad;
  private readonly forwarders: Forwarder[] = [];
  private readonly children = new Set<ChildProcess>();
  private torndown = false;
  private teardownPromise: Promise<void> | undefined;

  constructor(private readonly opts: LabOptions) {
    this.prefix = `${NS_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}-`;
    this.names = {
      client: `${this.prefix}client`,
      r1: `${this.prefix}r1`,
      r2: `${this.prefix}r2`,
      r3: `${this.prefix}r3`,
      dest: `${this.prefix}dest`,
      wire: `${this.prefix}wire`,
    };
    this.delays = [...(opts.delaysMs ?? [0, 0, 0, 0])];
    this.loss = [...(opts.lossPct ?? [0, 0, 0, 0])];
    this.lossBack = [...(opts.lossBackPct ?? [0, 0, 0, 0])];
    for (const v of [...this.delays, ...this.loss, ...this.lossBack]) {
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`lab: bad delay/loss value ${v}`);
    }
    for (const v of [...this.loss, ...this.lossBack]) if (v > 100) throw new RangeError(`lab: loss ${v}% > 100`);
  }

  expectedRttMs(): Quad {
    let acc = 0;
    return this.delays.map((d) => (acc += 2 * d)) as Quad;
  }

  private allNames(): string[] {
    return Object.values(this.names);
  }

  async setup(): Promise<void> {
    const wireBin = await buildWire();
    const n = this.names;
    await must('ip', ['-batch', '-'], { input: this.allNames().map((x) => `netns add ${x}\n`).join('') });

    // sysctls first, so interfaces created afterwards inherit the `default` values (no DAD, no RS...).
    await Promise.all([
      ...NODES.map(async (node) => {
        const req = [...REQUIRED_SYSCTLS, ...(node.startsWith('r') ? ROUTER_SYSCTLS : [])];
        await must('ip', ['netns', 'exec', n[node], 'sysctl', '-q', '-w', ...req]);
        await run('ip', ['netns', 'exec', n[node], 'sysctl', '-q', '-w', ...OPTIONAL_SYSCTLS]);
      }),
      must('ip', [
        'netns', 'exec', n.wire, 'sysctl', '-q', '-w',
        'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1',
      ]),
    ]);

    // veth pairs, created from the wire namespace straight into their node namespaces.
    const wireCmds: string[] = ['link set lo up'];
    for (const l of LINKS) {
      const k = l.index;
      wireCmds.push(
        `link add l${k}a type veth peer name ${l.ifname} address ${mac(k, 1)} netns ${n[l.left]}`,
        `link add l${k}b type veth peer name ${l.ifname} address ${mac(k, 2)} netns ${n[l.right]}`,
      );
    }
    for (const l of LINKS) {
      wireCmds.push(`link set l${l.index}a arp off up`, `link set l${l.index}b arp off up`);
    }
    await must('ip', ['-n', n.wire, '-batch', '-'], { input: wireCmds.map((c) => `${c}\n`).join('') });

    // Addresses, static neighbours, routes.
    await Promise.all(
      NODES.map((node) => must('ip', ['-n', n[node], '-batch', '-'], { input: this.nodeConfig(node) })),
    );

    // IPv4 route misses are answered by the kernel's ip_error(), which is rate limited by the global (not
    // per-namespace) net.ipv4.route.error_cost: 1/s after a burst of 5. So r3 rejects the unroutable range
    // itself, with the same ICMP net unreachable, unlimited: nft's reject goes through icmp_send(), whose limits
    // are off. (The forward hook only sees routed packets, hence r3's route for the range towards dest.)
    // IPv6 route misses use the normal ICMPv6 path, which is not limited.
    await this.nft(
      'r3',
      `table ip mtrts_base {\n` +
        `  chain filter_forward {\n` +
        `    type filter hook forward priority 0; policy accept;\n` +
        `    ip daddr ${UNROUTABLE4_NET} reject with icmp type net-unreachable\n` +
        `  }\n` +
        `}\n`,
    );

    if (this.opts.silentRouter !== undefined) await this.setSilent(this.opts.silentRouter, true);

    // Forwarders: A side = left (client side), so "ab" is towards dest.
    const seedBase = this.opts.seed ?? randomBytes(4).readUInt32LE(0);
    for (const l of LINKS) {
      const i = l.index - 1;
      const args = [
        'netns', 'exec', n.wire, wireBin, `l${l.index}a`, `l${l.index}b`,
        '--delay-ab', String(this.delays[i]! * 1000),
        '--delay-ba', String(this.delays[i]! * 1000),
        '--loss-ab', String(this.loss[i]!),
        '--loss-ba', String(this.lossBack[i]!),
        '--seed', String(seedBase + l.index),
      ];
      if (this.opts.realtime !== false) args.push('--rt');
      const fw = new Forwarder(spawn('ip', args, { stdio: ['pipe', 'pipe', 'pipe'] }));
      this.forwarders.push(fw);
    }
    for (const fw of this.forwarders) {
      const line = await fw.nextLine(10_000);
      if (line !== 'ready') throw new Error(`wire forwarder: unexpected "${line}" ${fw.stderr}`);
    }
    await this.waitUp();
  }

  private nodeConfig(node: NodeName): string {
    const c: string[] = ['link set lo up'];
    for (const l of LINKS) {
      const side = l.left === node ? 'left' : l.right === node ? 'right' : undefined;
      if (!side) continue;
      const [me4, me6, peer4, peer6, peerMac] =
        side === 'left'
          ? [l.left4, l.left6, l.right4, l.right6, mac(l.index, 2)]
          : [l.right4, l.right6, l.left4, l.left6, mac(l.index, 1)];
      c.push(
        `addr add ${me4}/24 dev ${l.ifname}`,
        `addr add ${me6}/64 dev ${l.ifname} nodad`,
        `link set ${l.ifname} up`,
        `neigh replace ${peer4} lladdr ${peerMac} dev ${l.ifname} nud permanent`,
        `neigh replace ${peer6} lladdr ${peerMac} dev ${l.ifname} nud permanent`,
      );
    }
    const L = (k: number): LinkInfo => LINKS[k - 1]!;
    switch (node) {
      case 'client':
        c.push(`route add default via ${L(1).right4}`, `route add default via ${L(1).right6}`);
        break;
      case 'r1':
        c.push(`route add default via ${L(2).right4}`, `route add default via ${L(2).right6}`);
        break;
      case 'r2':
        c.push(
          `route add default via ${L(3).right4}`,
          `route add default via ${L(3).right6}`,
          `route add ${L(1).prefix4} via ${L(2).left4}`,
          `route add ${L(1).prefix6} via ${L(2).left6}`,
        );
        break;
      case 'r3':
        c.push(`route add ${UNROUTABLE4_NET} via ${L(4).right4}`); // rejected by nft before it leaves (see setup)
        for (const k of [1, 2]) {
          c.push(`route add ${L(k).prefix4} via ${L(3).left4}`, `route add ${L(k).prefix6} via ${L(3).left6}`);
        }
        break;
      case 'dest':
        c.push(`route add default via ${L(4).left4}`, `route add default via ${L(4).left6}`);
        break;
    }
    return c.map((x) => `${x}\n`).join('');
  }

  /** Until every lab interface is up and no IPv6 address is tentative. */
  private async waitUp(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      let ready = true;
      for (const ns of [...NODES, 'wire'] as const) {
        const links = JSON.parse(await must('ip', ['-j', '-n', this.names[ns], 'link', 'show'])) as Array<{
          ifname: string;
          operstate: string;
        }>;
        const addrs = JSON.parse(await must('ip', ['-j', '-n', this.names[ns], 'addr', 'show'])) as Array<{
          addr_info?: Array<{ tentative?: boolean }>;
        }>;
        if (links.some((l) => /^l\d/.test(l.ifname) && l.operstate !== 'UP')) ready = false;
        if (addrs.some((x) => x.addr_info?.some((i) => i.tentative))) ready = false;
      }
      if (ready) return;
      if (Date.now() > deadline) throw new Error('lab: interfaces did not come up within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  exec(ns: NsName, cmd: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (cmd.length === 0) return Promise.reject(new Error('lab.exec: empty command'));
    return run('ip', ['netns', 'exec', this.names[ns], ...cmd], opts);
  }

  spawnIn(ns: NsName, cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): ChildProcess {
    if (this.torndown) throw new Error('lab: spawnIn after teardown');
    const child = spawn('ip', ['netns', 'exec', this.names[ns], cmd, ...args], opts);
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    child.on('error', () => this.children.delete(child));
    return child;
  }

  async nft(ns: NsName, rules: string): Promise<void> {
    await must('ip', ['netns', 'exec', this.names[ns], 'nft', '-f', '-'], { input: rules });
  }

  async setSilent(router: RouterName | 1 | 2 | 3, silent: boolean): Promise<void> {
    const r = routerName(router);
    const table = 'table inet mtrts_silent';
    // "add table" + "delete table" is idempotent whatever the previous state.
    let script = `add ${table}\ndelete ${table}\n`;
    if (silent) {
      script +=
        `${table} {\n` +
        `  chain out {\n` +
        `    type filter hook output priority 0; policy accept;\n` +
        `    icmp type time-exceeded drop\n` +
        `    icmpv6 type time-exceeded drop\n` +
        `  }\n` +
        `}\n`;
    }
    await this.nft(r, script);
  }

  async rejectForward(router: RouterName | 1 | 2 | 3, match: string, rejectWith: string): Promise<void> {
    const r = routerName(router);
    await this.nft(
      r,
      `table inet mtrts_reject {\n` +
        `  chain filter_forward { type filter hook forward priority 0; policy accept; }\n` +
        `}\n` +
        `add rule inet mtrts_reject filter_forward ${match} reject with ${rejectWith}\n`,
    );
  }

  async clearRejects(router: RouterName | 1 | 2 | 3): Promise<void> {
    await this.nft(routerName(router), `add table inet mtrts_reject\ndelete table inet mtrts_reject\n`);
  }

  async setLink(link: LinkIndex, s: LinkSettings): Promise<void> {
    const i = link - 1;
    const fw = this.forwarders[i];
    if (!fw) throw new Error(`lab: no link ${link}`);
    const delay = s.delayMs ?? this.delays[i]!;
    const loss = s.lossPct ?? this.loss[i]!;
    const lossBack = s.lossBackPct ?? this.lossBack[i]!;
    for (const v of [delay, loss, lossBack]) if (!Number.isFinite(v) || v < 0) throw new RangeError(`lab: bad value ${v}`);
    if (loss > 100 || lossBack > 100) throw new RangeError('lab: loss > 100%');
    await fw.command(`set ab ${delay * 1000} ${loss}`);
    await fw.command(`set ba ${delay * 1000} ${lossBack}`);
    this.delays[i] = delay;
    this.loss[i] = loss;
    this.lossBack[i] = lossBack;
  }

  async pathLatenessMs(opts: { reset?: boolean } = {}): Promise<number> {
    const all = await Promise.all(([1, 2, 3, 4] as const).map((k) => this.linkStats(k, opts)));
    return all.reduce((sum, s) => sum + s.forward.lateMaxUs + s.back.lateMaxUs, 0) / 1000;
  }

  async linkStats(link: LinkIndex, opts: { reset?: boolean } = {}): Promise<LinkStats> {
    const fw = this.forwarders[link - 1];
    if (!fw) throw new Error(`lab: no link ${link}`);
    const line = await fw.command(opts.reset === true ? 'stats reset' : 'stats');
    const v = line.split(' ').slice(1).map(Number);
    const dir = (o: number): DirStats => ({
      rx: v[o]!,
      tx: v[o + 1]!,
      lost: v[o + 2]!,
      dropped: v[o + 3]!,
      lateMaxUs: v[o + 4]! / 1000,
      lateMeanUs: v[o + 1]! > 0 ? v[o + 5]! / 1000 / v[o + 1]! : 0,
      rxAgeMaxUs: v[o + 6]! / 1000,
    });
    return { forward: dir(0), back: dir(7) };
  }

  teardown(): Promise<void> {
    this.teardownPromise ??= (async () => {
      this.torndown = true;
      for (const c of this.children) c.kill('SIGKILL');
      await Promise.all(this.forwarders.map((f) => f.stop()));
      destroyNamespacesSync(this.allNames());
      liveLabs.delete(this);
      const left = listNetns().filter((x) => x.startsWith(this.prefix));
      if (left.length > 0) throw new Error(`lab teardown left namespaces behind: ${left.join(' ')}`);
    })();
    return this.teardownPromise;
  }

  /** For the exit/signal safety net: no awaiting possible there. */
  teardownSync(): void {
    this.torndown = true;
    for (const c of this.children) c.kill('SIGKILL');
    for (const f of this.forwarders) f.child.kill('SIGKILL');
    destroyNamespacesSync(this.allNames());
    liveLabs.delete(this);
  }
}

/**
 * Build a lab. On any setup failure everything created so far is removed before the error is rethrown.
 * The lab is also torn down if the process exits or gets SIGINT/SIGTERM/SIGHUP without calling teardown().
 */
export async function createLab(opts: LabOptions = {}): Promise<Lab> {
  const can = canRunLab();
  if (!can.ok) throw new Error(`lab cannot run: ${can.reason}`);
  if (opts.sweep !== false) sweepStaleLabs();
  const lab = new LabImpl(opts);
  installSafetyNet();
  liveLabs.add(lab); // before the first namespace exists, so the safety net covers partial setups
  try {
    await lab.setup();
  } catch (e) {
    await lab.teardown().catch(() => {});
    throw e;
  }
  return lab;
}
