// Engine: transmit-stamp bookkeeping. Each stamped send books a key in its socket's ring; stamps
// read from the send socket's error queue are matched back to the caller's txId and handed to JS
// at the head of the next batch (engine.h, TxTracker).
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "cmsg.h"
#include "engine.h"

namespace mtr {

namespace {
constexpr uint8_t kNoAddress[16] = {};

// The most messages one sendmmsg takes from a run (a command slice is 128 lines).
constexpr size_t kRunMax = 64;

// The messages of one sendmmsg, reused between runs (one per thread: each env has its own).
struct RunScratch {
  struct mmsghdr msgs[kRunMax];
  struct iovec iov[kRunMax];
  struct sockaddr_in6 to[kRunMax];  // a sockaddr_in fits
  ControlMessages control[kRunMax];
};
thread_local RunScratch run_scratch;
}  // namespace

void Engine::SetupTxStamps(SendSocket& s, int family) {
  s.family = family;
  if (!EnableTxStamps(s.fd).ok()) return;
  if (!StartPoll(&s.poller, s.fd, family, PollKind::kTxStamps, 0).ok()) {
    (void)ResetTxStampCounter(s.fd);  // harmless; the socket just queues nothing we read
    return;
  }
  s.poller->send = &s;
  s.tx.ring.assign(TxTracker::kRing, TxTracker::Slot());
  s.tx.on = true;
}

SysResult Engine::SendStamped(SendSocket& s, bool has_id, uint32_t tx_id, SendRef send, int64_t* departure) {
  TxTracker& tx = s.tx;
  if (!tx.on) return send(nullptr, departure);
  uint32_t key = tx.next_key;
  SysResult r = send(tx.key_cmsg ? &key : nullptr, departure);
  if (!r.ok() && r.err == EINVAL && tx.key_cmsg) {
    // Perhaps a kernel without SCM_TS_OPT_ID (before 6.13): try once more on the socket's own
    // counter, from 0. If that fails as well the EINVAL was the packet's: keep the cmsg.
    ReadTxStamps(s, false);
    if (ResetTxStampCounter(s.fd).ok()) {
      tx.Reset();
      key = 0;
      r = send(nullptr, departure);
      if (r.ok()) tx.key_cmsg = false;
    }
  }
  if (!r.ok()) {
    if (!tx.key_cmsg) {
      // A failed send may or may not have taken a number from the kernel's counter: start it
      // again from 0, after reading what is queued under the old numbering.
      ReadTxStamps(s, false);
      if (ResetTxStampCounter(s.fd).ok()) tx.Reset();
    }
    return r;
  }
  TxTracker::Slot& slot = tx.ring[key % TxTracker::kRing];
  slot.key = key;
  slot.tx_id = tx_id;
  slot.pre_ns = *departure;
  slot.live = has_id;
  tx.next_key = key + 1;
  tx.dirty = true;
  return r;
}

void Engine::SendRun(SendSocket& s, const BatchEntry* e, size_t n, double* results) {
  TxTracker& tx = s.tx;
  // One entry's message, as Send4/Send6 build it (a send with a device never comes in a batch).
  auto build = [&s](const BatchEntry& b, const uint32_t* key, struct msghdr* msg, struct iovec* iov,
                    struct sockaddr_in6* to, ControlMessages* control) {
    std::memset(msg, 0, sizeof *msg);
    std::memset(to, 0, sizeof *to);
    if (s.family == AF_INET) {
      auto* to4 = reinterpret_cast<struct sockaddr_in*>(to);
      to4->sin_family = AF_INET;
      std::memcpy(&to4->sin_addr, b.dst, 4);
      msg->msg_namelen = sizeof(struct sockaddr_in);
    } else {
      to->sin6_family = AF_INET6;
      std::memcpy(&to->sin6_addr, b.dst, 16);
      to->sin6_scope_id = b.scope_id;
      msg->msg_namelen = sizeof *to;
    }
    msg->msg_name = to;
    iov->iov_base = const_cast<uint8_t*>(b.data);
    iov->iov_len = b.len;
    msg->msg_iov = iov;
    msg->msg_iovlen = 1;
    control->Clear();
    if (s.family == AF_INET6) {
      control->Int(IPPROTO_IPV6, IPV6_HOPLIMIT, b.hop_limit);
      control->Int(IPPROTO_IPV6, IPV6_TCLASS, b.traffic_class);
      if (b.src != nullptr) control->Pktinfo6(0, b.src);
      if (b.dont_fragment) control->Int(IPPROTO_IPV6, IPV6_DONTFRAG, 1);
    }
    if (key != nullptr) control->TsKey(*key);
    control->Attach(msg);
  };
  auto send_one = [&](const BatchEntry& b, const uint32_t* key, int64_t* departure) {
    struct msghdr msg;
    struct iovec iov;
    struct sockaddr_in6 to;
    ControlMessages control;
    build(b, key, &msg, &iov, &to, &control);
    for (;;) {
      *departure = RealtimeNs();
      if (sendmsg(s.fd, &msg, 0) >= 0) return Ok();
      if (errno != EINTR) return Fail(errno, "sendmsg");
    }
  };
  auto put = [&](size_t i, const SysResult& r, int64_t departure) {
    double* out = results + i * send_result::kCount;
    out[send_result::kDeparture] = r.ok() ? Rel(departure) : 0;
    out[send_result::kErrno] = r.ok() ? 0 : r.err;
  };
  auto single = [&](size_t i) {
    int64_t departure = 0;
    SysResult r = SendStamped(
        s, e[i].has_id, e[i].tx_id, [&](const uint32_t* key, int64_t* d) { return send_one(e[i], key, d); },
        &departure);
    put(i, r, departure);
  };
  if (!tx.on) {
    // Without transmit stamps the departure is the clock read before the send: one per packet,
    // or a packet late in a batch would be reported with the time the batch took to send before it.
    for (size_t i = 0; i < n; i++) single(i);
    return;
  }
  RunScratch& rs = run_scratch;
  for (size_t k = 0; k < n;) {
    const size_t m = std::min(n - k, kRunMax);
    uint32_t keys[kRunMax];
    for (size_t i = 0; i < m; i++) {
      keys[i] = tx.next_key + static_cast<uint32_t>(i);
      build(e[k + i], tx.key_cmsg ? &keys[i] : nullptr, &rs.msgs[i].msg_hdr, &rs.iov[i], &rs.to[i], &rs.control[i]);
      rs.msgs[i].msg_len = 0;
    }
    const int64_t pre = RealtimeNs();
    const int sent = sendmmsg(s.fd, rs.msgs, static_cast<unsigned>(m), 0);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) {
      // The first message failed. Send it alone as SendStamped does (a kernel without
      // SCM_TS_OPT_ID: EINVAL, then once more on the kernel's counter; a packet error: its errno),
      // after restarting the kernel's counter if it counts, since the failure may have taken a number.
      if (!tx.key_cmsg) {
        ReadTxStamps(s, false);
        if (ResetTxStampCounter(s.fd).ok()) tx.Reset();
      }
      single(k);
      k++;
      continue;
    }
    for (int i = 0; i < sent; i++) {
      const BatchEntry& b = e[k + i];
      const uint32_t key = tx.next_key;  // keys[i] with SCM_TS_OPT_ID; else the kernel's count, mirrored
      TxTracker::Slot& slot = tx.ring[key % TxTracker::kRing];
      slot.key = key;
      slot.tx_id = b.tx_id;
      slot.pre_ns = pre;
      slot.live = b.has_id;
      tx.next_key = key + 1;
      put(k + i, Ok(), pre);
    }
    tx.dirty = true;
    k += static_cast<size_t>(sent);
  }
}

