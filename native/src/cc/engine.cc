#include "engine.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "args.h"
#include "errors.h"
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
                         InstanceMethod<&Engine::ConnectTcp>("connectTcp"),
                         InstanceMethod<&Engine::CloseTcp>("closeTcp"),
                         InstanceMethod<&Engine::ProbeCapabilities>("probeCapabilities"),
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

SysResult Engine::Configure(SendSocket& s, uint32_t mark) {
  if (s.mark != mark) {
    SysResult r = SetMark(s.fd, mark);
    if (!r.ok()) return r;
    s.mark = mark;
  }
  return Ok();
}

// sendIPv4(packet: Uint8Array, dst: Uint8Array(4), mark: number, device?: string): number
Napi::Value Engine::SendIPv4(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t *packet, *dst;
  size_t len, dst_len;
  uint32_t mark = 0, tx_id = 0;
  bool has_id = false;
  std::string device;
  if (info.Length() < 2 || !GetBytes(info[0], &packet, &len) || !GetBytes(info[1], &dst, &dst_len) || dst_len != 4 ||
      (info.Length() > 2 && !info[2].IsUndefined() && !GetUint32(info[2], &mark)) ||
      (info.Length() > 3 && !GetDevice(info[3], &device)) ||
      (info.Length() > 4 && !info[4].IsUndefined() && !(has_id = GetUint32(info[4], &tx_id)))) {
    ThrowType(env, "sendIPv4(packet: Uint8Array, dst: Uint8Array(4), mark?: uint32, device?: string, txId?: uint32)");
    return env.Undefined();
  }
  if (send4_.fd < 0) {
    ThrowErrno(env,
               !opened_ || closed_ ? EBADF : (v4_.mode == Mode::kDgram ? EOPNOTSUPP : EAFNOSUPPORT), "sendto");
    return env.Undefined();
  }
  // The device goes in a per-packet IP_PKTINFO (no SO_BINDTODEVICE: nothing sticky, and no
  // CAP_NET_RAW needed to change it after dropPrivileges).
  unsigned ifindex = 0;
  SysResult r = device.empty() ? Ok() : InterfaceIndex(send4_.fd, device, &ifindex);
  if (r.ok()) r = Configure(send4_, mark);
  int64_t departure = 0;
  if (r.ok()) {
    const int fd = send4_.fd;
    r = SendStamped(
        send4_, has_id, tx_id,
        [&](const uint32_t* key, int64_t* dep) { return Send4(fd, packet, len, dst, ifindex, key, dep); }, &departure);
  }
  if (!r.ok()) {
    ThrowErrno(env, r.err, r.syscall);
    return env.Undefined();
  }
  return Napi::Number::New(env, Rel(departure));
}

