// This machine's peaks, measured by hemo itself, for `hemo bench op`'s "% of peak" columns.
//   CPU: bandwidth from an OpenMP copy loop over two 64 MiB buffers (bytes read + written per
//        second, best of several passes); compute from an FMA loop (8 independent vector FMA
//        chains, AVX-512 or AVX2 as the CPU has them; 2 FLOP per lane and FMA) on one thread,
//        times the OpenMP threads in use (robust on a shared machine; see bench_peak.cpp).
//   CUDA: bandwidth from timing a device-to-device tensor copy (the same read + write count);
//        compute from the device's properties (SMs x 128 FP32 lanes x 2 x clock). In an
//        -DHEMO_CUDA=EMULATE build the device is the CPU, so its compute peak is the CPU's.
// Both take well under a second.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "core/storage.h"

namespace hemo::cli::bench {

struct MachinePeak {
  double bytes_per_s = 0;  // copy bandwidth
  double flops = 0;        // FP32 FLOP/s
  std::string compute_source, bandwidth_source;  // how each was obtained
};

MachinePeak measure_peak(Device device);
nlohmann::json peak_json(const MachinePeak& p);  // {"gb_per_s", "gflop_per_s", "compute_source", "bandwidth_source"}

}  // namespace hemo::cli::bench
