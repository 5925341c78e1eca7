// The CUDA emulator's grid scheduler: runs a kernel launch on the calling OS thread, block after
// block in a scrambled order, each block's threads as cooperating fibers (core/cuda/emu/fiber.h),
// and reports what compute-sanitizer's synccheck would: barriers not reached by every thread of a
// block, deadlocks, and warp collectives whose mask names a lane that has exited, does not exist
// or waits elsewhere. Races between the threads of a block (shared or global memory, as racecheck
// reports them) by ThreadSanitizer in a build with -DHEMO_SANITIZE=thread: each CUDA thread is a
// TSan fiber named "kernel K block (x,y,z) thread (x,y,z)", barriers are release/acquire pairs,
// and consecutive blocks are ordered (a block may reuse the memory the last one used); out-of-bounds accesses by
// AddressSanitizer (device memory is exact-size heap blocks).
//
// Settings (environment): HEMO_EMU_SEED (default 1; 0 runs blocks and threads in index order,
// for stepping through a kernel in a debugger), HEMO_EMU_STACK_KB (fiber stack, default 64, 512
// in sanitizer builds).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/cuda/emu/device.h"

namespace hemo::emu {

using Body = void (*)(void* ctx);

// Runs body(ctx) as each thread of the grid. Returns "" on success, or the fault's description
// (also printed to stderr). The caller checks the configuration first (launch_error).
std::string run_grid(const char* kernel, const char* file, int line, dim3 grid, dim3 block, size_t shared_bytes,
                     Body body, void* ctx);

// Why CUDA would refuse this launch configuration ("" when it would not).
std::string launch_error(dim3 grid, dim3 block, size_t shared_bytes);

uint64_t seed();                // the scheduler's seed (HEMO_EMU_SEED)
void set_seed(uint64_t seed);   // for tests
uint64_t launches();            // kernels run on this process so far
uint64_t faults();              // faults reported so far

}  // namespace hemo::emu
