// Errors and argument checks. An errno's name comes from libuv, as Node
// names it (uv_err_name of uv_translate_sys_error); for the Linux errnos
// libuv has no name for (ETOOMANYREFS, EINPROGRESS, ...) from the table
// below, so that no errno surfaces as an unknown code.
#include "addon.h"

#include <errno.h>
#include <string.h>
#include <uv.h>

namespace ipnbus {

namespace {

// Linux errnos libuv does not name (checked against uv_err_name: it returns
// "Unknown system error <n>" for each of these).
const char *LinuxOnlyName(int e) {
  switch (e) {
#define E(name) case name: return #name;
    E(ENOEXEC) E(ECHILD) E(ENOTBLK) E(EDOM) E(EDEADLK) E(ENOLCK) E(ENOMSG) E(EIDRM) E(ECHRNG) E(EL2NSYNC)
    E(EL3HLT) E(EL3RST) E(ELNRNG) E(ENOCSI) E(EL2HLT) E(EBADE) E(EBADR) E(EXFULL) E(ENOANO)
    E(EBADRQC) E(EBADSLT) E(EBFONT) E(ENOSTR) E(ETIME) E(ENOSR) E(ENOPKG) E(EREMOTE) E(ENOLINK) E(EADV)
    E(ESRMNT) E(ECOMM) E(EMULTIHOP) E(EDOTDOT) E(EBADMSG) E(ENOTUNIQ) E(EBADFD) E(EREMCHG) E(ELIBACC)
    E(ELIBBAD) E(ELIBSCN) E(ELIBMAX) E(ELIBEXEC) E(ERESTART) E(ESTRPIPE) E(EUSERS) E(EPFNOSUPPORT)
    E(ENETRESET) E(ETOOMANYREFS) E(EINPROGRESS) E(ESTALE) E(EUCLEAN) E(ENOTNAM) E(ENAVAIL) E(EISNAM)
    E(EDQUOT) E(ENOMEDIUM) E(EMEDIUMTYPE) E(ENOKEY) E(EKEYEXPIRED) E(EKEYREVOKED) E(EKEYREJECTED)
    E(EOWNERDEAD) E(ENOTRECOVERABLE) E(ERFKILL)
#undef E
    default: return nullptr;
  }
}

}  // namespace

const char *ErrnoName(int e) {
  const char *n = LinuxOnlyName(e);
  if (n != nullptr) return n;
  n = uv_err_name(uv_translate_sys_error(e));
  // uv_err_name leaks a string for names it does not know; the table above
  // keeps Linux errnos from getting here.
  return strncmp(n, "Unknown", 7) == 0 ? "EUNKNOWN" : n;
}

Napi::Error ErrnoError(Napi::Env env, int e, const char *syscall) {
  std::string msg = std::string(syscall) + ": " + strerror(e) + " (" + ErrnoName(e) + ")";
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, ErrnoName(e)));
  err.Set("errno", Napi::Number::New(env, -e));
  err.Set("syscall", Napi::String::New(env, syscall));
  return err;
}

void ThrowErrno(Napi::Env env, int e, const char *syscall) {
  throw ErrnoError(env, e, syscall);
}

void ThrowType(Napi::Env env, const char *msg) {
  throw Napi::TypeError::New(env, msg);
}

int ArgInt(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    ThrowType(info.Env(), (std::string(what) + " must be a number").c_str());
  }
  return info[i].As<Napi::Number>().Int32Value();
}

int ArgFd(const Napi::CallbackInfo &info, size_t i) {
  int fd = ArgInt(info, i, "fd");
  if (fd < 0) ThrowType(info.Env(), "fd must be a non-negative integer");
  return fd;
}

std::string ArgString(const Napi::CallbackInfo &info, size_t i, const char *what) {
  if (info.Length() <= i || !info[i].IsString()) {
    ThrowType(info.Env(), (std::string(what) + " must be a string").c_str());
  }
  return info[i].As<Napi::String>().Utf8Value();
}

}  // namespace ipnbus
