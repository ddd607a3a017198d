#include "privileges.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace mtr {

namespace {

bool CapsAllClear() {
  struct __user_cap_header_struct header;
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  std::memset(data, 0, sizeof data);
  if (syscall(SYS_capget, &header, data) != 0) return false;
  for (const auto& d : data) {
    if (d.effective != 0 || d.permitted != 0 || d.inheritable != 0) return false;
  }
  return true;
}

}  // namespace

DropOutcome DropPrivileges(const DropRequest& req) {
  DropOutcome out;

  // The bounding set needs CAP_SETPCAP, so it goes first. Stops at the first capability
  // number the kernel does not know (EINVAL).
  out.bounding_cleared = true;
  for (int cap = 0; cap < 64; cap++) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break;  // past CAP_LAST_CAP
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      out.bounding_cleared = false;
      break;
    }
  }
  (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);

  // A uid change away from 0 with KEEPCAPS off also empties permitted/effective on every thread.
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) {
    out.result = Fail(errno, "prctl");
  }

  if (out.result.ok() && geteuid() == 0 && (req.has_uid || req.has_gid)) {
    // glibc applies these to every thread of the process.
    if (setgroups(0, nullptr) != 0) {
      out.result = Fail(errno, "setgroups");
    } else if (req.has_gid && setgid(req.gid) != 0) {
      out.result = Fail(errno, "setgid");
    } else if (req.has_uid && setuid(req.uid) != 0) {
      out.result = Fail(errno, "setuid");
    } else {
      out.switched = true;
    }
  }

  if (out.result.ok()) {
    struct __user_cap_header_struct header;
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    std::memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &header, data) != 0) out.result = Fail(errno, "capset");
  }

  if (out.result.ok()) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      out.result = Fail(errno, "prctl");
    } else {
      out.no_new_privs = true;
    }
  }

  out.caps_cleared = CapsAllClear();
  out.uid = getuid();
  out.gid = getgid();
  return out;
}

}  // namespace mtr
