#include "core/cuda/emu/grid.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <sstream>
#include <vector>

#include "core/cuda/emu/fiber.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
// In libtsan, not declared by GCC 12's tsan_interface.h.
extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();
// The scheduler's own bookkeeping is touched from every fiber; only the kernel's accesses and the
// synchronization CUDA defines (launch, barrier, __syncwarp, end of grid) are shown to TSan.
#define HEMO_TSAN_IGNORE_BEGIN() __tsan_ignore_thread_begin()
#define HEMO_TSAN_IGNORE_END() __tsan_ignore_thread_end()
#define HEMO_TSAN_RELEASE(p) __tsan_release(p)
#define HEMO_TSAN_ACQUIRE(p) __tsan_acquire(p)
#define HEMO_EMU_SANITIZED 1
#else
#define HEMO_TSAN_IGNORE_BEGIN() (void)0
#define HEMO_TSAN_IGNORE_END() (void)0
#define HEMO_TSAN_RELEASE(p) (void)(p)
#define HEMO_TSAN_ACQUIRE(p) (void)(p)
#if defined(__SANITIZE_ADDRESS__)
#define HEMO_EMU_SANITIZED 1
#else
#define HEMO_EMU_SANITIZED 0
#endif
#endif

namespace hemo::emu {

__extension__ typedef unsigned __int128 u128;

constinit thread_local const Coordinates* tl_coords = nullptr;

namespace {

std::atomic<uint64_t> g_seed{[] {
  const char* v = std::getenv("HEMO_EMU_SEED");
  return v && *v ? std::strtoull(v, nullptr, 10) : uint64_t{1};
}()};
std::atomic<uint64_t> g_launches{0}, g_faults{0};

uint64_t splitmix(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

size_t stack_bytes() {
  static const size_t bytes = [] {
    const char* v = std::getenv("HEMO_EMU_STACK_KB");
    const size_t kb = v && *v ? std::strtoull(v, nullptr, 10) : (HEMO_EMU_SANITIZED ? 512 : 64);
    return std::max<size_t>(kb, 16) * 1024;
  }();
  return bytes;
}

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::shfl_idx: return "__shfl_sync";
    case WarpOp::shfl_up: return "__shfl_up_sync";
    case WarpOp::shfl_down: return "__shfl_down_sync";
    case WarpOp::shfl_xor: return "__shfl_xor_sync";
    case WarpOp::ballot: return "__ballot_sync";
    case WarpOp::any: return "__any_sync";
    case WarpOp::all: return "__all_sync";
    case WarpOp::syncwarp: return "__syncwarp";
  }
  return "?";
}

std::string xyz(uint3 v) {
  std::ostringstream s;
  s << "(" << v.x << "," << v.y << "," << v.z << ")";
  return s.str();
}

enum class State : uint8_t { ready, barrier, warp, exited };

struct Thread {
  Coordinates coords;
  unsigned linear = 0;
  State state = State::ready;
  const char* file = nullptr;  // where it waits
  int line = 0;
  WarpOp op = WarpOp::syncwarp;
  unsigned mask = 0;
  int param = 0, width = 32;
  uint64_t value = 0, result = 0;
  Fiber* fiber = nullptr;
};

// A warp's lanes by what they do now (bit l: lane l).
struct Warp {
  unsigned exited = 0, at_barrier = 0, in_collective = 0;
};

// One OS thread's emulator: its fibers (kept between launches) and the block now running.
struct Exec {
  std::vector<std::unique_ptr<Fiber>> fibers;
  std::vector<Thread> threads;
  std::vector<Warp> warps;
  std::vector<unsigned> order;
  std::vector<unsigned char> dynamic_shared;
  Thread* current = nullptr;
  unsigned live = 0, exited = 0;
  Body body = nullptr;
  void* ctx = nullptr;
  const char* kernel = "";
  const char* launch_file = "";
  int launch_line = 0;
  std::string fault;  // "" while all is well
  // ThreadSanitizer's synchronization objects (their addresses; no-ops in other builds). A block's
  // threads acquire what the previous block's threads released on every way out (each yield and
  // their end): blocks are ordered one after another, as racecheck sees them, so TSan reports
  // races between the threads of a block, not memory reused by the next block. `launch` carries
  // the host's work before the launch to every thread.
  struct {
    char launch, block_end[2], barrier, warp[32];
  } sync{};
  unsigned parity = 0;  // this block's block_end slot
  uint64_t rng = 0;

