// Mirror peers of a pool (`rbd mirror pool peer ...`, `... bootstrap ...`): the
// mirrorPool area's peer calls, and the peer-site list both mirror areas answer
// (mirrorPool.peerList, mirrorImage.peerSites).
#pragma once

#include <napi.h>

#include <memory>

#include "core/worker.h"
#include "handles.h"

namespace xrbd {

// rbd_mirror_peer_site_list on `pool`, resolving with
// { uuid, direction, siteName, mirrorUuid, clientName, lastSeen (s) }[].
// `resource` names the async work (async_hooks).
PromiseWorker* NewPeerSiteListWorker(Napi::Env env, std::shared_ptr<IoCtxHandle> pool, const char* resource);

// Sets mirrorPool's bootstrap* and peer* functions on `area`.
void AddMirrorPeerCalls(Napi::Env env, Napi::Object area);

}  // namespace xrbd
