#include "rst_stamps.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <cstring>

#include "privileges.h"

namespace mtr {

namespace {

constexpr uint32_t kTcpRst = 0x04;

constexpr uint32_t kSynAck = 0x12;

// The filter of one family's socket. Keeps a segment when its RST flag is set and its destination
// port is kMinPort or above; wide (flows): a RST or a SYN-ACK, to a port kMinFlowPort or above. The
// IPv4 socket sees the IP header first (X = its length, loads past it); the IPv6 one starts at the
// TCP header (loads from the start). Jumps are relative: the same for both.
struct Filter {
  struct sock_filter code[9];
  unsigned short len = 0;
  void Add(struct sock_filter s) { code[len++] = s; }
};

Filter BuildFilter(int family, bool wide) {
  const bool v4 = family == AF_INET;
  const uint16_t at = v4 ? BPF_IND : BPF_ABS;
  Filter f;
  if (v4) f.Add(BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0));  // X = IP header length
  f.Add(BPF_STMT(BPF_LD | BPF_B | at, 13));                // A = TCP flags
  if (wide) {
    f.Add(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kTcpRst, 2, 0));  // RST: to the port check
    f.Add(BPF_STMT(BPF_ALU | BPF_AND | BPF_K, kSynAck));
    f.Add(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kSynAck, 0, 3));   // SYN-ACK? else drop
  } else {
    f.Add(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kTcpRst, 0, 3));  // RST? else drop
  }
  f.Add(BPF_STMT(BPF_LD | BPF_H | at, 2));  // A = destination port
  f.Add(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, wide ? RstStamps::kMinFlowPort : RstStamps::kMinPort, 0, 1));
  f.Add(BPF_STMT(BPF_RET | BPF_K, 0xffff));
  f.Add(BPF_STMT(BPF_RET | BPF_K, 0));
  return f;
}

SysResult AttachFilter(int fd, int family, bool wide) {
  Filter f = BuildFilter(family, wide);
  struct sock_fprog prog;
  prog.filter = f.code;
  prog.len = f.len;
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) return Fail(errno, "setsockopt");
  return Ok();
}

uint16_t U16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

}  // namespace

SysResult RstStamps::Open(int family) {
  int& slot = family == AF_INET ? fd4_ : fd6_;
  if (slot >= 0) return Ok();
  int fd = OpenRawOrInherited(family, IPPROTO_TCP);  // the launcher's, when it opened one
  if (fd < 0) return Fail(-fd, "socket");
  SysResult r = AttachFilter(fd, family, wide_);
  const int on = 1;
  if (r.ok() && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) r = Fail(errno, "setsockopt");
  if (!r.ok()) {
    CloseFd(fd);
    return r;
  }
  slot = fd;
  return Ok();
}

void RstStamps::Close() {
  CloseFd(fd4_);
  CloseFd(fd6_);
  fd4_ = fd6_ = -1;
  entries_.clear();
}

void RstStamps::Drain() {
  if (fd4_ >= 0) DrainOne(fd4_, AF_INET);
  if (fd6_ >= 0) DrainOne(fd6_, AF_INET6);
}

void RstStamps::DrainFamily(int family) {
  const int fd = family == AF_INET ? fd4_ : fd6_;
  if (fd >= 0) DrainOne(fd, family);
}

int RstStamps::fd(int family) const { return family == AF_INET ? fd4_ : fd6_; }

SysResult RstStamps::WidenFilter() {
  for (int family : {AF_INET, AF_INET6}) {
    const int fd = family == AF_INET ? fd4_ : fd6_;
    if (fd < 0) continue;
    SysResult r = AttachFilter(fd, family, true);
    if (!r.ok()) return r;
  }
  wide_ = true;
  return Ok();
}

void RstStamps::DrainOne(int fd, int family) {
  // Only the headers matter: a longer segment is cut (MSG_TRUNC), which is fine.
  uint8_t data[kSegmentBytes];
  alignas(struct cmsghdr) uint8_t control[CMSG_SPACE(sizeof(struct timespec))];
  struct sockaddr_storage name;
  for (size_t n = 0; n < kMaxEntries; n++) {
    struct iovec iov = {data, sizeof data};
    struct msghdr msg;
    std::memset(&msg, 0, sizeof msg);
    msg.msg_name = &name;
    msg.msg_namelen = sizeof name;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t got = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN: drained (any other error: nothing more to read now)
    }
    const size_t len = static_cast<size_t>(got) < sizeof data ? static_cast<size_t>(got) : sizeof data;
    size_t tcp = 0;
    if (family == AF_INET) {
      if (len < 20) continue;
      tcp = static_cast<size_t>(data[0] & 0x0f) * 4;
    }
    if (len < tcp + 14) continue;
    int64_t ns = 0;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        ns = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
      }
    }
    const uint8_t* from = family == AF_INET ? data + 12 : reinterpret_cast<const uint8_t*>(&reinterpret_cast<struct sockaddr_in6*>(&name)->sin6_addr);
    if (sink_ != nullptr) {
      // a flow's answer: the kernel's stamp, or (none) the clock now
      const int64_t at = ns != 0 ? ns : RealtimeNs();
      sink_->AddWithExt(Source::kSegment, family, from, data, len, static_cast<double>(at - epoch_ns_));
    }
    // the table keeps what it kept before flows: RSTs to the probes' ports, kernel-stamped
    if (ns == 0 || (data[tcp + 13] & kTcpRst) == 0 || U16(data + tcp + 2) < kMinPort) continue;
    Entry e;
    e.family = family;
    std::memset(e.from, 0, sizeof e.from);
    std::memcpy(e.from, from, family == AF_INET ? 4 : 16);  // IPv4: the IP header's source
    e.from_port = U16(data + tcp);
    e.to_port = U16(data + tcp + 2);
    e.ns = ns;
    if (entries_.size() >= kMaxEntries) entries_.pop_front();
    entries_.push_back(e);
  }
}

int64_t RstStamps::Take(int family, const uint8_t* dst, uint16_t dst_port, uint16_t local_port, int64_t not_before_ns) {
  const size_t alen = family == AF_INET ? 4 : 16;
  // Newest first: the latest RST for this pair is the one that ended this probe's connect.
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->family != family || it->to_port != local_port || it->from_port != dst_port) continue;
    if (std::memcmp(it->from, dst, alen) != 0 || it->ns < not_before_ns) continue;
    const int64_t ns = it->ns;
    entries_.erase(std::next(it).base());
    return ns;
  }
  return 0;
}

}  // namespace mtr
