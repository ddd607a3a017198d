// Plain C++ socket layer for the unprivileged (datagram) mode and for TCP probes: no napi.h.
// Same conventions as sockets.h: syscalls only, failures as positive errno + syscall name.
#pragma once

#include <netinet/in.h>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sockets.h"

namespace mtr {

// A non-blocking, close-on-exec SOCK_DGRAM socket (ICMP "ping" socket or UDP); fd >= 0 or -errno.
int OpenDgram(int family, int protocol);

// Prepares a datagram-mode socket: IP_RECVERR/IPV6_RECVERR (ICMP errors go to the error queue),
// SO_SELECT_ERR_QUEUE (a queued error is also reported as POLLPRI, which keeps a uv_poll watching
// UV_PRIORITIZED running instead of stopping it with UV_EBADF on POLLERR), SO_TIMESTAMPNS,
// IPV6_V6ONLY, a large receive buffer, then bind to the wildcard address with port 0. For a ping
// socket that allocates its ICMP identifier; *local_port gets the bound port (host order).
SysResult SetupDgram(int fd, int family, uint16_t* local_port);

struct DgramSendOptions {
  int ttl = -1;                  // IP_TTL / IPV6_HOPLIMIT cmsg; -1: the socket default
  int tos = -1;                  // IP_TOS / IPV6_TCLASS cmsg; -1: the socket default
  const uint8_t* src = nullptr;  // IP_PKTINFO ipi_spec_dst / IPV6_PKTINFO address; nullptr: kernel's choice
  unsigned ifindex = 0;          // IP_PKTINFO / IPV6_PKTINFO outgoing interface; 0: routing decides
  uint32_t scope_id = 0;         // sin6_scope_id
  uint16_t port = 0;             // destination port (UDP)
};

// sendmsg with per-call cmsgs, nothing sticky. Stamps *departure_ns immediately before the syscall.
// A queued ICMP error also sets the socket's pending error (sk_err), which the next send would
// report instead of sending; such asynchronous errors are retried (the error itself stays in the
// error queue, where the receive side reads it), so only a send that fails again is reported.
SysResult SendDgram(int fd, int family, const uint8_t* payload, size_t len, const uint8_t* dst,
                    const DgramSendOptions& opts, int64_t* departure_ns);

// One entry of a socket's error queue (recvmsg MSG_ERRQUEUE).
struct QueuedError {
  int family = 0;
  uint8_t origin = 0;  // SO_EE_ORIGIN_ICMP / SO_EE_ORIGIN_ICMP6 (others are skipped)
  uint8_t type = 0;
  uint8_t code = 0;
  uint8_t offender[16] = {};  // SO_EE_OFFENDER: the ICMP message's sender
  uint8_t dst[16] = {};       // msg_name: the original destination
  uint16_t dst_port = 0;      // its port (host order; 0 for ping sockets)
  const uint8_t* data = nullptr;  // the original payload as quoted (UDP payload, our ICMP header, TCP header)
  size_t len = 0;
  int64_t rx_ns = 0;  // SO_TIMESTAMPNS of the ICMP message, or the read time
};

class ErrQueueReader {
 public:
  static constexpr size_t kDataBytes = 2048;
  ErrQueueReader();
  // Reads one entry. Returns 1 (*out filled), 0 (an entry that is not an ICMP error: skipped),
  // or -errno (-EAGAIN when the queue is empty). out->data is valid until the next Read().
  int Read(int fd, int family, QueuedError* out);

 private:
  std::vector<uint8_t> data_;
  std::vector<uint8_t> control_;
};

// Reads and discards ordinary datagrams (UDP data nobody asked for); returns how many, or -errno.
int DiscardQueued(int fd);

// getsockopt(SO_ERROR): the pending error (0 if none), which it also clears.
int TakeSocketError(int fd);

struct TcpOptions {
  int protocol = IPPROTO_TCP;  // or IPPROTO_SCTP: a stream probe either way, as mtr-packet's
  int ttl = -1;  // IP_TTL / IPV6_UNICAST_HOPS; -1: default
  int tos = -1;  // IP_TOS / IPV6_TCLASS; -1: default
  uint32_t mark = 0;
  std::string device;
  const uint8_t* src = nullptr;
  uint32_t scope_id = 0;
  bool recverr = false;  // IP_RECVERR / IPV6_RECVERR (datagram mode only)
};

// The kernel's own timing of a completed TCP handshake (TCP_INFO tcpi_rtt: SYN sent to SYN-ACK
// received, µs; its first sample is that one measurement). false when unavailable.
bool HandshakeRttUs(int fd, uint32_t* rtt_us);

// Whether the kernel has SCTP (stream sockets of IPPROTO_SCTP can be created), as mtr-packet checks it.
bool KernelHasSctp();

struct TcpStarted {
  int fd = -1;
  int64_t departure_ns = 0;  // stamped immediately before connect()
  int immediate_err = 0;     // ECONNREFUSED when connect() said so at once (the socket is open)
  uint16_t local_port = 0;
};

// socket + options + bind(src or wildcard, src_port) + non-blocking connect. EINPROGRESS is
// success; so is an immediate ECONNREFUSED (reported in immediate_err). On failure nothing is left open.
SysResult StartTcp(int family, const uint8_t* dst, uint16_t dst_port, uint16_t src_port, const TcpOptions& opts,
                   TcpStarted* out);

// SO_LINGER {1, 0} then close: a connected socket sends RST and leaves no TIME_WAIT.
void AbortClose(int fd);

// Raises the RLIMIT_NOFILE soft limit to the hard limit; returns the soft limit in force afterwards.
double RaiseFileLimit();

// Whether SO_MARK / SO_BINDTODEVICE can be set now, on a throwaway socket.
bool CanSetMark();
bool CanBindToDevice();

}  // namespace mtr
