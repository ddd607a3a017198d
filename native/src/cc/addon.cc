// Module entry: exports Engine, dropPrivileges, errnoName and setParentDeathSignal. No process-wide state: everything
// lives in the Engine objects of each env (main thread or worker).
#include <napi.h>

#include "engine.h"
#include "errors.h"
#include "privileges.h"
#include "process_guard.h"

namespace {

// dropPrivileges(uid?: number, gid?: number, keepNetAdmin?: boolean):
//   { capsCleared, boundingCleared, noNewPrivs, allThreads, switched, keptNetAdmin, uid, gid }
Napi::Value DropPrivileges(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  mtr::DropRequest req;
  for (size_t i = 0; i < 2; i++) {
    if (info.Length() <= i || info[i].IsUndefined()) continue;
    if (!info[i].IsNumber()) {
      mtr::ThrowType(env, "dropPrivileges(uid?: number, gid?: number)");
      return env.Undefined();
    }
    double d = info[i].As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d < 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) {
      mtr::ThrowType(env, "dropPrivileges: uid and gid must be integers in 0..2^32-2");
      return env.Undefined();
    }
    if (i == 0) {
      req.has_uid = true;
      req.uid = static_cast<uid_t>(d);
    } else {
      req.has_gid = true;
      req.gid = static_cast<gid_t>(d);
    }
  }
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!info[2].IsBoolean()) {
      mtr::ThrowType(env, "dropPrivileges(uid?: number, gid?: number, keepNetAdmin?: boolean)");
      return env.Undefined();
    }
    req.keep_net_admin = info[2].As<Napi::Boolean>().Value();
  }
  mtr::DropOutcome out = mtr::DropPrivileges(req);
  if (!out.result.ok()) {
    mtr::ThrowErrno(env, out.result.err, out.result.syscall);
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("capsCleared", out.caps_cleared);
  o.Set("boundingCleared", out.bounding_cleared);
  o.Set("noNewPrivs", out.no_new_privs);
  o.Set("allThreads", out.all_threads);
  o.Set("switched", out.switched);
  o.Set("keptNetAdmin", out.kept_net_admin);
  o.Set("uid", static_cast<double>(out.uid));
  o.Set("gid", static_cast<double>(out.gid));
  return o;
}

Napi::Value ErrnoName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    mtr::ThrowType(env, "errnoName(errno: number)");
    return env.Undefined();
  }
  return Napi::String::New(env, mtr::ErrnoName(info[0].As<Napi::Number>().Int32Value()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Engine", mtr::Engine::Define(env));
  exports.Set("dropPrivileges", Napi::Function::New<DropPrivileges>(env, "dropPrivileges"));
  exports.Set("errnoName", Napi::Function::New<ErrnoName>(env, "errnoName"));
  exports.Set("setParentDeathSignal", Napi::Function::New<mtr::SetParentDeathSignal>(env, "setParentDeathSignal"));
  return exports;
}

}  // namespace

NODE_API_MODULE(mtr_native, Init)
