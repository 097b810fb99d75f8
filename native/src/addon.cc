// Placeholder translation unit until the addon lands (issue 4).
#include <napi.h>
static Napi::Object Init(Napi::Env env, Napi::Object exports) { return exports; }
NODE_API_MODULE(ipnbus_native, Init)
