// The real Transport: the native Engine's sockets, opened once at start.

import { Engine, SendBatch, dropPrivileges } from '@mtr-ts/native';
import type { RawSendQueue, Received, Transport } from './transport.js';

export interface OpenedTransport {
  transport: Transport;
  /** probe protocols this build sends */
  protocols: ReadonlySet<string>;
  /** Clears capabilities (keeping CAP_NET_ADMIN for marks when asked); switches to the sudo user when started through sudo. */
  dropPrivileges(keepNetAdmin: boolean): string;
  /** Whether a probe's mark can be set now (after dropping privileges). */
  canMark(): boolean;
  describe(): string;
}

/** What lets a user probe: said only when the cause was a missing right. */
export const PERMISSION_HINT =
  'allow ping sockets for your group (sysctl net.ipv4.ping_group_range), give the launcher ' +
  '(mtr-packet-launch, never node) CAP_NET_RAW and CAP_SETGID with setcap, or run it as root (e.g. with sudo)';

/** One line naming the real cause of a failed open: a missing right, too few file descriptors, or the error itself. */
export function openFailure(err: NodeJS.ErrnoException): string {
  if (err.code === 'EPERM' || err.code === 'EACCES') {
    return `cannot open its sockets (no permission to open raw or ping sockets): ${PERMISSION_HINT}`;
  }
  if (err.code === 'EMFILE' || err.code === 'ENFILE') {
    const which = err.code === 'EMFILE' ? 'the open-file limit of the process (ulimit -n)' : 'the system-wide open-file limit (fs.file-max)';
    return `cannot open its sockets: too many open files (${err.code}): raise ${which}`;
  }
  return `cannot open its sockets: ${err.message}`;
}

export function openTransport(onBatch: (batch: readonly Received[]) => void, mode: 'auto' | 'raw' | 'dgram'): OpenedTransport {
  const engine = new Engine((packets) => onBatch(packets as Received[]));
  let opened;
  try {
    opened = engine.open({ mode });
  } catch (e) {
    throw new Error(openFailure(e as NodeJS.ErrnoException), { cause: e });
  }
  // One batch, reused: a queue call after a flush starts it over.
  const batch = new SendBatch();
  let flushed = false;
  const fresh = (): SendBatch => {
    if (flushed) {
      batch.clear();
      flushed = false;
    }
    return batch;
  };
  const rawQueue: RawSendQueue = {
    queueIPv4: (packet, dst, opts) => fresh().addIPv4(packet, dst, opts),
    queueIPv6: (proto, packet, dst, opts) => fresh().addIPv6(proto, packet, dst, opts),
    flush: () => {
      engine.sendBatch(fresh());
      flushed = true;
    },
    errno: (i) => batch.errno(i),
    departure: (i) => batch.departure(i),
  };
  const transport: Transport = {
    mode4: opened.ip4,
    rawQueue,
    mode6: opened.ip6,
    sctp: opened.sctp,
    sendIPv4: (packet, dst, opts) => engine.sendIPv4(packet, dst, opts),
    sendIPv6: (proto, packet, dst, opts) => engine.sendIPv6(proto, packet, dst, opts),
    sendDgram: (family, proto, payload, dst, dstPort, opts) => engine.sendDgram(family, proto, payload, dst, dstPort, opts),
    connectTcp: (family, dst, dstPort, srcPort, opts) => engine.connectTcp(family, dst, dstPort, srcPort, opts),
    closeTcp: (id) => void engine.closeTcp(id),
    sourceAddress: (family, dst) => engine.sourceAddress(family, dst),
    // One abstract AF_UNIX name per family with raw sockets (datagram mode: the kernel picks the
    // identifier, the ping socket's port, unique in the namespace already).
    reserveIcmpId: (id) =>
      ([[4, opened.ip4], [6, opened.ip6]] as const).every(
        ([family, mode]) => mode !== 'raw' || engine.holdName(`mtr-packet-ts/icmp-id/${family}/${id}`),
      ),
    watchSegments: () => engine.watchSegments(),
    // TCP flows' tag (codec.ts tcpFlowTag): one name per namespace, whatever the families' modes
    reserveTcpFlowTag: (tag) => engine.holdName(`mtr-packet-ts/tcp-flow-tag/${tag}`),
    now: () => engine.now(),
    close: () => engine.close(),
  };
  return {
    transport,
    protocols: new Set(['icmp', 'udp', 'tcp', 'sctp']),
    dropPrivileges(keepNetAdmin: boolean) {
      const sudoUid = process.env.SUDO_UID;
      const sudoGid = process.env.SUDO_GID;
      const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
      const opts: { uid?: number; gid?: number; keepNetAdmin?: boolean } = {};
      if (asRoot && sudoUid !== undefined && /^[0-9]+$/.test(sudoUid) && Number(sudoUid) !== 0) {
        opts.uid = Number(sudoUid);
        opts.gid = sudoGid !== undefined && /^[0-9]+$/.test(sudoGid) ? Number(sudoGid) : Number(sudoUid);
      } else if (keepNetAdmin) {
        opts.keepNetAdmin = true;
      }
      const r = dropPrivileges(opts) as ReturnType<typeof dropPrivileges> & { keptNetAdmin?: boolean };
      const caps = r.keptNetAdmin ? 'capabilities cleared but CAP_NET_ADMIN (permitted only, for marks)' : r.capsCleared ? 'capabilities cleared' : 'capabilities not cleared';
      return `${caps}, uid ${r.uid}, gid ${r.gid}`;
    },
    canMark: () => engine.probeCapabilities().mark,
    describe() {
      const fam = (name: string, m: string, err?: string) => `${name} ${m === 'dgram' ? 'datagram (unprivileged)' : m}${err && m === 'none' ? ` (${err})` : ''}`;
      return `${fam('IPv4', opened.ip4, opened.ip4Error)}, ${fam('IPv6', opened.ip6, opened.ip6Error)}`;
    },
  };
}
