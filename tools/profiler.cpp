#include "tools/profiler.h"

#include <chrono>

#include "core/error.h"
#if HEMO_WITH_CUDA
#include "core/cuda/stream.h"
#endif
#if HEMO_WITH_CUDA && !defined(HEMO_CUDA_EMULATED) && __has_include(<nvtx3/nvToolsExt.h>)
#include <nvtx3/nvToolsExt.h>
#define HEMO_NVTX_PUSH(name) nvtxRangePushA(name)
#define HEMO_NVTX_POP() nvtxRangePop()
#else
#define HEMO_NVTX_PUSH(name) static_cast<void>(name)
#define HEMO_NVTX_POP() static_cast<void>(0)
#endif

namespace hemo::cli::bench {

// Time marks of one step: host clock readings, or CUDA events recorded on the current stream.
class EventClock {
 public:
  explicit EventClock(Device device) : cuda_(device.is_cuda()) {}
  ~EventClock() {
#if HEMO_WITH_CUDA
    for (cudaEvent_t e : events_) cudaEventDestroy(e);
#endif
  }
  EventClock(const EventClock&) = delete;
  EventClock& operator=(const EventClock&) = delete;

  size_t mark() {
#if HEMO_WITH_CUDA
    if (cuda_) {
      if (used_ == events_.size()) {
        cudaEvent_t e = nullptr;
        HEMO_CHECK(cudaEventCreate(&e) == cudaSuccess, "profile: cudaEventCreate failed");
        events_.push_back(e);
      }
      HEMO_CHECK(cudaEventRecord(events_[used_], cuda::current_stream()) == cudaSuccess,
                 "profile: cudaEventRecord failed");
      return used_++;
    }
#endif
    host_.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count());
    return host_.size() - 1;
  }

  // Seconds from the first mark to each mark; the marks are then reused.
  std::vector<double> resolve() {
    std::vector<double> t;
#if HEMO_WITH_CUDA
    if (cuda_) {
      if (used_ > 0) cudaEventSynchronize(events_[used_ - 1]);
      for (size_t i = 0; i < used_; ++i) {
        float ms = 0;
        HEMO_CHECK(cudaEventElapsedTime(&ms, events_[0], events_[i]) == cudaSuccess,
                   "profile: cudaEventElapsedTime failed");
        t.push_back(1e-3 * ms);
      }
      used_ = 0;
      return t;
    }
#endif
    for (double h : host_) t.push_back(h - host_.front());
    host_.clear();
    return t;
  }

 private:
  bool cuda_;
  std::vector<double> host_;
#if HEMO_WITH_CUDA
  std::vector<cudaEvent_t> events_;
  size_t used_ = 0;
#endif
};

Profiler::Profiler(nn::Module& root, Device device) : clock_(std::make_unique<EventClock>(device)) {
  for (const auto& [path, m] : root.named_modules()) {
    scopes_[m] = static_cast<int>(rows_.size());
    rows_.push_back({path.empty() ? "(model)" : path, m->type_name(), "", 0, 0, 0, 0});
  }
}

Profiler::~Profiler() = default;

Profiler::Attach::Attach(Profiler& p) {
  nn::set_module_observer(&p);
  set_autograd_observer(&p);
}
Profiler::Attach::~Attach() {
  nn::set_module_observer(nullptr);
  set_autograd_observer(nullptr);
  set_record_scope(-1);
}

int Profiler::open(int scope, bool backward, std::string name) {
  HEMO_NVTX_PUSH(rows_[static_cast<size_t>(scope)].path.c_str());
  const int parent = stack_.empty() ? -1 : stack_.back();
  intervals_.push_back({scope, backward, std::move(name), clock_->mark(), 0, parent});
  stack_.push_back(static_cast<int>(intervals_.size() - 1));
  return scope;
}

void Profiler::close() {
  HEMO_CHECK(!stack_.empty(), "profile: an end without a begin");
  intervals_[static_cast<size_t>(stack_.back())].end_mark = clock_->mark();
  stack_.pop_back();
  HEMO_NVTX_POP();
}

