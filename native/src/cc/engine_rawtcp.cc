// Engine: the receive side of raw TCP flow probes. A flow's SYN leaves through the raw send
// sockets like any raw probe (sendIPv4 with our IPv4 header, sendIPv6 on the IPPROTO_TCP socket);
// a router's Time Exceeded comes in on the raw ICMP sockets. What is left is the destination's
// answer, a SYN-ACK or a RST to the flow's source port: it is read from the raw IPPROTO_TCP sockets
// that already stamp TCP refusals (rst_stamps.h), once watchSegments() widened their filter and
// put them under a poll. Each segment goes to JS as a 'segment' record with the kernel's receive
// stamp (SO_TIMESTAMPNS). The kernel, having no socket for the flow's port, answers a SYN-ACK with
// its own RST; that is fine (the destination drops its half-open connection).
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "engine.h"
#include "errors.h"

namespace mtr {

// watchSegments(): { ip4: boolean, ip6: boolean }, which families deliver 'segment' records now.
// Idempotent. Needs open(); a family without raw sockets (datagram mode) has no RST-stamp socket.
Napi::Value Engine::WatchSegments(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!opened_ || closed_) {
    ThrowErrno(env, EBADF, "watchSegments");
    return env.Undefined();
  }
  if (rst_.sink() == nullptr && rst_.any_open()) {
    SysResult r = rst_.WidenFilter();
    if (!r.ok()) {
      ThrowErrno(env, r.err, r.syscall);
      return env.Undefined();
    }
    rst_.set_sink(&pending_, epoch_ns_);  // segments read by a TCP probe's drain go with the next flush
    for (int i = 0; i < 2; i++) {
      const int family = i == 0 ? AF_INET : AF_INET6;
      const int fd = rst_.fd(family);
      if (fd < 0 || segment_poll_[i] != nullptr) continue;
      r = StartPoll(&segment_poll_[i], fd, family, PollKind::kSegments, 0);
      if (!r.ok()) {
        ThrowErrno(env, r.err, r.syscall);
        return env.Undefined();
      }
      segment_poll_[i]->tracker = tracker_;
      tracker_->pending++;
    }
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("ip4", segment_poll_[0] != nullptr);
  out.Set("ip6", segment_poll_[1] != nullptr);
  return out;
}

void Engine::DrainSegments(Poller* p, int status) {
  if (status < 0) {
    // as for a raw ICMP socket: an error that does not go away by itself
    read_errors_++;
    uv_poll_stop(&p->handle);
    return;
  }
  drain_.Clear();
  CollectTxStamps();  // a probe's departure is corrected before its answer is matched
  AppendTx(drain_);
  Batch* flush = rst_.sink();
  rst_.set_sink(&drain_, epoch_ns_);
  rst_.DrainFamily(p->family);
  rst_.set_sink(flush, epoch_ns_);
  Deliver(drain_);  // may call into JS: nothing touches this or p after it
}

}  // namespace mtr
