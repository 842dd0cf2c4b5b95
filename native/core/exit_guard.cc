#include "core/exit_guard.h"

#include "handles.h"

namespace xrbd {

void ExitGuard::OnExit(int status, void*) {
  // Let calls in progress finish; do not wait forever for one that hangs.
  std::unique_lock<std::shared_timed_mutex> calls(Mutex(), std::defer_lock);
  if (!calls.try_lock_for(std::chrono::seconds(3))) _exit(status);
  Exiting() = true;
  std::lock_guard<std::mutex> g(RegistryMutex());
  // Children first: images flush and close, then I/O contexts, then clients.
  for (ImageHandle* h : Set<ImageHandle>()) h->Close();
  for (IoCtxHandle* h : Set<IoCtxHandle>()) {
    if (h->io != nullptr) rados_ioctx_destroy(h->io);
    h->io = nullptr;
  }
  for (RadosHandle* h : Set<RadosHandle>()) {
    if (h->cluster != nullptr) rados_shutdown(h->cluster);
    h->cluster = nullptr;
  }
}

void ExitGuard::Counts(size_t* clusters, size_t* pools, size_t* images) {
  std::lock_guard<std::mutex> g(RegistryMutex());
  *clusters = Set<RadosHandle>().size();
  *pools = Set<IoCtxHandle>().size();
  *images = Set<ImageHandle>().size();
}

}  // namespace xrbd
