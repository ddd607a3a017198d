// Engine: construction, open() (raw sockets, else the datagram sockets of unprivileged mode),
// the receive drains and the delivery of batches to JS. The rest is split by concern:
// engine_send.cc (send paths), engine_tx.cc (transmit stamps), engine_tcp.cc (TCP probes),
// engine_handles.cc (poll and flush handles, their lifetime); batch.h (the batch layout), args.h
// (argument parsing), cmsg.h (control messages of a send).
#include "engine.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "errors.h"
#include "name_hold.h"
#include "privileges.h"

namespace mtr {

namespace {

constexpr double kAbsent = std::numeric_limits<double>::quiet_NaN();

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
                         InstanceMethod<&Engine::SendDgramJs>("sendDgram"),
                         InstanceMethod<&Engine::SendBatchJs>("sendBatch"),
                         InstanceMethod<&Engine::ConnectTcp>("connectTcp"),
                         InstanceMethod<&Engine::CloseTcp>("closeTcp"),
                         InstanceMethod<&Engine::ProbeCapabilities>("probeCapabilities"),
                         InstanceMethod<&Engine::HoldName>("holdName"),
                         InstanceMethod<&Engine::WatchSegments>("watchSegments"),
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

SysResult Engine::OpenDgramFamily(Family& fam, int family) {
  const int icmp = family == AF_INET ? static_cast<int>(IPPROTO_ICMP) : static_cast<int>(IPPROTO_ICMPV6);
  int pfd = OpenDgram(family, icmp);
  if (pfd < 0) return Fail(-pfd, "socket");
  uint16_t ping_port = 0, udp_port = 0;
  SysResult r = SetupDgram(pfd, family, &ping_port);
  int ufd = -1;
  if (r.ok()) {
    ufd = OpenDgram(family, IPPROTO_UDP);
    if (ufd < 0) r = Fail(-ufd, "socket");
  }
  if (r.ok()) r = SetupDgram(ufd, family, &udp_port);
  if (r.ok()) r = StartPoll(&fam.poller, pfd, family, PollKind::kPing, ping_port);
  if (r.ok()) r = StartPoll(&fam.udp_poller, ufd, family, PollKind::kUdp, udp_port);
  if (!r.ok()) {
    ClosePoller(&fam.poller);
    ClosePoller(&fam.udp_poller);
    CloseFd(pfd);
    CloseFd(ufd);
    return r;
  }
  fam.recv_fd = pfd;
  fam.udp_fd = ufd;
  fam.mode = Mode::kDgram;
  return Ok();
}

SysResult Engine::OpenIPv4() {
  int rfd = OpenRawOrInherited(AF_INET, IPPROTO_ICMP);
  if (rfd < 0) return Fail(-rfd, "socket");
  SysResult r = SetupIcmp4Receive(rfd);
  if (!r.ok()) {
    CloseFd(rfd);
    return r;
  }
  // IPPROTO_RAW implies IP_HDRINCL: the packet carries its own IPv4 header. Such a socket never receives.
  int sfd = OpenRawOrInherited(AF_INET, IPPROTO_RAW);
  if (sfd < 0) {
    CloseFd(rfd);
    return Fail(-sfd, "socket");
  }
  v4_.recv_fd = rfd;
  send4_.fd = sfd;
  r = StartPoll(&v4_.poller, rfd, AF_INET, PollKind::kRawIcmp, 0);
  if (!r.ok()) {
    CloseFd(rfd);
    CloseFd(sfd);
    v4_.recv_fd = -1;
    send4_.fd = -1;
    return r;
  }
  v4_.mode = Mode::kRaw;
  SetupTxStamps(send4_, AF_INET);
  (void)rst_.Open(AF_INET);  // optional: without it a refusal is stamped at wake-up
  return Ok();
}

SysResult Engine::OpenIPv6() {
  int rfd = OpenRawOrInherited(AF_INET6, IPPROTO_ICMPV6);
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
    int fd = OpenRawOrInherited(AF_INET6, kProtocols[i]);
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
    r = StartPoll(&v6_.poller, rfd, AF_INET6, PollKind::kRawIcmp, 0);
  }
  if (!r.ok()) {
    CloseFd(rfd);
    for (int fd : fds) CloseFd(fd);
    v6_.recv_fd = -1;
    return r;
  }
  for (int i = 0; i < kV6Count; i++) send6_[i].fd = fds[i];
  v6_.mode = Mode::kRaw;
  for (SendSocket& s : send6_)
    if (s.fd >= 0) SetupTxStamps(s, AF_INET6);
  (void)rst_.Open(AF_INET6);  // optional, as for IPv4
  return Ok();
}

Napi::Value Engine::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closed_) {
    ThrowErrno(env, EBADF, "open");
    return env.Undefined();
  }
  if (!opened_) {
    if (info.Length() > 0 && !info[0].IsUndefined()) {
      const std::string mode = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
      if (mode == "auto") {
        policy_ = OpenPolicy::kAuto;
      } else if (mode == "raw") {
        policy_ = OpenPolicy::kRawOnly;
      } else if (mode == "dgram") {
        policy_ = OpenPolicy::kDgramOnly;
      } else {
        ThrowType(env, "open(mode?: 'auto' | 'raw' | 'dgram')");
        return env.Undefined();
      }
    }
    max_files_ = RaiseFileLimit();
    // Quarantined ports cost a descriptor each: a quarter of what the process may open, at most 4096.
    quarantine_.set_limit(max_files_ < 0 ? 4096 : static_cast<size_t>(std::min(4096.0, max_files_ / 4)));
    SysResult first_failure;
    for (int family : {AF_INET, AF_INET6}) {
      Family& fam = FamilyOf(family);
      if (policy_ != OpenPolicy::kDgramOnly) {
        SysResult r = family == AF_INET ? OpenIPv4() : OpenIPv6();
        if (!r.ok()) {
          fam.error = r.err;
          fam.error_syscall = r.syscall;
          if (first_failure.ok()) first_failure = r;
        }
      }
      if (fam.mode == Mode::kNone && policy_ != OpenPolicy::kRawOnly) {
        SysResult r = OpenDgramFamily(fam, family);
        if (!r.ok()) {
          fam.dgram_error = r.err;
          fam.dgram_syscall = r.syscall;
          if (fam.error == 0) {
            fam.error = r.err;
            fam.error_syscall = r.syscall;
          }
          if (first_failure.ok()) first_failure = r;
        }
      }
    }
    if (v4_.mode == Mode::kNone && v6_.mode == Mode::kNone) {
      ThrowErrno(env, v4_.error != 0 ? v4_.error : first_failure.err,
                 v4_.error != 0 ? v4_.error_syscall : first_failure.syscall);
      return env.Undefined();
    }
    opened_ = true;
    Ref();  // while open, the polls call back into this object: keep it alive
    held_ = true;
    TrackHandles();
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
  if (v4_.dgram_error != 0) out.Set("ip4DgramError", ErrnoError(env, v4_.dgram_error, v4_.dgram_syscall).Value());
  if (v6_.dgram_error != 0) out.Set("ip6DgramError", ErrnoError(env, v6_.dgram_error, v6_.dgram_syscall).Value());
  // SCTP probes are raw packets: IPv4 through the header-including socket, IPv6 through its own.
  out.Set("sctp", KernelHasSctp());
  bool tx_stamps = false;
  ForEachSendSocket([&tx_stamps](SendSocket& s) { tx_stamps = tx_stamps || s.tx.on; });
  out.Set("txStamps", tx_stamps);
  out.Set("maxFiles", max_files_);
  return out;
}

