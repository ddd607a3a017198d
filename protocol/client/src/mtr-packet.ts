// MtrPacket: runs one packet program (mtr-packet-ts, mtr-packet, or anything that speaks their
// line protocol), writes its requests and settles each with the reply for its token.
//
// - Tokens: check-support questions use 1..32999 and probes 33000..65535 (as mtr does), both
//   wrapping, never handing out a token that is still reserved.
// - A token is reserved before its line is written. A reply takes it back. A caller that gives up
//   (AbortSignal, or a check-support timeout) is answered at once, but the token stays reserved
//   until its late reply arrives (then swallowed) or until the probe's own timeout has passed, so
//   a late reply can never be taken for the answer to a newer request.
// - Lines from the program are framed by @mtr-ts/protocol's LineFramer with a bound: a line longer
//   than `maxLineBytes` stops the program (LineTooLong) instead of growing memory.
// - When the program dies every waiting request rejects once, with the same error, and `exited`
//   resolves with it. close(): end stdin, wait, SIGTERM, wait, SIGKILL.

import { spawn, type ChildProcess } from 'node:child_process';
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  defaultSendProbe,
  formatCommand,
  formatSendProbe,
  LineFramer,
  parseReply,
  type Reply,
} from '@mtr-ts/protocol';
import { defaultPacketCommand } from './command.js';
import {
  InvalidArgument,
  LineTooLong,
  NameResolutionFailed,
  PacketProcessError,
  PacketProcessExited,
  ProbeRefused,
  RequestTimeout,
  StartupTimeout,
} from './errors.js';
import type { IpVersion, ProbeOutcome, ProbeProtocol } from './outcome.js';
import { outcomeOf } from './reply.js';

export const FIRST_PROBE_TOKEN = 33000;
export const TOKEN_LIMIT = 65536;
/** mtr reads replies into a 4 KB buffer; a longer line is not something any mtr-packet writes */
export const DEFAULT_MAX_LINE_BYTES = 4096;
export const DEFAULT_STARTUP_TIMEOUT_MS = 10_000;
export const DEFAULT_CLOSE_WAIT_MS = 1_000;
export const DEFAULT_KILL_GRACE_MS = 1_000;
export const DEFAULT_RESOLVE_CACHE_MS = 60_000;
/** how long past a probe's own timeout an abandoned token stays reserved */
const LATE_REPLY_MARGIN_MS = 2_000;
/** how long the token of an unanswered check-support stays reserved */
const CHECK_FORGET_MS = 60_000;

export interface OpenOptions {
  /** the program to run; default: see defaultPacketCommand() */
  command?: string;
  args?: readonly string[];
  /** the program's environment (default process.env); MTR_PACKET is also read from here */
  env?: NodeJS.ProcessEnv;
  /** false: ignore MTR_PACKET when choosing the default command (for privileged callers) */
  allowEnvironment?: boolean;
  /** how long to wait for the answer to the start-up `check-support feature send-probe` */
  startupTimeoutMs?: number;
  /** the longest line accepted from the program; longer stops it with LineTooLong */
  maxLineBytes?: number;
  /** close(): how long to wait for an exit after ending stdin, before SIGTERM */
  closeWaitMs?: number;
  /** close() and fatal errors: how long after SIGTERM before SIGKILL */
  killGraceMs?: number;
  /** the program's stderr: shown (default), ignored, or piped to `stderr` */
  stderr?: 'inherit' | 'ignore' | 'pipe';
  /** which address family probe() resolves names to when the call does not say (default: the first lookup answer) */
  ipVersion?: IpVersion;
  /** how long a resolved name is reused (default 60 s; 0 disables the cache) */
  resolveCacheMs?: number;
  /** name lookup (default dns.lookup); for tests and custom resolvers */
  lookup?: (host: string, family: 0 | IpVersion) => Promise<{ address: string; family: number }>;
}

