#include "probe_sockets.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstring>

#include "cmsg.h"

namespace mtr {

namespace {

constexpr int kDgramReceiveBufferBytes = 1024 * 1024;
constexpr size_t kErrControlBytes = 512;  // sock_extended_err + offender + timestamp, with room

SysResult SetInt(int fd, int level, int name, int value) {
  if (setsockopt(fd, level, name, &value, sizeof value) != 0) return Fail(errno, "setsockopt");
  return Ok();
}

int64_t TsNs(int64_t sec, int64_t nsec) { return sec * 1000000000LL + nsec; }

// Errors an ICMP message leaves pending on a socket (icmp_err_convert / icmpv6_err_convert).
bool MayBeAsyncError(int err) {
  switch (err) {
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENONET:
    case ENOPROTOOPT:
    case EPROTO:
    case EACCES:
    case EMSGSIZE:
    case EOPNOTSUPP:
      return true;
    default:
      return false;
  }
}

void FillSockaddr(int family, const uint8_t* addr, uint16_t port, uint32_t scope_id, struct sockaddr_storage* ss,
                  socklen_t* len) {
  std::memset(ss, 0, sizeof *ss);
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<struct sockaddr_in*>(ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    if (addr != nullptr) std::memcpy(&sin->sin_addr, addr, 4);
    *len = sizeof *sin;
  } else {
    auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    if (addr != nullptr) std::memcpy(&sin6->sin6_addr, addr, 16);
    sin6->sin6_scope_id = scope_id;
    *len = sizeof *sin6;
  }
}

SysResult LocalPort(int fd, uint16_t* port) {
  struct sockaddr_storage local;
  socklen_t len = sizeof local;
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&local), &len) != 0) return Fail(errno, "getsockname");
  if (local.ss_family == AF_INET)
    *port = ntohs(reinterpret_cast<struct sockaddr_in*>(&local)->sin_port);
  else
    *port = ntohs(reinterpret_cast<struct sockaddr_in6*>(&local)->sin6_port);
  return Ok();
}

void AddressOf(const struct sockaddr_storage& ss, uint8_t* out, uint16_t* port) {
  if (ss.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const struct sockaddr_in*>(&ss);
    std::memcpy(out, &sin->sin_addr, 4);
    if (port != nullptr) *port = ntohs(sin->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const struct sockaddr_in6*>(&ss);
    std::memcpy(out, &sin6->sin6_addr, 16);
    if (port != nullptr) *port = ntohs(sin6->sin6_port);
  }
}

}  // namespace

int OpenDgram(int family, int protocol) {
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  return fd >= 0 ? fd : -errno;
}

SysResult SetupDgram(int fd, int family, uint16_t* local_port) {
  SysResult r = family == AF_INET ? SetInt(fd, IPPROTO_IP, IP_RECVERR, 1) : SetInt(fd, IPPROTO_IPV6, IPV6_RECVERR, 1);
  if (r.ok()) r = SetInt(fd, SOL_SOCKET, SO_SELECT_ERR_QUEUE, 1);
  if (r.ok()) r = SetInt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1);
  if (r.ok() && family == AF_INET6) r = SetInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
  if (!r.ok()) return r;
  // The TTL / hop limit each echo reply arrived with (icmp-detail's reply-ttl); optional.
  (void)(family == AF_INET ? SetInt(fd, IPPROTO_IP, IP_RECVTTL, 1) : SetInt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1));
  if (!SetInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, kDgramReceiveBufferBytes).ok())
    (void)SetInt(fd, SOL_SOCKET, SO_RCVBUF, kDgramReceiveBufferBytes);
  struct sockaddr_storage any;
  socklen_t any_len;
  FillSockaddr(family, nullptr, 0, 0, &any, &any_len);
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&any), any_len) != 0) return Fail(errno, "bind");
  return LocalPort(fd, local_port);
}

