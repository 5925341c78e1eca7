#include "tools/bench_op.h"

#include "nn/fusion.h"

namespace hemo::cli::bench {

namespace {

nlohmann::json rates(const Stats& s, double flops, double bytes, const MachinePeak& peak) {
  nlohmann::json j = ms_json(s);
  const double gbs = bytes / s.median, fls = flops / s.median;
  j["gb_per_s"] = gbs * 1e-9;
  j["gflop_per_s"] = fls * 1e-9;
  j["pct_peak_bw"] = peak.bytes_per_s > 0 ? 100 * gbs / peak.bytes_per_s : 0.0;
  j["pct_peak_flops"] = peak.flops > 0 ? 100 * fls / peak.flops : 0.0;
  return j;
}

}  // namespace

OpTiming time_op(OpBench& op, Device device, int warmup, int steps) {
  const Tensor y0 = op.forward(op.inputs);
  const bool has_backward = y0.requires_grad();
  // The output gradient in the output's memory format, so that the backward times no conversion.
  const Tensor g = random_tensor(y0.shape(), y0.device(), 7).to(y0.memory_format());
  std::vector<double> fwd, bwd;
  for (int i = 0; i < warmup + steps; ++i) {
    for (Tensor& t : op.inputs) t.zero_grad();
    synchronize(device);
    const double t0 = now();
    const Tensor y = op.forward(op.inputs);
    synchronize(device);
    const double t1 = now();
    if (has_backward) y.backward(g);
    synchronize(device);
    const double t2 = now();
    if (i < warmup) continue;
    fwd.push_back(t1 - t0);
    bwd.push_back(t2 - t1);
  }
  return {summarize(fwd), summarize(bwd), has_backward};
}

nlohmann::json op_json(const OpBench& op, const OpTiming& t, const MachinePeak& peak) {
  return {{"op", op.name},
          {"shape", op.shape},
          {"fusion", nn::fusion_enabled()},
          {"forward", rates(t.fwd, op.flops_fwd, op.bytes_fwd, peak)},
          {"backward", t.has_backward ? rates(t.bwd, op.flops_bwd, op.bytes_bwd, peak) : nlohmann::json()}};
}

std::string op_table_row(const nlohmann::json& row) {
  std::string out;
  for (const char* pass : {"forward", "backward"}) {
    const nlohmann::json& p = row.at(pass);
    if (p.is_null()) {
      out += format("%-18s %-8s %-26s (no backward: the op records no gradient)\n",
                    row.at("op").get<std::string>().c_str(), pass, row.at("shape").get<std::string>().c_str());
      continue;
    }
    out += format("%-18s %-8s %-26s %9.3f ms %8.1f GB/s (%5.1f%%) %8.1f GFLOP/s (%5.1f%%)\n",
                  row.at("op").get<std::string>().c_str(), pass, row.at("shape").get<std::string>().c_str(),
                  p.at("median_ms").get<double>(), p.at("gb_per_s").get<double>(), p.at("pct_peak_bw").get<double>(),
                  p.at("gflop_per_s").get<double>(), p.at("pct_peak_flops").get<double>());
  }
  return out;
}

}  // namespace hemo::cli::bench
