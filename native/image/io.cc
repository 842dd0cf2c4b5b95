#include "image/io.h"

#include <rados/librados.h>
#include <sys/uio.h>

#include <climits>
#include <string>
#include <utility>
#include <vector>

#include "image/image.h"
#include "core/aio.h"
#include "core/args.h"
#include "core/registry.h"

namespace xrbd {

namespace {

// Arguments every I/O function shares: (image, offset, ..., opFlags).
struct IoTarget {
  std::shared_ptr<ImageHandle> image;
  AioBridge* bridge;
};

IoTarget Target(const Napi::CallbackInfo& info, const char* op) {
  return {ImageWrap::FromArg(info, 0, op), GetAddonData(info.Env())->aio};
}

// A read into the caller's Buffer (lib/ allocates one for read(offset, length)):
// resolves with the bytes read, fewer than asked at the end of the image.
class ReadOp final : public AioOp {
 public:
  ReadOp(Napi::Env env, IoTarget t) : AioOp(env, t.bridge, std::move(t.image), "rbd_aio_read2") {}
};

class CompareAndWriteOp final : public AioOp {
 public:
  CompareAndWriteOp(Napi::Env env, IoTarget t) : AioOp(env, t.bridge, std::move(t.image), "rbd_aio_compare_and_write") {}
  uint64_t mismatch = 0;

 protected:
  Napi::Value Error(Napi::Env env, ssize_t rc) override {
    Napi::Value e = AioOp::Error(env, rc);
    if (rc == -EILSEQ) e.As<Napi::Object>().Set("mismatchOffset", U64ToJs(env, mismatch));
    return e;
  }
};

// Unpinned: readInto and write, the per-I/O hot path, take no reference on the
// Buffer (a napi_ref per op, created and deleted, ~0.5k instructions). Their
// one caller, lib/core/resource.ts runIo (Image#readInto, Image#write, the
// stale-end re-read), is handed the same Buffer as `keep` and names it in the
// callbacks it attaches to the promise returned here. That promise is held by
// the op's napi_deferred (a strong reference) until Settle(), which runs only
// after librbd's completion, so the callbacks, and the Buffer with them, stay
// reachable while librbd uses the memory. The other calls below keep their
// pins: they are not hot, and some (writeSame's pattern) are made by callers
// that do not hold the Buffer.

// readInto(image, buffer, offset, opFlags) → Promise<number>
Napi::Value ReadInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  IoTarget t = Target(info, "rbd_aio_read2");
  auto buf = BufferArg(info, 1, "buffer");
  uint64_t off = U64Arg(info, 2, "offset");
  int flags = OpFlagsArg(info, 3);
  auto* op = new ReadOp(env, std::move(t));  // Unpinned: lib/ holds `buf`
  rbd_image_t img = op->image->image;
  return op->Start(env, [&](rbd_completion_t c) {
    return rbd_aio_read2(img, off, buf.Length(), reinterpret_cast<char*>(buf.Data()), c, flags);
  });
}

// write(image, buffer, offset, opFlags) → Promise<number>
Napi::Value Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  IoTarget t = Target(info, "rbd_aio_write2");
  auto buf = BufferArg(info, 1, "buffer");
  uint64_t off = U64Arg(info, 2, "offset");
  int flags = OpFlagsArg(info, 3);
  auto* op = new AioOp(env, t.bridge, std::move(t.image), "rbd_aio_write2");  // Unpinned: lib/ holds `buf`
  rbd_image_t img = op->image->image;
  return op->Start(env, [&](rbd_completion_t c) {
    return rbd_aio_write2(img, off, buf.Length(), reinterpret_cast<const char*>(buf.Data()), c, flags);
  });
}

// discard(image, offset, length) / writeZeroes(image, offset, length, opFlags, zeroFlags)
Napi::Value Discard(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  IoTarget t = Target(info, "rbd_aio_discard");
  uint64_t off = U64Arg(info, 1, "offset");
  uint64_t len = U64Arg(info, 2, "length");
  auto* op = new AioOp(env, t.bridge, std::move(t.image), "rbd_aio_discard");
  rbd_image_t img = op->image->image;
  return op->Start(env, [&](rbd_completion_t c) { return rbd_aio_discard(img, off, len, c); });
}

Napi::Value WriteZeroes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  IoTarget t = Target(info, "rbd_aio_write_zeroes");
  uint64_t off = U64Arg(info, 1, "offset");
  uint64_t len = U64Arg(info, 2, "length");
  int flags = OpFlagsArg(info, 3);
  int zero_flags = static_cast<int>(OptionalU32Arg(info, 4, "zero flags"));  // RBD_WRITE_ZEROES_FLAG_*
  auto* op = new AioOp(env, t.bridge, std::move(t.image), "rbd_aio_write_zeroes");
  rbd_image_t img = op->image->image;
  return op->Start(env, [&](rbd_completion_t c) { return rbd_aio_write_zeroes(img, off, len, c, zero_flags, flags); });
}