SysResult SendDgram(int fd, int family, const uint8_t* payload, size_t len, const uint8_t* dst,
                    const DgramSendOptions& opts, int64_t* departure_ns) {
  struct sockaddr_storage to;
  socklen_t to_len;
  FillSockaddr(family, dst, opts.port, opts.scope_id, &to, &to_len);

  struct iovec iov;
  iov.iov_base = const_cast<uint8_t*>(payload);
  iov.iov_len = len;

  struct msghdr msg;
  std::memset(&msg, 0, sizeof msg);
  msg.msg_name = &to;
  msg.msg_namelen = to_len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;

  ControlMessages control;
  const bool v4 = family == AF_INET;
  if (opts.ttl >= 0) control.Int(v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TTL : IPV6_HOPLIMIT, opts.ttl);
  if (opts.tos >= 0) control.Int(v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TOS : IPV6_TCLASS, opts.tos);
  if (opts.src != nullptr || opts.ifindex != 0) {
    if (v4)
      control.Pktinfo4(opts.ifindex, opts.src);
    else
      control.Pktinfo6(opts.ifindex, opts.src);
  }
  control.Attach(&msg);

  int async_retries = 2;
  for (;;) {
    *departure_ns = RealtimeNs();
    ssize_t n = sendmsg(fd, &msg, 0);
    if (n >= 0) return Ok();
    if (errno == EINTR) continue;
    if (MayBeAsyncError(errno) && async_retries-- > 0) continue;
    return Fail(errno, "sendmsg");
  }
}

ErrQueueReader::ErrQueueReader() : data_(kDataBytes), control_(kErrControlBytes) {}

int ErrQueueReader::Read(int fd, int family, QueuedError* out) {
  struct sockaddr_storage name;
  struct iovec iov;
  iov.iov_base = data_.data();
  iov.iov_len = data_.size();
  struct msghdr msg;
  std::memset(&msg, 0, sizeof msg);
  msg.msg_name = &name;
  msg.msg_namelen = sizeof name;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control_.data();
  msg.msg_controllen = control_.size();
  ssize_t n;
  do {
    std::memset(&name, 0, sizeof name);
    n = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  const int64_t read_ns = RealtimeNs();

  *out = QueuedError();
  out->family = family;
  out->rx_ns = read_ns;
  out->data = data_.data();
  out->len = static_cast<size_t>(n) < data_.size() ? static_cast<size_t>(n) : data_.size();
  AddressOf(name, out->dst, &out->dst_port);

  bool have_error = false;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
        c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
      struct timespec ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      out->rx_ns = TsNs(ts.tv_sec, ts.tv_nsec);
      continue;
    }
    const bool is_err = (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                        (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR);
    if (!is_err || c->cmsg_len < CMSG_LEN(sizeof(struct sock_extended_err))) continue;
    struct sock_extended_err ee;
    std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
    if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6) continue;
    out->origin = ee.ee_origin;
    out->type = ee.ee_type;
    out->code = ee.ee_code;
    // The offender sockaddr follows the sock_extended_err in the same cmsg (SO_EE_OFFENDER).
    const size_t offender_at = sizeof(struct sock_extended_err);
    const size_t payload = c->cmsg_len - CMSG_LEN(0);
    if (payload >= offender_at + sizeof(sa_family_t)) {
      struct sockaddr_storage off;
      std::memset(&off, 0, sizeof off);
      size_t copy = payload - offender_at;
      if (copy > sizeof off) copy = sizeof off;
      std::memcpy(&off, CMSG_DATA(c) + offender_at, copy);
      if (off.ss_family == AF_INET && copy >= sizeof(struct sockaddr_in)) {
        std::memcpy(out->offender, &reinterpret_cast<struct sockaddr_in*>(&off)->sin_addr, 4);
      } else if (off.ss_family == AF_INET6 && copy >= sizeof(struct sockaddr_in6)) {
        std::memcpy(out->offender, &reinterpret_cast<struct sockaddr_in6*>(&off)->sin6_addr, 16);
      }
    }
    have_error = true;
  }
  return have_error ? 1 : 0;
}

