{
  "targets": [
    {
      "target_name": "xrbd",
      "sources": [
        "native/addon.cc",
        "native/core/exit_guard.cc",
        "native/core/constants.cc",
        "native/cluster/cluster.cc",
        "native/cluster/admin.cc",
        "native/cluster/capabilities.cc",
        "native/pool/pool.cc",
        "native/pool/namespaces.cc",
        "native/pool/trash.cc",
        "native/pool/groups.cc",
        "native/image/image.cc",
        "native/image/io.cc",
        "native/image/diff.cc",
        "native/image/metadata.cc",
        "native/image/snapshots.cc",
        "native/image/clones.cc",
        "native/image/watch.cc",
        "native/mirror/pool.cc",
        "native/mirror/peers.cc",
        "native/mirror/image.cc",
        "native/image/locks.cc",
        "native/image/maintenance.cc",
        "native/pool/stats.cc",
        "native/pool/config.cc",
        "native/pool/migration.cc",
        "native/image/config.cc",
        "native/image/encryption.cc"
      ],
      "include_dirs": ["native", "<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": ["-lrbd", "-lrados"]
    }
  ]
}