// writeSame(image, offset, length, pattern, opFlags)
Napi::Value WriteSame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  IoTarget t = Target(info, "rbd_aio_writesame");
  uint64_t off = U64Arg(info, 1, "offset");
  uint64_t len = U64Arg(info, 2, "length");
  auto pattern = BufferArg(info, 3, "pattern");
  int flags = OpFlagsArg(info, 4);
  auto* op = new AioOp(env, t.bridge, std::move(t.image), "rbd_aio_writesame");
  op->Pin(pattern);
  rbd_image_t img = op->image->image;
  return op->Start(env, [&](rbd_completion_t c) {
    return rbd_aio_writesame(img, off, len, reinterpret_cast<const char*>(pattern.Data()), pattern.Length(), c,
                             flags);
  });
}

// compareAndWrite(image, offset, compare, write, opFlags): rejects with EILSEQ
// and `mismatchOffset` when the data differs.
Napi::Value CompareAndWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  IoTarget t = Target(info, "rbd_aio_compare_and_write");
  uint64_t off = U64Arg(info, 1, "offset");
  auto cmp = BufferArg(info, 2, "compare buffer");
  auto data = BufferArg(info, 3, "write buffer");
  if (cmp.Length() != data.Length()) throw Napi::RangeError::New(env, "compare and write buffers differ in length");
  int flags = OpFlagsArg(info, 4);
  auto* op = new CompareAndWriteOp(env, std::move(t));
  op->Pin(cmp);
  op->Pin(data);
  rbd_image_t img = op->image->image;
  return op->Start(env, [&](rbd_completion_t c) {
    return rbd_aio_compare_and_write(img, off, data.Length(), reinterpret_cast<const char*>(cmp.Data()),
                                     reinterpret_cast<const char*>(data.Data()), c, &op->mismatch, flags);
  });
}

// readv / writev: several Buffers, one completion. The op holds one reference
// per Buffer (the caller may drop the array) and the iovec array librbd reads
// until the I/O completes.
class VecOp final : public AioOp {
 public:
  VecOp(Napi::Env env, IoTarget t, const char* op) : AioOp(env, t.bridge, std::move(t.image), op) {}
  std::vector<iovec> iov;
  std::vector<Napi::ObjectReference> refs;
};

// readv(image, buffers, offset) → Promise<bytes read>; writev(image, buffers, offset) → Promise<number>
Napi::Value Vectored(const Napi::CallbackInfo& info, bool write) {
  Napi::Env env = info.Env();
  const char* name = write ? "rbd_aio_writev" : "rbd_aio_readv";
  IoTarget t = Target(info, name);
  Napi::Array arr = ArrayArg(info, 1, "buffers");
  uint64_t off = U64Arg(info, 2, "offset");
  if (arr.Length() == 0 || arr.Length() > IOV_MAX) {
    throw Napi::RangeError::New(env, "buffers must hold 1 to " + std::to_string(IOV_MAX) + " Buffers");
  }
  std::vector<Napi::Buffer<uint8_t>> bufs;
  bufs.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsBuffer()) throw Napi::TypeError::New(env, "buffers must be an array of Buffers or Uint8Arrays");
    bufs.push_back(v.As<Napi::Buffer<uint8_t>>());
  }
  // No bytes at all: librbd 16.2 aborts the process on an empty vectored read
  // (Striper::StripedReadResult::assemble_result asserts), so no call is made.
  size_t total = 0;
  for (auto& b : bufs) total += b.Length();
  if (total == 0) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(Napi::Number::New(env, 0));
    return d.Promise();
  }
  auto* op = new VecOp(env, std::move(t), name);
  for (auto& b : bufs) {
    op->iov.push_back(iovec{b.Data(), b.Length()});
    op->refs.push_back(Napi::Persistent(b.As<Napi::Object>()));
  }
  rbd_image_t img = op->image->image;
  int n = static_cast<int>(op->iov.size());
  return op->Start(env, [&](rbd_completion_t c) {
    return write ? rbd_aio_writev(img, op->iov.data(), n, off, c) : rbd_aio_readv(img, op->iov.data(), n, off, c);
  });
}

Napi::Value Readv(const Napi::CallbackInfo& info) { return Vectored(info, false); }
Napi::Value Writev(const Napi::CallbackInfo& info) { return Vectored(info, true); }

// flush(image)
Napi::Value Flush(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  IoTarget t = Target(info, "rbd_aio_flush");
  auto* op = new AioOp(env, t.bridge, std::move(t.image), "rbd_aio_flush");
  rbd_image_t img = op->image->image;
  return op->Start(env, [&](rbd_completion_t c) { return rbd_aio_flush(img, c); });
}

}  // namespace

void InitIo(Napi::Env env, Napi::Object exports) {
  Napi::Object area = Napi::Object::New(env);
  area.Set("readInto", Napi::Function::New(env, ReadInto, "readInto"));
  area.Set("write", Napi::Function::New(env, Write, "write"));
  area.Set("discard", Napi::Function::New(env, Discard, "discard"));
  area.Set("writeZeroes", Napi::Function::New(env, WriteZeroes, "writeZeroes"));
  area.Set("writeSame", Napi::Function::New(env, WriteSame, "writeSame"));
  area.Set("compareAndWrite", Napi::Function::New(env, CompareAndWrite, "compareAndWrite"));
  area.Set("flush", Napi::Function::New(env, Flush, "flush"));
  area.Set("readv", Napi::Function::New(env, Readv, "readv"));
  area.Set("writev", Napi::Function::New(env, Writev, "writev"));
  exports.Set("io", area);
}

}  // namespace xrbd
