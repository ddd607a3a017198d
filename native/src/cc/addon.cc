// Module entry: exports Engine, dropPrivileges, errnoName, setParentDeathSignal and batchLayout. No process-wide state: everything
// lives in the Engine objects of each env (main thread or worker).
#include <napi.h>

#include "batch.h"
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

// batchLayout: the slots of a batch as batch.h numbers them, for native/src/batch.ts's test.
Napi::Object BatchLayout(Napi::Env env) {
  namespace m = mtr::meta_slot;
  namespace e = mtr::ext_slot;
  Napi::Object meta = Napi::Object::New(env);
  meta.Set("family", static_cast<double>(m::kFamily));
  meta.Set("fromOffset", static_cast<double>(m::kFromOffset));
  meta.Set("dataOffset", static_cast<double>(m::kDataOffset));
  meta.Set("dataLength", static_cast<double>(m::kDataLength));
  meta.Set("rxNs", static_cast<double>(m::kRxNs));
  meta.Set("hopLimit", static_cast<double>(m::kHopLimit));
  meta.Set("count", static_cast<double>(m::kCount));
  Napi::Object ext = Napi::Object::New(env);
  ext.Set("source", static_cast<double>(e::kSource));
  ext.Set("icmpType", static_cast<double>(e::kIcmpType));
  ext.Set("icmpCode", static_cast<double>(e::kIcmpCode));
  ext.Set("errProto", static_cast<double>(e::kErrProto));
  ext.Set("origDstPort", static_cast<double>(e::kOrigDstPort));
  ext.Set("origSrcPort", static_cast<double>(e::kOrigSrcPort));
  ext.Set("tcpId", static_cast<double>(e::kTcpId));
  ext.Set("tcpErrno", static_cast<double>(e::kTcpErrno));
  ext.Set("origDstOffset", static_cast<double>(e::kOrigDstOffset));
  ext.Set("txId", static_cast<double>(e::kTxId));
  ext.Set("count", static_cast<double>(e::kCount));
  Napi::Object sources = Napi::Object::New(env);
  sources.Set("raw", static_cast<double>(mtr::Source::kRaw));
  sources.Set("ping", static_cast<double>(mtr::Source::kPing));
  sources.Set("error", static_cast<double>(mtr::Source::kError));
  sources.Set("tcp", static_cast<double>(mtr::Source::kTcp));
  sources.Set("tx", static_cast<double>(mtr::Source::kTx));
  sources.Set("segment", static_cast<double>(mtr::Source::kSegment));
  sources.Set("count", static_cast<double>(mtr::Source::kCount));
  namespace ss = mtr::send_slot;
  Napi::Object send = Napi::Object::New(env);
  const std::pair<const char*, size_t> send_slots[] = {
      {"family", ss::kFamily},       {"proto", ss::kProto},       {"dataOffset", ss::kDataOffset},
      {"dataLength", ss::kDataLength}, {"dstOffset", ss::kDstOffset}, {"srcOffset", ss::kSrcOffset},
      {"hopLimit", ss::kHopLimit},   {"trafficClass", ss::kTrafficClass}, {"mark", ss::kMark},
      {"txId", ss::kTxId},           {"scopeId", ss::kScopeId},   {"dontFragment", ss::kDontFragment},
      {"count", ss::kCount}};
  for (const auto& [name, slot] : send_slots) send.Set(name, static_cast<double>(slot));
  Napi::Object send_result = Napi::Object::New(env);
  send_result.Set("departure", static_cast<double>(mtr::send_result::kDeparture));
  send_result.Set("errno", static_cast<double>(mtr::send_result::kErrno));
  send_result.Set("count", static_cast<double>(mtr::send_result::kCount));
  Napi::Object layout = Napi::Object::New(env);
  layout.Set("send", send);
  layout.Set("sendResult", send_result);
  layout.Set("meta", meta);
  layout.Set("ext", ext);
  layout.Set("sources", sources);
  return layout;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Engine", mtr::Engine::Define(env));
  exports.Set("dropPrivileges", Napi::Function::New<DropPrivileges>(env, "dropPrivileges"));
  exports.Set("errnoName", Napi::Function::New<ErrnoName>(env, "errnoName"));
  exports.Set("batchLayout", BatchLayout(env));
  exports.Set("setParentDeathSignal", Napi::Function::New<mtr::SetParentDeathSignal>(env, "setParentDeathSignal"));
  return exports;
}

}  // namespace

NODE_API_MODULE(mtr_native, Init)
