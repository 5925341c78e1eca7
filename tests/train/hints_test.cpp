// train/hints.h: a run whose validation accuracy never beat the majority class by 5 points gets a
// hint naming both numbers and what to try; one that did gets none. And a real run that cannot
// learn (a learning rate of 1e-12) logs the hint.
#include <doctest/doctest.h>

#include "tests/train/tiny_run.h"
#include "train/hints.h"
#include "train/trainer.h"

using namespace hemo;
using namespace hemo::train;

namespace {
nlohmann::json history(std::initializer_list<double> val_acc) {
  nlohmann::json h = nlohmann::json::array();
  for (double a : val_acc) h.push_back({{"val_acc", a}});
  return h;
}
}  // namespace

TEST_CASE("not_learning_hint: the best validation accuracy against the majority class's share plus chance") {
  std::vector<int64_t> labels(100, 0);  // majority share 0.3; chance margin 2 sqrt(0.3 * 0.7 / 100) = 0.092
  for (size_t i = 30; i < labels.size(); ++i) labels[i] = 1 + static_cast<int64_t>(i % 7);
  TrainConfig c;
  CHECK(not_learning_hint(history({0.1, 0.40, 0.2}), labels, 8, 140, c).empty());  // 0.40 > 0.392
  const std::string hint = not_learning_hint(history({0.1, 0.3, 0.38}), labels, 8, 140, c);
  MESSAGE(hint);
  CHECK(hint.find("best validation accuracy, 0.38") != std::string::npos);
  CHECK(hint.find("most frequent class (0.3)") != std::string::npos);
  CHECK(hint.find("With 140 training images") != std::string::npos);
  CHECK(hint.find("--dropout 0") != std::string::npos);  // the default: the model's dropout
  CHECK(hint.find("--epochs 30; 3 ran") != std::string::npos);
  c.dropout = 0, c.epochs = 50, c.lr = 0.1;
  const std::string other = not_learning_hint(history({0.3}), labels, 8, 140, c);
  CHECK(other.find("--dropout 0") == std::string::npos);
  CHECK(other.find("--epochs") == std::string::npos);
  CHECK(other.find("a lower --lr") != std::string::npos);
  CHECK(not_learning_hint(nlohmann::json::array(), labels, 8, 140, c).empty());
  // pbc-mini's defaults run: 40 validation images, 5 per class; a lucky 9 of 40 is still chance.
  std::vector<int64_t> mini(40);
  for (size_t i = 0; i < mini.size(); ++i) mini[i] = static_cast<int64_t>(i % 8);
  CHECK_FALSE(not_learning_hint(history({0.125, 0.075, 0.225}), mini, 8, 144, TrainConfig{}).empty());
  CHECK(not_learning_hint(history({0.125, 0.325, 0.775}), mini, 8, 144, TrainConfig{}).empty());
}

TEST_CASE("a run that cannot learn logs the hint") {
  TrainConfig c = test::tiny_config(test::train_work_dir("hint").string() + "/run");
  std::filesystem::remove_all(c.out);
  c.epochs = 1;
  c.lr = 1e-12;
  std::vector<std::string> lines;
  run_training(c, [&](const std::string& l) { lines.push_back(l); });
  int hints = 0;
  for (const auto& l : lines) hints += l.rfind("hint: the model has not learned yet", 0) == 0;
  CHECK(hints == 1);
}
