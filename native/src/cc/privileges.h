// Dropping privileges once the raw sockets are open. Plain C++: no napi.h.
#pragma once

#include <sys/types.h>

#include "sockets.h"

namespace mtr {

struct DropRequest {
  bool has_uid = false;
  uid_t uid = 0;
  bool has_gid = false;
  gid_t gid = 0;
  // Keep CAP_NET_ADMIN in the calling thread's permitted set (effective and inheritable empty,
  // bounding set = just CAP_NET_ADMIN) so SO_MARK can still be set, raised around each setsockopt
  // (SetMarkRaising). Ignored when a uid/gid switch is asked for, or the cap is not permitted now.
  bool keep_net_admin = false;
};

struct DropOutcome {
  SysResult result;               // first hard failure (setgroups/setgid/setuid/capset/prctl)
  bool caps_cleared = false;      // capget says effective, permitted and inheritable are all empty
  bool bounding_cleared = false;  // every capability (but a kept CAP_NET_ADMIN) dropped from the bounding set
  bool no_new_privs = false;
  bool all_threads = false;       // every other thread shows empty CapEff/CapPrm; the caller empty CapEff
                                  // and CapPrm empty or (kept) just CAP_NET_ADMIN
  bool kept_net_admin = false;    // the caller holds CAP_NET_ADMIN in its permitted set (only)
  bool switched = false;          // uid/gid were changed
  uid_t uid = 0;
  gid_t gid = 0;
};

DropOutcome DropPrivileges(const DropRequest& req);

// Scoped: when the calling thread holds CAP_NET_ADMIN in its permitted set but not in its effective
// set (as DropPrivileges keeps it), raises it into the effective set; the destructor lowers it again.
// Otherwise does nothing beyond one capget. Wrap exactly the one syscall that needs it (SO_MARK).
class NetAdminRaise {
 public:
  NetAdminRaise();
  ~NetAdminRaise();
  NetAdminRaise(const NetAdminRaise&) = delete;
  NetAdminRaise& operator=(const NetAdminRaise&) = delete;
  bool raised() const { return raised_; }

 private:
  bool raised_ = false;
  uint32_t effective_[2] = {};  // the sets before raising, as capget gave them
  uint32_t permitted_[2] = {};
  uint32_t inheritable_[2] = {};
};

}  // namespace mtr

namespace mtr {

// Raw sockets opened by the launcher (mtr-packet-launch) before it dropped its privileges, named
// in MTR_PACKET_TS_FDS as "family:protocol:fd,...". Each is handed out once, to the first open of
// the same family and protocol; an entry that is not such a raw socket is ignored. The returned fd
// is made non-blocking and close-on-exec. -1 when there is none (left).
int TakeInheritedRaw(int family, int protocol);

// An inherited raw socket (TakeInheritedRaw), else a fresh one (OpenRaw): fd >= 0 or -errno.
int OpenRawOrInherited(int family, int protocol);

}  // namespace mtr

namespace mtr {

// The launcher's mark helper (MTR_PACKET_TS_MARK_FD): a process that keeps CAP_NET_ADMIN so this
// one holds none. Returns false when there is no helper; otherwise sets *err to 0 or the errno of
// SO_MARK on fd as the helper reports it (EPERM if the helper cannot be reached).
bool SetMarkByHelper(int fd, uint32_t mark, int* err);

}  // namespace mtr
