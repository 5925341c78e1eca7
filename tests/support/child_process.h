// Test helpers for code that ends processes or throws: run_in_child runs a body in a forked child
// with its stderr captured; error_message returns what a call threw.
#pragma once
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <utility>

#include "core/error.h"

namespace hemo::test {

struct ChildResult {
  int status = 0;   // the exit status, or -N when signal N ended the child
  std::string err;  // what it wrote to stderr
};

// Forks; the child runs body() and exits with its return value (doctest's own handlers are its
// parent's: a body that wants the default signal actions sets them itself).
inline ChildResult run_in_child(const std::function<int()>& body) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    _exit(body());
  }
  close(fds[1]);
  ChildResult r;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) r.err.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return r;
}

// The message of the hemo::Error that f() throws; "(no error)" when it throws none.
inline std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace hemo::test
