// Engine: transmit-stamp bookkeeping. Each stamped send books a key in its socket's ring; stamps
// read from the send socket's error queue are matched back to the caller's txId and handed to JS
// at the head of the next batch (engine.h, TxTracker).
#include <errno.h>

#include "engine.h"

namespace mtr {

namespace {
constexpr uint8_t kNoAddress[16] = {};
}

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
