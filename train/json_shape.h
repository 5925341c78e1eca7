// require_json_shape: before nlohmann::json converts a document into a C++ struct, check that every
// number in it can be converted without undefined behaviour. nlohmann's get<uint64_t>() of a float
// such as 1.6e31, or of a negative float, is a float-to-integer conversion out of range (UB; found
// by fuzz_checkpoint); get<int>() of 2.5 silently truncates. The rule: a field whose C++ type is an
// integer must hold a JSON integer (non-negative where the type is unsigned); a floating-point field
// may hold any number. The C++ types are read off `like`, the JSON of a default-constructed value
// of the same struct, so the rule follows the fields' declarations and cannot drift from them.
//
// Objects are compared key by key (keys absent from `got` or from `like` are left to the
// conversion, which reports missing fields itself); a non-empty array in `like` gives the shape of
// every element of the same array in `got`. Throws hemo::Error naming `origin` and the field path.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace hemo::train {

void require_json_shape(const nlohmann::json& got, const nlohmann::json& like, const std::string& origin,
                        const std::string& path = "");

}  // namespace hemo::train