int DiscardQueued(int fd) {
  uint8_t sink[64];
  int count = 0;
  for (; count < 1024; count++) {
    ssize_t n = recv(fd, sink, sizeof sink, MSG_DONTWAIT | MSG_TRUNC);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return -errno;
    }
  }
  return count;
}

int TakeSocketError(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

SysResult StartTcp(int family, const uint8_t* dst, uint16_t dst_port, uint16_t src_port, const TcpOptions& opts,
                   TcpStarted* out) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, opts.protocol);
  if (fd < 0) return Fail(errno, "socket");
  const bool v4 = family == AF_INET;
  SysResult r;
  if (opts.ttl >= 0) r = v4 ? SetInt(fd, IPPROTO_IP, IP_TTL, opts.ttl) : SetInt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, opts.ttl);
  if (r.ok() && opts.tos >= 0)
    r = v4 ? SetInt(fd, IPPROTO_IP, IP_TOS, opts.tos) : SetInt(fd, IPPROTO_IPV6, IPV6_TCLASS, opts.tos);
  if (r.ok() && !v4) r = SetInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
  if (r.ok() && opts.mark != 0) r = SetMark(fd, opts.mark);
  if (r.ok() && !opts.device.empty()) r = BindDevice(fd, opts.device);
  if (r.ok() && opts.recverr)
    r = v4 ? SetInt(fd, IPPROTO_IP, IP_RECVERR, 1) : SetInt(fd, IPPROTO_IPV6, IPV6_RECVERR, 1);
  if (r.ok() && opts.recverr) r = SetInt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1);
  if (r.ok()) {
    struct sockaddr_storage local;
    socklen_t local_len;
    FillSockaddr(family, opts.src, src_port, opts.scope_id, &local, &local_len);
    if (bind(fd, reinterpret_cast<struct sockaddr*>(&local), local_len) != 0) r = Fail(errno, "bind");
  }
  if (r.ok()) r = LocalPort(fd, &out->local_port);
  if (r.ok()) {
    struct sockaddr_storage to;
    socklen_t to_len;
    FillSockaddr(family, dst, dst_port, opts.scope_id, &to, &to_len);
    out->departure_ns = RealtimeNs();
    int rc = connect(fd, reinterpret_cast<struct sockaddr*>(&to), to_len);
    // EINTR on a non-blocking connect: the attempt goes on asynchronously, like EINPROGRESS.
    if (rc != 0 && errno != EINPROGRESS && errno != EINTR) {
      if (errno == ECONNREFUSED)
        out->immediate_err = ECONNREFUSED;
      else
        r = Fail(errno, "connect");
    }
  }
  if (!r.ok()) {
    CloseFd(fd);
    return r;
  }
  out->fd = fd;
  return Ok();
}

void AbortClose(int fd) {
  if (fd < 0) return;
  struct linger l;
  l.l_onoff = 1;
  l.l_linger = 0;
  (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  CloseFd(fd);
}

double RaiseFileLimit() {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur < rl.rlim_max) {
    struct rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  return rl.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(rl.rlim_cur);
}

bool CanSetMark() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = SetMark(fd, 1).ok();
  CloseFd(fd);
  return ok;
}

bool CanBindToDevice() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = BindDevice(fd, "lo").ok();
  CloseFd(fd);
  return ok;
}

}  // namespace mtr

namespace mtr {

bool KernelHasSctp() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_SCTP);
  if (fd < 0) fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_SCTP);
  if (fd < 0) return false;
  close(fd);
  return true;
}

bool HandshakeRttUs(int fd, uint32_t* rtt_us) {
  struct tcp_info info;
  std::memset(&info, 0, sizeof info);
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return false;
  if (len < offsetof(struct tcp_info, tcpi_rtt) + sizeof info.tcpi_rtt) return false;
  *rtt_us = info.tcpi_rtt;
  return true;
}

}  // namespace mtr
