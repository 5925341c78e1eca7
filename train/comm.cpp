#include "train/comm.h"

#include <cstdio>
#include <cstdlib>

#include "core/error.h"

namespace hemo::train {

#if HEMO_WITH_MPI
std::shared_ptr<Communicator> make_mpi_communicator(double timeout_s);  // train/comm_mpi.cpp
bool mpi_available() { return true; }
#else
bool mpi_available() { return false; }
#endif
#if !HEMO_WITH_NCCL
std::unique_ptr<DeviceCollectives> make_nccl_collectives(const std::shared_ptr<Communicator>&) { return nullptr; }
#endif

std::string Communicator::who() const { return cat("rank ", rank(), " of ", size()); }

void Communicator::abort(const std::string& message, int exit_code) {
  abort_job(message, exit_code);
  std::_Exit(exit_code);
}

namespace {

class LocalPending final : public PendingReduce {
 public:
  bool test() override { return true; }
  void wait() override {}
};

class LocalComm final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }
  void allreduce_sum(std::span<float>, const char*) override {}
  void allreduce_sum(std::span<double>, const char*) override {}
  std::unique_ptr<PendingReduce> start_allreduce(std::span<float>, const char*) override {
    return std::make_unique<LocalPending>();
  }
  void broadcast(std::span<uint8_t>, int, const char*) override {}
  void barrier(const char*) override {}

 protected:
  void abort_job(const std::string& message, int exit_code) override {
    std::fprintf(stderr, "hemo: %s\n", message.c_str());
    std::exit(exit_code);
  }
};

std::optional<int> env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  HEMO_CHECK(*end == '\0' && x >= 0 && x < (1 << 30), "the launcher variable ", name, "='", v,
             "' is not a non-negative integer");
  return static_cast<int>(x);
}

}  // namespace

std::optional<LauncherWorld> launcher_world() {
  static const char* const kPairs[][3] = {{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK/SIZE"},
                                          {"PMI_RANK", "PMI_SIZE", "PMI_RANK/SIZE"},
                                          {"SLURM_PROCID", "SLURM_NTASKS", "SLURM_PROCID/NTASKS"}};
  for (const auto& p : kPairs) {
    const auto rank = env_int(p[0]), size = env_int(p[1]);
    if (!rank || !size) continue;
    HEMO_CHECK(*rank < *size, "the launcher says rank ", *rank, " of ", *size, " (", p[2], ")");
    int local = 0;
    for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"})
      if (const auto l = env_int(name)) {
        local = *l;
        break;
      }
    return LauncherWorld{*rank, *size, local, p[2]};
  }
  return std::nullopt;
}

std::shared_ptr<Communicator> local_communicator() { return std::make_shared<LocalComm>(); }

std::shared_ptr<Communicator> make_communicator(const CommOptions& options) {
  const auto world = launcher_world();
  if (!options.distributed) {
    HEMO_CHECK(!world || world->size == 1, "this process was launched as rank ", world ? world->rank : 0, " of ",
               world ? world->size : 1, " (", world ? world->source : "", ") but without --distributed: every "
               "rank would train alone and write the same files; add --distributed");
    return local_communicator();
  }
  double timeout = options.timeout_s;
  if (const char* t = std::getenv("HEMO_DIST_TIMEOUT"); t && *t) {
    char* end = nullptr;
    timeout = std::strtod(t, &end);
    HEMO_CHECK(*end == '\0' && timeout > 0, "HEMO_DIST_TIMEOUT='", t, "' is not a positive number of seconds");
  }
#if HEMO_WITH_MPI
  return make_mpi_communicator(timeout);
#else
  throw Error(cat("--distributed: this hemo was built without MPI (CMake found no MPI; on Debian: apt-get install "
                  "openmpi-bin libopenmpi-dev, then reconfigure)",
                  world ? cat("; launched as rank ", world->rank, " of ", world->size, " (", world->source, ")") : ""));
#endif
}

}  // namespace hemo::train