/** A probe's wire fields (what `send-probe` carries), without the token. */
export interface ProbeFields {
  /** undefined only with `address` undefined (a probe without a destination) */
  ipVersion: IpVersion | undefined;
  address: string | undefined;
  protocol: ProbeProtocol;
  /** destination port; 0: not given */
  port: number;
  localAddress: string | undefined;
  /** 0: not given */
  localPort: number;
  ttl: number;
  /** bytes including IP and transport headers */
  size: number;
  bitPattern: number;
  tos: number;
  /** undefined: no SO_MARK */
  mark: number | undefined;
  /** seconds */
  timeout: number;
  localDevice: string | undefined;
  /** extension `dont-fragment` (mtr-packet-ts, after `checkSupport('dont-fragment')` answered `ok`) */
  dontFragment?: boolean | undefined;
  /**
   * extension (not in 0.95): send on stable flow N (0..255). Only for a packet program that answered
   * `ok` to checkSupport('flow') (asking turns it on); otherwise the program ignores it, as 0.95 does.
   */
  flow?: number;
}

/** mtr-packet's defaults with `partial` on top. */
export function probeFields(partial: Partial<ProbeFields>): ProbeFields {
  const { token: _t, command: _c, ...d } = defaultSendProbe(0);
  return { ...d, ...partial };
}

export interface ProbeOptions {
  /** 1..255 (default 255: the destination itself) */
  ttl?: number;
  protocol?: ProbeProtocol;
  /** destination port (udp, tcp, sctp) */
  port?: number;
  localAddress?: string;
  /** 0 (default: the packet program picks) or 1024..65535 */
  localPort?: number;
  /** seconds to wait for an answer (default 10) */
  timeout?: number;
  /** packet size in bytes including the IP and transport headers */
  size?: number;
  /** the payload fill byte, 0..255 */
  bitPattern?: number;
  /** the IP type-of-service / traffic-class byte, 0..255 */
  tos?: number;
  /** SO_MARK, 0..2^32-1 */
  mark?: number;
  /** the interface to send from */
  device?: string;
  /**
   * don't fragment (IPv4 DF): an extension of mtr-packet-ts; ask `checkSupport('dont-fragment')` first
   * (it turns the extension on), else the packet program ignores it
   */
  dontFragment?: boolean;
  /**
   * ECMP: send on stable flow N (0..255; the fields routers hash stay fixed, the sequence is carried
   * elsewhere). Needs a packet program with the `flow` extension (mtr-packet-ts with raw sockets):
   * the first such probe asks `check-support feature flow`, and rejects with InvalidArgument when
   * the answer is not `ok`. A reply may then carry `nat: true`.
   */
  flow?: number;
  /** family for a host name (default: the open() option, else the first lookup answer) */
  ipVersion?: IpVersion;
  /** abort: the call rejects with signal.reason at once; a late reply is swallowed */
  signal?: AbortSignal;
  /** reject with ProbeRefused / InvalidArgument instead of resolving a `refused` outcome */
  throwOnRefusal?: boolean;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface Resolved {
  address: string;
  ipVersion: IpVersion;
}

interface Pending {
  /** with the reply, or with its outcome (`outcome`) */
  resolve(v: Reply | ProbeOutcome): void;
  /** a probe's request: settles with outcomeOf(reply), in the same step */
  outcome: boolean;
  reject(e: unknown): void;
  /** the caller gave up; the token waits for its late reply or its forget timer */
  abandoned: boolean;
  forget: NodeJS.Timeout | undefined;
  detach: (() => void) | undefined;
}

function intIn(name: string, v: number | undefined, min: number, max: number): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < min || v > max) throw new InvalidArgument(`${name} must be an integer in ${min}..${max}, got ${String(v)}`, true);
}

/** The error for a refused outcome (InvalidArgument for invalid-argument). */
export function refusalError(o: Extract<ProbeOutcome, { kind: 'refused' }>): ProbeRefused {
  if (o.reason === 'invalid-argument') return new InvalidArgument(o.message, false, o.detail);
  return new ProbeRefused(o.message, o.reason);
}

