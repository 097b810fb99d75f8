# node-gyp build of the ipnbus addon. The AF_IPN uapi header comes from the
# kernel/ tree of this repo: it is the contract the addon is compiled against.
{
  "targets": [
    {
      "target_name": "ipnbus_native",
      "sources": ["src/addon.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "../kernel/include/uapi"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-fexceptions", "-O2", "-std=c++17", "-Wall", "-Wno-missing-field-initializers"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
