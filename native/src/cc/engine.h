// Engine: owns the raw sockets of one JS object, one uv_poll_t per receive socket on the env's
// loop, and hands JS one batch per wake. The JS-facing methods are thin: argument checks, the
// syscall (sockets.h), and Node-style errors (errors.h).
#pragma once

#include <napi.h>
#include <uv.h>

#include <array>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "batch.h"
#include "port_quarantine.h"
#include "probe_sockets.h"
#include "rst_stamps.h"
#include "sockets.h"

namespace mtr {

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Engine(const Napi::CallbackInfo& info);
  ~Engine() override;

 private:
  // How a family is served: raw sockets, or (unprivileged) an ICMP datagram "ping" socket plus a
  // UDP socket, both reporting ICMP errors through their error queues.
  enum class Mode { kNone, kRaw, kDgram };
  // What open() may use: raw with a per-family fallback to dgram, or only one of them.
  enum class OpenPolicy { kAuto, kRawOnly, kDgramOnly };
  // What a receive socket is, and so how its wakes are drained.
  // kTxStamps: a raw send socket, watched for its error queue (transmit timestamps) only.
  // kSegments: a raw TCP receive socket (rst_), watched for TCP flows' answers (engine_rawtcp.cc).
  enum class PollKind { kRawIcmp, kPing, kUdp, kTxStamps, kSegments };

  struct Poller;

  static constexpr size_t kMaxPacketsPerWake = 1024;  // then yield to the loop; the level-triggered poll fires again

  // A reference to one send (Send4/Send6 with its arguments bound), for SendStamped: called with
  // the stamp key to pass (nullptr: none) and where to store the pre-send clock. No allocation;
  // valid while the callable it was made from is (the SendStamped call).
  class SendRef {
   public:
    template <typename F>
    SendRef(F&& f)  // NOLINT(google-explicit-constructor): lambdas convert where SendStamped is called
        : fn_(static_cast<void*>(&f)), call_([](void* fn, const uint32_t* key, int64_t* departure) {
            return (*static_cast<std::remove_reference_t<F>*>(fn))(key, departure);
          }) {}
    SysResult operator()(const uint32_t* key, int64_t* departure) const { return call_(fn_, key, departure); }

   private:
    void* fn_;
    SysResult (*call_)(void*, const uint32_t*, int64_t*);
  };

  // Transmit timestamps of one send socket. Each stamped send gets a key: the socket's own count
  // of stamped sends, handed to the kernel per send (SCM_TS_OPT_ID) where it takes that, else
  // mirrored from the kernel's counter (OPT_ID). A ring remembers, per key, the caller's txId and
  // the pre-send clock; a stamp that finds no live slot with its key is dropped, and so is one
  // earlier than its send's pre-send clock (it cannot be that send's).
  struct TxTracker {
    static constexpr size_t kRing = 4096;
    struct Slot {
      uint32_t key = 0;
      uint32_t tx_id = 0;
      int64_t pre_ns = 0;
      bool live = false;
    };
    bool on = false;
    bool key_cmsg = true;  // SCM_TS_OPT_ID per send; false: the kernel's counter (kernels before 6.13)
    bool dirty = false;    // sent since the error queue was last found empty
    uint32_t next_key = 0;
    std::vector<Slot> ring;
    void Reset() {
      next_key = 0;
      for (Slot& s : ring) s.live = false;
    }
  };

  // Raw send sockets are never bound to a device: the device goes in each packet's PKTINFO.
  struct SendSocket {
    int fd = -1;
    int family = 0;
    uint32_t mark = 0;  // what the socket carries now, so an unchanged mark costs no syscall
    TxTracker tx;
    Poller* poller = nullptr;  // its error-queue poll while tx.on
  };

  // A transmit stamp read, waiting to go to JS at the head of the next batch.
  struct TxRecord {
    int family;
    uint32_t tx_id;
    int64_t ns;
  };

