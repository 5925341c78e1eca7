// The MPI communicator (train/comm.h). Every collective is non-blocking underneath and completed by
// a polling loop with a deadline: that loop is the watchdog. Past the deadline the rank prints
// what it was waiting for and calls MPI_Abort, which ends every process of the job.
#include "train/comm.h"

#if HEMO_WITH_MPI
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "core/error.h"

namespace hemo::train {

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void abort_world(int rank, int size, const std::string& message, int exit_code) {
  std::fprintf(stderr, "hemo: rank %d of %d: %s\n", rank, size, message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);  // MPI_Abort does not return; if it did, do not hang
}

// Polls `req` until done; aborts the job after `timeout_s`. Spins briefly, then sleeps 50 us per
// poll so that a rank waiting for a slower one does not take a core from it.
void wait_or_abort(MPI_Request& req, const char* what, double timeout_s, int rank, int size) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  for (int polls = 0;; ++polls) {
    int done = 0;
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) return;
    if (polls > 200) std::this_thread::sleep_for(std::chrono::microseconds(50));
    if (Clock::now() > deadline)
      abort_world(rank, size,
                cat(what, " did not complete within ", timeout_s, " s (HEMO_DIST_TIMEOUT): another rank has failed "
                    "or hangs; aborting the job"), 3);
  }
}

class MpiComm;

class MpiPending final : public PendingReduce {
 public:
  MpiPending(const MpiComm& comm, const char* what) : comm_(comm), what_(what) {}
  bool test() override {
    if (req_ == MPI_REQUEST_NULL) return true;
    int done = 0;
    MPI_Test(&req_, &done, MPI_STATUS_IGNORE);
    return done != 0;
  }
  void wait() override;
  MPI_Request req_ = MPI_REQUEST_NULL;

 private:
  const MpiComm& comm_;
  const char* what_;
};

class MpiComm final : public Communicator {
 public:
  explicit MpiComm(double timeout_s) : timeout_s_(timeout_s) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      owns_ = true;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    if (const auto w = launcher_world(); w && (w->rank != rank_ || w->size != size_))
      abort(cat("MPI says rank ", rank_, " of ", size_, " but ", w->source, " says rank ", w->rank, " of ", w->size), 2);
  }
  ~MpiComm() override {
    if (owns_) MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  double timeout_s() const { return timeout_s_; }

  void allreduce_sum(std::span<float> d, const char* what) override { reduce(d.data(), d.size(), MPI_FLOAT, what); }
  void allreduce_sum(std::span<double> d, const char* what) override { reduce(d.data(), d.size(), MPI_DOUBLE, what); }
  std::unique_ptr<PendingReduce> start_allreduce(std::span<float> d, const char* what) override {
    auto p = std::make_unique<MpiPending>(*this, what);
    MPI_Iallreduce(MPI_IN_PLACE, d.data(), count(d.size(), what), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &p->req_);
    return p;
  }
  void broadcast(std::span<uint8_t> d, int root, const char* what) override {
    MPI_Request req;
    MPI_Ibcast(d.data(), count(d.size(), what), MPI_BYTE, root, MPI_COMM_WORLD, &req);
    wait_or_abort(req, what, timeout_s_, rank_, size_);
  }
  void barrier(const char* what) override {
    MPI_Request req;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    wait_or_abort(req, what, timeout_s_, rank_, size_);
  }

 protected:
  void abort_job(const std::string& message, int exit_code) override { abort_world(rank_, size_, message, exit_code); }

 private:
  int count(size_t n, const char* what) {
    if (n > static_cast<size_t>(INT32_MAX)) abort(cat(what, ": ", n, " elements is more than MPI's int count"), 2);
    return static_cast<int>(n);
  }
  void reduce(void* data, size_t n, MPI_Datatype type, const char* what) {
    MPI_Request req;
    MPI_Iallreduce(MPI_IN_PLACE, data, count(n, what), type, MPI_SUM, MPI_COMM_WORLD, &req);
    wait_or_abort(req, what, timeout_s_, rank_, size_);
  }

  double timeout_s_;
  int rank_ = 0, size_ = 1;
  bool owns_ = false;
};

void MpiPending::wait() {
  if (req_ != MPI_REQUEST_NULL) wait_or_abort(req_, what_, comm_.timeout_s(), comm_.rank(), comm_.size());
}

}  // namespace

std::shared_ptr<Communicator> make_mpi_communicator(double timeout_s) { return std::make_shared<MpiComm>(timeout_s); }

}  // namespace hemo::train
#endif
