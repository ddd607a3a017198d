#include "engine.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "errors.h"

namespace mtr {

namespace {

constexpr size_t kMaxPacketsPerWake = 1024;  // then yield to the loop; the level-triggered poll fires again
constexpr size_t kMetaPerPacket = 5;         // family, fromOffset, dataOffset, dataLength, rxNs

bool GetBytes(const Napi::Value& v, const uint8_t** data, size_t* len) {
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array u = v.As<Napi::Uint8Array>();
  *data = u.Data();
  *len = u.ByteLength();
  return true;
}

bool GetUint32(const Napi::Value& v, uint32_t* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) return false;
  *out = static_cast<uint32_t>(d);
  return true;
}

// An IPv6 hop limit or traffic class: 0..255, or -1 for the kernel's default (as the socket options take it).
bool GetByteOrDefault(const Napi::Value& v, int* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= -1 && d <= 255) || d != static_cast<double>(static_cast<int>(d))) return false;
  *out = static_cast<int>(d);
  return true;
}

bool GetDevice(const Napi::Value& v, std::string* out) {
  if (v.IsUndefined() || v.IsNull()) {
    out->clear();
    return true;
  }
  if (!v.IsString()) return false;
  *out = v.As<Napi::String>().Utf8Value();
  return out->size() < 16;  // IFNAMSIZ incl. NUL
}

}  // namespace

Napi::Function Engine::Define(Napi::Env env) {
  return DefineClass(env, "Engine",
                     {
                         InstanceMethod<&Engine::Open>("open"),
                         InstanceMethod<&Engine::SendIPv4>("sendIPv4"),
                         InstanceMethod<&Engine::SendIPv6>("sendIPv6"),
                         InstanceMethod<&Engine::SourceAddress>("sourceAddress"),
                         InstanceMethod<&Engine::Now>("now"),
                         InstanceMethod<&Engine::Close>("close"),
                         InstanceMethod<&Engine::JsRef>("ref"),
                         InstanceMethod<&Engine::JsUnref>("unref"),
                         InstanceMethod<&Engine::Stats>("stats"),
                     });
}

Engine::Engine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Engine>(info), env_(info.Env()) {
  epoch_ns_ = RealtimeNs();
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    ThrowType(env, "Engine(onBatch): onBatch must be a function");
    return;
  }
  on_batch_ = Napi::Persistent(info[0].As<Napi::Function>());
  async_ = std::make_unique<Napi::AsyncContext>(env, "mtr:Engine", info.This().As<Napi::Object>());
  if (napi_get_uv_event_loop(env, &loop_) != napi_ok || loop_ == nullptr) {
    Napi::Error::New(env, "mtr native: no libuv loop for this environment").ThrowAsJavaScriptException();
    return;
  }
  received_.resize(Receiver::kSlots);
}

Engine::~Engine() {
  held_ = false;  // the wrapper's reference is going away with the object: nothing to release
  CloseAll();
}

SysResult Engine::StartPoll(Family& fam, int family) {
  auto* p = new Poller();
  p->owner = this;
  p->fd = fam.recv_fd;
  p->receiver = std::make_unique<Receiver>(family);
  int rc = uv_poll_init_socket(loop_, &p->handle, fam.recv_fd);
  if (rc != 0) {
    delete p;
    return Fail(-rc, "uv_poll_init");
  }
  p->handle.data = p;
  rc = uv_poll_start(&p->handle, UV_READABLE, &Engine::OnReadable);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), &Engine::OnPollClosed);
    return Fail(-rc, "uv_poll_start");
  }
  if (!refed_) uv_unref(reinterpret_cast<uv_handle_t*>(&p->handle));
  fam.poller = p;
  return Ok();
}