void Engine::ReadTxStamps(SendSocket& s, bool one_read) {
  if (!s.tx.on) return;
  for (size_t reads = 0; reads < kMaxPacketsPerWake / TxStampReader::kSlots; reads++) {
    int stamps = 0;
    int n = tx_reader_.Read(s.fd, tx_stamps_.data(), &stamps);
    if (n < 0) {
      if (n != -EAGAIN && n != -EWOULDBLOCK) read_errors_++;
      s.tx.dirty = false;
      return;
    }
    for (int i = 0; i < stamps; i++) {
      const TxStamp& st = tx_stamps_[i];
      TxTracker::Slot& slot = s.tx.ring[st.key % TxTracker::kRing];
      if (!slot.live || slot.key != st.key) continue;
      slot.live = false;
      if (st.ns < slot.pre_ns) continue;  // not this send's (a stale numbering): keep the pre-send clock
      tx_ready_.push_back(TxRecord{s.family, slot.tx_id, st.ns});
    }
    if (static_cast<size_t>(n) < TxStampReader::kSlots) {
      s.tx.dirty = false;
      return;
    }
    if (one_read) return;
  }
}

void Engine::CollectTxStamps() {
  ForEachSendSocket([this](SendSocket& s) {
    if (s.tx.dirty) ReadTxStamps(s, false);
  });
}

void Engine::AppendTx(Batch& batch) {
  for (const TxRecord& t : tx_ready_) {
    batch.AddWithExt(Source::kTx, t.family, kNoAddress, nullptr, 0, Rel(t.ns)).tx_id(t.tx_id);
  }
  tx_ready_.clear();
}

// A send socket's error queue has stamps: read them now (the kernel's queue is bounded by the
// socket's receive buffer), keep them for the next receive batch, and hand them to JS by
// themselves only when many have gathered.
void Engine::DrainTxPoll(Poller* p, int status) {
  SendSocket& s = *p->send;
  const size_t before = tx_ready_.size();
  ReadTxStamps(s, true);
  if (tx_ready_.size() == before && !s.tx.dirty) (void)TakeSocketError(s.fd);  // a bare socket error
  if (status < 0) uv_poll_start(&p->handle, UV_PRIORITIZED, &Engine::OnReadable);
  if (tx_ready_.size() < kMaxPacketsPerWake) return;
  drain_.Clear();
  AppendTx(drain_);
  Deliver(drain_);  // may call into JS: nothing touches this or p after it
}

}  // namespace mtr
