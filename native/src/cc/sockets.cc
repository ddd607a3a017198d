#include "sockets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <linux/filter.h>
#include <linux/icmp.h>
#include <linux/if.h>
#include <linux/net_tstamp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "cmsg.h"
#include "privileges.h"

namespace mtr {

namespace {

constexpr int kReceiveBufferBytes = 4 * 1024 * 1024;
constexpr size_t kControlBytes = 256;  // room for a timestamp cmsg and then some
// Queued transmit stamps are charged to the receive buffer (~0.7 KB each with OPT_TSONLY); the
// kernel doubles the value: room for a few thousand stamps between two reads.
constexpr int kTxStampBufferBytes = 1024 * 1024;
constexpr int kTxStampFlags = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID |
                              SOF_TIMESTAMPING_OPT_TSONLY;
#ifndef SO_TIMESTAMPING_NEW
#define SO_TIMESTAMPING_NEW 65
#endif

SysResult SetOpt(int fd, int level, int name, const void* value, socklen_t len) {
  if (setsockopt(fd, level, name, value, len) != 0) return Fail(errno, "setsockopt");
  return Ok();
}

SysResult SetIntOpt(int fd, int level, int name, int value) {
  return SetOpt(fd, level, name, &value, sizeof value);
}

// Root may exceed rmem_max with SO_RCVBUFFORCE; otherwise the kernel clamps SO_RCVBUF.
void LargeReceiveBuffer(int fd) {
  if (SetIntOpt(fd, SOL_SOCKET, SO_RCVBUFFORCE, kReceiveBufferBytes).ok()) return;
  (void)SetIntOpt(fd, SOL_SOCKET, SO_RCVBUF, kReceiveBufferBytes);
}

int64_t TimespecNs(int64_t sec, int64_t nsec) { return sec * 1000000000LL + nsec; }

}  // namespace

SysResult Fail(int err, const char* syscall) {
  SysResult r;
  r.err = err;
  r.syscall = syscall;
  return r;
}

int64_t RealtimeNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return TimespecNs(ts.tv_sec, ts.tv_nsec);
}

int OpenRaw(int family, int protocol) {
  int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  return fd >= 0 ? fd : -errno;
}

void CloseFd(int fd) {
  if (fd >= 0) close(fd);  // Linux releases the fd even when close() reports EINTR: never retry
}

SysResult SetupIcmp4Receive(int fd) {
  // ICMP_FILTER is a bitmask of types to DROP.
  struct icmp_filter filter;
  filter.data = ~((1U << ICMP_ECHOREPLY) | (1U << ICMP_DEST_UNREACH) | (1U << ICMP_TIME_EXCEEDED));
  SysResult r = SetOpt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof filter);
  if (!r.ok()) return r;
  LargeReceiveBuffer(fd);
  return SetIntOpt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1);
}

SysResult SetupIcmp6Receive(int fd) {
  struct icmp6_filter filter;
  ICMP6_FILTER_SETBLOCKALL(&filter);
  ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
  ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &filter);
  ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &filter);
  ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &filter);
  ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &filter);
  SysResult r = SetOpt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter);
  if (!r.ok()) return r;
  LargeReceiveBuffer(fd);
  // The hop limit each answer arrived with (IPv6 raw sockets get no IP header; icmp-detail's reply-ttl).
  (void)SetIntOpt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
  return SetIntOpt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1);
}

SysResult SetupSendOnly(int fd) {
  struct sock_filter drop_all[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
  struct sock_fprog prog;
  prog.len = 1;
  prog.filter = drop_all;
  SysResult r = SetOpt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
  if (!r.ok()) return r;
  (void)SetIntOpt(fd, SOL_SOCKET, SO_RCVBUF, 4096);
  return Ok();
}

SysResult SetIpv6Checksum(int fd, int offset) { return SetIntOpt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, offset); }

SysResult SetMark(int fd, uint32_t mark) {
  // Started by the launcher with marks kept: its helper holds CAP_NET_ADMIN, this process none.
  int helper_err = 0;
  if (SetMarkByHelper(fd, mark, &helper_err)) return helper_err == 0 ? Ok() : Fail(helper_err, "setsockopt");
  // After DropPrivileges kept CAP_NET_ADMIN (permitted only) it is effective for just this call.
  NetAdminRaise raise;
  return SetOpt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark);
}