/**
 * Programs still running when this process exits get SIGTERM: a packet program that drains its
 * probes after stdin closes (mtr-packet-ts does) would otherwise outlive us by up to a probe timeout.
 */
const running = new Set<ChildProcess>();
let exitHook = false;
function track(child: ChildProcess): void {
  running.add(child);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of running) c.kill('SIGTERM');
    });
  }
}

export class MtrPacket {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private readonly framer: LineFramer;
  private readonly resolveCache = new Map<string, { expires: number; value: Promise<Resolved> }>();
  /** the answer to `check-support feature flow`, asked once by the first probe with a flow */
  private flowSupport: Promise<string> | undefined;
  private nextProbeToken = FIRST_PROBE_TOKEN;
  private nextCheckToken = 1;
  private dead: PacketProcessError | undefined;
  private closing = false;
  private gone = false;
  private killing = false;
  private killTimers: NodeJS.Timeout[] = [];
  private readonly goneP: Promise<void>;
  /** lines that answered no reserved token, or that were not replies at all */
  strayReplies = 0;
  /** replies that came for a request whose caller had given up */
  lateReplies = 0;
  /** resolves once, when the program is gone: undefined after close(), the error otherwise */
  readonly exited: Promise<PacketProcessError | undefined>;
  /** what was run */
  readonly command: string;
  readonly args: readonly string[];

  /**
   * Starts the program and waits for its answer to `check-support feature send-probe` (ready()).
   * Rejects with StartupTimeout (no answer in time; the program is stopped) or PacketProcessExited
   * (it could not be run, or exited first), or PacketProcessError when send-probe is not `ok`.
   */
  static async open(options: OpenOptions = {}): Promise<MtrPacket> {
    const mtr = MtrPacket.spawn(options);
    await mtr.ready();
    return mtr;
  }

  /**
   * Starts the program without waiting for anything: for callers that need the object at once
   * (an engine's connect()). checkFeatures() and ready() do the start-up check later.
   */
  static spawn(options: OpenOptions = {}): MtrPacket {
    return new MtrPacket(options);
  }

  private readyP: Promise<void> | undefined;

  /** The start-up check, asked once: `check-support feature send-probe` must answer `ok` in time. */
  ready(): Promise<void> {
    this.readyP ??= this.startupCheck();
    return this.readyP;
  }

  private async startupCheck(): Promise<void> {
    const timeoutMs = this.options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
    let support: string;
    try {
      support = await this.checkSupport('send-probe', { timeoutMs });
    } catch (e) {
      if (e instanceof RequestTimeout) {
        const err = new StartupTimeout(`Failure to start mtr-packet: ${this.command} did not answer check-support within ${timeoutMs} ms`, timeoutMs);
        this.fail(err);
        await this.kill();
        throw err;
      }
      if (e instanceof PacketProcessExited) {
        throw new PacketProcessExited(`Failure to start mtr-packet: ${e.message}`, e.code, e.signal);
      }
      await this.kill();
      throw e;
    }
    if (support !== 'ok') {
      await this.close();
      throw new PacketProcessError(`Failure to start mtr-packet: ${this.command} answers '${support}' for send-probe`);
    }
  }

