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
};

struct DropOutcome {
  SysResult result;               // first hard failure (setgroups/setgid/setuid/capset/prctl)
  bool caps_cleared = false;      // capget says effective, permitted and inheritable are all empty
  bool bounding_cleared = false;  // every capability dropped from the bounding set
  bool no_new_privs = false;
  bool all_threads = false;       // every thread of the process shows empty CapEff/CapPrm
  bool switched = false;          // uid/gid were changed
  uid_t uid = 0;
  gid_t gid = 0;
};

DropOutcome DropPrivileges(const DropRequest& req);

}  // namespace mtr
