// Communicator: the collectives data-parallel training needs (docs/training.md, "Several
// processes"), behind one interface so that the trainer never names MPI or NCCL.
//
//   LocalComm   one process (rank 0 of 1): every collective is the identity.
//   MPI         train/comm_mpi.cpp, built when CMake finds MPI (HEMO_WITH_MPI=1): host buffers.
//   NCCL        train/comm_nccl.cpp, built in a CUDA build that finds NCCL (HEMO_WITH_NCCL=1):
//               device buffers, one communicator on its own stream, the unique id broadcast over
//               MPI. A CPU or emulation build has no NCCL; its reducer uses MPI on host copies.
//
// Contract of every collective: all ranks call it in the same order with the same count; it
// returns when the result is in place on this rank. A collective that does not complete within
// `timeout_s` (a rank died or hangs) prints "hemo: rank R of N: <what> did not complete within T
// s ..." to stderr and aborts the whole job (MPI_Abort), so a job never hangs.
//
// Rank and world size: MPI's, checked against the launcher's environment (launcher_world): Open
// MPI's OMPI_COMM_WORLD_RANK/SIZE, PMI_RANK/SIZE (MPICH, Intel MPI, hydra), SLURM_PROCID/NTASKS.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace hemo::train {

// A pending all-reduce (Communicator::start_allreduce); wait() finishes it.
class PendingReduce {
 public:
  virtual ~PendingReduce() = default;
  virtual bool test() = 0;  // true once complete; drives progress
  virtual void wait() = 0;  // completes it, or aborts the job after the timeout
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;  // "local", "mpi"
  // In-place sum over ranks of host buffers.
  virtual void allreduce_sum(std::span<float> data, const char* what) = 0;
  virtual void allreduce_sum(std::span<double> data, const char* what) = 0;
  // Starts an in-place sum of a host buffer that must stay alive and untouched until wait().
  virtual std::unique_ptr<PendingReduce> start_allreduce(std::span<float> data, const char* what) = 0;
  virtual void broadcast(std::span<uint8_t> data, int root, const char* what) = 0;
  virtual void barrier(const char* what) = 0;
  // Ends every process of the job with `exit_code`, after printing `message` (rank-prefixed).
  [[noreturn]] void abort(const std::string& message, int exit_code);

  bool is_root() const { return rank() == 0; }
  std::string who() const;  // "rank R of N"

 protected:
  virtual void abort_job(const std::string& message, int exit_code) = 0;  // should not return
};

// All-reduces of device (CUDA) buffers: NCCL (train/comm_nccl.cpp), one communicator over the
// ranks of a Communicator, on its own stream, which first waits for the work queued so far on the
// caller's current stream. wait() polls that stream with the same timeout and abort.
class DeviceCollectives {
 public:
  virtual ~DeviceCollectives() = default;
  virtual std::unique_ptr<PendingReduce> start_allreduce(float* device_data, size_t n, const char* what) = 0;
  virtual const char* name() const = 0;  // for the log: "NCCL", or the emulation build's stand-in
};
// NCCL for `comm`'s ranks on the current CUDA device: the real one in a CUDA build that finds it,
// the stand-in over MPI in the emulation build (train/nccl_emu/nccl.h); nullptr in a build without
// either, where CUDA gradients go through host copies and MPI.
std::unique_ptr<DeviceCollectives> make_nccl_collectives(const std::shared_ptr<Communicator>& comm);

// Where a launcher put this process, from its environment; nullopt when no launcher variable is
// set. `source` names the variables ("OMPI_COMM_WORLD_RANK/SIZE", ...).
struct LauncherWorld {
  int rank = 0, size = 1;
  int local_rank = 0;  // on this node (OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID, SLURM_LOCALID): the GPU
  std::string source;
};
std::optional<LauncherWorld> launcher_world();

struct CommOptions {
  bool distributed = false;  // --distributed: MPI (an Error if hemo was built without it)
  double timeout_s = 300;    // per collective; HEMO_DIST_TIMEOUT overrides (seconds)
};

// The communicator for a run. Not distributed: LocalComm, but an Error when a launcher started
// several processes (each would train alone and write the same files). Distributed: initializes
// MPI (finalized when the last communicator is destroyed).
std::shared_ptr<Communicator> make_communicator(const CommOptions& options);
std::shared_ptr<Communicator> local_communicator();
bool mpi_available();  // hemo was built with MPI

}  // namespace hemo::train
