/*
 * kes_native: the few OS calls a Node process needs to keep a KES key out of swap, core dumps,
 * forked children and other users' hands. Linux only. Nothing here touches key bytes except
 * to wipe them.
 *
 * Deliberately absent: mlockall(2). Locking the whole address space makes V8 abort on its first
 * MADV_DONTNEED of a locked page (measured, reference/stack.md §3). We lock only the pages that
 * hold secrets: our own mmap'd arenas and libsodium's WASM heap.
 */
#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return NULL;                                                            \
  } while (0)

/* Throw an Error whose .code is the errno name (ENOMEM, EPERM, ...) and whose message says which
 * call failed, so the TypeScript side can map it to a stable KesError without parsing text. */
static napi_value throw_errno(napi_env env, const char *call, int err) {
  char msg[160];
  const char *name = "EUNKNOWN";
  switch (err) {
    case ENOMEM: name = "ENOMEM"; break;
    case EPERM: name = "EPERM"; break;
    case EINVAL: name = "EINVAL"; break;
    case EAGAIN: name = "EAGAIN"; break;
    case EBADF: name = "EBADF"; break;
    case ENOTSOCK: name = "ENOTSOCK"; break;
    case ENOTCONN: name = "ENOTCONN"; break;
    default: break;
  }
  snprintf(msg, sizeof msg, "%s failed: %s", call, strerror(err));
  napi_throw_error(env, name, msg);
  return NULL;
}

static napi_value make_u32(napi_env env, uint32_t v) {
  napi_value out;
  CHECK(napi_create_uint32(env, v, &out));
  return out;
}

static napi_value make_double(napi_env env, double v) {
  napi_value out;
  CHECK(napi_create_double(env, v, &out));
  return out;
}

static napi_value make_bool(napi_env env, int v) {
  napi_value out;
  CHECK(napi_get_boolean(env, v != 0, &out));
  return out;
}

static int set_prop(napi_env env, napi_value obj, const char *name, napi_value v) {
  return v != NULL && napi_set_named_property(env, obj, name, v) == napi_ok;
}

/* ---- secureBuffer(size): locked, no-dump, wiped-on-fork anonymous memory ------------------- */

/* Secrets are small; anything bigger is a bug, not a request to lock gigabytes. */
#define SECURE_BUFFER_MAX_BYTES (16.0 * 1024 * 1024)

typedef struct {
  void *addr;
  size_t len;
} secure_region;

static void secure_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  secure_region *r = hint;
  explicit_bzero(r->addr, r->len);
  munlock(r->addr, r->len);
  munmap(r->addr, r->len);
  free(r);
}

static napi_value secure_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double requested;
  if (argc < 1 || napi_get_value_double(env, argv[0], &requested) != napi_ok || requested < 1 ||
      requested > SECURE_BUFFER_MAX_BYTES || requested != (double)(size_t)requested) {
    napi_throw_type_error(env, "EINVAL", "secureBuffer(size): size must be a positive integer of at most 16 MiB");
    return NULL;
  }
  size_t size = (size_t)requested;
  long page = sysconf(_SC_PAGESIZE);
  size_t len = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
  void *addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (addr == MAP_FAILED) return throw_errno(env, "mmap", errno);
  if (mlock(addr, len) != 0) {
    int err = errno;
    munmap(addr, len);
    return throw_errno(env, "mlock", err);
  }
  /* Not in core dumps even if a dump happens despite RLIMIT_CORE (e.g. a root-set core_pattern
   * pipe), and a fork()ed child sees zeros instead of the key. */
  if (madvise(addr, len, MADV_DONTDUMP) != 0 || madvise(addr, len, MADV_WIPEONFORK) != 0) {
    int err = errno;
    munlock(addr, len);
    munmap(addr, len);
    return throw_errno(env, "madvise", err);
  }
  secure_region *r = malloc(sizeof *r);
  if (r == NULL) {
    munlock(addr, len);
    munmap(addr, len);
    return throw_errno(env, "malloc", ENOMEM);
  }
  r->addr = addr;
  r->len = len;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, addr, size, secure_finalize, r, &ab) != napi_ok) {
    secure_finalize(env, NULL, r);
    napi_throw_error(env, "EINVAL", "napi_create_external_arraybuffer failed");
    return NULL;
  }
  return ab;
}

