// The Grad-CAM gallery of report.html: overlays of a selection of test images, grouped by true and
// predicted class with the misclassified groups first (train/gradcam_gallery.h), each a small
// JPEG inlined as a data: URI so the page stays one self-contained file.
//
// Selection: misclassified images up to kGalleryMisclassified, taken from the true classes in
// turns (in the order of the predictions within a class), then the first kGalleryPerClass
// correctly classified images of each class.
#pragma once
#include <vector>

#include "nn/module.h"
#include "train/gradcam_run.h"
#include "train/predictions.h"
#include "train/report_html.h"

namespace hemo::train {

constexpr size_t kGalleryMisclassified = 12;
constexpr size_t kGalleryPerClass = 2;
constexpr int kGalleryThumbnail = 180;  // longer side of a gallery image, in pixels

// Indices into `p` of the images the gallery shows (the selection above): the misclassified ones
// in ascending order, then the correct ones in ascending order.
std::vector<size_t> gallery_selection(const Predictions& p, size_t num_classes);

// Explains the selection of `test` (paths are image files) with `model` on `device`.
std::vector<GalleryItem> report_gallery(nn::Module& model, const weights::ModelMeta& meta, const Predictions& test,
                                        Device device, const CamSettings& settings = {});

}  // namespace hemo::train