SysResult Engine::OpenIPv4() {
  int rfd = OpenRaw(AF_INET, IPPROTO_ICMP);
  if (rfd < 0) return Fail(-rfd, "socket");
  SysResult r = SetupIcmp4Receive(rfd);
  if (!r.ok()) {
    CloseFd(rfd);
    return r;
  }
  // IPPROTO_RAW implies IP_HDRINCL: the packet carries its own IPv4 header. Such a socket never receives.
  int sfd = OpenRaw(AF_INET, IPPROTO_RAW);
  if (sfd < 0) {
    CloseFd(rfd);
    return Fail(-sfd, "socket");
  }
  v4_.recv_fd = rfd;
  send4_.fd = sfd;
  r = StartPoll(v4_, AF_INET);
  if (!r.ok()) {
    CloseFd(rfd);
    CloseFd(sfd);
    v4_.recv_fd = -1;
    send4_.fd = -1;
    return r;
  }
  v4_.mode = Mode::kRaw;
  return Ok();
}

SysResult Engine::OpenIPv6() {
  int rfd = OpenRaw(AF_INET6, IPPROTO_ICMPV6);
  if (rfd < 0) return Fail(-rfd, "socket");
  SysResult r = SetupIcmp6Receive(rfd);
  if (!r.ok()) {
    CloseFd(rfd);
    return r;
  }
  static const int kProtocols[kV6Count] = {IPPROTO_ICMPV6, IPPROTO_UDP, IPPROTO_TCP, IPPROTO_SCTP};
  std::array<int, kV6Count> fds;
  fds.fill(-1);
  for (int i = 0; i < kV6Count && r.ok(); i++) {
    int fd = OpenRaw(AF_INET6, kProtocols[i]);
    if (fd < 0) {
      // SCTP is optional; the others are what an IPv6 prober needs.
      if (i != kV6Sctp) r = Fail(-fd, "socket");
      continue;
    }
    fds[i] = fd;
    r = SetupSendOnly(fd);
    // The kernel fills the UDP/TCP checksum at this offset (ICMPv6's is always kernel-computed;
    // SCTP's CRC32c is computed by the caller).
    if (r.ok() && i == kV6Udp) r = SetIpv6Checksum(fd, 6);
    if (r.ok() && i == kV6Tcp) r = SetIpv6Checksum(fd, 16);
  }
  if (r.ok()) {
    v6_.recv_fd = rfd;
    r = StartPoll(v6_, AF_INET6);
  }
  if (!r.ok()) {
    CloseFd(rfd);
    for (int fd : fds) CloseFd(fd);
    v6_.recv_fd = -1;
    return r;
  }
  for (int i = 0; i < kV6Count; i++) send6_[i].fd = fds[i];
  v6_.mode = Mode::kRaw;
  return Ok();
}

Napi::Value Engine::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) {
    ThrowErrno(env, EBADF, "open");
    return env.Undefined();
  }
  if (!opened_) {
    SysResult r4 = OpenIPv4();
    if (!r4.ok()) {
      v4_.error = r4.err;
      v4_.error_syscall = r4.syscall;
    }
    SysResult r6 = OpenIPv6();
    if (!r6.ok()) {
      v6_.error = r6.err;
      v6_.error_syscall = r6.syscall;
    }
    if (!r4.ok() && !r6.ok()) {
      ThrowErrno(env, r4.err, r4.syscall);
      return env.Undefined();
    }
    opened_ = true;
    Ref();  // while open, the polls call back into this object: keep it alive
    held_ = true;
    tracker_ = new CloseTracker();
    tracker_->engine = this;
    for (Family* f : {&v4_, &v6_}) {
      if (f->poller == nullptr) continue;
      f->poller->tracker = tracker_;
      tracker_->pending++;
    }
    if (napi_add_async_cleanup_hook(env_, &Engine::OnEnvCleanup, tracker_, &tracker_->hook) != napi_ok) {
      tracker_->hook = nullptr;
    }
  }

  auto mode_name = [](Mode m) {
    switch (m) {
      case Mode::kRaw: return "raw";
      case Mode::kDgram: return "dgram";
      case Mode::kNone: break;
    }
    return "none";
  };
  Napi::Object out = Napi::Object::New(env);
  out.Set("ip4", mode_name(v4_.mode));
  out.Set("ip6", mode_name(v6_.mode));
  if (v4_.mode == Mode::kNone) out.Set("ip4Error", ErrnoError(env, v4_.error, v4_.error_syscall).Value());
  if (v6_.mode == Mode::kNone) out.Set("ip6Error", ErrnoError(env, v6_.error, v6_.error_syscall).Value());
  // SCTP probes are raw packets: IPv4 through the header-including socket, IPv6 through its own.
  out.Set("sctp", v4_.mode == Mode::kRaw || send6_[kV6Sctp].fd >= 0);
  return out;
}