  void release_block() { HEMO_TSAN_RELEASE(&sync.block_end[parity]); }

#if defined(__SANITIZE_THREAD__)
  // A fiber's switch touches its own state after the fiber's last release; freeing that state at
  // thread exit would be a race TSan reports. The fibers die with the process instead.
  ~Exec() {
    for (auto& f : fibers) (void)f.release();
  }
#endif

  Thread& thread(unsigned linear) { return threads[linear]; }
  unsigned warp_lanes(unsigned warp) const {
    return std::min<unsigned>(32, static_cast<unsigned>(threads.size()) - warp * 32);
  }
};
thread_local Exec tl_exec;

std::string hex(unsigned v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

std::string where(const Exec& e, const Thread* t) {
  std::ostringstream s;
  s << "kernel '" << e.kernel << "' (launched at " << e.launch_file << ":" << e.launch_line << ")";
  if (t) s << ", block " << xyz(t->coords.block_idx) << ", thread " << xyz(t->coords.thread_idx);
  return s.str();
}

// Records the first fault of the launch.
void record_fault(Exec& e, const Thread* t, const std::string& kind, const std::string& detail) {
  if (!e.fault.empty()) return;
  e.fault = "hemo CUDA emulator: " + kind + " in " + where(e, t) + ": " + detail;
  g_faults.fetch_add(1);
  std::fprintf(stderr, "%s\n", e.fault.c_str());
}

// Thrown by fault_here and caught in thread_main: unwinding the faulting thread's stack frees what
// its frames hold (the fault's own message strings among them) before the block is abandoned.
struct Abandoned {};

// From inside a fiber: report (naming `who`, by default the running thread), then leave the block
// for good (the launch stops). Called inside the scheduler's TSan ignore bracket, which it closes.
[[noreturn]] void fault_here(const std::string& kind, const std::string& detail, const Thread* who = nullptr) {
  Exec& e = tl_exec;
  record_fault(e, who ? who : e.current, kind, detail);
  e.release_block();
  HEMO_TSAN_IGNORE_END();
  throw Abandoned{};
}

std::string site(const Thread& t) { return std::string(t.file) + ":" + std::to_string(t.line); }

void exit_thread(Exec& e, Thread* t);

void thread_main(void* arg) {
  Exec& e = tl_exec;
  Thread* t = static_cast<Thread*>(arg);
  HEMO_TSAN_ACQUIRE(&e.sync.launch);
  HEMO_TSAN_ACQUIRE(&e.sync.block_end[e.parity ^ 1u]);
  HEMO_TSAN_IGNORE_BEGIN();
  Fiber* const f = t->fiber;
  HEMO_TSAN_IGNORE_END();
  try {
    e.body(e.ctx);
    exit_thread(e, t);
  } catch (const Abandoned&) {
    for (;;) f->yield();  // never resumed: the scheduler abandons the block
  }
  f->finish();
}

// The end of a thread's kernel body: its bookkeeping, and the fault of a lane that leaves while
// lanes of its warp wait in a collective whose mask names it.
void exit_thread(Exec& e, Thread* t) {
  e.release_block();
  HEMO_TSAN_IGNORE_BEGIN();
  t->state = State::exited;
  --e.live;
  ++e.exited;
  const unsigned lane = t->linear % 32, warp = t->linear / 32;
  e.warps[warp].exited |= 1u << lane;
  for (unsigned waiting = e.warps[warp].in_collective; waiting; waiting &= waiting - 1) {
    const unsigned l = static_cast<unsigned>(__builtin_ctz(waiting));
    const Thread& o = e.thread(warp * 32 + l);
    if (o.mask >> lane & 1u) {
      fault_here("invalid warp collective",
                 "this lane exited while lane " + std::to_string(l) + " waits in " + op_name(o.op) + " at " + site(o) +
                     " with mask " + hex(o.mask) + " naming it");
    }
  }
  HEMO_TSAN_IGNORE_END();
}


// The lane a shuffle reads, or -1 for "its own value" (a source outside the lane's segment).
int shuffle_source(const Thread& t, unsigned lane) {
  const int w = t.width, base = static_cast<int>(lane) / w * w, in = static_cast<int>(lane) - base;
  switch (t.op) {
    case WarpOp::shfl_idx: return base + ((t.param % w) + w) % w;
    case WarpOp::shfl_up: return in - t.param >= 0 ? static_cast<int>(lane) - t.param : -1;
    case WarpOp::shfl_down: return in + t.param < w ? static_cast<int>(lane) + t.param : -1;
    case WarpOp::shfl_xor: {
      const int src = static_cast<int>(lane) ^ t.param;
      return src - base >= 0 && src - base < w ? src : -1;
    }
    default: return -1;
  }
}

void complete_collective(Exec& e, unsigned warp, unsigned mask) {
  const unsigned lanes = e.warp_lanes(warp);
  uint64_t vote = 0;
  int count = 0;
  for (unsigned l = 0; l < lanes; ++l) {
    if (mask >> l & 1u) {
      vote |= (e.thread(warp * 32 + l).value ? 1ull : 0ull) << l;
      ++count;
    }
  }
  e.warps[warp].in_collective &= ~mask;
  for (unsigned l = 0; l < lanes; ++l) {
    if (!(mask >> l & 1u)) continue;
    Thread& t = e.thread(warp * 32 + l);
    switch (t.op) {
      case WarpOp::ballot: t.result = vote; break;
      case WarpOp::any: t.result = vote != 0; break;
      case WarpOp::all: t.result = __builtin_popcountll(vote) == count; break;
      case WarpOp::syncwarp: t.result = 0; break;
      default: {
        const int src = shuffle_source(t, l);
        if (src >= 0 && !(mask >> src & 1u)) {
          fault_here("invalid warp collective",
                     std::string(op_name(t.op)) + " at " + site(t) + " in lane " + std::to_string(l) + " reads lane " +
                         std::to_string(src) + ", which its mask " + hex(mask) + " does not name",
                     &t);
        }
        t.result = src < 0 ? t.value : e.thread(warp * 32 + static_cast<unsigned>(src)).value;
      }
    }
    t.state = State::ready;
  }
}

}  // namespace

uint64_t warp_collective(WarpOp op, unsigned mask, uint64_t value, int param, int width, const char* file, int line) {
  Exec& e = tl_exec;
  Thread* t = e.current;
  HEMO_TSAN_IGNORE_BEGIN();
  const unsigned lane = t->linear % 32, warp = t->linear / 32, lanes = e.warp_lanes(warp);
  t->file = file;
  t->line = line;
  t->op = op;
  const auto call = [&] { return std::string(op_name(op)) + " at " + file + ":" + std::to_string(line); };
  if (!(mask >> lane & 1u)) fault_here("invalid warp collective", call() + ": its mask " + hex(mask) + " does not name the calling lane " + std::to_string(lane));
  if (width <= 0 || width > 32 || (width & (width - 1)))
    fault_here("invalid warp collective", call() + ": width " + std::to_string(width) + " is not a power of 2 up to 32");
  if (lanes < 32 && (mask >> lanes) != 0)
    fault_here("invalid warp collective", call() + ": its mask " + hex(mask) + " names lanes past the last one (this warp has " + std::to_string(lanes) + " threads)");
  Warp& w = e.warps[warp];
  const auto lowest = [](unsigned bits) { return static_cast<unsigned>(__builtin_ctz(bits)); };
  if (const unsigned gone = w.exited & mask)
    fault_here("invalid warp collective", call() + ": its mask " + hex(mask) + " names lane " + std::to_string(lowest(gone)) + ", which has exited");
  if (const unsigned waiting = w.at_barrier & mask) {
    const Thread& o = e.thread(warp * 32 + lowest(waiting));
    fault_here("invalid warp collective", call() + ": its mask " + hex(mask) + " names lane " + std::to_string(lowest(waiting)) + ", which waits at __syncthreads at " + site(o));
  }
  if (const unsigned others = w.in_collective & mask) {
    const Thread& o = e.thread(warp * 32 + lowest(others));
    if (o.op != op || o.mask != mask || o.file != file || o.line != line)
      fault_here("invalid warp collective", call() + " with mask " + hex(mask) + " while lane " + std::to_string(lowest(others)) + " waits in " + op_name(o.op) + " at " + site(o) + " with mask " + hex(o.mask));
  }
  t->mask = mask;
  t->value = value;
  t->param = param;
  t->width = width;
  t->state = State::warp;
  w.in_collective |= 1u << lane;
  const bool all_here = (w.in_collective & mask) == mask;
  if (op == WarpOp::syncwarp) HEMO_TSAN_RELEASE(&e.sync.warp[warp % 32]);
  if (all_here) {
    complete_collective(e, warp, mask);
  } else {
    e.release_block();
    Fiber* f = t->fiber;
    HEMO_TSAN_IGNORE_END();
    f->yield();
    HEMO_TSAN_IGNORE_BEGIN();
  }
  if (op == WarpOp::syncwarp) HEMO_TSAN_ACQUIRE(&e.sync.warp[warp % 32]);
  const uint64_t result = t->result;
  HEMO_TSAN_IGNORE_END();
  return result;
}

void syncthreads(const char* file, int line) {
  Exec& e = tl_exec;
  Thread* t = e.current;
  HEMO_TSAN_IGNORE_BEGIN();
  t->state = State::barrier;
  e.warps[t->linear / 32].at_barrier |= 1u << (t->linear % 32);
  t->file = file;
  t->line = line;
  HEMO_TSAN_RELEASE(&e.sync.barrier);
  e.release_block();
  Fiber* f = t->fiber;
  HEMO_TSAN_IGNORE_END();
  f->yield();  // the scheduler releases the barrier once every thread is here
  HEMO_TSAN_ACQUIRE(&e.sync.barrier);
}

void* dynamic_shared() { return tl_exec.dynamic_shared.data(); }

unsigned active_mask() {
  Exec& e = tl_exec;
  HEMO_TSAN_IGNORE_BEGIN();
  const unsigned warp = e.current->linear / 32;
  unsigned mask = 0;
  for (unsigned l = 0; l < e.warp_lanes(warp); ++l)
    if (e.thread(warp * 32 + l).state != State::exited) mask |= 1u << l;
  HEMO_TSAN_IGNORE_END();
  return mask;
}

namespace {

void shuffle_order(Exec& e) {
  std::iota(e.order.begin(), e.order.end(), 0u);
  if (g_seed.load() == 0) return;
  for (size_t i = e.order.size(); i > 1; --i) std::swap(e.order[i - 1], e.order[splitmix(e.rng) % i]);
}

// After a round in which no thread could run: release a barrier, or report why the block is stuck.
bool settle(Exec& e) {
  const Thread* first_barrier = nullptr;
  const Thread* first_warp = nullptr;
  const Thread* first_exited = nullptr;
  for (const Thread& t : e.threads) {
    if (t.state == State::barrier && !first_barrier) first_barrier = &t;
    if (t.state == State::warp && !first_warp) first_warp = &t;
    if (t.state == State::exited && !first_exited) first_exited = &t;
  }
  if (first_warp) {
    std::string detail = "deadlock: lane " + std::to_string(first_warp->linear % 32) + " waits in " +
                         op_name(first_warp->op) + " at " + site(*first_warp) + " (mask " + hex(first_warp->mask) + ")";
    if (first_barrier) detail += " while thread " + xyz(first_barrier->coords.thread_idx) + " waits at __syncthreads at " + site(*first_barrier);
    record_fault(e, first_warp, "deadlock", detail);
    return false;
  }
  for (const Thread& t : e.threads) {
    if (t.state == State::barrier && (t.file != first_barrier->file || t.line != first_barrier->line)) {
      record_fault(e, &t, "divergent __syncthreads",
                   "this thread waits at " + site(t) + " while thread " + xyz(first_barrier->coords.thread_idx) +
                       " waits at " + site(*first_barrier));
      return false;
    }
  }
  if (first_exited) {
    record_fault(e, first_barrier, "divergent __syncthreads",
                 "__syncthreads at " + site(*first_barrier) + " is reached by " + std::to_string(e.live) + " of " +
                     std::to_string(e.threads.size()) + " threads; thread " + xyz(first_exited->coords.thread_idx) +
                     " and " + std::to_string(e.exited - 1) + " others exited without reaching it");
    return false;
  }
  for (Thread& t : e.threads) t.state = State::ready;
  for (Warp& w : e.warps) w.at_barrier = 0;
  shuffle_order(e);
  return true;
}

// Runs one block to its end; false on a fault.
bool run_block(Exec& e) {
  e.live = static_cast<unsigned>(e.threads.size());
  e.exited = 0;
  shuffle_order(e);
  for (;;) {
    bool ran = false;
    for (unsigned i : e.order) {
      Thread& t = e.threads[i];
      if (t.state != State::ready) continue;
      ran = true;
      e.current = &t;
      tl_coords = &t.coords;
      t.fiber->resume();
      if (!e.fault.empty()) return false;
    }
    if (e.live == 0) return true;
    if (!ran && !settle(e)) return false;
  }
}

}  // namespace

std::string launch_error(dim3 grid, dim3 block, size_t shared_bytes) {
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  std::ostringstream s;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || threads == 0)
    s << "an empty grid or block (grid " << grid.x << "x" << grid.y << "x" << grid.z << ", block " << block.x << "x"
      << block.y << "x" << block.z << ")";
  else if (threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64)
    s << "block " << block.x << "x" << block.y << "x" << block.z << " exceeds 1024 threads (or 1024x1024x64)";
  else if (grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535)
    s << "grid " << grid.x << "x" << grid.y << "x" << grid.z << " exceeds 2^31-1 x 65535 x 65535";
  else if (shared_bytes > 48 * 1024)
    s << shared_bytes << " bytes of dynamic shared memory exceed the 48 KiB a launch gets without opting in";
  return s.str();
}

