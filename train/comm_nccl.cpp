// NCCL all-reduces of CUDA buffers (train/comm.h: DeviceCollectives), built in a real CUDA build
// that finds NCCL and in the emulation build against its stand-in (train/nccl_emu/nccl.h), both
// HEMO_WITH_NCCL=1 (train/CMakeLists.txt); elsewhere make_nccl_collectives is comm.cpp's nullptr. One ncclComm_t for the job on the current device: rank 0 makes the unique
// id and the Communicator (MPI) broadcasts it. Its own non-blocking stream first waits, through an
// event, for what the caller's current stream has queued (the gradient copies). wait() polls that
// stream against the Communicator's timeout; past it, ncclCommAbort and the job is ended.
#include "train/comm.h"

#if HEMO_WITH_NCCL
#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/cuda/check.h"
#include "core/cuda/stream.h"
#include "core/error.h"

namespace hemo::train {

namespace {

double timeout_from_env() {
  const char* t = std::getenv("HEMO_DIST_TIMEOUT");
  return t && *t ? std::strtod(t, nullptr) : 300.0;
}

class NcclCollectives;

class NcclPending final : public PendingReduce {
 public:
  NcclPending(NcclCollectives& owner, const char* what) : owner_(owner), what_(what) {}
  bool test() override;
  void wait() override;

 private:
  NcclCollectives& owner_;
  const char* what_;
};

class NcclCollectives final : public DeviceCollectives {
 public:
  explicit NcclCollectives(std::shared_ptr<Communicator> comm) : comm_(std::move(comm)), timeout_s_(timeout_from_env()) {
    ncclUniqueId id;
    if (comm_->is_root()) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    comm_->broadcast(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&id), sizeof id), 0, "the broadcast of NCCL's unique id");
    check(ncclCommInitRank(&nccl_, comm_->size(), id, comm_->rank()), "ncclCommInitRank");
    HEMO_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    HEMO_CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
  }
  ~NcclCollectives() override {
    cudaStreamSynchronize(stream_);
    ncclCommDestroy(nccl_);
    cudaEventDestroy(ready_);
    cudaStreamDestroy(stream_);
  }

  std::unique_ptr<PendingReduce> start_allreduce(float* data, size_t n, const char* what) override {
    HEMO_CUDA_CHECK(cudaEventRecord(ready_, cuda::current_stream()));
    HEMO_CUDA_CHECK(cudaStreamWaitEvent(stream_, ready_, 0));
    check(ncclAllReduce(data, data, n, ncclFloat, ncclSum, nccl_, stream_), what);
    return std::make_unique<NcclPending>(*this, what);
  }

  const char* name() const override {
#ifdef HEMO_NCCL_STAND_IN
    return "the emulation build's NCCL stand-in (over MPI)";
#else
    return "NCCL";
#endif
  }

  bool done() {
    const cudaError_t s = cudaStreamQuery(stream_);
    if (s == cudaErrorNotReady) return false;
    HEMO_CUDA_CHECK(s);
    return true;
  }
  void wait(const char* what) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s_);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) {
        ncclCommAbort(nccl_);
        comm_->abort(cat(what, " (NCCL) did not complete within ", timeout_s_, " s (HEMO_DIST_TIMEOUT): another rank "
                         "has failed or hangs; aborting the job"), 3);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

 private:
  void check(ncclResult_t r, const char* what) {
    HEMO_CHECK(r == ncclSuccess, "NCCL (", comm_->who(), "): ", what, " failed: ", ncclGetErrorString(r));
  }

  std::shared_ptr<Communicator> comm_;
  double timeout_s_;
  ncclComm_t nccl_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t ready_ = nullptr;
};

bool NcclPending::test() { return owner_.done(); }
void NcclPending::wait() { owner_.wait(what_); }

}  // namespace

std::unique_ptr<DeviceCollectives> make_nccl_collectives(const std::shared_ptr<Communicator>& comm) {
  return std::make_unique<NcclCollectives>(comm);
}

}  // namespace hemo::train
#endif
