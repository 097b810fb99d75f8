{ "targets": [ { "target_name": "ipnbus_native", "sources": [ "src/addon.cc" ],
  "include_dirs": [ "<!(node -p \"require('node-addon-api').include_dir\")" ],
  "defines": [ "NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS" ],
  "cflags_cc": [ "-fexceptions", "-O2" ], "cflags_cc!": [ "-fno-exceptions" ] } ] }