Napi::Value Engine::Now(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), Rel(RealtimeNs())); }

Napi::Value Engine::Close(const Napi::CallbackInfo& info) {
  CloseAll();
  return info.Env().Undefined();
}

Napi::Value Engine::ProbeCapabilities(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("mark", CanSetMark());
  o.Set("bindToDevice", CanBindToDevice());
  return o;
}

// holdName(name: string): true if this engine now holds the abstract AF_UNIX name "\0" + name
// (until it closes), false if another socket of the network namespace holds it.
Napi::Value Engine::HoldName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowType(env, "holdName(name: string)");
    return env.Undefined();
  }
  if (!opened_ || closed_) {
    ThrowErrno(env, EBADF, "bind");
    return env.Undefined();
  }
  const int fd = HoldAbstractName(info[0].As<Napi::String>().Utf8Value());
  if (fd == -EADDRINUSE) return Napi::Boolean::New(env, false);
  if (fd < 0) {
    ThrowErrno(env, -fd, "bind");
    return env.Undefined();
  }
  held_names_.push_back(fd);
  return Napi::Boolean::New(env, true);
}

Napi::Value Engine::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("packets", static_cast<double>(packets_));
  o.Set("skipped", static_cast<double>(skipped_));
  o.Set("readErrors", static_cast<double>(read_errors_));
  o.Set("batches", static_cast<double>(batches_));
  o.Set("tcpInFlight", static_cast<double>(tcp_.size()));
  o.Set("quarantinedPorts", static_cast<double>(quarantine_.size()));
  return o;
}

