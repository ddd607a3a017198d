// PacketClient: runs a packet process (ours, or any mtr-packet), speaks its line protocol over
// pipes, and turns every reply into a typed outcome.
//
// - Tokens come from one allocator: mtr's 33000..65535 sequence, wrapping, never handing out a
//   token that is still in flight.
// - A pending entry is inserted before its line is written; a reply gets, deletes and settles it.
// - When the process dies, every pending request rejects with the same PacketProcessError, and
//   `exited` resolves with it (so the CLI can say what happened once).

import { spawn, type ChildProcess } from 'node:child_process';
import split2 from 'split2';
import {
  defaultSendProbe,
  formatCommand,
  formatRequest,
  parseReply,
  type MplsLabel,
  type Reply,
  type SendProbeRequest,
} from '@mtr-ts/protocol';

export type UnreachableReason = 'no-route' | 'no-route-network' | 'no-route-host' | 'host-down';

export type ProbeOutcome =
  | { readonly kind: 'reply' | 'ttl-expired'; readonly address: string; readonly rtt: number; readonly mpls: readonly MplsLabel[] | undefined }
  /** an ICMP unreachable answer from a router or the destination: the path ends there */
  | { readonly kind: 'unreachable'; readonly reason: UnreachableReason; readonly address: string; readonly rtt: number; readonly mpls: readonly MplsLabel[] | undefined }
  | { readonly kind: 'no-reply' }
  /** the packet process could not send it (its own routing said no, or the network is down) */
  | { readonly kind: 'send-failed'; readonly reason: 'no-route' | 'network-down' }
  | { readonly kind: 'probes-exhausted' }
  /** a refusal that will not go away by trying again; mtr 0.95 exits on these */
  | { readonly kind: 'error'; readonly reason: string; readonly message: string };

/** The words mtr 0.95 prints for the replies it stops on. */
const ERROR_MESSAGES: Record<string, string> = {
  'probes-exhausted': 'Probes exhausted',
  'invalid-argument': 'mtr-packet reported invalid argument',
  'permission-denied': 'Permission denied',
  'address-in-use': 'Address in use',
  'address-not-available': 'Address not available',
  'unexpected-error': 'Unexpected mtr-packet error',
  'unknown-command': 'mtr-packet does not know the command',
  'command-parse-error': 'mtr-packet could not parse the command',
  'command-buffer-overflow': 'mtr-packet command buffer overflow',
};

export function outcomeOf(r: Reply): ProbeOutcome {
  switch (r.type) {
    case 'reply':
    case 'ttl-expired':
      return { kind: r.type, address: r.address, rtt: r.roundTripTime, mpls: r.mpls };
    case 'no-route':
      if ('address' in r) return { kind: 'unreachable', reason: 'no-route', address: r.address, rtt: r.roundTripTime, mpls: r.mpls };
      return { kind: 'send-failed', reason: 'no-route' };
    case 'no-route-network':
    case 'no-route-host':
    case 'host-down':
      // the 0.96 dialect also says these bare, for a send that failed
      if (!('address' in r)) return { kind: 'send-failed', reason: 'no-route' };
      return { kind: 'unreachable', reason: r.type, address: r.address, rtt: r.roundTripTime, mpls: r.mpls };
    case 'no-reply':
      return { kind: 'no-reply' };
    case 'network-down':
      return { kind: 'send-failed', reason: 'network-down' };
    case 'probes-exhausted':
      return { kind: 'probes-exhausted' };
    case 'invalid-argument':
      return { kind: 'error', reason: r.type, message: ERROR_MESSAGES[r.type] + (r.reason !== undefined ? ` (${r.reason})` : '') };
    case 'unexpected-error':
      return { kind: 'error', reason: r.type, message: `${ERROR_MESSAGES[r.type]} (errno ${r.errno})` };
    case 'permission-denied':
    case 'address-in-use':
    case 'address-not-available':
    case 'unknown-command':
    case 'command-parse-error':
    case 'command-buffer-overflow':
      return { kind: 'error', reason: r.type, message: ERROR_MESSAGES[r.type] as string };
    case 'feature-support':
      return { kind: 'error', reason: r.type, message: 'feature-support reply to a probe' };
    case 'unknown':
      return { kind: 'error', reason: r.name, message: `unexpected reply from the packet process: ${r.line.trim()}` };
  }
}

export class PacketProcessError extends Error {
  constructor(
    message: string,
    readonly code: number | null = null,
    readonly signal: NodeJS.Signals | null = null,
  ) {
    super(message);
    this.name = 'PacketProcessError';
  }
}

/** What a probe asks for; the client adds the token. */
export type ProbeFields = Omit<SendProbeRequest, 'token' | 'command'>;

export function probeFields(partial: Partial<ProbeFields>): ProbeFields {
  const { token: _t, command: _c, ...d } = defaultSendProbe(0);
  return { ...d, ...partial };
}

interface Pending {
  resolve(r: Reply): void;
  reject(e: Error): void;
}

export const FIRST_TOKEN = 33000;
export const TOKEN_LIMIT = 65536;