SysResult InterfaceIndex(int fd, const std::string& device, unsigned* index) {
  // What if_nametoindex does, on a socket we already have (one syscall instead of three) and in
  // that socket's network namespace. Needs no privilege.
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  if (device.empty() || device.size() >= sizeof ifr.ifr_name) return Fail(ENODEV, "if_nametoindex");
  std::memcpy(ifr.ifr_name, device.data(), device.size());
  if (ioctl(fd, SIOCGIFINDEX, &ifr) != 0) return Fail(errno, "if_nametoindex");
  if (ifr.ifr_ifindex <= 0) return Fail(ENODEV, "if_nametoindex");
  *index = static_cast<unsigned>(ifr.ifr_ifindex);
  return Ok();
}

SysResult BindDevice(int fd, const std::string& device) {
  return SetOpt(fd, SOL_SOCKET, SO_BINDTODEVICE, device.data(), static_cast<socklen_t>(device.size()));
}

SysResult Send4(int fd, const uint8_t* packet, size_t len, const uint8_t* dst4, unsigned ifindex,
                const uint32_t* ts_key, int64_t* departure_ns) {
  struct sockaddr_in to;
  std::memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  std::memcpy(&to.sin_addr, dst4, 4);
  if (ifindex == 0 && ts_key == nullptr) {
    for (;;) {
      *departure_ns = RealtimeNs();
      ssize_t n = sendto(fd, packet, len, 0, reinterpret_cast<struct sockaddr*>(&to), sizeof to);
      if (n >= 0) return Ok();
      if (errno != EINTR) return Fail(errno, "sendto");
    }
  }
  // The outgoing interface for this packet only: IP_PKTINFO's ipi_ifindex becomes the flow's oif
  // (raw_sendmsg takes it from the cmsg, header-including sockets too). ipi_spec_dst stays 0: the
  // packet carries its own source address. The timestamp id, if any, goes beside it.
  struct iovec iov;
  iov.iov_base = const_cast<uint8_t*>(packet);
  iov.iov_len = len;
  struct msghdr msg;
  std::memset(&msg, 0, sizeof msg);
  msg.msg_name = &to;
  msg.msg_namelen = sizeof to;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ControlMessages control;
  if (ifindex != 0) control.Pktinfo4(ifindex, nullptr);
  if (ts_key != nullptr) control.TsKey(*ts_key);
  control.Attach(&msg);
  for (;;) {
    *departure_ns = RealtimeNs();
    ssize_t n = sendmsg(fd, &msg, 0);
    if (n >= 0) return Ok();
    if (errno != EINTR) return Fail(errno, "sendmsg");
  }
}

SysResult Send6(int fd, const uint8_t* packet, size_t len, const uint8_t* dst16, const Send6Options& opts,
                const uint32_t* ts_key, int64_t* departure_ns) {
  struct sockaddr_in6 to;
  std::memset(&to, 0, sizeof to);
  to.sin6_family = AF_INET6;
  std::memcpy(&to.sin6_addr, dst16, 16);
  to.sin6_scope_id = opts.scope_id;

  struct iovec iov;
  iov.iov_base = const_cast<uint8_t*>(packet);
  iov.iov_len = len;

  struct msghdr msg;
  std::memset(&msg, 0, sizeof msg);
  msg.msg_name = &to;
  msg.msg_namelen = sizeof to;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;

  ControlMessages control;
  control.Int(IPPROTO_IPV6, IPV6_HOPLIMIT, opts.hop_limit);
  control.Int(IPPROTO_IPV6, IPV6_TCLASS, opts.traffic_class);
  // Source address and/or outgoing interface, for this packet only.
  if (opts.src != nullptr || opts.ifindex != 0) control.Pktinfo6(opts.ifindex, opts.src);
  if (opts.dont_fragment) control.Int(IPPROTO_IPV6, IPV6_DONTFRAG, 1);
  if (ts_key != nullptr) control.TsKey(*ts_key);
  control.Attach(&msg);

  for (;;) {
    *departure_ns = RealtimeNs();
    ssize_t n = sendmsg(fd, &msg, 0);
    if (n >= 0) return Ok();
    if (errno != EINTR) return Fail(errno, "sendmsg");
  }
}

