// The native half of the netlink module: syscalls only, no protocol knowledge.
//
// Every entry point is synchronous. The ones that take a network-namespace path enter that
// namespace, do their syscalls and restore the original namespace inside one call, so JavaScript
// never runs on a thread that is in a foreign namespace. Between entering and restoring, this file
// touches no N-API value: arguments are copied into C++ strings first and results are turned into
// JavaScript values only after the restore.
//
// Argument validation happens in TypeScript (native/binding.ts); the checks here only stop calls
// that would be unsafe (a sysctl path outside /proc/sys/net), and throw TypeError on misuse.
// Sysctl files are opened beneath the namespace's /proc/sys/net, which must be procfs, without
// following a symlink or crossing a mount on the way (openat2), so nothing mounted or linked into
// /proc/sys by anyone can redirect a write that a plugin running as root makes.

#include <napi.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace {

// Bumped whenever a signature below changes, so a stale build is caught by the loader.
constexpr uint32_t kAbiVersion = 2;

// The outcome of a sequence of syscalls: 0 or the errno of the first one that failed.
struct SysResult {
  int err = 0;
  const char* syscall = nullptr;

  static SysResult Ok() { return {}; }
  static SysResult Fail(const char* name) { return {errno, name}; }
  bool failed() const { return err != 0; }
};

// Node's own shape for system errors: message "<syscall> <CODE>: <text>", errno (negative, as
// libuv reports it), code and syscall, plus the path when one is involved.
Napi::Error MakeSystemError(Napi::Env env, const SysResult& r, const std::string& path = "") {
  const char* name = strerrorname_np(r.err);
  std::string code = name != nullptr ? name : "E" + std::to_string(r.err);
  std::string message = std::string(r.syscall) + " " + code + ": " + std::strerror(r.err);
  if (!path.empty()) message += " '" + path + "'";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, -r.err));
  error.Set("code", Napi::String::New(env, code));
  error.Set("syscall", Napi::String::New(env, r.syscall));
  if (!path.empty()) error.Set("path", Napi::String::New(env, path));
  return error;
}

void ThrowTypeError(Napi::Env env, const char* usage) {
  Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
}

// Runs `work` inside the network namespace at `netns_path` (or in place when the path is empty)
// and restores the thread's original namespace before returning. `work` must be plain C++.
// If the original namespace cannot be restored the thread would go on running JavaScript in the
// wrong namespace, so the process is aborted instead.
template <typename Work>
SysResult InNetns(const std::string& netns_path, Work work) {
  if (netns_path.empty()) return work();

  int original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (original < 0) return SysResult::Fail("open");
  int target = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    SysResult r = SysResult::Fail("open");
    close(original);
    return r;
  }
  if (setns(target, CLONE_NEWNET) != 0) {
    SysResult r = SysResult::Fail("setns");
    close(target);
    close(original);
    return r;
  }
  close(target);

  SysResult result = work();

  if (setns(original, CLONE_NEWNET) != 0) {
    static const char kMessage[] = "tscni native: cannot restore the original network namespace; aborting\n";
    ssize_t ignored = write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    (void)ignored;
    std::abort();
  }
  close(original);
  return result;
}

// Reads an optional namespace path argument: null/undefined means "the current namespace".
bool ReadNetnsPath(const Napi::Value& value, std::string* out) {
  if (value.IsNull() || value.IsUndefined()) {
    out->clear();
    return true;
  }
  if (!value.IsString()) return false;
  *out = value.As<Napi::String>().Utf8Value();
  return !out->empty() && out->find('\0') == std::string::npos;
}

// Defence in depth for sysctl keys, which TypeScript already validated: a relative path under
// net/, with no empty, "." or ".." component, so the open can never leave /proc/sys/net.
bool IsSafeSysctlKey(const std::string& key) {
  if (key.rfind("net/", 0) != 0 || key.find('\0') != std::string::npos) return false;
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string::npos) end = key.size();
    std::string part = key.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

bool ReadFd(const Napi::Value& value, int* fd) {
  if (!value.IsNumber()) return false;
  double d = value.As<Napi::Number>().DoubleValue();
  // Written so that NaN fails the range test: converting NaN to int is undefined behaviour.
  if (!(d >= 0 && d <= 0x7fffffff) || d != std::trunc(d)) return false;
  *fd = static_cast<int>(d);
  return true;
}

// netlinkOpen(protocol: number, netnsPath: string | null): number
Napi::Value NetlinkOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns;
  if (info.Length() != 2 || !info[0].IsNumber() || !ReadNetnsPath(info[1], &netns)) {
    ThrowTypeError(env, "usage: netlinkOpen(protocol: number, netnsPath: string | null)");
    return env.Undefined();
  }
  int protocol = info[0].As<Napi::Number>().Int32Value();

  int fd = -1;
  SysResult r = InNetns(netns, [&]() -> SysResult {
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd < 0) return SysResult::Fail("socket");
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      SysResult failed = SysResult::Fail("bind");
      close(fd);
      fd = -1;
      return failed;
    }
    return SysResult::Ok();
  });
  if (r.failed()) {
    MakeSystemError(env, r, netns).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  // Extended acks carry the kernel's own explanation of a failure; capped acks keep error replies
  // small; strict checking makes the kernel honour a dump request's filters (an address dump of
  // one link returns that link's addresses, not every address of the namespace). All three are
  // best effort: older kernels simply do not offer them, and callers filter replies anyway.
  int on = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
#ifdef NETLINK_GET_STRICT_CHK
  setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &on, sizeof on);
