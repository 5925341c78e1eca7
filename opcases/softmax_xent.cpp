// softmax_xent (kernels/softmax_xent.h): nn::cross_entropy, log-softmax fused with the negative
// log-likelihood, for every reduction, with and without class weights and label smoothing; one
// class, one sample, 1000 classes.
#include "nn/ops_loss.h"
#include "opcases/builders.h"

namespace hemo::opcases {
namespace {

const char* kReductions[] = {"mean", "sum", "none"};

void add_xent(nn::Reduction r, bool weighted, double smoothing) {
  const char* rname = kReductions[static_cast<int>(r)];
  OpCase c;
  c.name = cat("softmax_xent.", rname, weighted ? ".weighted" : "", smoothing > 0 ? cat(".smoothing", smoothing) : "");
  c.inputs = {arg("logits", 0.1, 5.0), labels("labels", 0, 1)};
  if (weighted) c.inputs.push_back(constant("weight", 0.5, 1.5));
  auto shapes = [weighted](int64_t n, int64_t k) {
    Shapes s{{n, k}, {n}};
    if (weighted) s.push_back({k});
    return s;
  };
  for (auto [n, k] : {std::pair<int64_t, int64_t>{3, 5}, {17, 11}, {1, 1}, {1, 8}, {3, 1}, {3, 8}, {64, 8},
                      {1, 1000}, {3, 1000}, {64, 1000}, {64, 1}})
    c.samples.push_back(shapes(n, k));
  c.bench = shapes(256, 1000);
  c.forward = [=](const std::vector<Tensor>& in) {
    std::vector<int64_t> y;
    for (double v : in[1].to_vector<double>()) y.push_back(static_cast<int64_t>(v));
    return nn::cross_entropy(in[0], y, weighted ? in[2] : Tensor(), smoothing, r);
  };
  c.torch = cat("F.cross_entropy(logits, labels.long(), weight=", weighted ? "weight" : "None", ", reduction='", rname,
                "', label_smoothing=", smoothing, ")");
  add(std::move(c));
}

const Registrar reg([] {
  for (nn::Reduction r : {nn::Reduction::mean, nn::Reduction::sum, nn::Reduction::none})
    for (bool weighted : {false, true})
      for (double smoothing : {0.0, 0.1}) add_xent(r, weighted, smoothing);
});

}  // namespace
}  // namespace hemo::opcases