SysResult EnableTxStamps(int fd) {
  SysResult r = SetIntOpt(fd, SOL_SOCKET, SO_TIMESTAMPING, kTxStampFlags);
  if (r.ok()) r = SetIntOpt(fd, SOL_SOCKET, SO_SELECT_ERR_QUEUE, 1);
  if (!r.ok()) {
    (void)SetIntOpt(fd, SOL_SOCKET, SO_TIMESTAMPING, 0);
    return r;
  }
  if (!SetIntOpt(fd, SOL_SOCKET, SO_RCVBUFFORCE, kTxStampBufferBytes).ok())
    (void)SetIntOpt(fd, SOL_SOCKET, SO_RCVBUF, kTxStampBufferBytes);
  return Ok();
}

SysResult ResetTxStampCounter(int fd) {
  SysResult r = SetIntOpt(fd, SOL_SOCKET, SO_TIMESTAMPING, kTxStampFlags & ~SOF_TIMESTAMPING_OPT_ID);
  if (r.ok()) r = SetIntOpt(fd, SOL_SOCKET, SO_TIMESTAMPING, kTxStampFlags);
  return r;
}

namespace {
constexpr size_t kTxControlBytes = 256;  // scm_timestamping (48) + sock_extended_err with offender (44), padded
}  // namespace

TxStampReader::TxStampReader() : control_(kSlots * kTxControlBytes) {}

int TxStampReader::Read(int fd, TxStamp* out, int* stamps) {
  struct mmsghdr msgs[kSlots];
  std::memset(msgs, 0, sizeof msgs);
  for (size_t i = 0; i < kSlots; i++) {
    struct msghdr& h = msgs[i].msg_hdr;
    h.msg_control = control_.data() + i * kTxControlBytes;
    h.msg_controllen = kTxControlBytes;
  }
  int n;
  do {
    n = recvmmsg(fd, msgs, kSlots, MSG_ERRQUEUE | MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  int count = 0;
  for (int i = 0; i < n; i++) {
    struct msghdr& h = msgs[i].msg_hdr;
    bool have_key = false, have_ns = false;
    TxStamp st;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == SOL_SOCKET && (c->cmsg_type == SO_TIMESTAMPING || c->cmsg_type == SO_TIMESTAMPING_NEW) &&
          c->cmsg_len >= CMSG_LEN(2 * sizeof(int64_t))) {
        // ts[0] of scm_timestamping / scm_timestamping64: the software stamp (tv_sec, tv_nsec as
        // two 64-bit fields on every 64-bit Linux, and in the _NEW layout everywhere).
        if (c->cmsg_type == SO_TIMESTAMPING && sizeof(struct timespec) != 2 * sizeof(int64_t)) {
          struct timespec ts;
          std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
          st.ns = TimespecNs(ts.tv_sec, ts.tv_nsec);
        } else {
          int64_t ts[2];
          std::memcpy(ts, CMSG_DATA(c), sizeof ts);
          st.ns = TimespecNs(ts[0], ts[1]);
        }
        have_ns = st.ns != 0;  // 0: no software stamp in this report
        continue;
      }
      const bool is_err = (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                          (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR);
      if (!is_err || c->cmsg_len < CMSG_LEN(sizeof(struct sock_extended_err))) continue;
      struct sock_extended_err ee;
      std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
      if (ee.ee_origin != SO_EE_ORIGIN_TIMESTAMPING || ee.ee_info != SCM_TSTAMP_SND) continue;
      st.key = ee.ee_data;
      have_key = true;
    }
    if (have_key && have_ns) out[count++] = st;
  }
  *stamps = count;
  return n;
}

SysResult SourceAddress(int family, const uint8_t* dst, uint32_t scope_id, uint32_t mark, const std::string& device,
                        uint8_t* out) {
  int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail(errno, "socket");
  SysResult r;
  if (mark != 0) r = SetMark(fd, mark);
  if (r.ok() && !device.empty()) r = BindDevice(fd, device);
  if (r.ok()) {
    struct sockaddr_storage to;
    std::memset(&to, 0, sizeof to);
    socklen_t to_len;
    if (family == AF_INET) {
      auto* sin = reinterpret_cast<struct sockaddr_in*>(&to);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(33434);  // any non-zero port: connect() on UDP sends nothing
      std::memcpy(&sin->sin_addr, dst, 4);
      to_len = sizeof *sin;
    } else {
      auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(&to);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons(33434);
      std::memcpy(&sin6->sin6_addr, dst, 16);
      sin6->sin6_scope_id = scope_id;
      to_len = sizeof *sin6;
    }
    int rc;
    do {
      rc = connect(fd, reinterpret_cast<struct sockaddr*>(&to), to_len);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) r = Fail(errno, "connect");
  }
  if (r.ok()) {
    struct sockaddr_storage local;
    socklen_t local_len = sizeof local;
    if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&local), &local_len) != 0) {
      r = Fail(errno, "getsockname");
    } else if (family == AF_INET) {
      std::memcpy(out, &reinterpret_cast<struct sockaddr_in*>(&local)->sin_addr, 4);
    } else {
      std::memcpy(out, &reinterpret_cast<struct sockaddr_in6*>(&local)->sin6_addr, 16);
    }
  }
  CloseFd(fd);
  return r;
}

