#include "core/storage.h"

#include <cstring>

#include "core/error.h"
#include "core/host_memory.h"
#if HEMO_WITH_CUDA
#include "core/cuda_memory.h"
#endif

namespace hemo {

namespace {
#if !HEMO_WITH_CUDA
[[noreturn]] void no_cuda(const char* what) {
  throw Error(cat(what, ": this hemo was built without CUDA (configure with -DHEMO_CUDA=ON on a "
                        "machine with the CUDA toolkit)"));
}
#endif
}  // namespace

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  if (device.is_cpu()) {
    data_ = host_malloc(bytes);
  } else {
#if HEMO_WITH_CUDA
    data_ = cuda_malloc(bytes, device.index);
#else
    no_cuda("allocating a CUDA tensor");
#endif
  }
}

Storage::~Storage() {
  if (device_.is_cpu()) {
    host_free(data_, bytes_);
  } else {
#if HEMO_WITH_CUDA
    cuda_free(data_, bytes_, device_.index);
#endif
  }
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if HEMO_WITH_CUDA
  cuda_copy(dst, dst_device.is_cuda(), src, src_device.is_cuda(), bytes);
#else
  no_cuda("copying to or from a CUDA tensor");
#endif
}

void upload_bytes(void* dst, Device device, const void* src, size_t bytes, std::shared_ptr<void> keep) {
  if (bytes == 0) return;
  if (device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if HEMO_WITH_CUDA
  cuda_upload(dst, src, bytes, std::move(keep));
#else
  (void)keep;
  no_cuda("copying to a CUDA tensor");
#endif
}

void zero_bytes(void* dst, Device device, size_t bytes) {
  if (bytes == 0) return;
  if (device.is_cpu()) {
    std::memset(dst, 0, bytes);
    return;
  }
#if HEMO_WITH_CUDA
  cuda_zero(dst, bytes);
#else
  no_cuda("zeroing a CUDA tensor");
#endif
}

bool cuda_available() { return cuda_device_count() > 0; }

Device resolve_device(const std::string& name) {
  HEMO_CHECK(name == "cpu" || name == "cuda" || name == "auto", "--device '", name, "' is not cpu, cuda or auto");
  if (name == "cpu") return Device::cpu();
  if (name == "cuda") {
    HEMO_CHECK(cuda_available(), "--device cuda: no CUDA device is available",
               HEMO_WITH_CUDA ? " (cudaGetDeviceCount found none, or no driver)" : " (hemo was built without CUDA)");
    return Device::cuda(0);
  }
#if defined(HEMO_CUDA_EMULATED)
  return Device::cpu();  // the emulated GPU is for checking CUDA code: only an explicit --device cuda uses it
#else
  return cuda_available() ? Device::cuda(0) : Device::cpu();
#endif
}

int cuda_device_count() {
#if HEMO_WITH_CUDA
  return cuda_visible_devices();
#else
  return 0;
#endif
}

}  // namespace hemo