void Engine::CloseAll() {
  if (closed_) return;
  closed_ = true;
  for (Family* f : {&v4_, &v6_}) {
    ClosePoller(&f->poller);
    ClosePoller(&f->udp_poller);
    CloseFd(f->recv_fd);
    f->recv_fd = -1;
    CloseFd(f->udp_fd);
    f->udp_fd = -1;
    if (f->mode != Mode::kNone) f->mode = Mode::kNone;
  }
  ForEachSendSocket([this](SendSocket& s) {
    ClosePoller(&s.poller);
    s.tx.on = false;
    CloseFd(s.fd);
    s.fd = -1;
  });
  tx_ready_.clear();
  for (int fd : held_names_) CloseFd(fd);
  held_names_.clear();
  std::unordered_map<uint32_t, TcpProbe*> probes;
  probes.swap(tcp_);
  for (auto& kv : probes) CloseProbe(kv.second);
  quarantine_.CloseAll();
  for (Poller*& p : segment_poll_) ClosePoller(&p);
  rst_.Close();
  if (flusher_ != nullptr) {
    flusher_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&flusher_->check), &Engine::OnFlusherClosed);
    uv_close(reinterpret_cast<uv_handle_t*>(&flusher_->idle), &Engine::OnFlusherClosed);
    flusher_ = nullptr;
  }
  flush_scheduled_ = false;
  pending_.Clear();
  if (tracker_ != nullptr) {
    tracker_->engine = nullptr;  // the tracker now belongs to the closing handles
    tracker_ = nullptr;
  }
  if (held_) {
    held_ = false;
    Unref();
  }
}

void Engine::OnReadable(uv_poll_t* handle, int status, int events) {
  auto* p = static_cast<Poller*>(handle->data);
  Engine* self = p->owner;
  if (self == nullptr) return;
  if (p->kind == PollKind::kTxStamps) {
    self->DrainTxPoll(p, status);  // may call into JS: nothing touches self or p after it
    return;
  }
  if (p->kind == PollKind::kSegments) {
    self->DrainSegments(p, status);  // may call into JS: nothing touches self or p after it
    return;
  }
  if (p->kind != PollKind::kRawIcmp) {
    self->DrainDgram(p, status, events);  // may call into JS: nothing touches self or p after it
    return;
  }
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
  drain_.Clear();
  // Transmit stamps first: a probe's departure is corrected before its answer is matched. (On
  // loopback the stamp is queued during the send itself, before its reply.)
  CollectTxStamps();
  AppendTx(drain_);
  for (size_t reads = 0; drain_.count() < kMaxPacketsPerWake && reads < kMaxPacketsPerWake; reads++) {
    int n = p->receiver->Read(p->fd, received_.data(), &skipped_);
    if (n < 0) {
      if (n != -EAGAIN && n != -EWOULDBLOCK) read_errors_++;
      break;
    }
    for (int i = 0; i < n; i++) {
      const Received& r = received_[i];
      drain_.Add(r.family, r.from, r.data, r.len, Rel(r.rx_ns));
      if (r.hop_limit >= 0) drain_.SetHopLimit(r.hop_limit);
    }
  }
  Deliver(drain_);
}

size_t Engine::ReadErrorQueue(int fd, int family, int proto, uint16_t src_port, double tcp_id, Batch& batch) {
  size_t n = 0;
  for (; n < kMaxPacketsPerWake; n++) {
    QueuedError q;
    int r = errq_.Read(fd, family, &q);
    if (r < 0) {
      if (r != -EAGAIN && r != -EWOULDBLOCK) read_errors_++;
      break;
    }
    if (r == 0) {
      skipped_++;
      continue;
    }
    const double dst_off = batch.AddBytes(q.dst, family == AF_INET ? 4 : 16);
    Batch::Ext e = batch.AddWithExt(Source::kError, family, q.offender, q.data, q.len, Rel(q.rx_ns));
    e.icmp_type(q.type).icmp_code(q.code).err_proto(proto == IPPROTO_ICMPV6 ? IPPROTO_ICMP : proto);
    if (proto == IPPROTO_UDP || proto == IPPROTO_TCP) e.orig_dst_port(q.dst_port);
    e.orig_src_port(src_port).tcp_id(tcp_id).orig_dst_offset(dst_off);
  }
  return n;
}

