// The synthetic blood-smear dataset: hemo's embedded default, the data of `hemo demo` and of every
// test that must run without ../shared. Single-cell images in the 8 classes of the PBC dataset,
// drawn as stained cells under transmitted light (Beer-Lambert: pixel = light * exp(-optical
// density), densities of overlapping structures add):
//   background: pale red cells (biconcave, pale centre) scattered around, pushed aside by the cell;
//   per class a distinctive nucleus (round, kidney, 2-lobed, 3-5 segmented lobes; chromatin
//   texture), granules (colour, size, density), cell size and cytoplasm colour:
//     basophil      mid-size, lobed nucleus hidden under big dark blue-black granules
//     eosinophil    large, 2 lobes ("spectacles"), cytoplasm packed with orange-red granules
//     erythroblast  small, round very dense nucleus, grey-blue/pink cytoplasm
//     ig            large, eccentric round/oval nucleus, bluish cytoplasm, sparse purple granules
//     lymphocyte    small, round dense nucleus filling most of the cell, thin sky-blue rim
//     monocyte      largest, kidney/horseshoe nucleus with lacy chromatin, grey-blue cytoplasm,
//                   a few vacuoles
//     neutrophil    large, 3-5 segmented lobes joined by thin strands, pale lilac cytoplasm with
//                   fine faint granules
//     platelet      no white cell: 1-4 small purple granular fragments among the red cells
//   and random stain strength and tint, illumination, cell position, rotation, scale, focus blur
//   and sensor noise, so that colour alone does not give the class away (a CNN clearly beats a
//   linear classifier on raw pixels; tools/bench/synth_difficulty.py measures it).
// Determinism: image i of class c is a pure function of (seed, c, i, size); threads only change
// the speed.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/image.h"

namespace hemo::data::synth {

// PBC's classes, sorted as an ImageFolder sorts them: basophil, eosinophil, erythroblast, ig,
// lymphocyte, monocyte, neutrophil, platelet.
const std::vector<std::string>& class_names();
inline constexpr int kNumClasses = 8;

// One size x size image (size >= 32) of class `cls` (0..7).
Image draw_cell(int cls, int size, uint64_t seed, int64_t index);

struct Dataset {
  std::vector<std::string> classes;
  std::vector<Image> images;    // class-major: all of class 0, then class 1, ...
  std::vector<int64_t> labels;
};

// per_class images of every class, drawn on `threads` threads (0: hardware concurrency).
Dataset generate_in_memory(int per_class, int size, uint64_t seed, int threads = 0);

// Writes an ImageFolder: out_dir/<class>/<class>_00000.png ... (format "png" or "jpg", JPEG at
// quality 95). out_dir must not exist or be empty (no silent mixing with older files).
// Returns the number of files written.
int64_t generate(const std::filesystem::path& out_dir, int per_class, int size, uint64_t seed,
                 const std::string& format = "png", int threads = 0);

}  // namespace hemo::data::synth
