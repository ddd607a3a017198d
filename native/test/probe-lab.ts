// Shared by the datagram-mode and TCP probe tests: root detection, child processes that load the
// built TS face (native/dist, made by the root vitest globalSetup's `tsc -b`), and a two-namespace
// lab (client -> router -> far network) whose router answers TTL 1 probes with Time Exceeded.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRoot, skipUnless } from '../../test/support/env.js';
import type { ReceivedPacket, TcpEnd } from '../src/index.js';
import { buildIcmpEcho, buildIPv4Packet } from '../src/wire/index.js';

/** A predicate for the end of TCP probe `id`. */
export const tcpEndOf =
  (id: number) =>
  (p: ReceivedPacket): p is TcpEnd =>
    p.source === 'tcp' && p.tcpId === id;

export const isTcpEnd = (p: ReceivedPacket): p is TcpEnd => p.source === 'tcp';

export { isRoot };
/** Skip (reason printed) without root; in CI a missing root fails: the rule of test/support/env.ts. */
export const skipRoot = skipUnless(isRoot, 'native root-only tests need root (raw sockets, namespaces)');
export const rootReason = skipRoot ? ' [SKIPPED: needs root (raw sockets, namespaces); in CI this fails]' : '';

export const distIndex = fileURLToPath(new URL('../dist/index.js', import.meta.url));

export const LO4 = new Uint8Array([127, 0, 0, 1]);
export const LO6 = new Uint8Array(16);
LO6[15] = 1;

/** An ICMP (type 8) or ICMPv6 (type 128) echo request header + data; checksum and id are the kernel's. */
export function echoRequest(family: 4 | 6, seq: number, dataLength = 24): Uint8Array {
  const m = new Uint8Array(8 + dataLength);
  m[0] = family === 4 ? 8 : 128;
  m[6] = seq >> 8;
  m[7] = seq & 0xff;
  for (let i = 8; i < m.length; i++) m[i] = i;
  return m;
}

export const u16 = (b: Uint8Array, at: number): number => (b[at]! << 8) | b[at + 1]!;

/**
 * Raw echo requests on loopback with identifier `id`, 64 bytes of ICMP: IPv4 with its IP header (LO4 to LO4),
 * IPv6 the ICMPv6 message (the kernel adds the header); and whether a raw packet is the reply to one.
 */
export function loopbackEchoes(id: number): {
  echo4(seq: number): Uint8Array;
  echo6(seq: number): Uint8Array;
  isReply(p: ReceivedPacket, family: 4 | 6, seq: number): boolean;
} {
  return {
    echo4: (seq) => {
      const icmp = buildIcmpEcho({ v6: false, id, seq, size: 64, bitPattern: 0 });
      return buildIPv4Packet({ src: LO4, dst: LO4, ttl: 64, protocol: 1, payload: icmp });
    },
    echo6: (seq) => buildIcmpEcho({ v6: true, id, seq, size: 64, bitPattern: 0 }),
    isReply: (p, family, seq) => {
      if (p.source !== 'raw' || p.family !== family) return false;
      const at = family === 4 ? (p.data[0]! & 0x0f) * 4 : 0;
      return p.data[at] === (family === 4 ? 0 : 129) && u16(p.data, at + 4) === id && u16(p.data, at + 6) === seq;
    },
  };
}

