// The public types of the native addon's TypeScript face (what index.ts exports).

/** What every received packet or event carries, whatever its source. */
export interface PacketBase {
  family: 4 | 6;
  /**
   * Source address: 4 or 16 bytes. 'raw'/'ping'/'segment': the packet's sender; 'error': the ICMP message's
   * sender (SO_EE_OFFENDER); 'tcp': the probe's destination; 'tx': zeros.
   */
  from: Uint8Array;
  /**
   * 'raw': IPv4: the whole IPv4 packet (header + ICMP); IPv6: the ICMPv6 message only.
   * 'ping': the ICMP/ICMPv6 echo reply message (no IP header; its identifier is the ping socket's port).
   * 'error': the original payload as the router quoted it: for ICMP probes our ICMP echo header +
   * data (identifier = the ping socket's port), for UDP the UDP payload, for TCP the TCP header.
   * 'tcp', 'tx': empty. 'segment': see SegmentPacket.
   */
  data: Uint8Array;
  /**
   * ns since the engine's epoch; same clock as the send returns and now(). 'tx': the kernel's
   * software transmit timestamp of the send given txId (taken as the driver hands the packet to the
   * device; SO_TIMESTAMPING TX_SOFTWARE, CLOCK_REALTIME like the receive stamps). 'raw', 'ping', 'error':
   * the kernel's receive timestamp (SO_TIMESTAMPNS, also delivered with error-queue reads) of the
   * ICMP message; 'segment': of the TCP segment. 'tcp': a refusal (ECONNREFUSED) in raw mode: the kernel's receive timestamp of the
   * RST, read from a raw IPPROTO_TCP socket opened with the other raw sockets (a BPF filter keeps only
   * RSTs to ports 33434 and up); a completed handshake: departure + the kernel's own handshake RTT
   * (TCP_INFO); otherwise (datagram mode, other errors) the clock read when the event loop woke for
   * the socket, or when an immediate ECONNREFUSED returned from connect().
   */
  rxNs: number;
}

/** An ICMP / ICMPv6 message read from a raw ICMP socket. */
export interface RawPacket extends PacketBase {
  source: 'raw';
  /** IPv6: the hop limit it arrived with (IPV6_HOPLIMIT; IPv4 packets carry their TTL in their header) */
  hopLimit?: number;
}

/** An echo reply read from a datagram ("ping") socket. */
export interface PingPacket extends PacketBase {
  source: 'ping';
  /** the TTL / hop limit it arrived with (IP_TTL / IPV6_HOPLIMIT), when the kernel said */
  hopLimit?: number;
}

/** An ICMP error for one of our datagram or TCP probes, read from its socket's error queue. */
export interface QueuedIcmpError extends PacketBase {
  source: 'error';
  /** ICMP type and code from sock_extended_err (ICMPv6 numbering for IPv6). */
  icmpType: number;
  icmpCode: number;
  /** the protocol of the socket the error was queued on */
  errProto: 'icmp' | 'udp' | 'tcp';
  /** the original destination address (msg_name of the error-queue read) */
  origDst?: Uint8Array;
  /** UDP and TCP: the original destination port */
  origDstPort?: number;
  /** our source port (UDP/TCP), or the ping socket's port (= ICMP identifier) for ICMP */
  origSrcPort?: number;
  /** errProto 'tcp': the probe id from connectTcp() */
  tcpId?: number;
}

/** A TCP (or SCTP) probe's connect finished. */
export interface TcpEnd extends PacketBase {
  source: 'tcp';
  /** the probe id from connectTcp() */
  tcpId: number;
  /** 0 (connected) or the errno (111 ECONNREFUSED, 113 EHOSTUNREACH, 110 ETIMEDOUT, ...) */
  tcpErrno: number;
}

/**
 * A raw send's kernel transmit timestamp (family is the send socket's). 'tx' records come first
 * in their batch, before any answer read in the same wake.
 */
export interface TxStampRecord extends PacketBase {
  source: 'tx';
  /** the txId given to sendIPv4/sendIPv6 */
  txId: number;
}

