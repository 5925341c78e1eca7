// Fibers for the CUDA emulator: a stack and a saved context, switched cooperatively on one OS
// thread. On x86-64 the switch is a few instructions of hemo's own (callee-saved registers, the
// SSE and x87 control words, the stack pointer); elsewhere it is POSIX ucontext. Both tell
// AddressSanitizer and ThreadSanitizer about every switch, so sanitizer builds see each CUDA thread
// as its own thread of execution.
#pragma once
#include <cstddef>
#include <memory>

namespace hemo::emu {

class Fiber {
 public:
  using Entry = void (*)(void* arg);
  explicit Fiber(size_t stack_bytes);
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Arms the fiber to run entry(arg) from the top of its stack at the next resume(); the entry
  // must never return (it ends by calling finish()).
  void start(Entry entry, void* arg);
  // From the scheduler: runs the fiber until it calls yield() or finish().
  void resume();
  // From inside the fiber: back to the scheduler; resume() continues after this call.
  void yield();
  // From inside the fiber: back to the scheduler for good (until the next start()).
  [[noreturn]] void finish();
  // ThreadSanitizer's name for the fiber in its reports (no-op in other builds).
  void set_name(const char* name);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace hemo::emu
