// Engine: the TCP (and SCTP) probe lifecycle. connectTcp starts a non-blocking connect with its
// own poll; its wake (or an immediate refusal) becomes a 'tcp' event in pending_, flushed once per
// loop iteration; the probe's socket is then closed or held in quarantine (port_quarantine.h).
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "args.h"
#include "engine.h"
#include "errors.h"
#include "probe_sockets.h"

namespace mtr {

// connectTcp(family: 4|6, dst, dstPort, srcPort, ttl, tos, mark?, device?, src?, scopeId?): { id, txNs, localPort }
Napi::Value Engine::ConnectTcp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t family = 0, dst_port = 0, src_port = 0, mark = 0, scope = 0;
  int ttl = -1, tos = -1;
  const uint8_t *dst, *src = nullptr;
  size_t dst_len, src_len = 0;
  std::string device;
  bool ok = info.Length() >= 6 && GetUint32(info[0], &family) && (family == 4 || family == 6) &&
            GetBytes(info[1], &dst, &dst_len) && dst_len == (family == 4 ? 4u : 16u) && GetUint32(info[2], &dst_port) &&
            dst_port <= 65535 && GetUint32(info[3], &src_port) && src_port <= 65535 && GetByteOrDefault(info[4], &ttl) &&
            GetByteOrDefault(info[5], &tos);
  if (ok && info.Length() > 6 && !info[6].IsUndefined()) ok = GetUint32(info[6], &mark);
  if (ok && info.Length() > 7) ok = GetDevice(info[7], &device);
  if (ok && info.Length() > 8 && !info[8].IsUndefined() && !info[8].IsNull())
    ok = GetBytes(info[8], &src, &src_len) && src_len == dst_len;
  if (ok && info.Length() > 9 && !info[9].IsUndefined()) ok = GetUint32(info[9], &scope);
  uint32_t protocol = IPPROTO_TCP;
  if (ok && info.Length() > 10 && !info[10].IsUndefined())
    ok = GetUint32(info[10], &protocol) && (protocol == IPPROTO_TCP || protocol == IPPROTO_SCTP);
  uint32_t quarantine_ms = 0;
  if (ok && info.Length() > 11 && !info[11].IsUndefined()) ok = GetUint32(info[11], &quarantine_ms);
  if (!ok) {
    ThrowType(env,
              "connectTcp(family: 4 | 6, dst: Uint8Array, dstPort: 0..65535, srcPort: 0..65535, ttl: -1..255, "
              "tos: -1..255, mark?: uint32, device?: string, src?: Uint8Array, scopeId?, protocol?: 6 | 132, "
              "quarantineMs?: uint32)");
    return env.Undefined();
  }
  if (!opened_ || closed_) {
    ThrowErrno(env, EBADF, "connect");
    return env.Undefined();
  }
  const int af = family == 4 ? AF_INET : AF_INET6;
  TcpOptions opts;
  opts.protocol = static_cast<int>(protocol);
  opts.ttl = ttl;
  opts.tos = tos;
  opts.mark = mark;
  opts.device = device;
  opts.src = src;
  opts.scope_id = scope;
  // In raw mode a router's ICMP error reaches the raw ICMP socket; reading it from the TCP
  // socket's error queue as well would hand the daemon the same error twice.
  opts.recverr = FamilyOf(af).mode != Mode::kRaw;
  const int64_t quarantine_ns = protocol == IPPROTO_TCP ? static_cast<int64_t>(quarantine_ms) * 1000000 : 0;
  quarantine_.Expire(RealtimeNs());
  rst_.Drain();  // what is queued now cannot be this probe's: keep the queue short
  if (pending_.count() > 0) ScheduleFlush();  // TCP flows' segments it read (rst_'s sink)
  TcpStarted st;
  SysResult r = StartTcp(af, dst, static_cast<uint16_t>(dst_port), static_cast<uint16_t>(src_port), opts, &st);
  if (!r.ok()) {
    ThrowErrno(env, r.err, r.syscall);
    return env.Undefined();
  }
  uint32_t id = next_tcp_id_;
  while (id == 0 || tcp_.count(id) != 0) id++;
  next_tcp_id_ = id + 1;

