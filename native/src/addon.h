// What the addon's source files share: errno errors, argument checks, and
// the function each file registers its exports with. Internal; the
// JavaScript interface is index.d.ts.
#pragma once

#include <napi.h>

#include <stdint.h>

#include <string>

namespace ipnbus {

// Largest number of fds one message carries (the kernel's SCM_MAX_FD).
constexpr int kMaxFds = 253;

// errors.cc: a JS Error whose `code` is the errno's name, `errno` the
// negative errno and `syscall` the failing call.
const char *ErrnoName(int e);
Napi::Error ErrnoError(Napi::Env env, int e, const char *syscall);
[[noreturn]] void ThrowErrno(Napi::Env env, int e, const char *syscall);
[[noreturn]] void ThrowType(Napi::Env env, const char *msg);

// errors.cc: arguments, checked (a TypeError naming the argument).
int ArgInt(const Napi::CallbackInfo &info, size_t i, const char *what);
int ArgFd(const Napi::CallbackInfo &info, size_t i);
std::string ArgString(const Napi::CallbackInfo &info, size_t i, const char *what);

// sockets.cc: {pid, uid, gid}.
Napi::Object CredsObject(Napi::Env env, uint32_t pid, uint32_t uid, uint32_t gid);

// Each file adds its functions to the module's exports.
void RegisterSockets(Napi::Env env, Napi::Object exports);
void RegisterSend(Napi::Env env, Napi::Object exports);
void RegisterMesh(Napi::Env env, Napi::Object exports);
void RegisterReceive(Napi::Env env, Napi::Object exports);
void RegisterReceiveMesh(Napi::Env env, Napi::Object exports);
void RegisterReceiveStream(Napi::Env env, Napi::Object exports);
void RegisterPoller(Napi::Env env, Napi::Object exports);

}  // namespace ipnbus