  // One send of a send batch (sendBatch), checked and resolved to its socket.
  struct BatchEntry {
    SendSocket* socket;  // nullptr: err says why there is none
    int err;
    const uint8_t* data;
    size_t len;
    const uint8_t* dst;
    const uint8_t* src;  // IPv6, or nullptr
    int hop_limit, traffic_class;
    uint32_t mark, scope_id, tx_id;
    bool has_id;
    bool dont_fragment;
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
    int family = 0;
    PollKind kind = PollKind::kRawIcmp;
    uint16_t local_port = 0;  // ping: the ICMP identifier the kernel writes; UDP: the source port
    SendSocket* send = nullptr;  // kTxStamps: the send socket it watches
    std::unique_ptr<Receiver> receiver;
  };

  struct Family {
    Mode mode = Mode::kNone;
    int error = 0;               // errno of the failed (raw) open
    const char* error_syscall = "";
    int dgram_error = 0;         // errno of the failed datagram open, when tried
    const char* dgram_syscall = "";
    int recv_fd = -1;            // raw ICMP socket, or the ping socket
    Poller* poller = nullptr;
    // Datagram mode: the ping socket is recv_fd/poller; the UDP socket is this.
    int udp_fd = -1;
    Poller* udp_poller = nullptr;
    uint32_t ping_mark = 0, udp_mark = 0;  // SO_MARK the two datagram sockets carry now
  };

  // One TCP probe: a non-blocking connect with its own poll. Owned by tcp_ until its close callback.
  struct TcpProbe {
    uv_poll_t handle;
    Engine* owner = nullptr;  // nullptr once closing
    CloseTracker* tracker = nullptr;
    int fd = -1;
    uint32_t id = 0;
    int family = 0;
    uint8_t dst[16] = {};
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    bool recverr = false;
    bool tcp = true;            // false for an SCTP probe
    int64_t departure_ns = 0;   // the clock read before connect()
    int64_t quarantine_ns = 0;  // how long its port stays taken after it ends (TCP only; 0: not at all)
  };

  // Events that are not read from a shared socket (TCP completions and their error queues, an
  // immediate ECONNREFUSED) gather in pending_ and go to JS once per loop iteration: a check handle
  // flushes after the poll phase, an idle handle keeps the poll phase from blocking meanwhile.
  struct Flusher {
    uv_check_t check;
    uv_idle_t idle;
    Engine* owner = nullptr;
    CloseTracker* tracker = nullptr;
    int open_handles = 0;
  };

