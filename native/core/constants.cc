#include "core/constants.h"

#include "cluster/capabilities.h"

#include <rados/librados.h>
#include <rbd/features.h>
#include <rbd/librbd.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "core/args.h"
#include "core/erange.h"
#include "core/errors.h"

namespace xrbd {

namespace {

using Entry = std::pair<const char*, double>;

// The name as written in the header and its value: the name is not typed twice.
#define XRBD_CONSTANT(name) Entry { #name, static_cast<double>(name) }

// Every value here is in librbd.h / features.h / librados.h from 16.2 (librbd
// 1.16, the oldest release the addon builds against) on. One a later release
// adds goes in under its header's guard, e.g.
//   #if LIBRBD_VERSION_CODE >= LIBRBD_VERSION(1, 20, 0)   (or #ifdef for a macro)
// so that a build against an older header leaves it out and lib/ sees it absent.

void Group(Napi::Env env, Napi::Object out, const char* group, std::initializer_list<Entry> entries) {
  Napi::Object o = Napi::Object::New(env);
  for (const Entry& e : entries) o.Set(e.first, Napi::Number::New(env, e.second));
  o.Freeze();
  out.Set(group, o);
}

// librbd's names for a feature mask, comma-separated and sorted by name; EINVAL for a bit it cannot name.
int FeatureString(uint64_t bits, std::string* out) {
  return GrowString(64, out, [bits](char* buf, size_t& len) { return rbd_features_to_string(bits, buf, &len); });
}

// featuresToString(bits) → 'layering,exclusive-lock,...' (rbd_features_to_string)
Napi::Value FeaturesToString(const Napi::CallbackInfo& info) {
  const uint64_t bits = U64Arg(info, 0, "features");
  std::string s;
  const int rc = FeatureString(bits, &s);
  if (rc < 0) throw ErrnoError(info.Env(), rc, "rbd_features_to_string");
  return Napi::String::New(info.Env(), s);
}

// featuresFromString('layering,exclusive-lock') → bits (rbd_features_from_string); EINVAL for a name librbd does not know.
Napi::Value FeaturesFromString(const Napi::CallbackInfo& info) {
  const std::string names = StringArg(info, 0, "features");
  uint64_t bits = 0;
  const int rc = rbd_features_from_string(names.c_str(), &bits);
  if (rc < 0) throw ErrnoError(info.Env(), rc, "rbd_features_from_string");
  return U64ToJs(info.Env(), bits);
}

}  // namespace

void InitConstants(Napi::Env env, Napi::Object exports) {
  Napi::Object c = Napi::Object::New(env);
  Group(env, c, "mirrorMode",
        {XRBD_CONSTANT(RBD_MIRROR_MODE_DISABLED), XRBD_CONSTANT(RBD_MIRROR_MODE_IMAGE),
         XRBD_CONSTANT(RBD_MIRROR_MODE_POOL)});
  Group(env, c, "mirrorImageMode",
        {XRBD_CONSTANT(RBD_MIRROR_IMAGE_MODE_JOURNAL), XRBD_CONSTANT(RBD_MIRROR_IMAGE_MODE_SNAPSHOT)});
  // librbd.h of 16.2 declares no RBD_MIRROR_IMAGE_CREATING: a release that adds it goes in under its guard.
  Group(env, c, "mirrorImageState",
        {XRBD_CONSTANT(RBD_MIRROR_IMAGE_DISABLING), XRBD_CONSTANT(RBD_MIRROR_IMAGE_ENABLED),
         XRBD_CONSTANT(RBD_MIRROR_IMAGE_DISABLED)});
  Group(env, c, "mirrorStatusState",
        {XRBD_CONSTANT(MIRROR_IMAGE_STATUS_STATE_UNKNOWN), XRBD_CONSTANT(MIRROR_IMAGE_STATUS_STATE_ERROR),
         XRBD_CONSTANT(MIRROR_IMAGE_STATUS_STATE_SYNCING), XRBD_CONSTANT(MIRROR_IMAGE_STATUS_STATE_STARTING_REPLAY),
         XRBD_CONSTANT(MIRROR_IMAGE_STATUS_STATE_REPLAYING), XRBD_CONSTANT(MIRROR_IMAGE_STATUS_STATE_STOPPING_REPLAY),
         XRBD_CONSTANT(MIRROR_IMAGE_STATUS_STATE_STOPPED)});
  Group(env, c, "mirrorPeerDirection",
        {XRBD_CONSTANT(RBD_MIRROR_PEER_DIRECTION_RX), XRBD_CONSTANT(RBD_MIRROR_PEER_DIRECTION_TX),
         XRBD_CONSTANT(RBD_MIRROR_PEER_DIRECTION_RX_TX)});
  Group(env, c, "imageOption",
        {XRBD_CONSTANT(RBD_IMAGE_OPTION_FORMAT), XRBD_CONSTANT(RBD_IMAGE_OPTION_FEATURES),
         XRBD_CONSTANT(RBD_IMAGE_OPTION_ORDER), XRBD_CONSTANT(RBD_IMAGE_OPTION_STRIPE_UNIT),
         XRBD_CONSTANT(RBD_IMAGE_OPTION_STRIPE_COUNT), XRBD_CONSTANT(RBD_IMAGE_OPTION_JOURNAL_ORDER),
         XRBD_CONSTANT(RBD_IMAGE_OPTION_JOURNAL_SPLAY_WIDTH), XRBD_CONSTANT(RBD_IMAGE_OPTION_JOURNAL_POOL),
         XRBD_CONSTANT(RBD_IMAGE_OPTION_FEATURES_SET), XRBD_CONSTANT(RBD_IMAGE_OPTION_FEATURES_CLEAR),
         XRBD_CONSTANT(RBD_IMAGE_OPTION_DATA_POOL), XRBD_CONSTANT(RBD_IMAGE_OPTION_FLATTEN),
         XRBD_CONSTANT(RBD_IMAGE_OPTION_CLONE_FORMAT), XRBD_CONSTANT(RBD_IMAGE_OPTION_MIRROR_IMAGE_MODE)});
  Group(env, c, "snapCreateFlag",
        {XRBD_CONSTANT(RBD_SNAP_CREATE_SKIP_QUIESCE), XRBD_CONSTANT(RBD_SNAP_CREATE_IGNORE_QUIESCE_ERROR)});
  Group(env, c, "snapRemoveFlag",
        {XRBD_CONSTANT(RBD_SNAP_REMOVE_UNPROTECT), XRBD_CONSTANT(RBD_SNAP_REMOVE_FLATTEN),
         XRBD_CONSTANT(RBD_SNAP_REMOVE_FORCE)});
  Group(env, c, "snapNamespaceType",
        {XRBD_CONSTANT(RBD_SNAP_NAMESPACE_TYPE_USER), XRBD_CONSTANT(RBD_SNAP_NAMESPACE_TYPE_GROUP),
         XRBD_CONSTANT(RBD_SNAP_NAMESPACE_TYPE_TRASH), XRBD_CONSTANT(RBD_SNAP_NAMESPACE_TYPE_MIRROR)});
  Group(env, c, "snapMirrorState",
        {XRBD_CONSTANT(RBD_SNAP_MIRROR_STATE_PRIMARY), XRBD_CONSTANT(RBD_SNAP_MIRROR_STATE_PRIMARY_DEMOTED),
         XRBD_CONSTANT(RBD_SNAP_MIRROR_STATE_NON_PRIMARY), XRBD_CONSTANT(RBD_SNAP_MIRROR_STATE_NON_PRIMARY_DEMOTED)});
  Group(env, c, "trashSource",
        {XRBD_CONSTANT(RBD_TRASH_IMAGE_SOURCE_USER), XRBD_CONSTANT(RBD_TRASH_IMAGE_SOURCE_MIRRORING),
         XRBD_CONSTANT(RBD_TRASH_IMAGE_SOURCE_MIGRATION), XRBD_CONSTANT(RBD_TRASH_IMAGE_SOURCE_REMOVING),
         XRBD_CONSTANT(RBD_TRASH_IMAGE_SOURCE_USER_PARENT)});
  Group(env, c, "groupImageState",
        {XRBD_CONSTANT(RBD_GROUP_IMAGE_STATE_ATTACHED), XRBD_CONSTANT(RBD_GROUP_IMAGE_STATE_INCOMPLETE)});
  Group(env, c, "groupSnapState",
        {XRBD_CONSTANT(RBD_GROUP_SNAP_STATE_INCOMPLETE), XRBD_CONSTANT(RBD_GROUP_SNAP_STATE_COMPLETE)});
  Group(env, c, "lockMode", {XRBD_CONSTANT(RBD_LOCK_MODE_EXCLUSIVE), XRBD_CONSTANT(RBD_LOCK_MODE_SHARED)});
  const std::initializer_list<Entry> features = {
      XRBD_CONSTANT(RBD_FEATURE_LAYERING),    XRBD_CONSTANT(RBD_FEATURE_STRIPINGV2),
      XRBD_CONSTANT(RBD_FEATURE_EXCLUSIVE_LOCK), XRBD_CONSTANT(RBD_FEATURE_OBJECT_MAP),
      XRBD_CONSTANT(RBD_FEATURE_FAST_DIFF),   XRBD_CONSTANT(RBD_FEATURE_DEEP_FLATTEN),
      XRBD_CONSTANT(RBD_FEATURE_JOURNALING),  XRBD_CONSTANT(RBD_FEATURE_DATA_POOL),
      XRBD_CONSTANT(RBD_FEATURE_OPERATIONS),  XRBD_CONSTANT(RBD_FEATURE_MIGRATING),
      XRBD_CONSTANT(RBD_FEATURE_NON_PRIMARY), XRBD_CONSTANT(RBD_FEATURE_DIRTY_CACHE)};
  Group(env, c, "feature", features);
  // librbd's own name for each of those bits (rbd_features_to_string), by C name: lib/'s FEATURES
  // spells them the same (test/unit/core/constants.test.ts). A bit librbd cannot name is left out.
  Napi::Object featureNames = Napi::Object::New(env);
  for (const Entry& e : features) {
    std::string name;
    if (FeatureString(static_cast<uint64_t>(e.second), &name) >= 0 && !name.empty()) featureNames.Set(e.first, name);
  }
  featureNames.Freeze();
  // The fadvise hints lib/image/io.ts offers.
  Group(env, c, "opFlag",
        {XRBD_CONSTANT(LIBRADOS_OP_FLAG_FADVISE_RANDOM), XRBD_CONSTANT(LIBRADOS_OP_FLAG_FADVISE_SEQUENTIAL),
         XRBD_CONSTANT(LIBRADOS_OP_FLAG_FADVISE_WILLNEED), XRBD_CONSTANT(LIBRADOS_OP_FLAG_FADVISE_DONTNEED),
         XRBD_CONSTANT(LIBRADOS_OP_FLAG_FADVISE_NOCACHE)});
  // Issue #15: writeZeroes' flag, rbd info's op_features, and the stat() flags image.du() reads.
  Group(env, c, "writeZeroesFlag", {XRBD_CONSTANT(RBD_WRITE_ZEROES_FLAG_THICK_PROVISION)});
  Group(env, c, "operationFeature",
        {XRBD_CONSTANT(RBD_OPERATION_FEATURE_CLONE_PARENT), XRBD_CONSTANT(RBD_OPERATION_FEATURE_CLONE_CHILD),
         XRBD_CONSTANT(RBD_OPERATION_FEATURE_GROUP), XRBD_CONSTANT(RBD_OPERATION_FEATURE_SNAP_TRASH)});
  Group(env, c, "imageFlag", {XRBD_CONSTANT(RBD_FLAG_OBJECT_MAP_INVALID), XRBD_CONSTANT(RBD_FLAG_FAST_DIFF_INVALID)});
  // Issue #15: migration states, encryption formats and algorithms, config sources.
  Group(env, c, "migrationState",
        {XRBD_CONSTANT(RBD_IMAGE_MIGRATION_STATE_UNKNOWN), XRBD_CONSTANT(RBD_IMAGE_MIGRATION_STATE_ERROR),
         XRBD_CONSTANT(RBD_IMAGE_MIGRATION_STATE_PREPARING), XRBD_CONSTANT(RBD_IMAGE_MIGRATION_STATE_PREPARED),
         XRBD_CONSTANT(RBD_IMAGE_MIGRATION_STATE_EXECUTING), XRBD_CONSTANT(RBD_IMAGE_MIGRATION_STATE_EXECUTED),
         XRBD_CONSTANT(RBD_IMAGE_MIGRATION_STATE_ABORTING)});
  Group(env, c, "encryptionFormat",
        {XRBD_CONSTANT(RBD_ENCRYPTION_FORMAT_LUKS1), XRBD_CONSTANT(RBD_ENCRYPTION_FORMAT_LUKS2),
#if XRBD_HAS_ENCRYPTION_LOAD2
         XRBD_CONSTANT(RBD_ENCRYPTION_FORMAT_LUKS),
#endif
        });
  Group(env, c, "encryptionAlgorithm",
        {XRBD_CONSTANT(RBD_ENCRYPTION_ALGORITHM_AES128), XRBD_CONSTANT(RBD_ENCRYPTION_ALGORITHM_AES256)});
  Group(env, c, "configSource",
        {XRBD_CONSTANT(RBD_CONFIG_SOURCE_CONFIG), XRBD_CONSTANT(RBD_CONFIG_SOURCE_POOL),
         XRBD_CONSTANT(RBD_CONFIG_SOURCE_IMAGE)});
#undef XRBD_CONSTANT
  c.Freeze();
  exports.Set("constants", c);
  exports.Set("featureNames", featureNames);
  exports.Set("featuresToString", Napi::Function::New(env, FeaturesToString, "featuresToString"));
  exports.Set("featuresFromString", Napi::Function::New(env, FeaturesFromString, "featuresFromString"));
}

}  // namespace xrbd
