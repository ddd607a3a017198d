{
  "targets": [
    {
      "target_name": "mtr_native",
      "sources": [
        "src/cc/addon.cc",
        "src/cc/engine.cc",
        "src/cc/errors.cc",
        "src/cc/port_quarantine.cc",
        "src/cc/privileges.cc",
        "src/cc/probe_sockets.cc",
        "src/cc/process_guard.cc",
        "src/cc/rst_stamps.cc",
        "src/cc/sockets.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
