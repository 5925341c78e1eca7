#include "opcases/registry.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "tensor/rng.h"

namespace hemo::opcases {

namespace {
std::vector<OpCase>& storage() {
  static std::vector<OpCase> cases;
  return cases;
}
bool sorted = false;

// FNV-1a of the case name and input position: each input's values depend on nothing else.
uint64_t seed_of(const std::string& name, size_t input) {
  uint64_t h = 1469598103934665603ull;
  for (char ch : name) h = (h ^ static_cast<uint8_t>(ch)) * 1099511628211ull;
  return h ^ (0x9E3779B97F4A7C15ull * (input + 1));
}

std::vector<double> draw(const OpCase& c, size_t k, const Shapes& shapes) {
  const InputSpec& in = c.inputs[k];
  const size_t n = static_cast<size_t>(shape_numel(shapes[k]));
  std::vector<double> v(n);
  Generator g(seed_of(c.name, k), 11);
  for (size_t i = 0; i < n; ++i) {
    switch (in.init) {
      case Init::signed_mag: {
        const double m = g.uniform(in.lo, in.hi);
        v[i] = g.uniform() < 0.5 ? -m : m;
        break;
      }
      case Init::uniform:
        v[i] = g.uniform(in.lo, in.hi);
        break;
      case Init::index: {
        const int64_t bound =
            shapes.at(static_cast<size_t>(in.index_of[0])).at(static_cast<size_t>(in.index_of[1]));
        v[i] = static_cast<double>(g.below(static_cast<uint64_t>(std::max<int64_t>(bound, 1))));
        break;
      }
      case Init::fixed:
        v[i] = in.values.at(i % in.values.size());
        break;
    }
  }
  return v;
}
}  // namespace

const char* check_name(Check c) {
  switch (c) {
    case Check::unit: return "unit";
    case Check::gradcheck: return "gradcheck";
    case Check::parity: return "torch-parity";
    case Check::cuda: return "cuda";
    case Check::bench: return "bench";
  }
  return "?";
}

Cost elementwise_cost(const Shapes& in, const Shape& out, size_t elem_bytes) {
  double elems = static_cast<double>(shape_numel(out));
  Cost cost{elems, 0};
  for (const Shape& s : in) elems += static_cast<double>(shape_numel(s));
  cost.bytes = elems * static_cast<double>(elem_bytes);
  return cost;
}

void add(OpCase c) {
  if (!c.cost) c.cost = elementwise_cost;
  for (const OpCase& o : storage()) {
    if (o.name == c.name) {
      std::fprintf(stderr, "opcases: the case name '%s' is registered twice\n", c.name.c_str());
      std::abort();
    }
  }
  storage().push_back(std::move(c));
  sorted = false;
}

Registrar::Registrar(void (*fn)()) { fn(); }

const std::vector<OpCase>& registry() {
  if (!sorted) {
    std::sort(storage().begin(), storage().end(), [](const OpCase& a, const OpCase& b) { return a.name < b.name; });
    sorted = true;
  }
  return storage();
}

const OpCase* find_case(const std::string& name) {
  for (const OpCase& c : registry())
    if (c.name == name) return &c;
  return nullptr;
}

std::vector<const OpCase*> cases_of(const std::string& prefix) {
  std::vector<const OpCase*> out;
  for (const OpCase& c : registry())
    if (c.name == prefix || c.name.rfind(prefix + ".", 0) == 0) out.push_back(&c);
  return out;
}

std::vector<Tensor> make_inputs(const OpCase& c, const Shapes& shapes, DType dtype, Device device, bool with_grad) {
  HEMO_CHECK(shapes.size() == c.inputs.size(), c.name, ": a sample has ", shapes.size(), " shapes for ",
             c.inputs.size(), " inputs");
  std::vector<Tensor> out;
  out.reserve(shapes.size() + 1);
  for (size_t k = 0; k < shapes.size(); ++k) {
    Tensor t = Tensor::from_vector(draw(c, k, shapes), shapes[k]).to(dtype).to(device);
    if (with_grad && c.inputs[k].grad) t.requires_grad_(true);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace hemo::opcases
