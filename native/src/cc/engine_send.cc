// Engine: the send paths JS calls. sendIPv4/sendIPv6 write whole packets to the raw send sockets
// (stamped through engine_tx.cc); sendDgram sends through the datagram sockets of unprivileged
// mode. Arguments are checked here (args.h); the syscalls are in sockets.cc and probe_sockets.cc.
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmath>
#include <cstring>

#include "args.h"
#include "engine.h"
#include "errors.h"

namespace mtr {

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

// sendIPv6(proto, packet, dst(16), hopLimit, trafficClass, src?: Uint8Array(16), mark?, device?, scopeId?, txId?,
//          dontFragment?: boolean): number
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
  bool dont_fragment = false;
  if (ok && info.Length() > 10 && !info[10].IsUndefined()) {
    ok = info[10].IsBoolean();
    dont_fragment = ok && info[10].As<Napi::Boolean>().Value();
  }
  if (!ok) {
    ThrowType(env,
              "sendIPv6(proto, packet: Uint8Array, dst: Uint8Array(16), hopLimit: -1..255, trafficClass: -1..255, "
              "src?: Uint8Array(16), mark?: uint32, device?: string, scopeId?: uint32, txId?: uint32, dontFragment?: boolean)");
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
  opts.dont_fragment = dont_fragment;
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

namespace {

// A slot value that must be an integer in [lo, hi].
bool IntIn(double v, double lo, double hi) { return v >= lo && v <= hi && std::floor(v) == v; }

bool GetFloat64Array(const Napi::Value& v, double** data, size_t* len) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) return false;
  Napi::Float64Array a = v.As<Napi::Float64Array>();
  *data = a.Data();
  *len = a.ElementLength();
  return true;
}

}  // namespace

// sendBatch(bytes: Uint8Array, sends: Float64Array, count: number, results: Float64Array): undefined
// The raw sends of one command slice (batch.h send_slot, send_result): consecutive sends through
// the same socket with the same mark leave in one sendmmsg where transmit stamps are on (each
// packet still gets the kernel's own stamp), one sendmsg each otherwise. A send that fails gets
// its errno in results; the others go on.
Napi::Value Engine::SendBatchJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* bytes = nullptr;
  size_t nbytes = 0, nslots = 0, nresults = 0;
  double *slots = nullptr, *results = nullptr;
  uint32_t count = 0;
  bool ok = info.Length() >= 4 && GetBytes(info[0], &bytes, &nbytes) && GetFloat64Array(info[1], &slots, &nslots) &&
            GetUint32(info[2], &count) && GetFloat64Array(info[3], &results, &nresults) &&
            nslots / send_slot::kCount >= count && nresults / send_result::kCount >= count;
  batch_entries_.clear();
  for (uint32_t i = 0; ok && i < count; i++) {
    const double* v = slots + i * send_slot::kCount;
    const double family = v[send_slot::kFamily], off = v[send_slot::kDataOffset], len = v[send_slot::kDataLength];
    const double dst = v[send_slot::kDstOffset], src = v[send_slot::kSrcOffset];
    const double alen = family == 4 ? 4 : 16, n = static_cast<double>(nbytes);
    ok = (family == 4 || family == 6) && IntIn(off, 0, n) && IntIn(len, 0, n - off) && IntIn(dst, 0, n - alen) &&
         (src == -1 || (family == 6 && IntIn(src, 0, n - 16))) && IntIn(v[send_slot::kProto], 0, 255) &&
         IntIn(v[send_slot::kHopLimit], -1, 255) && IntIn(v[send_slot::kTrafficClass], -1, 255) &&
         IntIn(v[send_slot::kMark], 0, 4294967295.0) && IntIn(v[send_slot::kTxId], -1, 4294967295.0) &&
         IntIn(v[send_slot::kScopeId], 0, 4294967295.0) && IntIn(v[send_slot::kDontFragment], 0, 1);
    if (!ok) break;
    BatchEntry e;
    e.socket = nullptr;
    e.err = 0;
    e.data = bytes + static_cast<size_t>(off);
    e.len = static_cast<size_t>(len);
    e.dst = bytes + static_cast<size_t>(dst);
    e.src = src == -1 ? nullptr : bytes + static_cast<size_t>(src);
    e.hop_limit = static_cast<int>(v[send_slot::kHopLimit]);
    e.traffic_class = static_cast<int>(v[send_slot::kTrafficClass]);
    e.mark = static_cast<uint32_t>(v[send_slot::kMark]);
    e.scope_id = static_cast<uint32_t>(v[send_slot::kScopeId]);
    e.has_id = v[send_slot::kTxId] >= 0;
    e.tx_id = e.has_id ? static_cast<uint32_t>(v[send_slot::kTxId]) : 0;
    e.dont_fragment = v[send_slot::kDontFragment] == 1;
    // The socket, and when there is none the errno sendIPv4/sendIPv6 would throw.
    if (!opened_ || closed_) {
      e.err = EBADF;
    } else if (family == 4) {
      e.socket = &send4_;
      if (send4_.fd < 0) e.err = v4_.mode == Mode::kDgram ? EOPNOTSUPP : EAFNOSUPPORT;
    } else {
      switch (static_cast<int>(v[send_slot::kProto])) {
        case IPPROTO_ICMPV6: e.socket = &send6_[kV6Icmp]; break;
        case IPPROTO_UDP: e.socket = &send6_[kV6Udp]; break;
        case IPPROTO_TCP: e.socket = &send6_[kV6Tcp]; break;
        case IPPROTO_SCTP: e.socket = &send6_[kV6Sctp]; break;
        default: e.err = EPROTONOSUPPORT; break;
      }
      if (e.socket != nullptr && e.socket->fd < 0)
        e.err = v6_.mode == Mode::kNone ? EAFNOSUPPORT : v6_.mode == Mode::kDgram ? EOPNOTSUPP : EPROTONOSUPPORT;
    }
    if (e.err != 0) e.socket = nullptr;
    batch_entries_.push_back(e);
  }
  if (!ok) {
    ThrowType(env, "sendBatch(bytes: Uint8Array, sends: Float64Array, count: uint32, results: Float64Array)");
    return env.Undefined();
  }
  const size_t n = batch_entries_.size();
  for (size_t i = 0; i < n;) {
    const BatchEntry& first = batch_entries_[i];
    double* r = results + i * send_result::kCount;
    if (first.socket == nullptr) {
      r[send_result::kDeparture] = 0;
      r[send_result::kErrno] = first.err;
      i++;
      continue;
    }
    SysResult c = Configure(*first.socket, first.mark);
    if (!c.ok()) {
      r[send_result::kDeparture] = 0;
      r[send_result::kErrno] = c.err;
      i++;
      continue;
    }
    size_t j = i + 1;
    while (j < n && batch_entries_[j].socket == first.socket && batch_entries_[j].mark == first.mark) j++;
    SendRun(*first.socket, &batch_entries_[i], j - i, r);
    i = j;
  }
  return env.Undefined();
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

}  // namespace mtr
