// The control messages of one sendmsg, shared by the send paths (Send4 and Send6 in sockets.cc,
// SendDgram in probe_sockets.cc): per-packet hop limit/TTL and traffic class/TOS, the PKTINFO that
// picks the source address and/or outgoing interface, and the transmit-stamp key. Built on the
// stack per send; nothing sticks to the socket.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#ifndef SCM_TS_OPT_ID
#define SCM_TS_OPT_ID 81  // include/uapi/asm-generic/socket.h, Linux 6.13
#endif

namespace mtr {

class ControlMessages {
 public:
  // An int-valued cmsg: IP_TTL, IP_TOS, IPV6_HOPLIMIT, IPV6_TCLASS, IPV6_DONTFRAG.
  void Int(int level, int type, int value) { Put(level, type, value); }
  // IP_PKTINFO: ifindex (0: routing decides) and ipi_spec_dst (spec_dst4: 4 bytes, or nullptr for none).
  void Pktinfo4(unsigned ifindex, const uint8_t* spec_dst4) {
    struct in_pktinfo info;
    std::memset(&info, 0, sizeof info);
    info.ipi_ifindex = static_cast<int>(ifindex);
    if (spec_dst4 != nullptr) std::memcpy(&info.ipi_spec_dst, spec_dst4, 4);
    Put(IPPROTO_IP, IP_PKTINFO, info);
  }
  // IPV6_PKTINFO: ifindex (0: routing decides) and the source address (src16: 16 bytes, or nullptr: the kernel's).
  void Pktinfo6(unsigned ifindex, const uint8_t* src16) {
    struct in6_pktinfo info;
    std::memset(&info, 0, sizeof info);
    if (src16 != nullptr) std::memcpy(&info.ipi6_addr, src16, 16);
    info.ipi6_ifindex = ifindex;
    Put(IPPROTO_IPV6, IPV6_PKTINFO, info);
  }
  // SCM_TS_OPT_ID: the id the packet's transmit timestamp carries (Linux 6.13+; older kernels: EINVAL).
  void TsKey(uint32_t key) { Put(SOL_SOCKET, SCM_TS_OPT_ID, key); }

  // Forgets what was built, to build another message's.
  void Clear() { used_ = 0; }

  // Points msg at what was built; with nothing built, msg carries no control data at all.
  void Attach(struct msghdr* msg) {
    msg->msg_control = used_ == 0 ? nullptr : buf_;
    msg->msg_controllen = used_;
  }

 private:
  // Room for the most any send path puts: three ints, one PKTINFO (IPv6's is the larger) and a key.
  static constexpr size_t kBytes =
      CMSG_SPACE(sizeof(int)) * 3 + CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(uint32_t));

  template <typename T>
  void Put(int level, int type, const T& value) {
    if (used_ + CMSG_SPACE(sizeof value) > kBytes) return;  // cannot happen with the calls above
    auto* c = reinterpret_cast<struct cmsghdr*>(buf_ + used_);
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(sizeof value);
    std::memcpy(CMSG_DATA(c), &value, sizeof value);
    used_ += CMSG_SPACE(sizeof value);
  }

  alignas(struct cmsghdr) uint8_t buf_[kBytes] = {};
  size_t used_ = 0;
};

}  // namespace mtr
