// Engine: the lifetime of its libuv handles. Receive and error-queue polls (Poller), the flush
// handles (Flusher) and the TCP probes' polls all close asynchronously; a CloseTracker counts them
// and outlives the Engine until the last close callback, holding the env's cleanup hook until then.
#include "engine.h"

namespace mtr {

// Raw and ping sockets get a Receiver; the UDP socket of datagram mode only has an error queue
// worth reading. Datagram sockets also watch UV_PRIORITIZED: with SO_SELECT_ERR_QUEUE a queued
// ICMP error is POLLERR|POLLPRI, which libuv reports instead of stopping the handle.
SysResult Engine::StartPoll(Poller** slot, int fd, int family, PollKind kind, uint16_t local_port) {
  auto* p = new Poller();
  p->owner = this;
  p->fd = fd;
  p->family = family;
  p->kind = kind;
  p->local_port = local_port;
  if (kind == PollKind::kRawIcmp || kind == PollKind::kPing) p->receiver = std::make_unique<Receiver>(family);
  int rc = uv_poll_init_socket(loop_, &p->handle, fd);
  if (rc != 0) {
    delete p;
    return Fail(-rc, "uv_poll_init");
  }
  p->handle.data = p;
  const int events = kind == PollKind::kRawIcmp || kind == PollKind::kSegments ? UV_READABLE
                     : kind == PollKind::kTxStamps ? UV_PRIORITIZED
                                                   : (UV_READABLE | UV_PRIORITIZED);
  rc = uv_poll_start(&p->handle, events, &Engine::OnReadable);
  if (rc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), &Engine::OnPollClosed);
    return Fail(-rc, "uv_poll_start");
  }
  if (!refed_) uv_unref(reinterpret_cast<uv_handle_t*>(&p->handle));
  *slot = p;
  return Ok();
}

// Puts every poll handle opened so far, and the flush handles it creates now, under one
// CloseTracker (engine.h), and registers the env cleanup hook that waits for their close callbacks.
void Engine::TrackHandles() {
  tracker_ = new CloseTracker();
  tracker_->engine = this;
  for (Family* f : {&v4_, &v6_}) {
    for (Poller* p : {f->poller, f->udp_poller}) {
      if (p == nullptr) continue;
      p->tracker = tracker_;
      tracker_->pending++;
    }
  }
  ForEachSendSocket([this](SendSocket& s) {
    if (s.poller == nullptr) return;
    s.poller->tracker = tracker_;
    tracker_->pending++;
  });
  flusher_ = new Flusher();
  flusher_->owner = this;
  flusher_->tracker = tracker_;
  uv_check_init(loop_, &flusher_->check);
  uv_idle_init(loop_, &flusher_->idle);
  flusher_->check.data = flusher_;
  flusher_->idle.data = flusher_;
  // The flush handles never keep the loop alive by themselves (the polls do that, or not, per ref()).
  uv_unref(reinterpret_cast<uv_handle_t*>(&flusher_->check));
  uv_unref(reinterpret_cast<uv_handle_t*>(&flusher_->idle));
  flusher_->open_handles = 2;
  tracker_->pending += 2;
  if (napi_add_async_cleanup_hook(env_, &Engine::OnEnvCleanup, tracker_, &tracker_->hook) != napi_ok) {
    tracker_->hook = nullptr;
  }
}

void Engine::ClosePoller(Poller** slot) {
  Poller* p = *slot;
  if (p == nullptr) return;
  *slot = nullptr;
  p->owner = nullptr;
  uv_poll_stop(&p->handle);  // stop polling before the fd goes away
  uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), &Engine::OnPollClosed);
}

// ref()/unref(): every handle the engine owns keeps the loop alive, or none does.
void Engine::SetRefed(bool on) {
  refed_ = on;
  auto apply = [on](uv_handle_t* h) { on ? uv_ref(h) : uv_unref(h); };
  for (Family* f : {&v4_, &v6_})
    for (Poller* p : {f->poller, f->udp_poller})
      if (p != nullptr) apply(reinterpret_cast<uv_handle_t*>(&p->handle));
  ForEachSendSocket([&apply](SendSocket& s) {
    if (s.poller != nullptr) apply(reinterpret_cast<uv_handle_t*>(&s.poller->handle));
  });
  for (auto& kv : tcp_) apply(reinterpret_cast<uv_handle_t*>(&kv.second->handle));
  for (Poller* p : segment_poll_)
    if (p != nullptr) apply(reinterpret_cast<uv_handle_t*>(&p->handle));
}

Napi::Value Engine::JsRef(const Napi::CallbackInfo& info) {
  SetRefed(true);
  return info.This();
}

Napi::Value Engine::JsUnref(const Napi::CallbackInfo& info) {
  SetRefed(false);
  return info.This();
}

void Engine::OnEnvCleanup(napi_async_cleanup_hook_handle, void* arg) {
  // The env is going away with the engine still open: close now; the hook is removed by the
  // last close callback (ReleaseTracker), which lets the teardown go on.
  auto* tracker = static_cast<CloseTracker*>(arg);
  if (tracker->engine != nullptr) tracker->engine->CloseAll();
}

void Engine::ReleaseTracker(CloseTracker* tracker) {
  if (tracker == nullptr) return;
  if (--tracker->pending > 0) return;
  if (tracker->hook != nullptr) napi_remove_async_cleanup_hook(tracker->hook);
  delete tracker;
}

void Engine::OnPollClosed(uv_handle_t* handle) {
  auto* p = static_cast<Poller*>(handle->data);
  CloseTracker* tracker = p->tracker;
  delete p;
  ReleaseTracker(tracker);
}

void Engine::OnFlusherClosed(uv_handle_t* handle) {
  auto* f = static_cast<Flusher*>(handle->data);
  CloseTracker* tracker = f->tracker;
  if (--f->open_handles == 0) delete f;
  ReleaseTracker(tracker);
}

void Engine::ScheduleFlush() {
  if (flusher_ == nullptr || flush_scheduled_) return;
  uv_check_start(&flusher_->check, &Engine::OnCheck);
  uv_idle_start(&flusher_->idle, &Engine::OnIdle);
  flush_scheduled_ = true;
}

void Engine::OnIdle(uv_idle_t*) {}

void Engine::OnCheck(uv_check_t* handle) {
  auto* f = static_cast<Flusher*>(handle->data);
  Engine* self = f->owner;
  if (self == nullptr) return;
  uv_check_stop(&f->check);
  uv_idle_stop(&f->idle);
  self->flush_scheduled_ = false;
  self->Deliver(self->pending_);  // may call into JS: nothing touches self or f after it
}

}  // namespace mtr
