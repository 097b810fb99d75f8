# node-gyp build of the ipnbus addon. The AF_IPN uapi header (the contract
# the addon is built against) is include/linux/ipn.h, a copy of
# kernel/include/uapi/linux/ipn.h shipped in the package, so that the package
# holds all it compiles from. In the repository the kernel's own header is
# used, so a change there builds at once; test/packaging/uapi-copy.test.ts
# then fails until the copy is refreshed.
{
  "targets": [
    {
      "target_name": "ipnbus_native",
      "sources": ["src/addon.cc", "src/errors.cc", "src/sockets.cc", "src/send.cc", "src/mesh.cc", "src/cmsg.cc",
                  "src/receive.cc", "src/receive-mesh.cc", "src/receive-stream.cc", "src/poller.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node -p \"require('fs').existsSync('../kernel/include/uapi/linux/ipn.h') ? '../kernel/include/uapi' : 'include'\")"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-fexceptions", "-O2", "-std=c++17", "-Wall", "-Wno-missing-field-initializers"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