std::string run_grid(const char* kernel, const char* file, int line, dim3 grid, dim3 block, size_t shared_bytes,
                     Body body, void* ctx) {
  Exec& e = tl_exec;
  HEMO_TSAN_IGNORE_BEGIN();
  const unsigned nthreads = block.x * block.y * block.z;
  const uint64_t nblocks = uint64_t{grid.x} * grid.y * grid.z;
  const uint64_t launch = g_launches.fetch_add(1);
  e.rng = g_seed.load() * 0x2545F4914F6CDD1Dull + launch;
  e.body = body;
  e.ctx = ctx;
  e.kernel = kernel;
  e.launch_file = file;
  e.launch_line = line;
  e.fault.clear();
  while (e.fibers.size() < nthreads) e.fibers.push_back(std::make_unique<Fiber>(stack_bytes()));
  e.threads.assign(nthreads, Thread{});
  e.order.resize(nthreads);
  for (unsigned i = 0; i < nthreads; ++i) {
    Thread& t = e.threads[i];
    t.linear = i;
    t.fiber = e.fibers[i].get();
    t.coords.thread_idx = {i % block.x, i / block.x % block.y, i / (block.x * block.y)};
    t.coords.block_dim = block;
    t.coords.grid_dim = grid;
  }
  // Blocks in a scrambled order: b -> (a b + c) mod nblocks with a coprime to nblocks.
  uint64_t a = 1, c = 0;
  if (g_seed.load() != 0 && nblocks > 1) {
    c = splitmix(e.rng) % nblocks;
    do a = splitmix(e.rng) % nblocks | 1; while (std::gcd(a, nblocks) != 1);
  }
  HEMO_TSAN_RELEASE(&e.sync.launch);
  const bool named = HEMO_EMU_SANITIZED;
  std::string name;
  for (uint64_t k = 0; k < nblocks && e.fault.empty(); ++k) {
    const uint64_t b = static_cast<uint64_t>((static_cast<u128>(a) * k + c) % nblocks);
    const uint3 bidx{static_cast<unsigned>(b % grid.x), static_cast<unsigned>(b / grid.x % grid.y),
                     static_cast<unsigned>(b / (uint64_t{grid.x} * grid.y))};
    e.parity ^= 1u;
    if (shared_bytes) e.dynamic_shared.assign(shared_bytes, 0xFF);
    e.warps.assign((nthreads + 31) / 32, Warp{});
    for (Thread& t : e.threads) {
      t.coords.block_idx = bidx;
      t.state = State::ready;
      t.fiber->start(&thread_main, &t);
      if (named) {
        name = "kernel '" + std::string(kernel) + "' block " + xyz(bidx) + " thread " + xyz(t.coords.thread_idx);
        t.fiber->set_name(name.c_str());
      }
    }
    const bool ok = run_block(e);
    if (!ok && e.fault.empty()) record_fault(e, nullptr, "internal error", "a block stopped without a fault");
  }
  HEMO_TSAN_ACQUIRE(&e.sync.block_end[e.parity]);
  e.current = nullptr;
  tl_coords = nullptr;
  std::string fault = e.fault;
  HEMO_TSAN_IGNORE_END();
  return fault;
}

uint64_t seed() { return g_seed.load(); }
void set_seed(uint64_t s) { g_seed.store(s); }
uint64_t launches() { return g_launches.load(); }
uint64_t faults() { return g_faults.load(); }

}  // namespace hemo::emu
