// hemo's public C++ API, all of it: load and run a model file (hemo/model.h), preprocess an image
// (hemo/preprocess.h), read the top classes (hemo/topk.h), and the version (hemo/version.h).
// examples/embed/ classifies an image with it in about 30 lines.
#pragma once
#include "hemo/model.h"
#include "hemo/preprocess.h"
#include "hemo/topk.h"
#include "hemo/version.h"
