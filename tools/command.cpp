#include "tools/command.h"

#include <algorithm>
#include <string>
#include <vector>

namespace hemo::cli {

namespace {
struct Entry {
  std::string parent;
  int order;
  AddCommand add;
};
std::vector<Entry>& entries() {
  static std::vector<Entry> all;  // function-local: safe from static-initialization order
  return all;
}
}  // namespace

bool register_command(const char* parent, int order, AddCommand add) {
  entries().push_back({parent, order, add});
  return true;
}

void add_commands(const char* parent_name, CLI::App& parent) {
  std::vector<Entry> mine;
  for (const Entry& e : entries())
    if (e.parent == parent_name) mine.push_back(e);
  std::stable_sort(mine.begin(), mine.end(), [](const Entry& a, const Entry& b) { return a.order < b.order; });
  for (const Entry& e : mine) e.add(parent);
}

}  // namespace hemo::cli
