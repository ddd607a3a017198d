// What ties the daemon's life to its parent's: the parent-death signal (prctl PR_SET_PDEATHSIG).
#pragma once

#include <napi.h>

namespace mtr {

// setParentDeathSignal(signal: number): undefined. Asks the kernel to send `signal` to this
// process when the thread that created it exits (0 turns it off). The setting is cleared by a
// change of credentials (setuid, setgid, capabilities of a set-user-ID exec): call it after
// dropping privileges. Throws a Node-style error from prctl.
Napi::Value SetParentDeathSignal(const Napi::CallbackInfo& info);

}  // namespace mtr