  private constructor(private readonly options: OpenOptions) {
    this.command = options.command ?? defaultPacketCommand({ env: options.env, allowEnvironment: options.allowEnvironment }).command;
    this.args = [...(options.args ?? [])];
    const maxLine = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    if (!Number.isInteger(maxLine) || maxLine < 64) throw new InvalidArgument(`maxLineBytes must be an integer >= 64, got ${maxLine}`, true);
    // the framer overflows when an unterminated line reaches its limit: a line of maxLine bytes is fine
    this.framer = new LineFramer(maxLine + 1);
    this.child = spawn(this.command, this.args, {
      stdio: ['pipe', 'pipe', options.stderr ?? 'inherit'],
      env: options.env ?? process.env,
    });
    let settleExited!: (e: PacketProcessError | undefined) => void;
    this.exited = new Promise((res) => (settleExited = res));
    let settleGone!: () => void;
    this.goneP = new Promise((res) => (settleGone = res));
    const ended = (err: PacketProcessExited): void => {
      if (this.gone) return;
      this.gone = true;
      running.delete(this.child);
      for (const t of this.killTimers) clearTimeout(t);
      this.fail(err);
      settleExited(this.closing && this.dead === err ? undefined : this.dead);
      settleGone();
    };
    this.child.on('error', (e: NodeJS.ErrnoException) => {
      // spawn failures end the process before it began; kill() failures on a live child are not fatal
      if (this.child.pid === undefined || e.code === 'ENOENT' || e.code === 'EACCES') {
        ended(new PacketProcessExited(`cannot run packet program ${this.command}: ${e.code ?? e.message}`));
      }
    });
    this.child.on('exit', (code, signal) => {
      const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
      ended(new PacketProcessExited(`packet program ${this.command} ${how}`, code, signal, this.closing));
    });
    // a write after the child died is reported through 'exit'; never crash on EPIPE
    this.child.stdin?.on('error', () => {});
    this.child.stdout?.on('data', (chunk: Buffer) => this.onData(chunk));
    if (this.child.pid !== undefined) track(this.child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Requests waiting for their reply, abandoned ones included (their tokens are still reserved). */
  get inFlight(): number {
    return this.pending.size;
  }

  /** The program's stderr when opened with `stderr: 'pipe'`. */
  get stderr(): NodeJS.ReadableStream | null {
    return this.child.stderr;
  }

  private onData(chunk: Buffer): void {
    if (this.dead !== undefined && this.dead instanceof LineTooLong) return;
    for (const ev of this.framer.push(chunk)) {
      if (ev.kind === 'overflow') {
        const limit = this.options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
        this.fail(new LineTooLong(`packet program ${this.command} wrote a line longer than ${limit} bytes`, limit));
        void this.kill();
        return;
      }
      this.onLine(ev.line);
    }
  }

  private onLine(line: string): void {
    const r = parseReply(line);
    const p = r === undefined ? undefined : this.pending.get(r.token);
    if (r === undefined || p === undefined) {
      this.strayReplies++;
      return;
    }
    this.pending.delete(r.token);
    if (p.forget !== undefined) clearTimeout(p.forget);
    p.detach?.();
    if (p.abandoned) {
      this.lateReplies++;
      return;
    }
    p.resolve(p.outcome ? outcomeOf(r) : r);
  }

  /** The first fatal error wins: every waiting request rejects with it, once. */
  private fail(err: PacketProcessError): void {
    if (this.dead === undefined) this.dead = err;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      if (p.forget !== undefined) clearTimeout(p.forget);
      p.detach?.();
      if (!p.abandoned) p.reject(this.dead);
    }
  }

  private takeProbeToken(): number {
    for (let i = FIRST_PROBE_TOKEN; i < TOKEN_LIMIT; i++) {
      const t = this.nextProbeToken++;
      if (this.nextProbeToken >= TOKEN_LIMIT) this.nextProbeToken = FIRST_PROBE_TOKEN;
      if (!this.pending.has(t)) return t;
    }
    throw new PacketProcessError('no free token: too many probes in flight');
  }

  private takeCheckToken(): number {
    for (let i = 1; i < FIRST_PROBE_TOKEN; i++) {
      const t = this.nextCheckToken++;
      if (this.nextCheckToken >= FIRST_PROBE_TOKEN) this.nextCheckToken = 1;
      if (!this.pending.has(t)) return t;
    }
    throw new PacketProcessError('no free token: too many check-support questions in flight');
  }

  private unusable(): PacketProcessError | undefined {
    if (this.dead !== undefined) return this.dead;
    if (this.closing) return new PacketProcessExited(`packet program ${this.command} is closed`, null, null, true);
    return undefined;
  }

  /** Reserve `token`, write `line`; settles with the reply, or rejects when the caller gives up or the program dies. */
  private request(token: number, line: string, forgetAfterMs: number, signal?: AbortSignal, timeoutMs?: number): Promise<Reply> {
    return this.reserve<Reply>(token, line, forgetAfterMs, signal, timeoutMs, false);
  }

  /**
   * request() for a probe: settles with the reply's outcome, converted when the reply is read (one promise
   * and one microtask per probe, not two).
   */
  private probeRequest(token: number, line: string, forgetAfterMs: number, signal?: AbortSignal): Promise<ProbeOutcome> {
    return this.reserve<ProbeOutcome>(token, line, forgetAfterMs, signal, undefined, true);
  }

  private reserve<T extends Reply | ProbeOutcome>(
    token: number,
    line: string,
    forgetAfterMs: number,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    outcome: boolean,
  ): Promise<T> {
    const bad = this.unusable();
    if (bad !== undefined) return Promise.reject(bad);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { resolve: resolve as (v: Reply | ProbeOutcome) => void, outcome, reject, abandoned: false, forget: undefined, detach: undefined };
      // a probe has neither a signal nor a timeout: nothing to arm, no closure per probe
      if (signal !== undefined || timeoutMs !== undefined) this.arm(token, entry, forgetAfterMs, signal, timeoutMs);
      this.pending.set(token, entry); // reserved before the line is written
      this.child.stdin?.write(line + '\n');
    });
  }

  /** The ways a caller gives up on a request: its signal aborts, or no answer within timeoutMs. */
  private arm(token: number, entry: Pending, forgetAfterMs: number, signal: AbortSignal | undefined, timeoutMs: number | undefined): void {
    const giveUp = (reason: unknown): void => {
      if (this.pending.get(token) !== entry || entry.abandoned) return;
      entry.abandoned = true;
      entry.detach?.();
      entry.forget = setTimeout(() => {
        if (this.pending.get(token) === entry) this.pending.delete(token);
      }, forgetAfterMs);
      entry.forget.unref();
      entry.reject(reason);
    };
    const onAbort = (): void => giveUp(signal?.reason);
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => giveUp(new RequestTimeout(`no answer from ${this.command} within ${timeoutMs} ms`, timeoutMs)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    entry.detach = () => {
      signal?.removeEventListener('abort', onAbort);
      if (timer !== undefined) clearTimeout(timer);
      entry.detach = undefined;
    };
  }

  /**
   * `check-support feature F`: the support word ('ok', 'no', or a version for `version`). Asking for an
   * extension of mtr-packet-ts (`icmp-detail`, `dont-fragment`) turns it on for this process when it
   * answers `ok`; other packet programs answer `no`.
   */
  async checkSupport(feature: string, options: RequestOptions & { timeoutMs?: number } = {}): Promise<string> {
    let line: string;
    const token = this.takeCheckToken();
    try {
      line = formatCommand(token, 'check-support', [['feature', feature]]);
    } catch (e) {
      throw new InvalidArgument(`cannot ask about feature ${JSON.stringify(feature)}: ${(e as Error).message}`, true);
    }
    const timeoutMs = options.timeoutMs ?? this.options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
    const r = await this.request(token, line, CHECK_FORGET_MS, options.signal, timeoutMs);
    if (r.type === 'feature-support') return r.support;
    if (r.type === 'invalid-argument') throw new InvalidArgument(`check-support ${feature}: invalid-argument`, false, r.reason);
    throw new ProbeRefused(`unexpected answer to check-support ${feature}: ${r.type}`, r.type === 'unknown' ? 'unknown-reply' : r.type);
  }

  /**
   * mtr's start-up questions: send-probe (ready(), once), then the address family, the protocol,
   * and `mark` when a mark will be set. Throws one clear error naming the first feature that is not `ok`.
   */
  async checkFeatures(ipVersion: IpVersion, protocol: ProbeProtocol, mark: boolean): Promise<void> {
    await this.ready();
    for (const f of [ipVersion === 6 ? 'ip-6' : 'ip-4', protocol, ...(mark ? ['mark'] : [])]) {
      const s = await this.checkSupport(f);
      if (s !== 'ok') throw new PacketProcessError(`Packet type unsupported: the packet program answers '${s}' for ${f}`);
    }
  }

  /**
   * The low-level probe: wire fields in, the token it went out with and its outcome out. The
   * outcome rejects only when the program dies (PacketProcessError) or `signal` aborts.
   * Throws InvalidArgument at once when the fields cannot be written as a request.
   */
  sendProbe(fields: ProbeFields, options: RequestOptions = {}): { token: number; result: Promise<ProbeOutcome> } {
    const token = this.takeProbeToken();
    let line: string;
    try {
      line = formatSendProbe(token, fields);
    } catch (e) {
      throw new InvalidArgument(`cannot send this probe: ${(e as Error).message}`, true);
    }
    const forgetAfterMs = Math.max(0, fields.timeout) * 1000 + LATE_REPLY_MARGIN_MS;
    return { token, result: this.probeRequest(token, line, forgetAfterMs, options.signal) };
  }

  /** A host name or address -> the address to probe, through a cache of lookups. */
  async resolve(host: string, ipVersion?: IpVersion): Promise<Resolved> {
    const literal = isIP(host);
    if (literal === 4 || literal === 6) {
      if (ipVersion !== undefined && ipVersion !== literal) throw new InvalidArgument(`${host} is not an IPv${ipVersion} address`, true);
      return { address: host, ipVersion: literal };
    }
    const family = ipVersion ?? this.options.ipVersion ?? 0;
    const key = `${family} ${host}`;
    const now = Date.now();
    const cached = this.resolveCache.get(key);
    if (cached !== undefined && cached.expires > now) return cached.value;
    const lookup = this.options.lookup ?? ((h: string, f: 0 | IpVersion) => dnsLookup(h, { family: f }));
    const value = lookup(host, family).then(
      (r): Resolved => {
        if (r.family !== 4 && r.family !== 6) throw new NameResolutionFailed(`${host}: no usable address`, host, undefined);
        return { address: r.address, ipVersion: r.family };
      },
      (e: NodeJS.ErrnoException) => {
        throw new NameResolutionFailed(`cannot resolve ${host}: ${e.code ?? e.message}`, host, e.code);
      },
    );
    const ttl = this.options.resolveCacheMs ?? DEFAULT_RESOLVE_CACHE_MS;
    if (ttl > 0) {
      this.resolveCache.set(key, { expires: now + ttl, value });
      value.catch(() => {
        if (this.resolveCache.get(key)?.value === value) this.resolveCache.delete(key);
      });
    }
    return value;
  }

  /**
   * Probe a host name or address once. Resolves with the outcome (refusals included, unless
   * `throwOnRefusal`); rejects with InvalidArgument before sending anything when an option is out
   * of range, NameResolutionFailed, PacketProcessError when the program is gone, or signal.reason.
   */
  async probe(host: string, options: ProbeOptions = {}): Promise<ProbeOutcome> {
    const o = options;
    intIn('ttl', o.ttl, 1, 255);
    intIn('port', o.port, 0, 65535);
    if (o.localPort !== undefined && o.localPort !== 0) intIn('localPort', o.localPort, 1024, 65535);
    intIn('timeout', o.timeout, 0, 2147483647);
    intIn('size', o.size, 0, 2147483647);
    intIn('bitPattern', o.bitPattern, 0, 255);
    intIn('tos', o.tos, 0, 255);
    intIn('mark', o.mark, 0, 4294967295);
    intIn('flow', o.flow, 0, 255);
    if (o.protocol !== undefined && !['icmp', 'udp', 'tcp', 'sctp'].includes(o.protocol)) {
      throw new InvalidArgument(`protocol must be icmp, udp, tcp or sctp, got ${String(o.protocol)}`, true);
    }
    if (o.signal?.aborted) throw o.signal.reason;
    const target = await this.resolve(host, o.ipVersion);
    if (o.localAddress !== undefined && isIP(o.localAddress) !== target.ipVersion) {
      throw new InvalidArgument(`localAddress ${o.localAddress} is not an IPv${target.ipVersion} address`, true);
    }
    if (o.signal?.aborted) throw o.signal.reason;
    if (o.flow !== undefined) {
      this.flowSupport ??= this.checkSupport('flow');
      const s = await this.flowSupport.catch((e: unknown) => {
        this.flowSupport = undefined; // a failed question may be asked again
        throw e;
      });
      if (s !== 'ok') throw new InvalidArgument(`the packet program does not send flows (check-support flow: ${s})`, true);
    }
    const fields = probeFields({
      ipVersion: target.ipVersion,
      address: target.address,
      ...(o.ttl !== undefined && { ttl: o.ttl }),
      ...(o.protocol !== undefined && { protocol: o.protocol }),
      ...(o.port !== undefined && { port: o.port }),
      ...(o.localAddress !== undefined && { localAddress: o.localAddress }),
      ...(o.localPort !== undefined && { localPort: o.localPort }),
      ...(o.timeout !== undefined && { timeout: o.timeout }),
      ...(o.size !== undefined && { size: o.size }),
      ...(o.bitPattern !== undefined && { bitPattern: o.bitPattern }),
      ...(o.tos !== undefined && { tos: o.tos }),
      ...(o.mark !== undefined && { mark: o.mark }),
      ...(o.device !== undefined && { localDevice: o.device }),
      ...(o.dontFragment === true && { dontFragment: true }),
      ...(o.flow !== undefined && { flow: o.flow }),
    });
    const outcome = await this.sendProbe(fields, { signal: o.signal }).result;
    if (o.throwOnRefusal && outcome.kind === 'refused') throw refusalError(outcome);
    return outcome;
  }

  /** SIGTERM now, SIGKILL after the grace time; resolves when the program is gone. */
  private kill(): Promise<void> {
    if (!this.gone && !this.killing) {
      this.killing = true;
      this.child.stdin?.destroy();
      this.child.kill('SIGTERM');
      this.killTimers.push(setTimeout(() => this.child.kill('SIGKILL'), this.options.killGraceMs ?? DEFAULT_KILL_GRACE_MS));
    }
    return this.goneP;
  }

  /**
   * Ends stdin (the program may answer what is in flight), waits `closeWaitMs` for it to exit,
   * then SIGTERM, then SIGKILL after `killGraceMs`. Requests still waiting when it exits reject
   * with PacketProcessExited (closed: true); `exited` resolves undefined. Safe to call twice.
   */
  async close(): Promise<void> {
    if (!this.closing && !this.gone) {
      this.closing = true;
      this.child.stdin?.end();
      this.killTimers.push(
        setTimeout(() => {
          if (!this.gone) void this.kill();
        }, this.options.closeWaitMs ?? DEFAULT_CLOSE_WAIT_MS),
      );
    }
    this.closing = true;
    await this.goneP;
  }

  /** `await using mtr = await MtrPacket.open()` closes it. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

// Node 20.4+ defines Symbol.asyncDispose (as Symbol.for('nodejs.asyncDispose')); before that the
// method above got the key "undefined": give it the registered symbol Node's `using` support uses.
if ((Symbol as { asyncDispose?: symbol }).asyncDispose === undefined) {
  Object.defineProperty(MtrPacket.prototype, Symbol.for('nodejs.asyncDispose'), {
    value(this: MtrPacket): Promise<void> {
      return this.close();
    },
    configurable: true,
    writable: true,
  });
}
