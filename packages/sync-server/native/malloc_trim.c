/*
 * malloc_trim(0) for Node, which does not expose it. glibc gives a heap's memory back to the
 * system only from its top; what a server frees when its stores unload (encoded states, socket
 * buffers, SQLite pages) sits between allocations that stay, so its RSS would never fall.
 * malloc_trim also releases the free pages in the middle of every arena (main and per-thread).
 * Elsewhere (musl, macOS, Windows) there is no such call and trim() returns false.
 */
#include <node_api.h>
#include <stdbool.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static napi_value trim(napi_env env, napi_callback_info info) {
  (void)info;
  bool released = false;
#if defined(__GLIBC__)
  released = malloc_trim(0) == 1;
#endif
  napi_value result;
  napi_get_boolean(env, released, &result);
  return result;
}

static napi_value supported(napi_env env, napi_callback_info info) {
  (void)info;
#if defined(__GLIBC__)
  bool value = true;
#else
  bool value = false;
#endif
  napi_value result;
  napi_get_boolean(env, value, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "trim", NAPI_AUTO_LENGTH, trim, NULL, &fn);
  napi_set_named_property(env, exports, "trim", fn);
  napi_create_function(env, "supported", NAPI_AUTO_LENGTH, supported, NULL, &fn);
  napi_set_named_property(env, exports, "supported", fn);
  return exports;
}
