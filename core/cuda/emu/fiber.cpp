#include "core/cuda/emu/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define HEMO_EMU_ASAN 1
#else
#define HEMO_EMU_ASAN 0
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define HEMO_EMU_TSAN 1
#else
#define HEMO_EMU_TSAN 0
#endif
#if !defined(__x86_64__)
#include <ucontext.h>
#endif

#if defined(__x86_64__)
// hemo_emu_switch(save, load): pushes the callee-saved registers on the current stack, stores the
// stack pointer in *save, loads `load` and pops the same from there. The x87/SSE control words are
// not switched: kernels never change the floating-point environment, and fibers inherit it.
// hemo_emu_trampoline: a new fiber's first "return address"; calls r13(r12) with an aligned stack.
extern "C" void hemo_emu_switch(void** save, void* load);
extern "C" void hemo_emu_trampoline();
asm(R"(
  .text
  .globl hemo_emu_switch
  .type hemo_emu_switch, @function
hemo_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size hemo_emu_switch, .-hemo_emu_switch
  .globl hemo_emu_trampoline
  .type hemo_emu_trampoline, @function
hemo_emu_trampoline:
  movq %r12, %rdi
  callq *%r13
  ud2
  .size hemo_emu_trampoline, .-hemo_emu_trampoline
  .section .note.GNU-stack,"",@progbits
  .text
)");
#endif

namespace hemo::emu {

struct Fiber::Impl {
  char* map = nullptr;  // guard page, then the stack
  size_t map_bytes = 0;
  char* stack_lo = nullptr;
  size_t stack_bytes = 0;
  Entry entry = nullptr;
  void* arg = nullptr;
  bool live = false;  // started and not finished: its stack holds frames
#if defined(__x86_64__)
  void* sp = nullptr;
  void* sched_sp = nullptr;
#else
  ucontext_t ctx{}, sched_ctx{};
#endif
#if HEMO_EMU_ASAN
  void* sched_fake = nullptr;
  void* fiber_fake = nullptr;
  const void* sched_bottom = nullptr;
  size_t sched_size = 0;
#endif
#if HEMO_EMU_TSAN
  void* tsan_fiber = nullptr;
  void* tsan_sched = nullptr;
#endif

  static void run(void* self);
  void to_fiber();
  void to_scheduler(bool dying);
};

void Fiber::Impl::run(void* self) {
  Impl* f = static_cast<Impl*>(self);
#if HEMO_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &f->sched_bottom, &f->sched_size);
#endif
  f->entry(f->arg);
  std::fprintf(stderr, "hemo emulator: a fiber's entry returned\n");
  std::abort();
}

void Fiber::Impl::to_fiber() {
#if HEMO_EMU_TSAN
  tsan_sched = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(tsan_fiber, __tsan_switch_to_fiber_no_sync);
#endif
#if HEMO_EMU_ASAN
  __sanitizer_start_switch_fiber(&sched_fake, stack_lo, stack_bytes);
#endif
#if defined(__x86_64__)
  hemo_emu_switch(&sched_sp, sp);
#else
  swapcontext(&sched_ctx, &ctx);
#endif
#if HEMO_EMU_ASAN
  __sanitizer_finish_switch_fiber(sched_fake, nullptr, nullptr);
#endif
}

void Fiber::Impl::to_scheduler(bool dying) {
#if HEMO_EMU_TSAN
  __tsan_switch_to_fiber(tsan_sched, __tsan_switch_to_fiber_no_sync);
#endif
#if HEMO_EMU_ASAN
  __sanitizer_start_switch_fiber(dying ? nullptr : &fiber_fake, sched_bottom, sched_size);
#else
  (void)dying;
#endif
#if defined(__x86_64__)
  hemo_emu_switch(&sp, sched_sp);
#else
  swapcontext(&ctx, &sched_ctx);
#endif
#if HEMO_EMU_ASAN
  __sanitizer_finish_switch_fiber(fiber_fake, &sched_bottom, &sched_size);
#endif
}

Fiber::Fiber(size_t stack_bytes) : impl_(std::make_unique<Impl>()) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  stack_bytes = (stack_bytes + page - 1) / page * page;
  impl_->map_bytes = stack_bytes + page;
  void* m = mmap(nullptr, impl_->map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) {
    std::fprintf(stderr, "hemo emulator: cannot map a %zu-byte fiber stack\n", impl_->map_bytes);
    std::abort();
  }
  impl_->map = static_cast<char*>(m);
  (void)mprotect(impl_->map, page, PROT_NONE);  // a stack overflow faults instead of corrupting
  impl_->stack_lo = impl_->map + page;
  impl_->stack_bytes = stack_bytes;
#if HEMO_EMU_TSAN
  impl_->tsan_fiber = __tsan_create_fiber(0);
#endif
}

Fiber::~Fiber() {
#if HEMO_EMU_TSAN
  __tsan_destroy_fiber(impl_->tsan_fiber);
#endif
  munmap(impl_->map, impl_->map_bytes);
}

void Fiber::start(Entry entry, void* arg) {
  Impl& f = *impl_;
#if HEMO_EMU_ASAN
  if (f.live) __asan_unpoison_memory_region(f.stack_lo, f.stack_bytes);  // frames of an abandoned run
#endif
  f.entry = entry;
  f.arg = arg;
  f.live = true;
#if defined(__x86_64__)
  const auto top = reinterpret_cast<uintptr_t>(f.stack_lo + f.stack_bytes) & ~uintptr_t{15};
  // hemo_emu_switch pops six registers and returns: after the return the stack pointer is
  // top - 16, 16-byte aligned for the trampoline's call.
  auto* frame = reinterpret_cast<uint64_t*>(top - 72);
  frame[0] = 0;                                          // r15
  frame[1] = 0;                                          // r14
  frame[2] = reinterpret_cast<uint64_t>(&Impl::run);     // r13: what the trampoline calls
  frame[3] = reinterpret_cast<uint64_t>(&f);             // r12: its argument
  frame[4] = 0;                                          // rbx
  frame[5] = 0;                                          // rbp
  frame[6] = reinterpret_cast<uint64_t>(&hemo_emu_trampoline);
  f.sp = frame;
#else
  getcontext(&f.ctx);
  f.ctx.uc_stack.ss_sp = f.stack_lo;
  f.ctx.uc_stack.ss_size = f.stack_bytes;
  f.ctx.uc_link = nullptr;
  makecontext(&f.ctx, reinterpret_cast<void (*)()>(&Impl::run), 1, &f);  // one pointer argument
#endif
}

void Fiber::resume() { impl_->to_fiber(); }
void Fiber::yield() { impl_->to_scheduler(false); }
void Fiber::finish() {
  impl_->live = false;
  impl_->to_scheduler(true);
  std::abort();  // a finished fiber is never resumed without a new start()
}

void Fiber::set_name(const char* name) {
#if HEMO_EMU_TSAN
  __tsan_set_fiber_name(impl_->tsan_fiber, name);
#else
  (void)name;
#endif
}

}  // namespace hemo::emu