/**
 * A TCP segment (SYN-ACK or RST, to a local port 1024 and up) read from the raw IPPROTO_TCP socket,
 * after watchSegments(): the answer of a raw TCP flow probe, or of anything else. `data`: IPv4: the
 * IPv4 header and the TCP header (at most the first 128 bytes); IPv6: the TCP segment (its first
 * 128 bytes). `from`: its sender. `rxNs`: the kernel's receive stamp.
 */
export interface SegmentPacket extends PacketBase {
  source: 'segment';
}

/** One received packet or event, told apart by where it came from (`source`). */
export type ReceivedPacket = RawPacket | PingPacket | QueuedIcmpError | TcpEnd | TxStampRecord | SegmentPacket;

export type PacketSource = ReceivedPacket['source'];

/** An Error shaped like Node's system errors. */
export interface ErrnoError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export type FamilyMode = 'raw' | 'dgram' | 'none';

/**
 * 'auto' (default): raw sockets, and per family a fallback to datagram sockets when raw ones cannot
 * be opened. 'raw': raw only. 'dgram': datagram only, even when raw sockets would open.
 */
export type OpenMode = 'auto' | 'raw' | 'dgram';

export interface OpenOptions {
  mode?: OpenMode;
}

export interface OpenResult {
  ip4: FamilyMode;
  ip6: FamilyMode;
  /** errno code ('EPERM', ...) of why ip4 is 'none': the raw socket's failure if raw was tried, else the datagram one's. */
  ip4Error?: string;
  ip6Error?: string;
  /** errno code of a failed datagram-mode open (e.g. 'EACCES': the gid is outside net.ipv4.ping_group_range). */
  ip4DgramError?: string;
  ip6DgramError?: string;
  /** The kernel has SCTP (an IPPROTO_SCTP stream socket can be created): connectTcp can then send SCTP probes. */
  sctp: boolean;
  /** RLIMIT_NOFILE soft limit after open() raised it to the hard limit (-1: unlimited/unknown). */
  maxFiles: number;
  /**
   * Raw sends given a txId are followed by 'tx' records with the kernel's transmit timestamp
   * (SO_TIMESTAMPING on at least one raw send socket). Where a stamp never comes (a kernel or
   * device without software transmit stamps), the send's return value is all there is.
   */
  txStamps: boolean;
}

/** Which families deliver 'segment' records (Engine.watchSegments). */
export interface SegmentWatch {
  ip4: boolean;
  ip6: boolean;
}

export interface CapabilityFacts {
  /**
   * SO_MARK can be set now from this thread (CAP_NET_ADMIN effective, or permitted and raised per
   * setsockopt after dropPrivileges({ keepNetAdmin: true })).
   */
  mark: boolean;
  /** SO_BINDTODEVICE can be set now on a fresh socket. */
  bindToDevice: boolean;
}

export interface ProbeSendOptions {
  /** IPv4 TTL / IPv6 hop limit, 1..255 (-1: the kernel default). */
  ttl: number;
  /** IPv4 TOS / IPv6 traffic class, 0..255 (-1: the kernel default). */
  tos: number;
  /** SO_MARK (0 or absent: unmarked). */
  mark?: number;
  /**
   * Outgoing interface (absent: routing decides). sendDgram: per-send IP_PKTINFO/IPV6_PKTINFO;
   * connectTcp: SO_BINDTODEVICE on the fresh probe socket (unprivileged since Linux 5.7).
   */
  device?: string;
  /** Source address, 4 or 16 bytes (absent: the kernel's choice). */
  src?: Uint8Array;
  /** sin6_scope_id for link-local IPv6 destinations. */
  scopeId?: number;
}

export interface DgramSendResult {
  /** Departure time, ns since the engine's epoch. */
  txNs: number;
  /**
   * The socket's local port. For 'icmp' the kernel wrote it into the echo identifier (replies and
   * quoted errors carry it); for 'udp' it is the UDP source port of every datagram-mode UDP probe.
   */
  localPort: number;
}

export interface TcpConnectResult {
  /** The probe's id: events carry it as tcpId; closeTcp(id) ends it early. */
  id: number;
  /** Departure time (immediately before connect()), ns since the engine's epoch. */
  txNs: number;
  /** The bound source port (srcPort, or the kernel's pick when srcPort was 0). */
  localPort: number;
}

