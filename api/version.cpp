#include "hemo/version.h"

#include "hemo/commit.h"  // generated at build time (cmake/version.cmake)

namespace hemo {

const char* version() { return HEMO_VERSION_STRING; }
const char* commit() { return HEMO_GIT_COMMIT; }

}  // namespace hemo
