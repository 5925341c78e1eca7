// Classifies one blood-cell image with a hemo model file and prints its three likeliest classes:
//   classify MODEL.safetensors IMAGE
#include <hemo/hemo.h>

#include <cstdio>
#include <exception>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL.safetensors IMAGE\n", argv[0]);
    return 2;
  }
  try {
    hemo::Model model(argv[1]);  // architecture, classes and preprocessing come from the file
    const std::vector<float> input = hemo::preprocess(model.info(), argv[2]);
    const std::vector<float> probs = model.probabilities(input);
    std::printf("%s (hemo %s, %s)\n", argv[2], hemo::version(), model.info().architecture.c_str());
    for (const hemo::ClassScore& c : hemo::top_k(probs, model.info().class_names, 3))
      std::printf("  %-20s %.6f\n", c.name.c_str(), static_cast<double>(c.probability));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "classify: %s\n", e.what());
    return 1;
  }
  return 0;
}