#endif
  return Napi::Number::New(env, fd);
}

// netlinkSend(fd: number, message: Uint8Array): void
Napi::Value NetlinkSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (info.Length() != 2 || !ReadFd(info[0], &fd) || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowTypeError(env, "usage: netlinkSend(fd: number, message: Uint8Array)");
    return env.Undefined();
  }
  Napi::Uint8Array message = info[1].As<Napi::Uint8Array>();
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    ssize_t sent = sendto(fd, message.Data(), message.ByteLength(), 0,
                          reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
    if (sent >= 0) break;
    if (errno == EINTR) continue;
    MakeSystemError(env, SysResult::Fail("sendto")).ThrowAsJavaScriptException();
    break;
  }
  return env.Undefined();
}

// netlinkReceive(fd: number, timeoutMs: number): Buffer — one datagram, sized exactly.
Napi::Value NetlinkReceive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (info.Length() != 2 || !ReadFd(info[0], &fd) || !info[1].IsNumber()) {
    ThrowTypeError(env, "usage: netlinkReceive(fd: number, timeoutMs: number)");
    return env.Undefined();
  }
  int timeout_ms = info[1].As<Napi::Number>().Int32Value();

  pollfd waiting{fd, POLLIN, 0};
  for (;;) {
    int ready = poll(&waiting, 1, timeout_ms);
    if (ready > 0) break;
    if (ready == 0) {
      errno = ETIMEDOUT;
      MakeSystemError(env, SysResult::Fail("poll")).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (errno != EINTR) {
      MakeSystemError(env, SysResult::Fail("poll")).ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }

  // Peek with MSG_TRUNC to learn the datagram's real length, then read it whole.
  ssize_t length;
  do {
    length = recv(fd, nullptr, 0, MSG_PEEK | MSG_TRUNC);
  } while (length < 0 && errno == EINTR);
  if (length < 0) {
    MakeSystemError(env, SysResult::Fail("recv")).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Buffer<uint8_t> buffer = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(length));
  ssize_t received;
  do {
    received = recv(fd, buffer.Data(), buffer.Length(), 0);
  } while (received < 0 && errno == EINTR);
  if (received < 0) {
    MakeSystemError(env, SysResult::Fail("recv")).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return buffer;
}

// closeFd(fd: number): void
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (info.Length() != 1 || !ReadFd(info[0], &fd)) {
    ThrowTypeError(env, "usage: closeFd(fd: number)");
    return env.Undefined();
  }
  // close() must not be retried on EINTR on Linux: the descriptor is released either way.
  if (close(fd) != 0 && errno != EINTR) {
    MakeSystemError(env, SysResult::Fail("close")).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

bool ReadSysctlArgs(const Napi::CallbackInfo& info, size_t count, std::string* netns, std::string* key) {
  if (info.Length() != count || !ReadNetnsPath(info[0], netns) || !info[1].IsString()) return false;
  *key = info[1].As<Napi::String>().Utf8Value();
  return IsSafeSysctlKey(*key);
}

// Opens /proc/sys/<key> (key under net/, already checked) in the current network namespace. The
// walk starts at /proc/sys/net, which must be procfs, and may neither follow a symlink nor cross a
// mount point (openat2 RESOLVE_*). Kernels before 5.6 lack openat2; there the key's validation and
// O_NOFOLLOW on the last component remain.
SysResult OpenSysctl(const std::string& key, int flags, int* fd) {
  int net = open("/proc/sys/net", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (net < 0) return SysResult::Fail("open");
  struct statfs fs {};
  bool statted = fstatfs(net, &fs) == 0;
  if (!statted || fs.f_type != PROC_SUPER_MAGIC) {
    if (statted) errno = EXDEV;  // something other than procfs is mounted there
    SysResult r = SysResult::Fail("fstatfs");
    close(net);
    return r;
  }
  const char* below = key.c_str() + 4;  // after "net/"
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  long opened = syscall(SYS_openat2, net, below, &how, sizeof how);
  const char* call = "openat2";
  if (opened < 0 && errno == ENOSYS) {
    opened = openat(net, below, flags | O_CLOEXEC | O_NOFOLLOW);
    call = "openat";
  }
  SysResult r = opened < 0 ? SysResult::Fail(call) : SysResult::Ok();
  close(net);
  *fd = static_cast<int>(opened);
  return r;
}

// sysctlRead(netnsPath: string | null, key: string): string — key relative to /proc/sys, under net/.
Napi::Value SysctlRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns, key;
  if (!ReadSysctlArgs(info, 2, &netns, &key)) {
    ThrowTypeError(env, "usage: sysctlRead(netnsPath: string | null, key: 'net/...')");
    return env.Undefined();
  }
  std::string path = "/proc/sys/" + key;
  char content[4096];
  ssize_t length = 0;
  SysResult r = InNetns(netns, [&]() -> SysResult {
    int fd;
    SysResult opened = OpenSysctl(key, O_RDONLY, &fd);
    if (opened.failed()) return opened;
    do {
      length = read(fd, content, sizeof content);
    } while (length < 0 && errno == EINTR);
    SysResult outcome = length < 0 ? SysResult::Fail("read") : SysResult::Ok();
    close(fd);
    return outcome;
  });
  if (r.failed()) {
    MakeSystemError(env, r, path).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::String::New(env, content, static_cast<size_t>(length));
}

// sysctlWrite(netnsPath: string | null, key: string, value: string): void
Napi::Value SysctlWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string netns, key;
  if (!ReadSysctlArgs(info, 3, &netns, &key) || !info[2].IsString()) {
    ThrowTypeError(env, "usage: sysctlWrite(netnsPath: string | null, key: 'net/...', value: string)");
    return env.Undefined();
  }
  std::string value = info[2].As<Napi::String>().Utf8Value();
  std::string path = "/proc/sys/" + key;
  SysResult r = InNetns(netns, [&]() -> SysResult {
    int fd;
    SysResult opened = OpenSysctl(key, O_WRONLY, &fd);
    if (opened.failed()) return opened;
    ssize_t written;
    do {
      written = write(fd, value.data(), value.size());
    } while (written < 0 && errno == EINTR);
    SysResult outcome = written < 0 ? SysResult::Fail("write") : SysResult::Ok();
    close(fd);
    return outcome;
  });
  if (r.failed()) MakeSystemError(env, r, path).ThrowAsJavaScriptException();
  return env.Undefined();
}

// flock(fd: number, operation: number): void — operation is LOCK_SH/LOCK_EX/LOCK_UN, optionally | LOCK_NB.
Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (info.Length() != 2 || !ReadFd(info[0], &fd) || !info[1].IsNumber()) {
    ThrowTypeError(env, "usage: flock(fd: number, operation: number)");
    return env.Undefined();
  }
  int operation = info[1].As<Napi::Number>().Int32Value();
  int rc;
  do {
    rc = flock(fd, operation);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) MakeSystemError(env, SysResult::Fail("flock")).ThrowAsJavaScriptException();
  return env.Undefined();
}

bool ReadStringArray(const Napi::Value& value, std::vector<std::string>* out) {
  if (!value.IsArray()) return false;
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value item = array.Get(i);
    if (!item.IsString()) return false;
    out->push_back(item.As<Napi::String>().Utf8Value());
  }
  return true;
}

std::vector<char*> NullTerminated(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// execveIgnoring(signal: number, file: string, argv: string[], envp: string[]): void
// Sets `signal` to ignored, which drops an instance already pending and survives execve, then
// replaces the process image. Both happen here, with no JavaScript in between: once the signal is
// ignored, an engine thread that requested a suspension with it waits forever, holding its locks.
// Returns only when execve failed, with the former disposition restored.
Napi::Value ExecveIgnoring(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string file;
  std::vector<std::string> argv, envp;
  if (info.Length() != 4 || !info[0].IsNumber() || !info[1].IsString() || !ReadStringArray(info[2], &argv) ||
      !ReadStringArray(info[3], &envp)) {
    ThrowTypeError(env, "usage: execveIgnoring(signal: number, file: string, argv: string[], envp: string[])");
    return env.Undefined();
  }
  int signo = info[0].As<Napi::Number>().Int32Value();
  file = info[1].As<Napi::String>().Utf8Value();
  std::vector<char*> argv_pointers = NullTerminated(argv);
  std::vector<char*> envp_pointers = NullTerminated(envp);
  struct sigaction ignore = {}, previous = {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  if (sigaction(signo, &ignore, &previous) != 0) {
    MakeSystemError(env, SysResult::Fail("sigaction")).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  execve(file.c_str(), argv_pointers.data(), envp_pointers.data());
  SysResult failed = SysResult::Fail("execve");
  sigaction(signo, &previous, nullptr);
  MakeSystemError(env, failed, file).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
  exports.Set("netlinkOpen", Napi::Function::New(env, NetlinkOpen, "netlinkOpen"));
  exports.Set("netlinkSend", Napi::Function::New(env, NetlinkSend, "netlinkSend"));
  exports.Set("netlinkReceive", Napi::Function::New(env, NetlinkReceive, "netlinkReceive"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  exports.Set("sysctlRead", Napi::Function::New(env, SysctlRead, "sysctlRead"));
  exports.Set("sysctlWrite", Napi::Function::New(env, SysctlWrite, "sysctlWrite"));
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("execveIgnoring", Napi::Function::New(env, ExecveIgnoring, "execveIgnoring"));
  return exports;
}

}  // namespace

NODE_API_MODULE(tscni_native, Init)
