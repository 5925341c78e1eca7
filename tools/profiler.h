// The per-layer profiler of `hemo profile`. While attached (a Profiler::Attach on the thread that
// runs the step) it observes, through the two profiling seams (nn/module.h: ModuleObserver;
// tensor/autograd.h: AutogradObserver and the record scope):
//   - every module's forward: its interval, nested in its parent's; a module's own time is its
//     interval less its children's (a ResNet block's own time is its residual add);
//   - every autograd node's backward closure, charged to the innermost module that was running
//     when the node was recorded (or to the step region, "loss", that recorded it);
//   - the step's regions (tools/bench_step.h: loss, zero_grad, backward, optimizer); the
//     backward region's own time is the autograd engine's (ordering, summing gradients).
// So the rows (modules plus regions) partition the step. Times are host wall time on the CPU;
// on CUDA they come from CUDA events recorded on the current stream (resolved when the step has
// been synchronized), and every module, node and region is also an NVTX range named by its module
// path (nvtx3 from the CUDA toolkit; a no-op in the CPU and emulated builds).
// finish_step() after each synchronized step folds its intervals into the rows and the Chrome
// trace (the "traceEvents" JSON format; Perfetto and chrome://tracing open it).
#pragma once
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"
#include "tensor/autograd.h"
#include "tools/bench_step.h"

namespace hemo::cli::bench {

struct ProfileRow {
  std::string path, op, shapes;  // module path (or region), type or region, "in -> out"
  double fwd_s = 0, bwd_s = 0;   // summed over the steps profiled
  double fwd_bytes = 0;          // forward traffic of one call: input + output + parameters
  int64_t calls = 0;             // forward calls over the steps profiled
};

class EventClock;  // host clock or CUDA events (profiler.cpp)

class Profiler : public nn::ModuleObserver, public AutogradObserver, public StepRegions {
 public:
  Profiler(nn::Module& root, Device device);
  ~Profiler() override;

  // Installs the observers on this thread for its lifetime.
  class Attach {
   public:
    explicit Attach(Profiler& p);
    ~Attach();
    Attach(const Attach&) = delete;
    Attach& operator=(const Attach&) = delete;
  };

  void finish_step();  // after a synchronized step: resolve its times into rows and trace
  const std::vector<ProfileRow>& rows() const { return rows_; }  // modules in tree order, then regions
  int64_t steps() const { return steps_; }
  nlohmann::json chrome_trace() const;  // {"traceEvents": [...], "displayTimeUnit": "ms"}

  void enter(nn::Module& m, const Tensor& input) override;
  void exit(nn::Module& m, const Tensor& output) override;
  void node_begin(const Node& node) override;
  void node_end(const Node& node) override;
  void begin(const char* region) override;
  void end() override;

 private:
  struct Interval {
    int scope;
    bool backward;
    std::string name;  // the op, for a backward node
    size_t begin_mark, end_mark = 0;
    int parent;        // index of the enclosing interval, -1 at the top
  };
  int open(int scope, bool backward, std::string name);
  void close();

  std::vector<ProfileRow> rows_;             // one per scope
  std::map<const nn::Module*, int> scopes_;  // module -> row
  std::map<std::string, int> regions_;       // region name -> row
  std::unique_ptr<EventClock> clock_;
  std::vector<Interval> intervals_;          // this step's
  std::vector<int> stack_;                   // open intervals
  nlohmann::json trace_ = nlohmann::json::array();
  double trace_offset_us_ = 0;
  int64_t steps_ = 0;
};

}  // namespace hemo::cli::bench
