{
  # Two small N-API addons, built from source at `npm ci` (no prebuilt binaries, no third-party
  # native code). native/kes_native.c: what the processes holding a key need; native/kes_client.c:
  # the blocking socket of `kes-ctl status`, which those processes never load. Each file says
  # what it does and why each call is there.
  "targets": [
    {
      "target_name": "kes_native",
      "sources": ["native/kes_native.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-O2", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2"]
    },
    {
      "target_name": "kes_client",
      "sources": ["native/kes_client.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-O2", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2"]
    }
  ]
}
