// The emulation build's stand-in for NCCL (-DHEMO_CUDA=EMULATE with MPI): the part of nccl.h that
// train/comm_nccl.cpp calls, served by train/nccl_emu/nccl_emu.cpp over MPI. The emulated device's
// memory is host memory and the emulator runs every stream operation before the call returns, so
// ncclAllReduce is an in-place MPI_Allreduce of the "device" buffer, finished when it returns, as
// a real NCCL all-reduce is finished once its stream is. So the NCCL path of the trainer (the
// buckets on the device, the stream and event, the polling wait) runs in CI without a GPU.
//
// Supported: one communicator over all of MPI_COMM_WORLD's ranks (nranks and rank must be
// MPI's), float32 sums. Anything else returns ncclInvalidArgument, ncclGetErrorString says why.
#pragma once
#include <cstddef>

#include <cuda_runtime.h>

#define HEMO_NCCL_STAND_IN 1

typedef enum {
  ncclSuccess = 0,
  ncclUnhandledCudaError = 1,
  ncclSystemError = 2,
  ncclInternalError = 3,
  ncclInvalidArgument = 4,
  ncclInvalidUsage = 5,
} ncclResult_t;

typedef enum { ncclFloat32 = 7, ncclFloat = 7 } ncclDataType_t;
typedef enum { ncclSum = 0 } ncclRedOp_t;

#define NCCL_UNIQUE_ID_BYTES 128
typedef struct {
  char internal[NCCL_UNIQUE_ID_BYTES];
} ncclUniqueId;

struct ncclComm;
typedef struct ncclComm* ncclComm_t;

ncclResult_t ncclGetUniqueId(ncclUniqueId* id);
ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank);
ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t stream);
ncclResult_t ncclCommDestroy(ncclComm_t comm);
ncclResult_t ncclCommAbort(ncclComm_t comm);
const char* ncclGetErrorString(ncclResult_t result);
