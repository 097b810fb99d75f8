# node-gyp build of the ipnbus addon. The AF_IPN uapi header is include/linux/ipn.h,
# a copy of kernel/include/uapi/linux/ipn.h kept equal by test/packaging (so the
# package holds all it compiles from): the contract the addon is built against.
{
  "targets": [
    {
      "target_name": "ipnbus_native",
      "sources": ["src/addon.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "include"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-fexceptions", "-O2", "-std=c++17", "-Wall", "-Wno-missing-field-initializers"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