export interface SendOptions {
  /** SO_MARK for this send only (0 or absent: unmarked). */
  mark?: number;
  /**
   * Outgoing interface for this packet only (absent: routing decides): IP_PKTINFO / IPV6_PKTINFO
   * ifindex, so nothing sticks to the socket and no capability is needed. An unknown name throws
   * ENODEV (syscall 'if_nametoindex'). sourceAddress() binds its throwaway socket (SO_BINDTODEVICE).
   */
  device?: string;
  /**
   * sendIPv4/sendIPv6 only: a uint32 naming this send. Its kernel transmit timestamp then arrives
   * as a 'tx' record with this txId (at most once; none where the kernel gives no stamp, or when it
   * could not be told apart from another send's). The caller picks the ids; reusing one while an
   * earlier send of it may still be stamped makes the two indistinguishable.
   */
  txId?: number;
}

export interface SendIPv6Options extends SendOptions {
  hopLimit: number;
  trafficClass: number;
  /**
   * Source address (IPV6_PKTINFO); absent: the kernel's choice. With both src and device, the
   * kernel's IPv6 route lookup treats the device as a preference only (it is strict without src):
   * a better-metric route through another interface wins.
   */
  src?: Uint8Array;
  /** sin6_scope_id for link-local destinations. */
  scopeId?: number;
  /**
   * IPV6_DONTFRAG for this packet: a packet larger than the path MTU the kernel knows for dst is
   * not fragmented here but refused (EMSGSIZE). (IPv4 packets carry DF in their own header.)
   */
  dontFragment?: boolean;
}

export interface SourceAddressOptions extends SendOptions {
  scopeId?: number;
}

export interface EngineStats {
  packets: number;
  /** Truncated (oversize) or nameless datagrams dropped. */
  skipped: number;
  readErrors: number;
  batches: number;
  /** TCP probe sockets open now. */
  tcpInFlight: number;
  /** Sockets of finished TCP probes held for their quarantine (connectTcp quarantineMs). */
  quarantinedPorts: number;
}

export interface DropPrivilegesOptions {
  /** Switch to this uid (only as root), after setgroups(0). Nothing is kept then. */
  uid?: number;
  gid?: number;
  /**
   * Without a uid/gid switch: the calling thread keeps CAP_NET_ADMIN in its permitted set only
   * (effective and inheritable empty, bounding set just CAP_NET_ADMIN, SECBIT_NOROOT locked so an
   * execve gains nothing). Setting SO_MARK then raises it into the effective set for that one
   * setsockopt. Every other thread is cleared as without it; threads and workers created later by
   * the calling thread inherit the permitted CAP_NET_ADMIN. Marks work from the calling thread only.
   */
  keepNetAdmin?: boolean;
}

export interface DropPrivilegesResult {
  /**
   * capget(2) reports empty effective, permitted and inheritable sets for the calling thread.
   * false when keptNetAdmin (CAP_NET_ADMIN stays permitted).
   */
  capsCleared: boolean;
  /** Every capability dropped from the bounding set (but CAP_NET_ADMIN when kept). */
  boundingCleared: boolean;
  noNewPrivs: boolean;
  /**
   * Every thread of the process (not only the caller) shows empty effective and permitted sets.
   * Capabilities are per thread: other threads are reached by a one-off real-time signal, but a
   * thread that blocks every signal (Node's SIGUSR1 inspector watchdog) cannot be; it is only
   * cleared by a uid switch away from root (glibc applies setuid to all threads). So this is
   * normally true with a uid given and false when staying root. With keptNetAdmin the calling
   * thread counts as clear when its effective set is empty and its permitted set just CAP_NET_ADMIN.
   */
  allThreads: boolean;
  /** uid/gid were switched (only done when running as root and asked for). */
  switched: boolean;
  /** The calling thread holds CAP_NET_ADMIN in its permitted set (keepNetAdmin, no switch, and it had it). */
  keptNetAdmin: boolean;
  uid: number;
  gid: number;
}

export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_UDP = 17;
export const IPPROTO_TCP = 6;
export const IPPROTO_SCTP = 132;