SysResult Engine::Configure(SendSocket& s, uint32_t mark, const std::string& device) {
  if (s.mark != mark) {
    SysResult r = SetMark(s.fd, mark);
    if (!r.ok()) return r;
    s.mark = mark;
  }
  if (s.device != device) {
    SysResult r = BindDevice(s.fd, device);
    if (!r.ok()) return r;
    s.device = device;
  }
  return Ok();
}

// sendIPv4(packet: Uint8Array, dst: Uint8Array(4), mark: number, device?: string): number
Napi::Value Engine::SendIPv4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t *packet, *dst;
  size_t len, dst_len;
  uint32_t mark = 0;
  std::string device;
  if (info.Length() < 2 || !GetBytes(info[0], &packet, &len) || !GetBytes(info[1], &dst, &dst_len) || dst_len != 4 ||
      (info.Length() > 2 && !info[2].IsUndefined() && !GetUint32(info[2], &mark)) ||
      (info.Length() > 3 && !GetDevice(info[3], &device))) {
    ThrowType(env, "sendIPv4(packet: Uint8Array, dst: Uint8Array(4), mark?: uint32, device?: string)");
    return env.Undefined();
  }
  if (send4_.fd < 0) {
    ThrowErrno(env, v4_.mode == Mode::kNone && opened_ ? EAFNOSUPPORT : EBADF, "sendto");
    return env.Undefined();
  }
  SysResult r = Configure(send4_, mark, device);
  int64_t departure = 0;
  if (r.ok()) r = Send4(send4_.fd, packet, len, dst, &departure);
  if (!r.ok()) {
    ThrowErrno(env, r.err, r.syscall);
    return env.Undefined();
  }
  return Napi::Number::New(env, Rel(departure));
}

// sendIPv6(proto, packet, dst(16), hopLimit, trafficClass, src?: Uint8Array(16), mark?, device?, scopeId?): number
Napi::Value Engine::SendIPv6(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t proto = 0, mark = 0, scope = 0;
  int hop = 0, tclass = 0;
  const uint8_t *packet, *dst, *src = nullptr;
  size_t len, dst_len, src_len = 16;
  std::string device;
  bool ok = info.Length() >= 5 && GetUint32(info[0], &proto) && GetBytes(info[1], &packet, &len) &&
            GetBytes(info[2], &dst, &dst_len) && dst_len == 16 && GetByteOrDefault(info[3], &hop) &&
            GetByteOrDefault(info[4], &tclass);
  if (ok && info.Length() > 5 && !info[5].IsUndefined() && !info[5].IsNull())
    ok = GetBytes(info[5], &src, &src_len) && src_len == 16;
  if (ok && info.Length() > 6 && !info[6].IsUndefined()) ok = GetUint32(info[6], &mark);
  if (ok && info.Length() > 7) ok = GetDevice(info[7], &device);
  if (ok && info.Length() > 8 && !info[8].IsUndefined()) ok = GetUint32(info[8], &scope);
  if (!ok) {
    ThrowType(env,
              "sendIPv6(proto, packet: Uint8Array, dst: Uint8Array(16), hopLimit: -1..255, trafficClass: -1..255, "
              "src?: Uint8Array(16), mark?: uint32, device?: string, scopeId?: uint32)");
    return env.Undefined();
  }
  int index;
  switch (proto) {
    case IPPROTO_ICMPV6: index = kV6Icmp; break;
    case IPPROTO_UDP: index = kV6Udp; break;
    case IPPROTO_TCP: index = kV6Tcp; break;
    case IPPROTO_SCTP: index = kV6Sctp; break;
    default:
      ThrowErrno(env, EPROTONOSUPPORT, "sendmsg");
      return env.Undefined();
  }
  SendSocket& s = send6_[index];
  if (s.fd < 0) {
    ThrowErrno(env, !opened_ || closed_ ? EBADF : (v6_.mode == Mode::kNone ? EAFNOSUPPORT : EPROTONOSUPPORT),
               "sendmsg");
    return env.Undefined();
  }
  SysResult r = Configure(s, mark, device);
  Send6Options opts;
  opts.hop_limit = hop;
  opts.traffic_class = tclass;
  opts.src = src;
  opts.scope_id = scope;
  int64_t departure = 0;
  if (r.ok()) r = Send6(s.fd, packet, len, dst, opts, &departure);
  if (!r.ok()) {
    ThrowErrno(env, r.err, r.syscall);
    return env.Undefined();
  }
  return Napi::Number::New(env, Rel(departure));
}

