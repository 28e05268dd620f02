/*
 * kes_client: a blocking connect to a Unix stream socket, for `kes-ctl status`.
 *
 * A separate addon from kes_native on purpose: only kes-ctl's status line loads it. The agent
 * and kes-node, the processes that hold a KES key, never do.
 *
 * Why it exists: `kes-ctl status` is run over and over by monitoring, and a Node process that
 * lives for one request spends more time setting up node:net (loading it, the stream machinery,
 * the first write and close) than on the request. With a blocking socket the whole exchange is
 * a few read(2)/write(2) calls through node:fs (src/client/status-once.ts says how it is used).
 *
 * connectUnix(path, timeoutMs) -> { fd, pid, uid, gid }
 *   socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC), SO_RCVTIMEO and SO_SNDTIMEO of timeoutMs (so no
 *   read, write or connect on it blocks longer: a read that times out fails with EAGAIN), then
 *   connect(2) and SO_PEERCRED: who is listening, read before the caller sends a byte. The caller
 *   owns the descriptor and closes it (fs.closeSync). On failure nothing stays open, and the
 *   Error's .code is the errno name.
 */
#include <errno.h>
#include <node_api.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return NULL;                                                            \
  } while (0)

/* Timeouts above this are a caller's bug, not a wish to wait for days. */
#define MAX_TIMEOUT_MS 600000.0

static const char *errno_name(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ENOTSOCK: return "ENOTSOCK";
    case EPROTOTYPE: return "EPROTOTYPE";
    case EAGAIN: return "EAGAIN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EINTR: return "EINTR";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ELOOP: return "ELOOP";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case ENOBUFS: return "ENOBUFS";
    case EINVAL: return "EINVAL";
    default: return "EUNKNOWN";
  }
}

static napi_value throw_errno(napi_env env, const char *call, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s failed: %s", call, strerror(err));
  napi_throw_error(env, errno_name(err), msg);
  return NULL;
}

static int set_u32(napi_env env, napi_value obj, const char *name, uint32_t v) {
  napi_value value;
  return napi_create_uint32(env, v, &value) == napi_ok && napi_set_named_property(env, obj, name, value) == napi_ok;
}

/* Close fd, keeping the errno of the call that failed before it. */
static napi_value fail_closing(napi_env env, int fd, const char *call) {
  int err = errno;
  close(fd);
  return throw_errno(env, call, err);
}

static napi_value connect_unix(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  /* The whole UTF-8 length first: napi would cut a longer string short (at a character
   * boundary, so not always to a length that shows it), and a cut path is another path. */
  size_t len = 0;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "connectUnix(path, timeoutMs): path must be a string");
    return NULL;
  }
  /* sun_path keeps its terminating NUL: at most sizeof sun_path - 1 (107) bytes of path. */
  if (len > sizeof addr.sun_path - 1) {
    napi_throw_error(env, "ENAMETOOLONG", "connectUnix(path, timeoutMs): path is longer than 107 bytes");
    return NULL;
  }
  size_t copied = 0;
  CHECK(napi_get_value_string_utf8(env, argv[0], addr.sun_path, sizeof addr.sun_path, &copied));
  if (len == 0 || copied != len || memchr(addr.sun_path, '\0', len) != NULL) {
    napi_throw_error(env, "EINVAL", "connectUnix(path, timeoutMs): path must be non-empty, without NUL");
    return NULL;
  }
  double timeout_ms;
  if (napi_get_value_double(env, argv[1], &timeout_ms) != napi_ok || !(timeout_ms >= 1 && timeout_ms <= MAX_TIMEOUT_MS)) {
    napi_throw_type_error(env, "EINVAL", "connectUnix(path, timeoutMs): timeoutMs must be 1 to 600000");
    return NULL;
  }
  struct timeval tv;
  tv.tv_sec = (time_t)(timeout_ms / 1000);
  tv.tv_usec = (suseconds_t)(((long)timeout_ms % 1000) * 1000);

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) return fail_closing(env, fd, "setsockopt(SO_RCVTIMEO)");
  if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) return fail_closing(env, fd, "setsockopt(SO_SNDTIMEO)");
  /* No retry on EINTR: an interrupted connect goes on in the background, and the caller treats
   * any failure here as "ask the slow way". */
  if (connect(fd, (struct sockaddr *)&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1)) != 0)
    return fail_closing(env, fd, "connect");
  struct ucred cred;
  socklen_t cred_len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) != 0) return fail_closing(env, fd, "getsockopt(SO_PEERCRED)");

  napi_value out;
  if (napi_create_object(env, &out) != napi_ok || !set_u32(env, out, "fd", (uint32_t)fd) ||
      !set_u32(env, out, "pid", (uint32_t)cred.pid) || !set_u32(env, out, "uid", (uint32_t)cred.uid) ||
      !set_u32(env, out, "gid", (uint32_t)cred.gid)) {
    close(fd);
    return NULL;
  }
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"connectUnix", NULL, connect_unix, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