void Profiler::enter(nn::Module& m, const Tensor& input) {
  auto it = scopes_.find(&m);
  if (it == scopes_.end()) {
    it = scopes_.emplace(&m, static_cast<int>(rows_.size())).first;
    rows_.push_back({"?" + m.type_name(), m.type_name(), "", 0, 0, 0, 0});
  }
  ProfileRow& row = rows_[static_cast<size_t>(it->second)];
  if (row.calls == 0 && row.shapes.empty()) {
    row.shapes = shape_str(input.shape());
    row.fwd_bytes = 4.0 * static_cast<double>(input.numel());
  }
  set_record_scope(open(it->second, false, ""));
}

void Profiler::exit(nn::Module& m, const Tensor& output) {
  close();
  ProfileRow& row = rows_[static_cast<size_t>(scopes_.at(&m))];
  if (row.calls++ == 0) {
    row.shapes += " -> " + shape_str(output.shape());
    row.fwd_bytes += 4.0 * static_cast<double>(output.numel());
    for (const auto& [name, p] : m.named_parameters(false)) row.fwd_bytes += 4.0 * static_cast<double>(p.numel());
  }
  set_record_scope(stack_.empty() ? -1 : intervals_[static_cast<size_t>(stack_.back())].scope);
}

void Profiler::node_begin(const Node& node) {
  const int outer = stack_.empty() ? -1 : intervals_[static_cast<size_t>(stack_.back())].scope;
  open(node.scope >= 0 ? node.scope : outer >= 0 ? outer : 0, true, node.name);
}
void Profiler::node_end(const Node&) { close(); }

void Profiler::begin(const char* region) {
  auto it = regions_.find(region);
  if (it == regions_.end()) {
    it = regions_.emplace(region, static_cast<int>(rows_.size())).first;
    rows_.push_back({region, "(step)", "", 0, 0, 0, 0});
  }
  set_record_scope(open(it->second, std::string(region) == "backward", ""));
}

void Profiler::end() {
  close();
  set_record_scope(stack_.empty() ? -1 : intervals_[static_cast<size_t>(stack_.back())].scope);
}

void Profiler::finish_step() {
  HEMO_CHECK(stack_.empty(), "profile: a step ended inside ", stack_.size(), " open ranges");
  const std::vector<double> t = clock_->resolve();
  std::vector<double> dur(intervals_.size()), children(intervals_.size(), 0.0);
  for (size_t i = 0; i < intervals_.size(); ++i) {
    dur[i] = t[intervals_[i].end_mark] - t[intervals_[i].begin_mark];
    if (intervals_[i].parent >= 0) children[static_cast<size_t>(intervals_[i].parent)] += dur[i];
  }
  double span = 0;
  for (size_t i = 0; i < intervals_.size(); ++i) {
    const Interval& iv = intervals_[i];
    ProfileRow& row = rows_[static_cast<size_t>(iv.scope)];
    (iv.backward ? row.bwd_s : row.fwd_s) += dur[i] - children[i];
    const bool node = !iv.name.empty();
    trace_.push_back({{"name", node ? iv.name : row.path},
                      {"cat", node ? "backward" : row.op == "(step)" ? "step" : "forward"},
                      {"ph", "X"},
                      {"ts", trace_offset_us_ + 1e6 * t[iv.begin_mark]},
                      {"dur", 1e6 * dur[i]},
                      {"pid", 0},
                      {"tid", 0},
                      {"args", {{"module", row.path}, {"op", row.op}, {"shapes", row.shapes}}}});
    span = std::max(span, t[iv.end_mark]);
  }
  trace_offset_us_ += 1e6 * span + 100;  // steps side by side on the timeline, 100 µs apart
  intervals_.clear();
  ++steps_;
}

nlohmann::json Profiler::chrome_trace() const {
  return {{"traceEvents", trace_}, {"displayTimeUnit", "ms"}};
}

}  // namespace hemo::cli::bench