export interface ClientOptions {
  /** the executable; MTR_PACKET or ours */
  path: string;
  args?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** 'inherit' (default) shows the packet process's own messages */
  stderr?: 'inherit' | 'ignore' | 'pipe';
}

export class PacketClient {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextToken = FIRST_TOKEN;
  /** check-support questions use 1..32999, as mtr's start-up uses token 1, so probes start at 33000 */
  private nextCheckToken = 1;
  private dead: PacketProcessError | undefined;
  private closing = false;
  /** replies whose token was not pending (late, duplicate, or foreign) */
  strayReplies = 0;
  /** resolves once, when the process is gone: undefined after close(), the error otherwise */
  readonly exited: Promise<PacketProcessError | undefined>;

  constructor(readonly options: ClientOptions) {
    this.child = spawn(options.path, [...(options.args ?? [])], {
      stdio: ['pipe', 'pipe', options.stderr ?? 'inherit'],
      env: options.env ?? process.env,
    });
    let settle!: (e: PacketProcessError | undefined) => void;
    this.exited = new Promise((res) => (settle = res));
    let done = false;
    const finish = (err: PacketProcessError): void => {
      if (done) return;
      done = true;
      this.dead = err;
      const all = [...this.pending.values()];
      this.pending.clear();
      for (const p of all) p.reject(err);
      settle(this.closing ? undefined : err);
    };
    this.child.on('error', (e: NodeJS.ErrnoException) => {
      finish(new PacketProcessError(`cannot run packet program ${options.path}: ${e.code ?? e.message}`));
    });
    this.child.on('exit', (code, signal) => {
      const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
      finish(new PacketProcessError(`packet program ${options.path} ${how}`, code, signal));
    });
    // a write after the child died is reported through 'exit'; do not crash on EPIPE
    this.child.stdin?.on('error', () => {});
    this.child.stdout?.pipe(split2()).on('data', (line: string) => this.onLine(line));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private onLine(line: string): void {
    const r = parseReply(line);
    if (r === undefined) {
      this.strayReplies++;
      return;
    }
    const p = this.pending.get(r.token);
    if (p === undefined) {
      this.strayReplies++;
      return;
    }
    this.pending.delete(r.token);
    p.resolve(r);
  }

  /** The next free token; never one still in flight. */
  private takeToken(): number {
    if (this.pending.size >= TOKEN_LIMIT - FIRST_TOKEN) throw new PacketProcessError('no free token: too many requests in flight');
    for (;;) {
      const t = this.nextToken++;
      if (this.nextToken >= TOKEN_LIMIT) this.nextToken = FIRST_TOKEN;
      if (!this.pending.has(t)) return t;
    }
  }

  private request(token: number, line: string): Promise<Reply> {
    if (this.dead !== undefined) return Promise.reject(this.dead);
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(token, { resolve, reject }); // insert before write
      this.child.stdin?.write(line + '\n');
    });
  }

  /** `check-support feature F`: the support word ('ok', 'no', or a version). */
  async checkSupport(feature: string): Promise<string> {
    let token = this.nextCheckToken;
    while (this.pending.has(token)) token = token + 1 >= FIRST_TOKEN ? 1 : token + 1;
    this.nextCheckToken = token + 1 >= FIRST_TOKEN ? 1 : token + 1;
    const r = await this.request(token, formatCommand(token, 'check-support', [['feature', feature]]));
    if (r.type === 'feature-support') return r.support;
    throw new PacketProcessError(`unexpected answer to check-support ${feature}: ${r.type}`);
  }

  /**
   * mtr's start-up questions: send-probe, then the address family, the protocol, and mark when a
   * mark is asked for. Throws one clear error naming the first feature that is not `ok`.
   */
  async checkFeatures(ipVersion: 4 | 6, protocol: string, mark: boolean): Promise<void> {
    let support: string;
    try {
      support = await this.checkSupport('send-probe');
    } catch (e) {
      throw new PacketProcessError(`Failure to start mtr-packet: ${(e as Error).message}`);
    }
    if (support !== 'ok') throw new PacketProcessError(`Failure to start mtr-packet: send-probe is '${support}'`);
    const features = [ipVersion === 6 ? 'ip-6' : 'ip-4', protocol, ...(mark ? ['mark'] : [])];
    for (const f of features) {
      const s = await this.checkSupport(f);
      if (s !== 'ok') throw new PacketProcessError(`Packet type unsupported: the packet program answers '${s}' for ${f}`);
    }
  }

  /** Sends one probe; `result` settles with its outcome, or rejects if the process dies first. */
  sendProbe(fields: ProbeFields): { token: number; result: Promise<ProbeOutcome> } {
    const token = this.takeToken();
    const line = formatRequest({ ...fields, token, command: 'send-probe' });
    return { token, result: this.request(token, line).then(outcomeOf) };
  }

  /** Stops the process (SIGTERM, as mtr does); pending requests reject; `exited` resolves undefined. */
  async close(): Promise<void> {
    if (this.dead === undefined) {
      this.closing = true;
      this.child.stdin?.end();
      this.child.kill('SIGTERM');
    }
    await this.exited;
  }
}
