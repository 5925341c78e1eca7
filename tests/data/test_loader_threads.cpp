// Loader: a worker thread the system refuses is a hemo::Error that says what to do, not
// std::terminate (std::thread throws std::system_error; before, nothing caught it and the
// half-built Loader's joinable threads ended the process with exit 134).
//   - through the LoaderOptions::start_thread seam: the third thread fails, as pthread_create does
//     with EAGAIN; the two started ones are joined;
//   - for real, in a forked child limited to one process (RLIMIT_NPROC = 1). Root ignores that
//     limit, so a root child first becomes `nobody`; where that is impossible the case says so.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <system_error>
#include <thread>

#include "core/error.h"
#include "data/loader.h"
#include "data/synth.h"

using namespace hemo::data;

namespace {
std::shared_ptr<MemorySource> tiny_source() {
  synth::Dataset d = synth::generate_in_memory(4, 32, 9, 2);
  return std::make_shared<MemorySource>(std::move(d.images), std::move(d.labels));
}
}  // namespace

TEST_CASE("a refused worker thread is a clear hemo::Error; the threads already started are joined") {
  std::atomic<int> started{0};
  LoaderOptions o;
  o.threads = 4;
  o.batch_size = 2;
  o.start_thread = [&](std::function<void()> body) {
    if (started == 2) throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again));
    ++started;
    return std::thread(std::move(body));
  };
  std::string msg;
  try {
    Loader loader(tiny_source(), TransformSpec::eval(16), o);
    FAIL("the Loader was built although its third thread was refused");
  } catch (const hemo::Error& e) {
    msg = e.what();
  }
  MESSAGE(msg);
  CHECK(started == 2);
  CHECK(msg.find("cannot start worker thread 3 of 4") != std::string::npos);
  CHECK(msg.find("--threads") != std::string::npos);
  CHECK(msg.find("ulimit -u") != std::string::npos);
  // The same options without the failure work (the seam itself is harmless).
  started = -100;
  Loader ok(tiny_source(), TransformSpec::eval(16), o);
  ok.start_epoch(0);
  int64_t n = 0;
  while (auto b = ok.next()) n += b->n;
  CHECK(n == ok.samples_per_epoch());
}

TEST_CASE("a real thread limit (RLIMIT_NPROC in a child process): an error message, exit 0, not abort") {
  const std::shared_ptr<MemorySource> source = tiny_source();  // made before the fork: no OpenMP in the child
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    auto say = [&](const std::string& s, int code) {
      (void)!write(fds[1], s.data(), s.size());
      _exit(code);
    };
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) say("cannot become nobody", 77);
    const rlimit one{1, 1};
    if (setrlimit(RLIMIT_NPROC, &one) != 0) say("cannot set RLIMIT_NPROC", 77);
    LoaderOptions o;
    o.threads = 2;
    try {
      Loader loader(source, TransformSpec::eval(16), o);
    } catch (const hemo::Error& e) {
      say(e.what(), 0);
    }
    say("the Loader started its threads despite RLIMIT_NPROC = 1", 1);
  }
  close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t k; (k = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(k));
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE_MESSAGE(WIFEXITED(status), "the child did not exit normally (signal ", WTERMSIG(status), "): ", out);
  if (WEXITSTATUS(status) == 77) {
    MESSAGE("not checked here: ", out);
    return;
  }
  MESSAGE(out);
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(out.find("cannot start worker thread 1 of 2") != std::string::npos);
}