// sourceAddress(family: 4|6, dst: Uint8Array, scopeId?, mark?, device?): Uint8Array
Napi::Value Engine::SourceAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t family = 0, scope = 0, mark = 0;
  const uint8_t* dst;
  size_t dst_len;
  std::string device;
  bool ok = info.Length() >= 2 && GetUint32(info[0], &family) && (family == 4 || family == 6) &&
            GetBytes(info[1], &dst, &dst_len) && dst_len == (family == 4 ? 4u : 16u);
  if (ok && info.Length() > 2 && !info[2].IsUndefined()) ok = GetUint32(info[2], &scope);
  if (ok && info.Length() > 3 && !info[3].IsUndefined()) ok = GetUint32(info[3], &mark);
  if (ok && info.Length() > 4) ok = GetDevice(info[4], &device);
  if (!ok) {
    ThrowType(env, "sourceAddress(family: 4 | 6, dst: Uint8Array(4|16), scopeId?, mark?, device?)");
    return env.Undefined();
  }
  uint8_t out[16];
  SysResult r = mtr::SourceAddress(family == 4 ? AF_INET : AF_INET6, dst, scope, mark, device, out);
  if (!r.ok()) {
    ThrowErrno(env, r.err, r.syscall);
    return env.Undefined();
  }
  const size_t n = family == 4 ? 4 : 16;
  Napi::Uint8Array result = Napi::Uint8Array::New(env, n);
  std::memcpy(result.Data(), out, n);
  return result;
}

Napi::Value Engine::Now(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), Rel(RealtimeNs())); }

Napi::Value Engine::Close(const Napi::CallbackInfo& info) {
  CloseAll();
  return info.Env().Undefined();
}

Napi::Value Engine::JsRef(const Napi::CallbackInfo& info) {
  refed_ = true;
  for (Family* f : {&v4_, &v6_})
    if (f->poller != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(&f->poller->handle));
  return info.This();
}

Napi::Value Engine::JsUnref(const Napi::CallbackInfo& info) {
  refed_ = false;
  for (Family* f : {&v4_, &v6_})
    if (f->poller != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(&f->poller->handle));
  return info.This();
}

Napi::Value Engine::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("packets", static_cast<double>(packets_));
  o.Set("skipped", static_cast<double>(skipped_));
  o.Set("readErrors", static_cast<double>(read_errors_));
  o.Set("batches", static_cast<double>(batches_));
  return o;
}

void Engine::CloseAll() {
  if (closed_) return;
  closed_ = true;
  for (Family* f : {&v4_, &v6_}) {
    if (f->poller != nullptr) {
      Poller* p = f->poller;
      f->poller = nullptr;
      p->owner = nullptr;
      uv_poll_stop(&p->handle);  // stop polling before the fd goes away
      uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), &Engine::OnPollClosed);
    }
    CloseFd(f->recv_fd);
    f->recv_fd = -1;
    if (f->mode != Mode::kNone) f->mode = Mode::kNone;
  }
  CloseFd(send4_.fd);
  send4_.fd = -1;
  for (SendSocket& s : send6_) {
    CloseFd(s.fd);
    s.fd = -1;
  }
  if (tracker_ != nullptr) {
    tracker_->engine = nullptr;  // the tracker now belongs to the closing poll handles
    tracker_ = nullptr;
  }
  if (held_) {
    held_ = false;
    Unref();
  }
}

