// A model's predictions over a list of images, and ensembles of several models' predictions.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hemo::train {

struct Predictions {
  std::vector<std::string> paths;                 // per image (the source's describe())
  std::vector<int64_t> truth, predicted;          // class indices
  std::vector<std::vector<float>> probabilities;  // per image, softmax over classes
  double loss = 0;                                // mean cross-entropy against truth
  double accuracy() const;                        // 0 when empty
};

// Combines several models' predictions of the same images (same paths and truth, in the same
// order, else an Error):
//   vote: the class most members predicted (paper 002's majority vote); a tie between classes is
//         broken by the higher mean probability, then by the lower class index;
//   mean: the class of the highest mean probability (the lower index on ties).
// The result's probabilities are the members' mean probabilities either way, and its loss is the
// mean of -log(mean probability of the true class), clamped at 1e-12.
enum class EnsembleRule { vote, mean };
Predictions ensemble(const std::vector<Predictions>& members, EnsembleRule rule);

// How the members agree: result[r] counts the images exactly r members predicted correctly
// (r = 0..members.size(); the same checks as ensemble()). The vote cannot get right an image no
// member did, and gets one right by fewer than half of them only when the wrong answers split, so
// the low counts bound what the vote can reach, whatever its tie-break: only better or more
// diverse members lower them.
std::vector<int64_t> members_right(const std::vector<Predictions>& members);

}  // namespace hemo::train
