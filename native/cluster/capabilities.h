// Capabilities: which optional librbd calls this build has, decided once from
// librbd.h's LIBRBD_VER_* / LIBRBD_SUPPORTS_* macros (the headers the addon was
// compiled against), and `binding.capabilities()` reporting them.
//
// A call is compiled in only when the headers declare it; it is reported usable
// only when the librbd loaded at run time is at least as new (a build made on a
// newer release and run on an older librbd would otherwise fail on first use:
// the symbol is bound lazily). lib/cluster/capabilities.ts names them for users.
#pragma once

#include <napi.h>
#include <rbd/librbd.h>

// 20.2 (librbd 1.20): rbd_mirror_remote_namespace_get/set. No LIBRBD_SUPPORTS_
// macro names them, so the version decides.
#if LIBRBD_VERSION_CODE >= LIBRBD_VERSION(1, 20, 0)
#define XRBD_HAS_MIRROR_REMOTE_NAMESPACE 1
#else
#define XRBD_HAS_MIRROR_REMOTE_NAMESPACE 0
#endif

// 18.2 and later declare these with their own macros.
#if defined(LIBRBD_SUPPORTS_ENCRYPTION_LOAD2) && LIBRBD_SUPPORTS_ENCRYPTION_LOAD2
#define XRBD_HAS_ENCRYPTION_LOAD2 1
#else
#define XRBD_HAS_ENCRYPTION_LOAD2 0
#endif

#if defined(LIBRBD_SUPPORTS_COMPARE_AND_WRITE_IOVEC) && LIBRBD_SUPPORTS_COMPARE_AND_WRITE_IOVEC
#define XRBD_HAS_AIO_COMPARE_AND_WRITEV 1
#else
#define XRBD_HAS_AIO_COMPARE_AND_WRITEV 0
#endif

#if defined(LIBRBD_SUPPORTS_DIFF_ITERATE3) && LIBRBD_SUPPORTS_DIFF_ITERATE3
#define XRBD_HAS_DIFF_ITERATE3 1
#else
#define XRBD_HAS_DIFF_ITERATE3 0
#endif

namespace xrbd {

// Whether the librbd loaded now is at least the version the headers describe,
// i.e. every call compiled in is there to call.
bool RuntimeLibrbdAtLeastHeaders();

void InitCapabilities(Napi::Env env, Napi::Object exports);

}  // namespace xrbd
