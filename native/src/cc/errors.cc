#include "errors.h"

#include <string.h>

#include <string>

namespace mtr {

std::string ErrnoName(int err) {
  if (err < 0) err = -err;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
#endif
  return "E" + std::to_string(err);
}

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall) {
  const std::string code = ErrnoName(err);
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + " " + code + " (" + strerror(err) + ")");
  Napi::Object o = e.Value();
  o.Set("code", Napi::String::New(env, code));
  o.Set("errno", Napi::Number::New(env, err));
  o.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

void ThrowErrno(Napi::Env env, int err, const char* syscall) { ErrnoError(env, err, syscall).ThrowAsJavaScriptException(); }

void ThrowType(Napi::Env env, const char* message) {
  Napi::TypeError e = Napi::TypeError::New(env, message);
  e.Value().Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  e.ThrowAsJavaScriptException();
}

}  // namespace mtr
