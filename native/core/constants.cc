// constants: librbd's and librados' enum and flag values from the headers this
// addon is compiled against, by group and C name (`binding.constants`).
// lib/core/constants.ts names them; lib/ holds no numbers of its own.
#include <napi.h>
#include <rados/librados.h>
#include <rbd/features.h>
#include <rbd/librbd.h>

#include "core/constants.h"

#define XRBD_CONST(obj, name) (obj).Set(#name, Napi::Number::New(env, static_cast<double>(name)))

namespace xrbd {

void InitConstants(Napi::Env env, Napi::Object exports) {
  Napi::Object c = Napi::Object::New(env);
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_MIRROR_MODE_DISABLED);
    XRBD_CONST(g, RBD_MIRROR_MODE_IMAGE);
    XRBD_CONST(g, RBD_MIRROR_MODE_POOL);
    c.Set("mirrorMode", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_MIRROR_IMAGE_MODE_JOURNAL);
    XRBD_CONST(g, RBD_MIRROR_IMAGE_MODE_SNAPSHOT);
    c.Set("mirrorImageMode", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_MIRROR_IMAGE_DISABLING);
    XRBD_CONST(g, RBD_MIRROR_IMAGE_ENABLED);
    XRBD_CONST(g, RBD_MIRROR_IMAGE_DISABLED);
    // RBD_MIRROR_IMAGE_CREATING: not in these headers (lib/core/constants.ts knows its value)
    c.Set("mirrorImageState", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, MIRROR_IMAGE_STATUS_STATE_UNKNOWN);
    XRBD_CONST(g, MIRROR_IMAGE_STATUS_STATE_ERROR);
    XRBD_CONST(g, MIRROR_IMAGE_STATUS_STATE_SYNCING);
    XRBD_CONST(g, MIRROR_IMAGE_STATUS_STATE_STARTING_REPLAY);
    XRBD_CONST(g, MIRROR_IMAGE_STATUS_STATE_REPLAYING);
    XRBD_CONST(g, MIRROR_IMAGE_STATUS_STATE_STOPPING_REPLAY);
    XRBD_CONST(g, MIRROR_IMAGE_STATUS_STATE_STOPPED);
    c.Set("mirrorStatusState", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_MIRROR_PEER_DIRECTION_RX);
    XRBD_CONST(g, RBD_MIRROR_PEER_DIRECTION_TX);
    XRBD_CONST(g, RBD_MIRROR_PEER_DIRECTION_RX_TX);
    c.Set("mirrorPeerDirection", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_IMAGE_OPTION_FORMAT);
    XRBD_CONST(g, RBD_IMAGE_OPTION_FEATURES);
    XRBD_CONST(g, RBD_IMAGE_OPTION_ORDER);
    XRBD_CONST(g, RBD_IMAGE_OPTION_STRIPE_UNIT);
    XRBD_CONST(g, RBD_IMAGE_OPTION_STRIPE_COUNT);
    XRBD_CONST(g, RBD_IMAGE_OPTION_JOURNAL_ORDER);
    XRBD_CONST(g, RBD_IMAGE_OPTION_JOURNAL_SPLAY_WIDTH);
    XRBD_CONST(g, RBD_IMAGE_OPTION_JOURNAL_POOL);
    XRBD_CONST(g, RBD_IMAGE_OPTION_DATA_POOL);
    XRBD_CONST(g, RBD_IMAGE_OPTION_CLONE_FORMAT);
    c.Set("imageOption", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_SNAP_CREATE_SKIP_QUIESCE);
    XRBD_CONST(g, RBD_SNAP_CREATE_IGNORE_QUIESCE_ERROR);
    c.Set("snapCreateFlag", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_SNAP_REMOVE_UNPROTECT);
    XRBD_CONST(g, RBD_SNAP_REMOVE_FLATTEN);
    XRBD_CONST(g, RBD_SNAP_REMOVE_FORCE);
    c.Set("snapRemoveFlag", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_SNAP_NAMESPACE_TYPE_USER);
    XRBD_CONST(g, RBD_SNAP_NAMESPACE_TYPE_GROUP);
    XRBD_CONST(g, RBD_SNAP_NAMESPACE_TYPE_TRASH);
    XRBD_CONST(g, RBD_SNAP_NAMESPACE_TYPE_MIRROR);
    c.Set("snapNamespaceType", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_SNAP_MIRROR_STATE_PRIMARY);
    XRBD_CONST(g, RBD_SNAP_MIRROR_STATE_PRIMARY_DEMOTED);
    XRBD_CONST(g, RBD_SNAP_MIRROR_STATE_NON_PRIMARY);
    XRBD_CONST(g, RBD_SNAP_MIRROR_STATE_NON_PRIMARY_DEMOTED);
    c.Set("snapMirrorState", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_LOCK_MODE_EXCLUSIVE);
    XRBD_CONST(g, RBD_LOCK_MODE_SHARED);
    c.Set("lockMode", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_TRASH_IMAGE_SOURCE_USER);
    XRBD_CONST(g, RBD_TRASH_IMAGE_SOURCE_MIRRORING);
    XRBD_CONST(g, RBD_TRASH_IMAGE_SOURCE_MIGRATION);
    XRBD_CONST(g, RBD_TRASH_IMAGE_SOURCE_REMOVING);
    XRBD_CONST(g, RBD_TRASH_IMAGE_SOURCE_USER_PARENT);
    c.Set("trashSource", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_GROUP_IMAGE_STATE_ATTACHED);
    XRBD_CONST(g, RBD_GROUP_IMAGE_STATE_INCOMPLETE);
    c.Set("groupImageState", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_GROUP_SNAP_STATE_INCOMPLETE);
    XRBD_CONST(g, RBD_GROUP_SNAP_STATE_COMPLETE);
    c.Set("groupSnapState", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_WRITE_ZEROES_FLAG_THICK_PROVISION);
    c.Set("writeZeroesFlag", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_OPERATION_FEATURE_CLONE_PARENT);
    XRBD_CONST(g, RBD_OPERATION_FEATURE_CLONE_CHILD);
    XRBD_CONST(g, RBD_OPERATION_FEATURE_GROUP);
    XRBD_CONST(g, RBD_OPERATION_FEATURE_SNAP_TRASH);
    c.Set("operationFeature", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_FLAG_OBJECT_MAP_INVALID);
    XRBD_CONST(g, RBD_FLAG_FAST_DIFF_INVALID);
    c.Set("imageFlag", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, RBD_FEATURE_LAYERING);
    XRBD_CONST(g, RBD_FEATURE_STRIPINGV2);
    XRBD_CONST(g, RBD_FEATURE_EXCLUSIVE_LOCK);
    XRBD_CONST(g, RBD_FEATURE_OBJECT_MAP);
    XRBD_CONST(g, RBD_FEATURE_FAST_DIFF);
    XRBD_CONST(g, RBD_FEATURE_DEEP_FLATTEN);
    XRBD_CONST(g, RBD_FEATURE_JOURNALING);
    XRBD_CONST(g, RBD_FEATURE_DATA_POOL);
    XRBD_CONST(g, RBD_FEATURE_OPERATIONS);
    XRBD_CONST(g, RBD_FEATURE_MIGRATING);
    XRBD_CONST(g, RBD_FEATURE_NON_PRIMARY);
    XRBD_CONST(g, RBD_FEATURE_DIRTY_CACHE);
    c.Set("feature", g);
  }
  {
    Napi::Object g = Napi::Object::New(env);
    XRBD_CONST(g, LIBRADOS_OP_FLAG_FADVISE_DONTNEED);
    XRBD_CONST(g, LIBRADOS_OP_FLAG_FADVISE_FUA);
    XRBD_CONST(g, LIBRADOS_OP_FLAG_FADVISE_NOCACHE);
    XRBD_CONST(g, LIBRADOS_OP_FLAG_FADVISE_RANDOM);
    XRBD_CONST(g, LIBRADOS_OP_FLAG_FADVISE_SEQUENTIAL);
    XRBD_CONST(g, LIBRADOS_OP_FLAG_FADVISE_WILLNEED);
    c.Set("opFlag", g);
  }
  exports.Set("constants", c);
}

}  // namespace xrbd
