// The real Transport: the native Engine's raw sockets, opened once at start.

import { Engine, dropPrivileges } from '@mtr-ts/native';
import type { Received, Transport } from './transport.js';

export interface OpenedTransport {
  transport: Transport;
  /** probe protocols this build sends */
  protocols: ReadonlySet<string>;
  markSupported: boolean;
  /** Clears every capability; switches to the sudo user when started through sudo. Returns what it did. */
  dropPrivileges(): string;
  describe(): string;
}

const RAW_HINT =
  'run it as root (e.g. with sudo), or give the node binary the CAP_NET_RAW capability ' +
  '(setcap cap_net_raw+ep "$(command -v node)")';

export function openTransport(onBatch: (batch: readonly Received[]) => void): OpenedTransport {
  const engine = new Engine((packets) => onBatch(packets));
  let opened;
  try {
    opened = engine.open();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'EPERM' || err.code === 'EACCES' ? 'no permission to open raw sockets' : err.message;
    throw new Error(`cannot open raw sockets (${why}): ${RAW_HINT}`);
  }
  const ip4 = opened.ip4 !== 'none';
  const ip6 = opened.ip6 !== 'none';
  if (!ip4 && !ip6) {
    engine.close();
    throw new Error(`cannot open raw sockets (${opened.ip4Error ?? 'unknown error'}): ${RAW_HINT}`);
  }
  const transport: Transport = {
    ip4,
    ip6,
    sctp: opened.sctp,
    sendIPv4: (packet, dst, opts) => engine.sendIPv4(packet, dst, opts),
    sendIPv6: (proto, packet, dst, opts) => engine.sendIPv6(proto, packet, dst, opts),
    sourceAddress: (family, dst) => engine.sourceAddress(family, dst),
    now: () => engine.now(),
    close: () => engine.close(),
  };
  return {
    transport,
    protocols: new Set(['icmp', 'udp']),
    markSupported: false,
    dropPrivileges() {
      const sudoUid = process.env.SUDO_UID;
      const sudoGid = process.env.SUDO_GID;
      const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
      const opts: { uid?: number; gid?: number } = {};
      if (asRoot && sudoUid !== undefined && /^[0-9]+$/.test(sudoUid) && Number(sudoUid) !== 0) {
        opts.uid = Number(sudoUid);
        opts.gid = sudoGid !== undefined && /^[0-9]+$/.test(sudoGid) ? Number(sudoGid) : Number(sudoUid);
      }
      const r = dropPrivileges(opts);
      return `capabilities ${r.capsCleared ? 'cleared' : 'not cleared'}, uid ${r.uid}, gid ${r.gid}`;
    },
    describe() {
      return `IPv4 ${opened.ip4}${opened.ip4Error ? ` (${opened.ip4Error})` : ''}, IPv6 ${opened.ip6}${opened.ip6Error ? ` (${opened.ip6Error})` : ''}`;
    },
  };
}
