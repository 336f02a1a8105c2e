#pragma once
// What the sanitizer build (ASan + UBSan, CMake option LAGVK_SANITIZE; known from the compiler's own macro)
// runs of the suites that repeat one host path per weight format. Their host code (the kernels' wrappers,
// the forward pass, the peer comparison) is the same for every format: the release build checks every
// format's numbers; the sanitizer build checks that code for memory errors on a sample of formats, one of
// each family (float, half, 32-element blocks, a block read in runs, K-quant super-blocks). Each GPU
// kernel variant costs seconds of Mesa's JIT there, which runs through ASan's allocator.
#include <algorithm>
#include <array>

#include "engine/ops/weight_format.hpp"

namespace lagvk::test {

inline constexpr bool kSanitizerBuild =
#if defined(__SANITIZE_ADDRESS__)
    true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    true;
#else
    false;
#endif
#else
    false;
#endif

inline constexpr std::array kSanitizerFormats = {WeightFormat::f32, WeightFormat::f16, WeightFormat::q8_0,
                                                 WeightFormat::q4_1, WeightFormat::q4_k};

/// Whether this build runs the cases of weight format f: every format, or the sample under sanitizers.
[[nodiscard]] inline bool runs_format(WeightFormat f) {
  return !kSanitizerBuild || std::ranges::find(kSanitizerFormats, f) != kSanitizerFormats.end();
}

}  // namespace lagvk::test
