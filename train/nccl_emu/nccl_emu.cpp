// train/nccl_emu/nccl.h over MPI (see there).
#include "train/nccl_emu/nccl.h"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <string>

struct ncclComm {
  MPI_Comm mpi = MPI_COMM_NULL;
  int rank = 0, size = 1;
};

namespace {

thread_local std::string g_last_error;

ncclResult_t invalid(const std::string& why) {
  g_last_error = why;
  return ncclInvalidArgument;
}

constexpr char kMagic[] = "hemo-emulated-nccl";

}  // namespace

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  if (!id) return invalid("ncclGetUniqueId: null id");
  std::memset(id->internal, 0, sizeof id->internal);
  std::memcpy(id->internal, kMagic, sizeof kMagic);
  return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
  if (!comm) return invalid("ncclCommInitRank: null communicator");
  if (std::memcmp(id.internal, kMagic, sizeof kMagic) != 0)
    return invalid("ncclCommInitRank: the unique id was not made by ncclGetUniqueId (not broadcast from rank 0?)");
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) return invalid("ncclCommInitRank: the emulation build's NCCL runs over MPI, which is not initialized");
  int mpi_rank = 0, mpi_size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &mpi_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &mpi_size);
  if (nranks != mpi_size || rank != mpi_rank)
    return invalid("ncclCommInitRank: rank " + std::to_string(rank) + " of " + std::to_string(nranks) +
                   " is not this process's MPI rank " + std::to_string(mpi_rank) + " of " + std::to_string(mpi_size));
  auto* c = new ncclComm;
  MPI_Comm_dup(MPI_COMM_WORLD, &c->mpi);  // its own channel: never mixed up with the Communicator's messages
  c->rank = rank, c->size = nranks;
  *comm = c;
  return ncclSuccess;
}

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t stream) {
  if (!comm || comm->mpi == MPI_COMM_NULL) return invalid("ncclAllReduce: no communicator");
  if (datatype != ncclFloat32 || op != ncclSum) return invalid("ncclAllReduce: the stand-in sums float32 only");
  if (cudaStreamSynchronize(stream) != cudaSuccess) return invalid("ncclAllReduce: not a valid stream");
  auto* out = static_cast<float*>(recvbuff);
  const auto* in = static_cast<const float*>(sendbuff);
  for (size_t done = 0; done < count;) {  // MPI counts are ints
    const int n = static_cast<int>(std::min<size_t>(count - done, INT_MAX));
    const int rc = MPI_Allreduce(in == out ? MPI_IN_PLACE : in + done, out + done, n, MPI_FLOAT, MPI_SUM, comm->mpi);
    if (rc != MPI_SUCCESS) {
      g_last_error = "ncclAllReduce: MPI_Allreduce failed";
      return ncclSystemError;
    }
    done += static_cast<size_t>(n);
  }
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  if (!comm) return ncclSuccess;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm->mpi != MPI_COMM_NULL) MPI_Comm_free(&comm->mpi);
  delete comm;
  return ncclSuccess;
}

ncclResult_t ncclCommAbort(ncclComm_t comm) {
  delete comm;  // the job is ended by the caller (Communicator::abort)
  return ncclSuccess;
}

const char* ncclGetErrorString(ncclResult_t result) {
  if (result == ncclSuccess) return "no error";
  return g_last_error.empty() ? "error in the emulation build's NCCL stand-in" : g_last_error.c_str();
}
