#include "process_guard.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>

#include "errors.h"

namespace mtr {

Napi::Value SetParentDeathSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    ThrowType(env, "setParentDeathSignal(signal: number)");
    return env.Undefined();
  }
  const double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d < NSIG) || d != static_cast<double>(static_cast<int>(d))) {
    ThrowType(env, "setParentDeathSignal: signal must be 0 or a signal number");
    return env.Undefined();
  }
  if (prctl(PR_SET_PDEATHSIG, static_cast<unsigned long>(d), 0, 0, 0) != 0) {
    ThrowErrno(env, errno, "prctl");
    return env.Undefined();
  }
  return env.Undefined();
}

}  // namespace mtr