void Engine::OnEnvCleanup(napi_async_cleanup_hook_handle, void* arg) {
  // The env is going away with the engine still open: close now; the hook is removed by the
  // last close callback (OnPollClosed), which lets the teardown go on.
  auto* tracker = static_cast<CloseTracker*>(arg);
  if (tracker->engine != nullptr) tracker->engine->CloseAll();
}

void Engine::OnPollClosed(uv_handle_t* handle) {
  auto* p = static_cast<Poller*>(handle->data);
  CloseTracker* tracker = p->tracker;
  delete p;
  if (tracker == nullptr) return;
  if (--tracker->pending > 0) return;
  if (tracker->hook != nullptr) napi_remove_async_cleanup_hook(tracker->hook);
  delete tracker;
}

void Engine::OnReadable(uv_poll_t* handle, int status, int events) {
  auto* p = static_cast<Poller*>(handle->data);
  Engine* self = p->owner;
  if (self == nullptr) return;
  if (status < 0) {
    // A poll error on a raw socket is not going away by itself: stop instead of spinning.
    self->read_errors_++;
    uv_poll_stop(handle);
    return;
  }
  if ((events & UV_READABLE) == 0) return;
  self->Drain(p);  // may call into JS: nothing touches self or p after it
}

void Engine::Drain(Poller* p) {
  batch_bytes_.clear();
  batch_meta_.clear();
  size_t count = 0;
  for (size_t reads = 0; count < kMaxPacketsPerWake && reads < kMaxPacketsPerWake; reads++) {
    int n = p->receiver->Read(p->fd, received_.data(), &skipped_);
    if (n < 0) {
      if (n != -EAGAIN && n != -EWOULDBLOCK) read_errors_++;
      break;
    }
    for (int i = 0; i < n; i++) {
      const Received& r = received_[i];
      const size_t from_len = r.family == AF_INET ? 4 : 16;
      const size_t from_off = batch_bytes_.size();
      batch_bytes_.insert(batch_bytes_.end(), r.from, r.from + from_len);
      const size_t data_off = batch_bytes_.size();
      batch_bytes_.insert(batch_bytes_.end(), r.data, r.data + r.len);
      batch_meta_.push_back(r.family == AF_INET ? 4 : 6);
      batch_meta_.push_back(static_cast<double>(from_off));
      batch_meta_.push_back(static_cast<double>(data_off));
      batch_meta_.push_back(static_cast<double>(r.len));
      batch_meta_.push_back(Rel(r.rx_ns));
      count++;
    }
  }
  if (count == 0) return;
  packets_ += count;
  batches_++;

  // Raw napi here: while a worker is being terminated every call may fail, and the C++ wrappers
  // would turn such a failure into a fatal error. On any failure the batch is dropped.
  napi_env env = env_;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  void* data = nullptr;
  napi_value buffer, meta_buffer, meta, callback, recv;
  const size_t meta_bytes = batch_meta_.size() * sizeof(double);
  bool ok = napi_create_arraybuffer(env, batch_bytes_.size(), &data, &buffer) == napi_ok;
  if (ok) std::memcpy(data, batch_bytes_.data(), batch_bytes_.size());
  ok = ok && napi_create_arraybuffer(env, meta_bytes, &data, &meta_buffer) == napi_ok;
  if (ok) std::memcpy(data, batch_meta_.data(), meta_bytes);
  ok = ok && napi_create_typedarray(env, napi_float64_array, batch_meta_.size(), meta_buffer, 0, &meta) == napi_ok;
  ok = ok && napi_get_reference_value(env, on_batch_, &callback) == napi_ok && callback != nullptr;
  ok = ok && napi_get_global(env, &recv) == napi_ok;  // napi_make_callback wants an object receiver
  if (ok) {
    napi_value argv[2] = {buffer, meta};
    napi_value result;
    napi_status status = napi_make_callback(env, *async_, recv, callback, 2, argv, &result);
    bool pending = false;
    if (status != napi_ok && napi_is_exception_pending(env, &pending) == napi_ok && pending) {
      // The JS handler threw: report it like any uncaught exception instead of losing it. (When
      // the env is shutting down this fails quietly and the exception goes with the env.)
      napi_value error;
      if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

}  // namespace mtr
