{
  # gen/config.gypi and gen/launcher-config.h are written by scripts/build-addon.mjs before node-gyp
  # runs: the node-addon-api headers, and the absolute paths of Node and of the daemon script that
  # the launcher execs (recorded at build time, never looked up through PATH).
  "includes": ["gen/config.gypi"],
  "targets": [
    {
      "target_name": "mtr_native",
      "sources": [
        "src/cc/addon.cc",
        "src/cc/args.cc",
        "src/cc/batch.cc",
        "src/cc/engine.cc",
        "src/cc/engine_send.cc",
        "src/cc/engine_handles.cc",
        "src/cc/engine_tcp.cc",
        "src/cc/engine_rawtcp.cc",
        "src/cc/engine_tx.cc",
        "src/cc/errors.cc",
        "src/cc/name_hold.cc",
        "src/cc/port_quarantine.cc",
        "src/cc/privileges.cc",
        "src/cc/probe_sockets.cc",
        "src/cc/process_guard.cc",
        "src/cc/rst_stamps.cc",
        "src/cc/sockets.cc"
      ],
      "include_dirs": ["<(napi_include_dir)"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"]
    },
    {
      # The only file ever given privilege (sudo, setuid or file capabilities): plain C, no Node.
      "target_name": "mtr-packet-launch",
      "type": "executable",
      "sources": ["src/launcher/launch.c"],
      "include_dirs": ["gen"],
      "cflags": ["-std=c11", "-O2", "-Wall", "-Wextra", "-fPIE", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2"],
      "ldflags": ["-pie", "-Wl,-z,relro,-z,now"]
    }
  ]
}