/* ---- lockArrayBuffer(ab): mlock + MADV_DONTDUMP an existing buffer (libsodium's WASM heap) --- */

static napi_value lock_array_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_ab = false;
  if (argc < 1 || napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab) {
    napi_throw_type_error(env, "EINVAL", "lockArrayBuffer(buffer): expected an ArrayBuffer");
    return NULL;
  }
  void *data;
  size_t len;
  CHECK(napi_get_arraybuffer_info(env, argv[0], &data, &len));
  double locked = 0;
  int dontdump = 0;
  if (len > 0) {
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)data & ~((uintptr_t)page - 1);
    uintptr_t end = ((uintptr_t)data + len + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    if (mlock((void *)start, end - start) != 0) return throw_errno(env, "mlock", errno);
    locked = (double)(end - start);
    /* DONTDUMP needs whole pages of one mapping; a WASM memory is its own mapping. Failure here
     * is not fatal (core dumps are off anyway), so it is reported, not thrown. */
    dontdump = madvise((void *)start, end - start, MADV_DONTDUMP) == 0;
  }
  napi_value out;
  CHECK(napi_create_object(env, &out));
  if (!set_prop(env, out, "lockedBytes", make_double(env, locked)) ||
      !set_prop(env, out, "dontDump", make_bool(env, dontdump)))
    return NULL;
  return out;
}

/* ---- disableCoreDumps(): RLIMIT_CORE 0 and PR_SET_DUMPABLE 0 ---------------------------------- */

static napi_value disable_core_dumps(napi_env env, napi_callback_info info) {
  (void)info;
  struct rlimit zero = {0, 0};
  if (setrlimit(RLIMIT_CORE, &zero) != 0) return throw_errno(env, "setrlimit(RLIMIT_CORE)", errno);
  /* Not dumpable also makes /proc/<pid>/mem root-only and blocks same-uid ptrace attach. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return throw_errno(env, "prctl(PR_SET_DUMPABLE)", errno);
  return NULL;
}

/* ---- processProtection(): what is in force right now, read back from the kernel -------------- */

static double rlim_to_double(rlim_t v) { return v == RLIM_INFINITY ? -1.0 : (double)v; }

static napi_value process_protection(napi_env env, napi_callback_info info) {
  (void)info;
  struct rlimit core, memlock;
  if (getrlimit(RLIMIT_CORE, &core) != 0) return throw_errno(env, "getrlimit(RLIMIT_CORE)", errno);
  if (getrlimit(RLIMIT_MEMLOCK, &memlock) != 0) return throw_errno(env, "getrlimit(RLIMIT_MEMLOCK)", errno);
  int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  if (dumpable < 0) return throw_errno(env, "prctl(PR_GET_DUMPABLE)", errno);
  napi_value out;
  CHECK(napi_create_object(env, &out));
  /* -1 means unlimited. */
  if (!set_prop(env, out, "coreLimit", make_double(env, rlim_to_double(core.rlim_cur))) ||
      !set_prop(env, out, "memlockLimit", make_double(env, rlim_to_double(memlock.rlim_cur))) ||
      !set_prop(env, out, "memlockHardLimit", make_double(env, rlim_to_double(memlock.rlim_max))) ||
      !set_prop(env, out, "dumpable", make_bool(env, dumpable)))
    return NULL;
  return out;
}

/* ---- getPeerCred(fd): SO_PEERCRED of a connected Unix socket ---------------------------------- */

static napi_value get_peer_cred(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "EINVAL", "getPeerCred(fd): fd must be a non-negative integer");
    return NULL;
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
  napi_value out;
  CHECK(napi_create_object(env, &out));
  if (!set_prop(env, out, "pid", make_u32(env, (uint32_t)cred.pid)) ||
      !set_prop(env, out, "uid", make_u32(env, (uint32_t)cred.uid)) ||
      !set_prop(env, out, "gid", make_u32(env, (uint32_t)cred.gid)))
    return NULL;
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"secureBuffer", NULL, secure_buffer, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lockArrayBuffer", NULL, lock_array_buffer, NULL, NULL, NULL, napi_enumerable, NULL},
      {"disableCoreDumps", NULL, disable_core_dumps, NULL, NULL, NULL, napi_enumerable, NULL},
      {"processProtection", NULL, process_protection, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getPeerCred", NULL, get_peer_cred, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
