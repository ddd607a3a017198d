// Engine: owns the raw sockets of one JS object, one uv_poll_t per receive socket on the env's
// loop, and hands JS one batch per wake. The JS-facing methods are thin: argument checks, the
// syscall (sockets.h), and Node-style errors (errors.h).
#pragma once

#include <napi.h>
#include <uv.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "sockets.h"

namespace mtr {

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Engine(const Napi::CallbackInfo& info);
  ~Engine() override;

 private:
  // How a family is served. kDgram (unprivileged ICMP datagram sockets) is reserved for the
  // unprivileged mode: the receive side (Poller/Receiver) is shared, only opening and sending differ.
  enum class Mode { kNone, kRaw, kDgram };

  struct SendSocket {
    int fd = -1;
    uint32_t mark = 0;   // what the socket carries now, so unchanged options cost no syscall
    std::string device;  // "" = not bound
  };

  // Outlives the Engine while poll handles are closing. The env's async cleanup hook stays
  // registered until the last handle's close callback has run, so neither an env teardown (worker
  // exit) nor the addon's unloading can overtake a pending close callback.
  struct CloseTracker {
    Engine* engine = nullptr;  // nullptr once the engine has closed
    int pending = 0;           // poll handles not yet through their close callback
    napi_async_cleanup_hook_handle hook = nullptr;
  };

  struct Poller {
    uv_poll_t handle;
    Engine* owner = nullptr;  // nullptr once the engine let go of it (closing)
    CloseTracker* tracker = nullptr;
    int fd = -1;
    std::unique_ptr<Receiver> receiver;
  };

  struct Family {
    Mode mode = Mode::kNone;
    int error = 0;               // errno of the failed open
    const char* error_syscall = "";
    int recv_fd = -1;
    Poller* poller = nullptr;
  };

  // IPv6 send sockets, one per transport protocol.
  enum V6Proto { kV6Icmp = 0, kV6Udp, kV6Tcp, kV6Sctp, kV6Count };

  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value SendIPv4(const Napi::CallbackInfo& info);
  Napi::Value SendIPv6(const Napi::CallbackInfo& info);
  Napi::Value SourceAddress(const Napi::CallbackInfo& info);
  Napi::Value Now(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value JsRef(const Napi::CallbackInfo& info);
  Napi::Value JsUnref(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  SysResult OpenIPv4();
  SysResult OpenIPv6();
  SysResult StartPoll(Family& fam, int family);
  // Brings a send socket to the wanted mark/device; costs nothing when it already matches.
  SysResult Configure(SendSocket& s, uint32_t mark, const std::string& device);
  void CloseAll();
  static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg);
  static void OnPollClosed(uv_handle_t* handle);
  static void OnReadable(uv_poll_t* handle, int status, int events);
  void Drain(Poller* p);
  double Rel(int64_t realtime_ns) const { return static_cast<double>(realtime_ns - epoch_ns_); }

  napi_env env_;
  uv_loop_t* loop_ = nullptr;
  int64_t epoch_ns_;
  Napi::FunctionReference on_batch_;
  std::unique_ptr<Napi::AsyncContext> async_;

  bool opened_ = false;
  bool closed_ = false;
  bool held_ = false;      // the JS object is kept alive while open
  CloseTracker* tracker_ = nullptr;
  bool refed_ = true;

  Family v4_, v6_;
  SendSocket send4_;
  std::array<SendSocket, kV6Count> send6_;

  // Drain scratch, reused between wakes.
  std::vector<Received> received_;
  std::vector<uint8_t> batch_bytes_;
  std::vector<double> batch_meta_;

  uint64_t packets_ = 0, skipped_ = 0, read_errors_ = 0, batches_ = 0;
};

}  // namespace mtr