// sendIPv6(proto, packet, dst(16), hopLimit, trafficClass, src?: Uint8Array(16), mark?, device?, scopeId?): number
Napi::Value Engine::SendIPv6(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t proto = 0, mark = 0, scope = 0, tx_id = 0;
  bool has_id = false;
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
  if (ok && info.Length() > 9 && !info[9].IsUndefined()) ok = has_id = GetUint32(info[9], &tx_id);
  if (!ok) {
    ThrowType(env,
              "sendIPv6(proto, packet: Uint8Array, dst: Uint8Array(16), hopLimit: -1..255, trafficClass: -1..255, "
              "src?: Uint8Array(16), mark?: uint32, device?: string, scopeId?: uint32, txId?: uint32)");
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
    ThrowErrno(env,
               !opened_ || closed_ ? EBADF
               : v6_.mode == Mode::kNone ? EAFNOSUPPORT
               : v6_.mode == Mode::kDgram ? EOPNOTSUPP
                                          : EPROTONOSUPPORT,
               "sendmsg");
    return env.Undefined();
  }
  Send6Options opts;
  // The device goes in the per-packet IPV6_PKTINFO, like the source address.
  SysResult r = device.empty() ? Ok() : InterfaceIndex(s.fd, device, &opts.ifindex);
  if (r.ok()) r = Configure(s, mark);
  opts.hop_limit = hop;
  opts.traffic_class = tclass;
  opts.src = src;
  opts.scope_id = scope;
  int64_t departure = 0;
  if (r.ok()) {
    const int fd = s.fd;
    r = SendStamped(
        s, has_id, tx_id, [&](const uint32_t* key, int64_t* dep) { return Send6(fd, packet, len, dst, opts, key, dep); },
        &departure);
  }
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

// sendDgram(family: 4|6, proto: 'icmp'|'udp', payload, dst, dstPort, ttl, tos, mark?, device?, src?, scopeId?):
//   { txNs, localPort }
Napi::Value Engine::SendDgramJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t family = 0, port = 0, mark = 0, scope = 0;
  int ttl = -1, tos = -1;
  const uint8_t *payload, *dst, *src = nullptr;
  size_t len, dst_len, src_len = 0;
  std::string proto, device;
  bool ok = info.Length() >= 7 && GetUint32(info[0], &family) && (family == 4 || family == 6) && info[1].IsString();
  if (ok) {
    proto = info[1].As<Napi::String>().Utf8Value();
    ok = (proto == "icmp" || proto == "udp") && GetBytes(info[2], &payload, &len) && GetBytes(info[3], &dst, &dst_len) &&
         dst_len == (family == 4 ? 4u : 16u) && GetUint32(info[4], &port) && port <= 65535 &&
         GetByteOrDefault(info[5], &ttl) && GetByteOrDefault(info[6], &tos);
  }
  if (ok && info.Length() > 7 && !info[7].IsUndefined()) ok = GetUint32(info[7], &mark);
  if (ok && info.Length() > 8) ok = GetDevice(info[8], &device);
  if (ok && info.Length() > 9 && !info[9].IsUndefined() && !info[9].IsNull())
    ok = GetBytes(info[9], &src, &src_len) && src_len == dst_len;
  if (ok && info.Length() > 10 && !info[10].IsUndefined()) ok = GetUint32(info[10], &scope);
  if (!ok) {
    ThrowType(env,
              "sendDgram(family: 4 | 6, proto: 'icmp' | 'udp', payload: Uint8Array, dst: Uint8Array, dstPort: "
              "0..65535, ttl: -1..255, tos: -1..255, mark?: uint32, device?: string, src?: Uint8Array, scopeId?)");
    return env.Undefined();
  }
  const int af = family == 4 ? AF_INET : AF_INET6;
  Family& fam = FamilyOf(af);
  if (!opened_ || closed_ || fam.mode != Mode::kDgram) {
    ThrowErrno(env, !opened_ || closed_ ? EBADF : (fam.mode == Mode::kNone ? EAFNOSUPPORT : EOPNOTSUPP), "sendmsg");
    return env.Undefined();
  }
  const bool icmp = proto == "icmp";
  const int fd = icmp ? fam.recv_fd : fam.udp_fd;
  uint32_t& current_mark = icmp ? fam.ping_mark : fam.udp_mark;
  if (current_mark != mark) {
    SysResult r = SetMark(fd, mark);
    if (!r.ok()) {
      ThrowErrno(env, r.err, r.syscall);
      return env.Undefined();
    }
    current_mark = mark;
  }
  DgramSendOptions opts;
  opts.ttl = ttl;
  opts.tos = tos;
  opts.src = src;
  opts.scope_id = scope;
  opts.port = icmp ? 0 : static_cast<uint16_t>(port);
  if (!device.empty()) {
    // The outgoing interface goes in the per-send PKTINFO: nothing sticky, no privilege needed.
    SysResult r = InterfaceIndex(fd, device, &opts.ifindex);
    if (!r.ok()) {
      ThrowErrno(env, r.err, r.syscall);
      return env.Undefined();
    }
  }
  int64_t departure = 0;
  SysResult r = SendDgram(fd, af, payload, len, dst, opts, &departure);
  if (!r.ok()) {
    ThrowErrno(env, r.err, r.syscall);
    return env.Undefined();
  }
  Poller* p = icmp ? fam.poller : fam.udp_poller;
  Napi::Object out = Napi::Object::New(env);
  out.Set("txNs", Rel(departure));
  out.Set("localPort", static_cast<double>(p != nullptr ? p->local_port : 0));
  return out;
}

Napi::Value Engine::ProbeCapabilities(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("mark", CanSetMark());
  o.Set("bindToDevice", CanBindToDevice());
  return o;
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
  std::unordered_map<uint32_t, TcpProbe*> probes;
  probes.swap(tcp_);
  for (auto& kv : probes) CloseProbe(kv.second);
  quarantine_.CloseAll();
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
