{
  "targets": [
    {
      "target_name": "xrbd",
      "sources": [
        "native/addon.cc",
        "native/capabilities.cc",
        "native/admin.cc",
        "native/cluster.cc",
        "native/pool.cc",
        "native/image.cc",
        "native/snapshots.cc",
        "native/metadata.cc",
        "native/trash.cc",
        "native/namespaces.cc",
        "native/groups.cc",
        "native/mirror_pool.cc",
        "native/mirror_image.cc",
        "native/io.cc",
        "native/diff.cc",
        "native/watch.cc",
        "native/util/exit_guard.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": ["-lrbd", "-lrados"]
    }
  ]
}
