// The JS shape of librbd's mirror image info and global status, shared by the
// pool area (rbd_mirror_image_global_status_list) and the image area
// (rbd_mirror_image_get_global_status). Numbers stay numbers here: lib/mirror/status.ts
// names the states and parses the descriptions.
#pragma once

#include <napi.h>
#include <rbd/librbd.h>

#include <string>
#include <utility>
#include <vector>

namespace xrbd {

// [key, value][] (peer attributes, image id → instance id): PairsToJs (core/args.h).
using Pairs = std::vector<std::pair<std::string, std::string>>;

// { globalId, state, primary }
inline Napi::Object MirrorInfoToJs(Napi::Env env, const rbd_mirror_image_info_t& info) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("globalId", info.global_id != nullptr ? info.global_id : "");
  o.Set("state", static_cast<int>(info.state));
  o.Set("primary", info.primary);
  return o;
}

// { name, info, siteStatuses: [{ mirrorUuid, state, description, lastUpdate (s), up }] }
// A site status with an empty mirror uuid is the local site's, as librbd reports it.
inline Napi::Object MirrorGlobalStatusToJs(Napi::Env env, const rbd_mirror_image_global_status_t& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", s.name != nullptr ? s.name : "");
  o.Set("info", MirrorInfoToJs(env, s.info));
  Napi::Array sites = Napi::Array::New(env, s.site_statuses_count);
  for (uint32_t i = 0; i < s.site_statuses_count; i++) {
    const rbd_mirror_image_site_status_t& st = s.site_statuses[i];
    Napi::Object so = Napi::Object::New(env);
    so.Set("mirrorUuid", st.mirror_uuid != nullptr ? st.mirror_uuid : "");
    so.Set("state", static_cast<int>(st.state));
    so.Set("description", st.description != nullptr ? st.description : "");
    so.Set("lastUpdate", static_cast<double>(st.last_update));
    so.Set("up", st.up);
    sites.Set(i, so);
  }
  o.Set("siteStatuses", sites);
  return o;
}

}  // namespace xrbd