void Engine::DrainDgram(Poller* p, int status, int events) {
  drain_.Clear();
  CollectTxStamps();  // raw send sockets of the other family, if any
  AppendTx(drain_);
  const bool ping = p->kind == PollKind::kPing;
  const int proto = !ping ? static_cast<int>(IPPROTO_UDP)
                   : p->family == AF_INET ? static_cast<int>(IPPROTO_ICMP)
                                          : static_cast<int>(IPPROTO_ICMPV6);
  const size_t errors = ReadErrorQueue(p->fd, p->family, proto, p->local_port, kAbsent, drain_);
  if (errors == 0 && (status < 0 || (events & UV_PRIORITIZED) != 0)) {
    // POLLPRI/POLLERR with an empty error queue: a pending socket error alone. Clear it, or the
    // level-triggered poll would report it again and again.
    (void)TakeSocketError(p->fd);
  }
  if ((events & UV_READABLE) != 0) {
    if (ping) {
      for (size_t reads = 0; drain_.count() < kMaxPacketsPerWake && reads < kMaxPacketsPerWake; reads++) {
        int n = p->receiver->Read(p->fd, received_.data(), &skipped_);
        if (n < 0) {
          if (n != -EAGAIN && n != -EWOULDBLOCK) read_errors_++;
          break;
        }
        for (int i = 0; i < n; i++) {
          const Received& r = received_[i];
          drain_.AddWithExt(Source::kPing, r.family, r.from, r.data, r.len, Rel(r.rx_ns));
          if (r.hop_limit >= 0) drain_.SetHopLimit(r.hop_limit);
        }
      }
    } else {
      int n = DiscardQueued(p->fd);  // UDP data nobody asked for
      if (n > 0) skipped_ += static_cast<uint64_t>(n);
    }
  }
  if (status < 0) {
    // libuv stopped the handle on POLLERR without POLLPRI; what was queued is read: watch again.
    read_errors_++;
    uv_poll_start(&p->handle, UV_READABLE | UV_PRIORITIZED, &Engine::OnReadable);
  }
  Deliver(drain_);  // may call into JS: nothing touches this or p after it
}

void Engine::Deliver(Batch& batch) {
  if (batch.count() == 0) return;
  packets_ += batch.count();
  batches_++;

  // Raw napi here: while a worker is being terminated every call may fail, and the C++ wrappers
  // would turn such a failure into a fatal error. On any failure the batch is dropped. The batch
  // is copied into JS memory and emptied before JS runs: the callback may send, connect or close.
  napi_env env = env_;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    batch.Clear();
    return;
  }
  void* data = nullptr;
  napi_value buffer, meta_buffer, meta, ext = nullptr, callback, recv;
  const size_t meta_bytes = batch.meta().size() * sizeof(double);
  bool ok = napi_create_arraybuffer(env, batch.bytes().size(), &data, &buffer) == napi_ok;
  if (ok && !batch.bytes().empty()) std::memcpy(data, batch.bytes().data(), batch.bytes().size());
  ok = ok && napi_create_arraybuffer(env, meta_bytes, &data, &meta_buffer) == napi_ok;
  if (ok) std::memcpy(data, batch.meta().data(), meta_bytes);
  ok = ok && napi_create_typedarray(env, napi_float64_array, batch.meta().size(), meta_buffer, 0, &meta) == napi_ok;
  if (ok && batch.has_ext()) {
    const size_t ext_bytes = batch.ext().size() * sizeof(double);
    napi_value ext_buffer;
    ok = napi_create_arraybuffer(env, ext_bytes, &data, &ext_buffer) == napi_ok;
    if (ok) std::memcpy(data, batch.ext().data(), ext_bytes);
    ok = ok && napi_create_typedarray(env, napi_float64_array, batch.ext().size(), ext_buffer, 0, &ext) == napi_ok;
  }
  batch.Clear();
  ok = ok && napi_get_reference_value(env, on_batch_, &callback) == napi_ok && callback != nullptr;
  ok = ok && napi_get_global(env, &recv) == napi_ok;  // napi_make_callback wants an object receiver
  if (ok) {
    napi_value argv[3] = {buffer, meta, ext};
    napi_value result;
    napi_status status = napi_make_callback(env, *async_, recv, callback, ext != nullptr ? 3 : 2, argv, &result);
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
