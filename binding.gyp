{
  # One small N-API addon, built from source at `npm ci` (no prebuilt binaries, no third-party
  # native code). See native/kes_native.c for what it does and why each call is there.
  "targets": [
    {
      "target_name": "kes_native",
      "sources": ["native/kes_native.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-O2", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2"]
    }
  ]
}
