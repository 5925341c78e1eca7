// Loader with LoaderOptions::on_skip: a sample that fails to load is left out of its batch and
// reported once (not again in later epochs), the run goes on, the batches stay the same whatever
// the thread count, and a batch left empty is passed over. SkipLog names each file once.
#include <doctest/doctest.h>

#include <set>
#include <sstream>

#include "core/error.h"
#include "data/color.h"
#include "data/loader.h"
#include "data/skip_log.h"

using namespace hemo::data;

namespace {
// Samples in `bad` throw as a corrupt JPEG does: the message starts with the path.
class BrokenSource final : public ImageSource {
 public:
  BrokenSource(int64_t n, std::set<int64_t> bad) : n_(n), bad_(std::move(bad)) {}
  int64_t size() const override { return n_; }
  int64_t label(int64_t i) const override { return i % 2; }
  Image load(int64_t i) const override {
    if (bad_.count(i)) throw hemo::Error(describe(i) + ": truncated or corrupt JPEG data (premature end)");
    return Image(20, 20, static_cast<uint8_t>(i));
  }
  std::string describe(int64_t i) const override { return hemo::cat("/fake/img", i, ".jpg"); }

 private:
  int64_t n_;
  std::set<int64_t> bad_;
};
}  // namespace

TEST_CASE("on_skip: failed samples are left out, each reported once over epochs, empty batches passed over") {
  // Sequential batches of 3 over 10 samples: [0 1 2] [3 4 5] [6 7 8] [9]; 4 and 5 are bad, and 3
  // too, so batch 1 holds no sample at all; 8 fails in batch 2.
  auto src = std::make_shared<BrokenSource>(10, std::set<int64_t>{3, 4, 5, 8});
  std::vector<std::vector<int64_t>> seen_by_threads;
  for (int threads : {0, 2}) {
    CAPTURE(threads);
    std::vector<Skipped> reported;
    LoaderOptions o;
    o.batch_size = 3;
    o.threads = threads;
    o.order = Order::Sequential;
    o.on_skip = [&](const Skipped& s) { reported.push_back(s); };
    Loader loader(src, TransformSpec::eval(8), o);
    std::vector<int64_t> indices;
    for (int epoch = 0; epoch < 2; ++epoch) {
      loader.start_epoch(epoch);
      int batches = 0;
      while (auto b = loader.next()) {
        ++batches;
        CHECK(b->n == static_cast<int64_t>(b->indices.size()));
        CHECK(b->labels.size() == b->indices.size());
        for (size_t k = 0; k < b->indices.size(); ++k) {
          CHECK(b->labels[k] == b->indices[k] % 2);
          // Slot k holds sample k's pixels (a flat image of value index): no gap where one was skipped.
          const float expect = (static_cast<float>(b->indices[k]) / 255.f - kImageNetMean[0]) / kImageNetStd[0];
          CHECK(b->image(static_cast<int64_t>(k))[5] == doctest::Approx(expect).epsilon(1e-4));
          indices.push_back(b->indices[k]);
        }
      }
      CHECK(batches == 3);  // batch 1 was all bad
    }
    CHECK(indices == std::vector<int64_t>{0, 1, 2, 6, 7, 9, 0, 1, 2, 6, 7, 9});
    REQUIRE(reported.size() == 4);  // each bad file once, though two epochs met them
    std::vector<std::string> paths;
    for (const Skipped& s : reported) {
      paths.push_back(s.path);
      CHECK(s.reason.rfind(s.path + ": truncated or corrupt JPEG data", 0) == 0);
    }
    CHECK(paths == std::vector<std::string>{"/fake/img3.jpg", "/fake/img4.jpg", "/fake/img5.jpg", "/fake/img8.jpg"});
    seen_by_threads.push_back(indices);
  }
  CHECK(seen_by_threads[0] == seen_by_threads[1]);
}

TEST_CASE("without on_skip a failed sample still fails its batch") {
  auto src = std::make_shared<BrokenSource>(6, std::set<int64_t>{4});
  LoaderOptions o;
  o.batch_size = 2;
  o.threads = 1;
  o.order = Order::Sequential;
  Loader loader(src, TransformSpec::eval(8), o);
  loader.start_epoch(0);
  CHECK(loader.next());
  CHECK(loader.next());
  CHECK_THROWS_WITH_AS(loader.next(), doctest::Contains("/fake/img4.jpg: truncated"), hemo::Error);
}

TEST_CASE("SkipLog: every file named once, the path not repeated, a total at the end") {
  std::ostringstream out;
  SkipLog log(out);
  log.report_total("hemo x");
  CHECK(out.str().empty());  // nothing skipped: nothing said
  log.add_all({{"a.jpg", "a.jpg: truncated or corrupt JPEG data (x)"}, {"b.png", "not a PNG"}});
  CHECK(log.add({"a.jpg", "a.jpg: truncated or corrupt JPEG data (x)"}) == false);
  log.callback()({"c.jpg", "c.jpg: corrupt"});
  log.report_total("hemo x");
  CHECK(out.str() ==
        "skipped a.jpg: truncated or corrupt JPEG data (x)\n"
        "skipped b.png: not a PNG\n"
        "skipped c.jpg: corrupt\n"
        "hemo x: 3 files skipped (named above)\n");
  CHECK(log.count() == 3);
}
