#pragma once
// lagvk bench's table: what a person reads, rendered from the same JSON that --json writes (one source
// for both, so the table never shows a figure the JSON lacks).
#include <cstdio>

#include <nlohmann/json.hpp>

namespace lagvk::cli {

void print_bench_table(const nlohmann::json& run, std::FILE* out);

}  // namespace lagvk::cli