  // IPv6 send sockets, one per transport protocol.
  enum V6Proto { kV6Icmp = 0, kV6Udp, kV6Tcp, kV6Sctp, kV6Count };

  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value SendIPv4(const Napi::CallbackInfo& info);
  Napi::Value SendIPv6(const Napi::CallbackInfo& info);
  Napi::Value SourceAddress(const Napi::CallbackInfo& info);
  Napi::Value Now(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void SetRefed(bool on);
  Napi::Value JsRef(const Napi::CallbackInfo& info);
  Napi::Value JsUnref(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value SendDgramJs(const Napi::CallbackInfo& info);
  Napi::Value SendBatchJs(const Napi::CallbackInfo& info);
  Napi::Value ConnectTcp(const Napi::CallbackInfo& info);
  Napi::Value CloseTcp(const Napi::CallbackInfo& info);
  Napi::Value ProbeCapabilities(const Napi::CallbackInfo& info);
  Napi::Value HoldName(const Napi::CallbackInfo& info);
  // engine_rawtcp.cc: TCP flows' answers (SYN-ACK, RST) from the RST-stamp sockets
  Napi::Value WatchSegments(const Napi::CallbackInfo& info);
  void DrainSegments(Poller* p, int status);

  SysResult OpenIPv4();
  SysResult OpenIPv6();
  SysResult OpenDgramFamily(Family& fam, int family);
  SysResult StartPoll(Poller** slot, int fd, int family, PollKind kind, uint16_t local_port);
  void ClosePoller(Poller** slot);
  void TrackHandles();
  // Brings a send socket to the wanted mark; costs nothing when it already matches.
  SysResult Configure(SendSocket& s, uint32_t mark);
  // Turns on transmit stamps for a send socket and starts its error-queue poll; a failure only
  // leaves the socket without them (departures stay the pre-send clock).
  void SetupTxStamps(SendSocket& s, int family);
  // One send through s, stamped with tx_id when has_id (and s.tx.on): picks the key, retries once
  // without SCM_TS_OPT_ID when the kernel refuses it, and books the key in the ring.
  SysResult SendStamped(SendSocket& s, bool has_id, uint32_t tx_id, SendRef send, int64_t* departure);
  // Sends e[0..n), all through s with one mark, in as few sendmmsg calls as it takes, each packet
  // stamped as SendStamped would; writes send_result slots per entry.
  void SendRun(SendSocket& s, const BatchEntry* e, size_t n, double* results);
  // Reads s's queued stamps into tx_ready_ (until the queue is empty, or only once if one_read).
  void ReadTxStamps(SendSocket& s, bool one_read);
  // Before reading a receive socket: stamps of every send socket that sent since it was last read.
  void CollectTxStamps();
  // Moves tx_ready_ into batch as 'tx' records.
  void AppendTx(Batch& batch);
  void DrainTxPoll(Poller* p, int status);
  void CloseAll();
  static void OnEnvCleanup(napi_async_cleanup_hook_handle handle, void* arg);
  static void OnPollClosed(uv_handle_t* handle);
  static void OnReadable(uv_poll_t* handle, int status, int events);
  static void OnTcpWake(uv_poll_t* handle, int status, int events);
  static void OnTcpClosed(uv_handle_t* handle);
  static void OnCheck(uv_check_t* handle);
  static void OnIdle(uv_idle_t* handle);
  static void OnFlusherClosed(uv_handle_t* handle);
  static void ReleaseTracker(CloseTracker* tracker);
  void Drain(Poller* p);
  void DrainDgram(Poller* p, int status, int events);
  // Reads a socket's error queue into batch; returns how many entries were read (delivered or not).
  size_t ReadErrorQueue(int fd, int family, int proto, uint16_t src_port, double tcp_id, Batch& batch);
  void TcpWake(TcpProbe* t, int status, int events);
  void CloseProbe(TcpProbe* t);
  // Closes a finished TCP probe's socket now, or hands it to quarantine_ for quarantine_ns.
  void ReleaseProbeSocket(int fd, bool tcp, int64_t quarantine_ns);
  // When a TCP probe was refused: the kernel's stamp of the RST (rst_), else `fallback_ns`.
  int64_t RefusalTime(int family, const uint8_t* dst, uint16_t dst_port, uint16_t src_port, int64_t departure_ns,
                      int64_t fallback_ns);
  void AddTcpEvent(int family, const uint8_t* dst, uint32_t id, int err, int64_t rx_ns);
  void ScheduleFlush();
  // Hands batch to JS and empties it. May run JS: the caller must not touch the engine afterwards.
  void Deliver(Batch& batch);
  Family& FamilyOf(int family) { return family == AF_INET ? v4_ : v6_; }
  template <typename Fn>
  void ForEachSendSocket(Fn fn) {
    fn(send4_);
    for (SendSocket& s : send6_) fn(s);
  }
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

  OpenPolicy policy_ = OpenPolicy::kAuto;
  double max_files_ = -1;

  std::vector<int> held_names_;  // sockets holding abstract names (holdName), closed with the engine

  std::unordered_map<uint32_t, TcpProbe*> tcp_;
  uint32_t next_tcp_id_ = 1;
  PortQuarantine quarantine_;
  RstStamps rst_;  // kernel stamps of the RSTs that refuse TCP probes (raw mode)
  std::array<Poller*, 2> segment_poll_ = {nullptr, nullptr};  // rst_'s sockets while TCP flows are watched (v4, v6)
  Flusher* flusher_ = nullptr;
  bool flush_scheduled_ = false;

  // Drain scratch, reused between wakes.
  std::vector<Received> received_;
  ErrQueueReader errq_;
  TxStampReader tx_reader_;
  std::vector<TxStamp> tx_stamps_ = std::vector<TxStamp>(TxStampReader::kSlots);
  std::vector<TxRecord> tx_ready_;
  std::vector<BatchEntry> batch_entries_;
  Batch drain_;
  Batch pending_;

  uint64_t packets_ = 0, skipped_ = 0, read_errors_ = 0, batches_ = 0;
};

}  // namespace mtr