/** Collects batches and lets a test wait for a packet. */
export class Collector {
  readonly packets: ReceivedPacket[] = [];
  batches = 0;
  #waiters: Array<() => void> = [];
  readonly onBatch = (ps: ReceivedPacket[]): void => {
    this.batches++;
    this.packets.push(...ps);
    for (const w of this.#waiters.splice(0)) w();
  };
  waitFor<T extends ReceivedPacket>(pred: (p: ReceivedPacket) => p is T, timeoutMs?: number): Promise<T>;
  waitFor(pred: (p: ReceivedPacket) => boolean, timeoutMs?: number): Promise<ReceivedPacket>;
  async waitFor(pred: (p: ReceivedPacket) => boolean, timeoutMs = 3000): Promise<ReceivedPacket> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.packets.find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a packet');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
  waitCount<T extends ReceivedPacket>(pred: (p: ReceivedPacket) => p is T, n: number, timeoutMs?: number): Promise<T[]>;
  waitCount(pred: (p: ReceivedPacket) => boolean, n: number, timeoutMs?: number): Promise<ReceivedPacket[]>;
  async waitCount(pred: (p: ReceivedPacket) => boolean, n: number, timeoutMs = 10_000): Promise<ReceivedPacket[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hits = this.packets.filter(pred);
      if (hits.length >= n) return hits;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out: ${hits.length} of ${n} packets`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

// --- child processes ---

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

export function runChild(argv: string[], timeoutMs: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started, timedOut });
    });
  });
}

export function lastJson<T>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

/** A packet as plain JSON (addresses as byte arrays). */
export interface PacketJson {
  family: 4 | 6;
  from: number[];
  data: number[];
  rxNs: number;
  source: string;
  icmpType?: number;
  icmpCode?: number;
  errProto?: string;
  origDst?: number[];
  origDstPort?: number;
  origSrcPort?: number;
  tcpId?: number;
  tcpErrno?: number;
}

/** A scratch directory readable by every user (children may run as nobody). */
export class Scratch {
  readonly dir: string;
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'mtr-native-probe-'));
    chmodSync(this.dir, 0o755);
  }
  /** Writes an ESM child script with `Engine`, `out(v)` and `ser(packet)` in scope. */
  script(name: string, body: string): string {
    const file = join(this.dir, name);
    writeFileSync(
      file,
      `import * as native from ${JSON.stringify(distIndex)};
const { Engine } = native;
const out = (v) => process.stdout.write(JSON.stringify(v) + '\\n');
const ser = (p) => ({ ...p, from: [...p.from], data: [...p.data], origDst: p.origDst ? [...p.origDst] : undefined });
const errOf = (e) => ({ code: e.code, errno: e.errno, syscall: e.syscall });
${body}
`,
    );
    chmodSync(file, 0o644);
    return file;
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// --- ping_group_range of the current network namespace ---

const PING_RANGE = '/proc/sys/net/ipv4/ping_group_range';

/** Opens ping sockets to every gid; returns a function that restores the previous range. */
export function allowPingSockets(): () => void {
  const before = readFileSync(PING_RANGE, 'utf8').trim();
  writeFileSync(PING_RANGE, '0 2147483647\n');
  return () => writeFileSync(PING_RANGE, `${before.replace(/\s+/g, ' ')}\n`);
}

// --- the namespace lab ---

function sh(args: string[]): void {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr || r.stdout}`);
}

/**
 * client (10.200.1.2, fd00:200:1::2) -- router (10.200.1.1, fd00:200:1::1; forwarding; a far
 * network 10.200.2.0/24, fd00:200:2::/64 behind it). A TTL 1 probe from the client to TARGET
 * dies at the router, which answers Time Exceeded (ICMP rate limits off). The client namespace
 * allows ping sockets to every gid.
 */
export class RouterLab {
  static readonly TARGET4 = [10, 200, 2, 2];
  static readonly TARGET6 = [0xfd, 0, 0x02, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
  static readonly ROUTER4 = [10, 200, 1, 1];
  static readonly ROUTER6 = [0xfd, 0, 0x02, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
  readonly client: string;
  readonly router: string;
  #created: string[] = [];

  constructor() {
    const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
    this.client = `mtrts-pc-${tag}`;
    this.router = `mtrts-pr-${tag}`;
  }

  setup(): void {
    for (const ns of [this.client, this.router]) {
      sh(['ip', 'netns', 'add', ns]);
      this.#created.push(ns);
    }
    const c = this.client;
    const r = this.router;
    sh(['ip', '-n', c, 'link', 'add', 'vc', 'type', 'veth', 'peer', 'name', 'vr', 'netns', r]);
    sh(['ip', '-n', c, 'link', 'set', 'lo', 'up']);
    sh(['ip', '-n', r, 'link', 'set', 'lo', 'up']);
    sh(['ip', '-n', c, 'addr', 'add', '10.200.1.2/24', 'dev', 'vc']);
    sh(['ip', '-n', c, 'addr', 'add', 'fd00:200:1::2/64', 'dev', 'vc', 'nodad']);
    sh(['ip', '-n', c, 'link', 'set', 'vc', 'up']);
    sh(['ip', '-n', c, 'route', 'add', 'default', 'via', '10.200.1.1']);
    sh(['ip', '-n', c, '-6', 'route', 'add', 'default', 'via', 'fd00:200:1::1']);
    sh(['ip', '-n', r, 'addr', 'add', '10.200.1.1/24', 'dev', 'vr']);
    sh(['ip', '-n', r, 'addr', 'add', 'fd00:200:1::1/64', 'dev', 'vr', 'nodad']);
    sh(['ip', '-n', r, 'link', 'set', 'vr', 'up']);
    // The far network: a veth pair with both ends in the router (this kernel has no dummy driver).
    sh(['ip', '-n', r, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']);
    sh(['ip', '-n', r, 'link', 'set', 'd1', 'up']);
    sh(['ip', '-n', r, 'addr', 'add', '10.200.2.1/24', 'dev', 'd0']);
    sh(['ip', '-n', r, 'addr', 'add', 'fd00:200:2::1/64', 'dev', 'd0', 'nodad']);
    sh(['ip', '-n', r, 'link', 'set', 'd0', 'up']);
    sh([
      'ip', 'netns', 'exec', r, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1',
      'net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0',
    ]);
    sh(['ip', 'netns', 'exec', c, 'sysctl', '-q', '-w', 'net.ipv4.ping_group_range=0 2147483647']);
  }

  /** Runs a node script in the client namespace. */
  run(script: string, args: string[], timeoutMs = 15_000): Promise<ChildResult> {
    return runChild(['ip', 'netns', 'exec', this.client, process.execPath, script, ...args], timeoutMs);
  }

  teardown(): void {
    for (const ns of this.#created.splice(0)) spawnSync('ip', ['netns', 'delete', ns]);
  }
}

/** A TCP listener on an ephemeral port of `host` (connections accepted and left to the peer). */
export function listen(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((sock) => sock.on('error', () => {}));
    s.on('error', reject);
    s.listen(0, host, () => resolve(s));
  });
}

/** The port a listener got. */
export function portOf(s: Server): number {
  const a = s.address();
  if (a === null || typeof a === 'string') throw new Error('no port');
  return a.port;
}
