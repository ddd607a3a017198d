// The only place JS errors are made. They look like Node's own system errors:
// an Error with code ('ENETUNREACH'), errno (positive, 101) and syscall ('sendto').
#pragma once

#include <napi.h>

namespace mtr {

// "ENETUNREACH" for 101; "E<n>" for a number nothing knows.
std::string ErrnoName(int err);

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall);

// Throws the error into JS (exceptions are disabled: the caller must return right after).
void ThrowErrno(Napi::Env env, int err, const char* syscall);
void ThrowType(Napi::Env env, const char* message);

}  // namespace mtr