  Napi::Object out = Napi::Object::New(env);
  out.Set("id", static_cast<double>(id));
  out.Set("txNs", Rel(st.departure_ns));
  out.Set("localPort", static_cast<double>(st.local_port));
  if (st.immediate_err != 0) {
    // Refused before connect() returned (it happens on loopback): a completion like any other,
    // delivered with the next flush.
    const int64_t now = RealtimeNs();
    ReleaseProbeSocket(st.fd, opts.protocol == IPPROTO_TCP, quarantine_ns);
    const int64_t at = opts.protocol == IPPROTO_TCP
                           ? RefusalTime(af, dst, static_cast<uint16_t>(dst_port), st.local_port, st.departure_ns, now)
                           : now;
    AddTcpEvent(af, dst, id, st.immediate_err, at);
    ScheduleFlush();
    return out;
  }
  auto* t = new TcpProbe();
  t->owner = this;
  t->fd = st.fd;
  t->id = id;
  t->family = af;
  std::memcpy(t->dst, dst, dst_len);
  t->src_port = st.local_port;
  t->dst_port = static_cast<uint16_t>(dst_port);
  t->recverr = opts.recverr;
  t->tcp = opts.protocol == IPPROTO_TCP;
  t->departure_ns = st.departure_ns;
  t->quarantine_ns = quarantine_ns;
  int rc = uv_poll_init_socket(loop_, &t->handle, st.fd);
  if (rc != 0) {
    AbortClose(st.fd);
    delete t;
    ThrowErrno(env, -rc, "uv_poll_init");
    return env.Undefined();
  }
  t->handle.data = t;
  t->tracker = tracker_;
  tracker_->pending++;
  rc = uv_poll_start(&t->handle, UV_WRITABLE, &Engine::OnTcpWake);
  if (rc != 0) {
    t->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&t->handle), &Engine::OnTcpClosed);
    AbortClose(st.fd);
    ThrowErrno(env, -rc, "uv_poll_start");
    return env.Undefined();
  }
  if (!refed_) uv_unref(reinterpret_cast<uv_handle_t*>(&t->handle));
  tcp_.emplace(id, t);
  return out;
}

// closeTcp(id): true if the probe was still open.
Napi::Value Engine::CloseTcp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = 0;
  if (info.Length() < 1 || !GetUint32(info[0], &id)) {
    ThrowType(env, "closeTcp(id: uint32)");
    return env.Undefined();
  }
  auto it = tcp_.find(id);
  if (it == tcp_.end()) return Napi::Boolean::New(env, false);
  CloseProbe(it->second);
  return Napi::Boolean::New(env, true);
}

void Engine::OnTcpWake(uv_poll_t* handle, int status, int events) {
  auto* t = static_cast<TcpProbe*>(handle->data);
  Engine* self = t->owner;
  if (self == nullptr) return;
  self->TcpWake(t, status, events);
}

void Engine::TcpWake(TcpProbe* t, int status, int events) {
  const int64_t now = RealtimeNs();  // a SYN-ACK/RST has no kernel timestamp through connect(): the wake time
  if (t->recverr) ReadErrorQueue(t->fd, t->family, IPPROTO_TCP, t->src_port, t->id, pending_);
  const int err = TakeSocketError(t->fd);
  const bool done = err != 0 || (status == 0 && (events & UV_WRITABLE) != 0);
  if (!done) {
    // An error-queue entry that did not end the connection attempt (POLLERR stopped the handle): go on waiting.
    if (status < 0) uv_poll_start(&t->handle, UV_WRITABLE, &Engine::OnTcpWake);
    if (pending_.count() > 0) ScheduleFlush();
    return;
  }
  // A TCP handshake that completed was timed by the kernel itself (tcpi_rtt: SYN sent to SYN-ACK
  // received, in µs): closer to the wire than this wake-up. A refusal (RST) has no such sample.
  int64_t rx = now;
  if (err == 0 && t->tcp) {
    uint32_t rtt_us = 0;
    if (HandshakeRttUs(t->fd, &rtt_us) && rtt_us > 0) {
      const int64_t kernel_rx = t->departure_ns + static_cast<int64_t>(rtt_us) * 1000;
      if (kernel_rx <= now) rx = kernel_rx;
    }
  }
  if (err == ECONNREFUSED && t->tcp) rx = RefusalTime(t->family, t->dst, t->dst_port, t->src_port, t->departure_ns, now);
  AddTcpEvent(t->family, t->dst, t->id, err, rx);
  CloseProbe(t);
  ScheduleFlush();
}

void Engine::CloseProbe(TcpProbe* t) {
  tcp_.erase(t->id);
  t->owner = nullptr;
  uv_poll_stop(&t->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&t->handle), &Engine::OnTcpClosed);
  ReleaseProbeSocket(t->fd, t->tcp, closed_ ? 0 : t->quarantine_ns);
  t->fd = -1;
}

int64_t Engine::RefusalTime(int family, const uint8_t* dst, uint16_t dst_port, uint16_t src_port,
                            int64_t departure_ns, int64_t fallback_ns) {
  if (!rst_.any_open()) return fallback_ns;
  rst_.Drain();
  const int64_t ns = rst_.Take(family, dst, dst_port, src_port, departure_ns);
  return ns != 0 && ns <= fallback_ns ? ns : fallback_ns;
}

void Engine::ReleaseProbeSocket(int fd, bool tcp, int64_t quarantine_ns) {
  if (!tcp || quarantine_ns <= 0) {
    AbortClose(fd);
    return;
  }
  quarantine_.Hold(fd, RealtimeNs() + quarantine_ns);
}

void Engine::AddTcpEvent(int family, const uint8_t* dst, uint32_t id, int err, int64_t rx_ns) {
  pending_.AddWithExt(Source::kTcp, family, dst, nullptr, 0, Rel(rx_ns)).tcp_id(id).tcp_errno(err);
}

void Engine::OnTcpClosed(uv_handle_t* handle) {
  auto* t = static_cast<TcpProbe*>(handle->data);
  CloseTracker* tracker = t->tracker;
  delete t;
  ReleaseTracker(tracker);
}

}  // namespace mtr