Receiver::Receiver(int family)
    : family_(family),
      data_(new uint8_t[kSlots * kSlotBytes]),
      names_(new uint8_t[kSlots * sizeof(struct sockaddr_storage)]),
      control_(new uint8_t[kSlots * kControlBytes]) {}

int Receiver::Read(int fd, Received* out, uint64_t* skipped) {
  struct mmsghdr msgs[kSlots];
  struct iovec iovs[kSlots];
  std::memset(msgs, 0, sizeof msgs);
  for (size_t i = 0; i < kSlots; i++) {
    iovs[i].iov_base = data_.get() + i * kSlotBytes;
    iovs[i].iov_len = kSlotBytes;
    struct msghdr& h = msgs[i].msg_hdr;
    h.msg_name = names_.get() + i * sizeof(struct sockaddr_storage);
    h.msg_namelen = sizeof(struct sockaddr_storage);
    h.msg_iov = &iovs[i];
    h.msg_iovlen = 1;
    h.msg_control = control_.get() + i * kControlBytes;
    h.msg_controllen = kControlBytes;
  }
  int n;
  do {
    n = recvmmsg(fd, msgs, kSlots, MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  const int64_t read_ns = RealtimeNs();

  int count = 0;
  for (int i = 0; i < n; i++) {
    const struct msghdr& h = msgs[i].msg_hdr;
    if ((h.msg_flags & MSG_TRUNC) != 0 || msgs[i].msg_len > kSlotBytes) {
      (*skipped)++;
      continue;
    }
    Received& r = out[count];
    r.family = family_;
    std::memset(r.from, 0, sizeof r.from);
    if (family_ == AF_INET) {
      if (h.msg_namelen < sizeof(struct sockaddr_in)) {
        (*skipped)++;
        continue;
      }
      std::memcpy(r.from, &static_cast<const struct sockaddr_in*>(h.msg_name)->sin_addr, 4);
    } else {
      if (h.msg_namelen < sizeof(struct sockaddr_in6)) {
        (*skipped)++;
        continue;
      }
      std::memcpy(r.from, &static_cast<const struct sockaddr_in6*>(h.msg_name)->sin6_addr, 16);
    }
    r.data = static_cast<const uint8_t*>(h.msg_iov->iov_base);
    r.len = msgs[i].msg_len;
    r.rx_ns = read_ns;
    r.hop_limit = -1;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(const_cast<struct msghdr*>(&h)); c != nullptr;
         c = CMSG_NXTHDR(const_cast<struct msghdr*>(&h), c)) {
      if (((c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) ||
           (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL)) &&
          c->cmsg_len >= CMSG_LEN(sizeof(int))) {
        int hops;
        std::memcpy(&hops, CMSG_DATA(c), sizeof hops);
        if (hops >= 0 && hops <= 255) r.hop_limit = hops;
        continue;
      }
      if (c->cmsg_level != SOL_SOCKET) continue;
      if (c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
        struct timespec ts;
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        r.rx_ns = TimespecNs(ts.tv_sec, ts.tv_nsec);
      }
#if defined(SO_TIMESTAMPNS_NEW)
      else if (c->cmsg_type == SO_TIMESTAMPNS_NEW && SO_TIMESTAMPNS_NEW != SCM_TIMESTAMPNS &&
               c->cmsg_len >= CMSG_LEN(2 * sizeof(int64_t))) {
        int64_t ts[2];
        std::memcpy(ts, CMSG_DATA(c), sizeof ts);
        r.rx_ns = TimespecNs(ts[0], ts[1]);
      }
#endif
    }
    count++;
  }
  return count;
}

}  // namespace mtr
