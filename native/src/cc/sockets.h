// Plain C++ socket layer: no napi.h here. Every function does syscalls only and reports
// failure as a positive errno plus the name of the failing syscall; nothing throws.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <memory>
#include <vector>

namespace mtr {

struct SysResult {
  int err = 0;                // positive errno; 0 on success
  const char* syscall = "";   // the syscall that failed, Node-style ("sendto", "setsockopt", ...)
  bool ok() const { return err == 0; }
};

inline SysResult Ok() { return SysResult{}; }
SysResult Fail(int err, const char* syscall);

// CLOCK_REALTIME in ns: the clock SO_TIMESTAMPNS stamps received packets with.
int64_t RealtimeNs();

// A non-blocking, close-on-exec raw socket; returns fd >= 0 or -errno.
int OpenRaw(int family, int protocol);
void CloseFd(int fd);

// Receive sockets: type filter, large receive buffer, kernel receive timestamps.
SysResult SetupIcmp4Receive(int fd);
SysResult SetupIcmp6Receive(int fd);
// Send-only raw sockets that would otherwise queue a copy of every matching inbound packet:
// a drop-everything socket filter and a small receive buffer.
SysResult SetupSendOnly(int fd);
SysResult SetIpv6Checksum(int fd, int offset);

// SO_MARK; raises a CAP_NET_ADMIN kept by DropPrivileges around the setsockopt (NetAdminRaise).
SysResult SetMark(int fd, uint32_t mark);
SysResult BindDevice(int fd, const std::string& device);  // "" unbinds
// The interface index of device (SIOCGIFINDEX on fd); ENODEV, syscall "if_nametoindex", if unknown.
SysResult InterfaceIndex(int fd, const std::string& device, unsigned* index);

struct Send6Options {
  int hop_limit = 64;
  int traffic_class = 0;
  const uint8_t* src = nullptr;  // 16 bytes, or nullptr for the kernel's choice
  unsigned ifindex = 0;          // IPV6_PKTINFO outgoing interface; 0: routing decides
  uint32_t scope_id = 0;
  bool dont_fragment = false;    // IPV6_DONTFRAG for this packet: EMSGSIZE instead of fragmenting it here
};

// Each stamps *departure_ns with RealtimeNs() immediately before the send syscall. ifindex != 0
// picks the outgoing interface for this packet only (IP_PKTINFO; sendmsg instead of sendto).
// ts_key != nullptr: the packet's transmit timestamp carries this id (SCM_TS_OPT_ID, Linux 6.13+;
// an older kernel answers EINVAL) instead of the socket's send counter.
SysResult Send4(int fd, const uint8_t* packet, size_t len, const uint8_t* dst4, unsigned ifindex,
                const uint32_t* ts_key, int64_t* departure_ns);
SysResult Send6(int fd, const uint8_t* packet, size_t len, const uint8_t* dst16, const Send6Options& opts,
                const uint32_t* ts_key, int64_t* departure_ns);

// Kernel software transmit timestamps on a send socket: SO_TIMESTAMPING with TX_SOFTWARE (taken
// by the driver as it hands the packet to the device, skb_tx_timestamp), SOFTWARE (report it),
// OPT_ID (each stamp names its send in sock_extended_err.ee_data) and OPT_TSONLY (no copy of the
// packet on the error queue). Also SO_SELECT_ERR_QUEUE, so a queued stamp is POLLPRI for a uv_poll,
// and a receive buffer large enough for a few thousand queued stamps (the error queue is charged to it).
SysResult EnableTxStamps(int fd);
// OPT_ID off and on again: the kernel's per-socket send counter restarts at 0.
SysResult ResetTxStampCounter(int fd);

struct TxStamp {
  uint32_t key = 0;  // ee_data: the SCM_TS_OPT_ID given with the send, or the socket's send counter
  int64_t ns = 0;    // CLOCK_REALTIME ns (scm_timestamping.ts[0])
};

// Batched error-queue reader (recvmmsg MSG_ERRQUEUE) for send sockets that only queue timestamps.
class TxStampReader {
 public:
  static constexpr size_t kSlots = 32;
  TxStampReader();
  // Reads up to kSlots error-queue entries of fd. Returns how many entries were read (a short
  // count means the queue is empty now), or -errno (-EAGAIN when it was empty). Software transmit
  // stamps go to out (*stamps of them); anything else queued is skipped.
  int Read(int fd, TxStamp* out, int* stamps);

 private:
  std::vector<uint8_t> control_;
};

// The kernel's source address for dst (UDP connect + getsockname). out gets 4 or 16 bytes.
SysResult SourceAddress(int family, const uint8_t* dst, uint32_t scope_id, uint32_t mark, const std::string& device,
                        uint8_t* out);

struct Received {
  int family = 0;
  uint8_t from[16] = {};
  const uint8_t* data = nullptr;  // valid until the next Read()
  size_t len = 0;
  int64_t rx_ns = 0;  // CLOCK_REALTIME ns: the kernel's stamp, or the read time if the kernel gave none
  int hop_limit = -1;  // the TTL / hop limit it arrived with (IP_TTL, IPV6_HOPLIMIT cmsg); -1: not given
};

// Batched reader (recvmmsg) with its own buffers; one per receive socket.
class Receiver {
 public:
  static constexpr size_t kSlots = 32;
  static constexpr size_t kSlotBytes = 16384;  // an echo reply to mtr-packet's largest probe (9000 bytes) fits

  explicit Receiver(int family);
  // Reads what is queued, up to kSlots datagrams. Returns the number of entries written to out
  // (possibly 0 after skipping truncated ones), or -errno (-EAGAIN when nothing is queued).
  // Truncated datagrams are skipped and counted in *skipped.
  int Read(int fd, Received* out, uint64_t* skipped);

 private:
  int family_;
  // Not zeroed: a page of these buffers costs memory only once a datagram is written into it (a
  // small answer touches one page of its 16 KB slot).
  std::unique_ptr<uint8_t[]> data_;
  std::unique_ptr<uint8_t[]> names_;
  std::unique_ptr<uint8_t[]> control_;
};

}  // namespace mtr
