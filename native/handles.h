// RAII owners of the librados/librbd handles.
//
// A child keeps a shared_ptr to its parent, so an image always closes before its
// ioctx is destroyed and an ioctx before its cluster shuts down, whatever order
// JS closes, collects or tears down the wrapping objects in. Workers hold their
// own shared_ptr copy for the length of a call, so nothing is freed under them.
#pragma once

#include <rados/librados.h>
#include <rbd/librbd.h>

#include <memory>

#include "core/exit_guard.h"

namespace xrbd {

// Each handle lists itself with the ExitGuard for its whole life, so that a
// process exit can release it even while JS still refers to it; the guard sets
// the C handle to null when it does, which makes the destructor a no-op.

struct RadosHandle final {
  rados_t cluster = nullptr;
  RadosHandle() { ExitGuard::Track(this); }
  RadosHandle(const RadosHandle&) = delete;
  RadosHandle& operator=(const RadosHandle&) = delete;
  ~RadosHandle() {
    ExitGuard::Untrack(this);
    if (cluster != nullptr) rados_shutdown(cluster);
  }
};

struct IoCtxHandle final {
  std::shared_ptr<RadosHandle> cluster;
  rados_ioctx_t io = nullptr;
  explicit IoCtxHandle(std::shared_ptr<RadosHandle> c) : cluster(std::move(c)) { ExitGuard::Track(this); }
  IoCtxHandle(const IoCtxHandle&) = delete;
  IoCtxHandle& operator=(const IoCtxHandle&) = delete;
  ~IoCtxHandle() {
    ExitGuard::Untrack(this);
    if (io != nullptr) rados_ioctx_destroy(io);
  }
};

struct ImageHandle final {
  std::shared_ptr<IoCtxHandle> pool;
  rbd_image_t image = nullptr;
  explicit ImageHandle(std::shared_ptr<IoCtxHandle> p) : pool(std::move(p)) { ExitGuard::Track(this); }
  ImageHandle(const ImageHandle&) = delete;
  ImageHandle& operator=(const ImageHandle&) = delete;
  // Explicit close, to report its return code. Idempotent.
  int Close() {
    if (image == nullptr) return 0;
    int rc = rbd_close(image);
    image = nullptr;
    return rc;
  }
  ~ImageHandle() {
    ExitGuard::Untrack(this);
    Close();
  }
};

}  // namespace xrbd
