// Every GPU kernel against the plain CPU reference (engine/ref), driven by one table of awkward cases:
// sizes that are not multiples of the workgroup or tile, single rows, long inner dimensions, tensors
// larger than the device's maxStorageBufferRange, grouped-query ratios 1/2/4/8, permuted KV pages.
// Each case reports its max absolute and normalised error against a threshold chosen by dtype, and
// kernels whose small outputs matter (softmax, norms, activations, copies) are also held to a
// per-element bound |gpu - ref| <= atol + rtol |ref|, which a normalised maximum cannot see past.
// Quantized weights are checked twice: random values through lagvk's own encoder, and "awkward" blocks
// (every bit random, minimums of both signs) whose reference values come from llama.cpp's gguf-py.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <optional>
#include <random>

#include <fmt/format.h>

#include "engine/core/half.hpp"
#include "engine/model/quant.hpp"
#include "engine/ops/attention.hpp"
#include "engine/ops/elementwise.hpp"
#include "engine/ops/embedding.hpp"
#include "engine/ops/kv_transfer.hpp"
#include "engine/ops/matmul.hpp"
#include "engine/ops/matvec.hpp"
#include "engine/ops/norm.hpp"
#include "engine/ops/rope.hpp"
#include "engine/ops/softmax.hpp"
#include "engine/ref/ops.hpp"
#include "tests/support/gguf_ref.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/references.hpp"
#include "tests/support/sanitizer.hpp"

namespace lagvk::test {
namespace {

// Thresholds on the normalised error (max |gpu - ref| / max |ref|). The references see exactly the
// values the GPU sees (fp16 data is rounded before the reference runs), so what remains is fp32
// accumulation order and fp32 transcendentals.
constexpr double kTolF32 = 5e-5;
constexpr double kTolF16Data = 5e-5;
constexpr double kTolTranscendental = 2e-4;
// Per-element bounds (|gpu - ref| <= atol + rtol |ref|), measured on lavapipe with a margin.
constexpr double kSoftmaxRtol = 2e-5;
constexpr double kRmsnormRtol = 2e-6;
constexpr double kSwigluRtol = 2e-6;
constexpr double kLayernormRtol = 1e-5;
constexpr double kGeluAtol = 1e-6;  // tanh through exp: gelu(-6) is -6e-8, so absolute near zero
constexpr double kOneHalfUlp = 1.0 / 1024;
// Keys rotated at positions up to 5000 carry fp32 angle errors of ~3e-4 rad, i.e. absolute errors of
// up to ~5e-4 on unit-sized keys, however small the rotated component comes out.
constexpr double kRotationAtol = 1e-3;

struct CaseResult {
  std::vector<float> gpu, ref;
  double tolerance = kTolF32;
  std::optional<ElementwiseTolerance> elementwise;  ///< also a per-element bound, where set
  std::string reference_missing;                    ///< why the case could not run (an outside reference)
};

struct KernelCase {
  std::string name;
  std::function<CaseResult()> run;
  std::optional<WeightFormat> format;  ///< of the weights, for the kernels that read them
};

/// Weights in a GPU format plus the float values the reference must use (the rounded ones).
struct Weights {
  std::vector<std::byte> bytes;
  std::vector<float> values;
};

/// Random values encoded with the project's quantizers (engine/model/quant.hpp, ggml's exact layouts);
/// the reference gets the decoded values, so it sees exactly what the GPU decodes.
Weights make_weights(WeightFormat format, std::size_t rows, std::size_t cols, std::uint64_t seed) {
  const GgmlType type = format;  // a GPU weight format is the ggml type of its bytes
  const auto values = random_floats(rows * cols, seed);
  const auto encoded = quantize(type, values);
  Weights w;
  w.bytes.resize(encoded.size());
  std::memcpy(w.bytes.data(), encoded.data(), encoded.size());
  w.values = dequantize(type, encoded, values.size());
  return w;
}

/// Random blocks with every field awkward (tests/support/gguf_ref.hpp) and the values llama.cpp's gguf-py
/// decodes them to: a reference for the GPU's decoding that shares no code with lagvk's. Decoded once
/// per (format, shape, seed); nullopt when gguf-py is missing.
std::optional<Weights> awkward_weights(WeightFormat format, std::size_t rows, std::size_t cols,
                                       std::uint64_t seed) {
  if (!gguf_ref_available()) return std::nullopt;
  const GgmlType type = format;  // a GPU weight format is the ggml type of its bytes
  const std::size_t per_block = is_quantized(type) ? block_elements(format) : 32;
  const auto blocks = awkward_blocks(type, rows * cols / per_block, seed, /*extreme_scales=*/false);
  Weights w;
  w.bytes.resize(blocks.size());
  std::memcpy(w.bytes.data(), blocks.data(), blocks.size());
  w.values = gguf_ref_dequantize(type, blocks);
  return w;
}

/// Weights in a buffer padded to 16 bytes, as the engine's weight buffers are
/// (engine/forward/gpu_weights.cpp).
vk::Buffer upload_bytes(const std::vector<std::byte>& bytes) {
  std::vector<std::byte> padded(bytes);
  padded.resize((bytes.size() + 15) / 16 * 16);
  return upload(std::span<const std::byte>(padded));
}

/// Where a case's weights come from: lagvk's encoder of random values, or awkward blocks judged by gguf-py.
enum class WeightSource { encoded, awkward };

/// The weights of a case, or (with `missing` set) none because gguf-py is not installed.
std::optional<Weights> case_weights(WeightSource source, WeightFormat f, std::size_t rows, std::size_t cols,
                                    std::uint64_t seed) {
  if (source == WeightSource::encoded) return make_weights(f, rows, cols, seed);
  return awkward_weights(f, rows, cols, seed);
}

CaseResult reference_missing() {
  CaseResult r;
  r.reference_missing = gguf_ref_unavailable_reason();
  return r;
}

std::string source_suffix(WeightSource source) {
  return source == WeightSource::awkward ? "_awkward_vs_gguf_py" : "";
}

/// How a kernel case reaches its tensors: as the device prefers, or forced: texel views
/// (Context::set_texel_reads), storage descriptors (texel reads off, a binding limit equal to the
/// largest tensor: Context::limit_bindings) or buffer addresses (the limit one byte lower).
enum class Access { device, texel, bound, address };

std::string access_suffix(Access a) {
  return a == Access::texel     ? "_texel"
         : a == Access::bound   ? "_bound"
         : a == Access::address ? "_address"
                                : "";
}

/// The path an ops::*_access function must report for a forced Access.
ops::TensorAccess expected_access(Access a) {
  return a == Access::texel   ? ops::TensorAccess::texel
         : a == Access::bound ? ops::TensorAccess::storage
                              : ops::TensorAccess::address;
}

/// Sets the texel switch and binding limit a case's Access asks for, for the case's duration.
class BindingLimit {
 public:
  BindingLimit(Access access, std::uint64_t largest_tensor) {
    if (access == Access::device) return;
    if (!gpu().can_bind(gpu().create_buffer(16)))
      return;  // no descriptor path on this device: every case reads through addresses
    active_ = true;
    previous_texels_ = gpu().set_texel_reads(access == Access::texel);
    previous_ = gpu().limit_bindings(access == Access::address ? largest_tensor - 1 : largest_tensor);
  }
  ~BindingLimit() {
    if (!active_) return;
    gpu().limit_bindings(previous_);
    gpu().set_texel_reads(previous_texels_);
  }
  BindingLimit(const BindingLimit&) = delete;
  BindingLimit& operator=(const BindingLimit&) = delete;
  [[nodiscard]] bool active() const { return active_; }

 private:
  bool active_ = false;
  bool previous_texels_ = false;
  VkDeviceSize previous_ = 0;
};

/// "_acc" for the projections' accumulating epilogue (the output starts with random values to add to),
/// "_swiglu" and "_geglu" for the gated ones.
std::string epilogue_suffix(ops::Epilogue e) {
  switch (e) {
    case ops::Epilogue::store:
      return "";
    case ops::Epilogue::accumulate:
      return "_acc";
    case ops::Epilogue::swiglu:
      return "_swiglu";
    case ops::Epilogue::geglu:
      return "_geglu";
  }
  return "";
}

/// What an accumulating projection adds its result to: random values, else none (the output's garbage must
/// then be overwritten).
std::vector<float> initial_output(ops::Epilogue e, std::size_t count, std::uint32_t seed) {
  return e == ops::Epilogue::accumulate ? random_floats(count, seed, -4.0f, 4.0f) : std::vector<float>(count);
}

KernelCase matmul_case(WeightFormat f, std::uint32_t m, std::uint32_t n, std::uint32_t k,
                       ops::MatmulKernel kernel = ops::MatmulKernel::tiled,
                       WeightSource source = WeightSource::encoded, Access access = Access::device,
                       ops::Epilogue epilogue = ops::Epilogue::store) {
  return {
      fmt::format("matmul{}_{}_m{}_n{}_k{}{}{}{}", kernel == ops::MatmulKernel::tiled ? "" : "_rb",
                  format_name(f), m, n, k, source_suffix(source), access_suffix(access),
                  epilogue_suffix(epilogue)),
      [=] {
        const auto a = random_floats(std::size_t(m) * k, 11 + m);
        const auto weights = case_weights(source, f, n, k, 12 + n);
        if (!weights) return reference_missing();
        const Weights& w = *weights;
        const auto c0 = initial_output(epilogue, std::size_t(m) * n, 13 + m);
        auto ga = upload(a), gb = upload_bytes(w.bytes);
        auto gc = epilogue == ops::Epilogue::accumulate ? upload(c0)
                                                        : gpu().create_buffer(std::uint64_t(m) * n * 4);
        // The register-blocked kernel binds B (up to the next 16 bytes) where it can, and A too through
        // texels.
        const std::uint64_t b_bytes = (std::uint64_t(n) * row_bytes(f, k) + 15) / 16 * 16;
        const BindingLimit limit(access, access == Access::texel ? std::max(b_bytes, a.size() * 4) : b_bytes);
        if (limit.active()) {
          EXPECT_EQ(ops::matmul_access(gpu(), f, ga, gb, {m, n, k, 0, 0, kernel}), expected_access(access))
              << "the case does not take the path it is named after";
        }
        vk::CommandStream cs(gpu());
        ops::matmul(gpu(), cs, f, ga, gb, gc, {m, n, k, 0, 0, kernel, epilogue});
        cs.finish();
        CaseResult r{download<float>(gc, std::size_t(m) * n), std::vector<float>(std::size_t(m) * n)};
        ref::matmul_abt(a, w.values, r.ref, m, n, k);
        for (std::size_t i = 0; i < r.ref.size(); ++i) r.ref[i] += c0[i];
        r.tolerance = f == WeightFormat::f32 ? kTolF32 : kTolF16Data;
        return r;
      },
      f};
}

/// With `normed`, matvec RMS-normalises x first (ops::InputNorm, "_norm"): x on a scale far from 1 and a
/// weight far from 1, so that a missing scale or weight shows.
KernelCase matvec_case(WeightFormat f, std::uint32_t n, std::uint32_t k,
                       WeightSource source = WeightSource::encoded, Access access = Access::device,
                       ops::Epilogue epilogue = ops::Epilogue::store, bool normed = false) {
  return {
      fmt::format("matvec_{}_n{}_k{}{}{}{}{}", format_name(f), n, k, source_suffix(source),
                  access_suffix(access), epilogue_suffix(epilogue), normed ? "_norm" : ""),
      [=] {
        // A gated epilogue reads a gate row and an up row for each of the n outputs.
        const std::uint32_t w_rows = ops::gated(epilogue) ? 2 * n : n;
        const auto x = normed ? random_floats(k, 21 + k, -9.0f, 5.0f) : random_floats(k, 21 + k);
        const auto g = random_floats(k, 24 + k, 0.25f, 3.0f);
        const float eps = 1e-5f;
        const auto weights = case_weights(source, f, w_rows, k, 22 + n);
        if (!weights) return reference_missing();
        const Weights& w = *weights;
        const auto y0 = initial_output(epilogue, n, 23 + n);
        auto gx = upload(x), gw = upload_bytes(w.bytes), gg = upload(g);
        auto gy =
            epilogue == ops::Epilogue::accumulate ? upload(y0) : gpu().create_buffer(std::uint64_t(n) * 4);
        const std::optional<ops::InputNorm> norm =
            normed ? std::optional(ops::InputNorm{gg, eps}) : std::nullopt;
        // matvec binds W up to the next 16 bytes (its last wide load).
        const std::uint64_t w_bytes = (std::uint64_t(w_rows) * row_bytes(f, k) + 15) / 16 * 16;
        const BindingLimit limit(access, std::max({w_bytes, std::uint64_t(k) * 4, std::uint64_t(n) * 4}));
        if (limit.active()) {
          EXPECT_EQ(ops::matvec_access(gpu(), f, gw, gx, gy, n, k, epilogue, norm), expected_access(access))
              << "the case does not take the path it is named after";
          // Texel reads of rows that are whole 16-byte aligned runs of blocks give lanes whole runs.
          const std::uint32_t group = texel_group_blocks(f);
          const bool groups = access == Access::texel && group != 0 && k % (group * block_elements(f)) == 0;
          const std::string variant = ops::matvec_variant(gpu(), f, gw, gx, gy, n, k, epilogue, norm);
          EXPECT_EQ(variant.ends_with("_texel_groups"), groups) << variant;
        }
        vk::CommandStream cs(gpu());
        ops::matvec(gpu(), cs, f, gw, gx, gy, n, k, epilogue, norm);
        cs.finish();
        CaseResult r{download<float>(gy, n), std::vector<float>(n)};
        std::vector<float> xn(x);
        if (normed) ref::rmsnorm(x, g, xn, 1, k, eps);
        std::vector<float> wx(w_rows);
        ref::matvec(w.values, xn, wx, w_rows, k);
        const std::span<const float> gate(wx.data(), n), up(wx.data() + n, n);
        if (epilogue == ops::Epilogue::swiglu)
          ref::swiglu(gate, up, r.ref);
        else if (epilogue == ops::Epilogue::geglu)
          ref::geglu(gate, up, r.ref);
        else
          for (std::size_t i = 0; i < n; ++i) r.ref[i] = wx[i] + y0[i];
        r.tolerance = f == WeightFormat::f32 ? kTolF32 : kTolF16Data;
        return r;
      },
      f};
}

KernelCase rmsnorm_case(std::uint32_t rows, std::uint32_t dim, Access access = Access::device) {
  return {fmt::format("rmsnorm_r{}_d{}{}", rows, dim, access_suffix(access)), [=] {
            const auto x = random_floats(std::size_t(rows) * dim, 31 + dim, -3.0f, 3.0f);
            const auto w = random_floats(dim, 32, 0.5f, 1.5f);
            auto gx = upload(x), gw = upload(w);
            auto gy = gpu().create_buffer(x.size() * 4);
            const BindingLimit limit(access, x.size() * 4);
            if (limit.active()) {
              EXPECT_EQ(ops::rmsnorm_texels(gpu(), gx, gw, rows, dim).has_value(), access == Access::texel)
                  << "the case does not take the path it is named after";
            }
            vk::CommandStream cs(gpu());
            ops::rmsnorm(gpu(), cs, gx, gw, gy, rows, dim, 1e-5f);
            cs.finish();
            CaseResult r{download<float>(gy, x.size()), std::vector<float>(x.size())};
            ref::rmsnorm(x, w, r.ref, rows, dim, 1e-5f);
            r.tolerance = kTolTranscendental;
            r.elementwise = ElementwiseTolerance{0.0, kRmsnormRtol};  // a per-row scale: relative
            return r;
          }};
}

KernelCase layernorm_case(std::uint32_t rows, std::uint32_t dim, float offset) {
  return {fmt::format("layernorm_r{}_d{}_offset{}", rows, dim, int(offset)), [=] {
            // A large common offset checks that the variance is taken around the mean, not as E[x^2] -
            // mean^2.
            auto x = random_floats(std::size_t(rows) * dim, 33 + dim, -3.0f, 3.0f);
            for (auto& v : x) v += offset;
            const auto w = random_floats(dim, 34, 0.5f, 1.5f), b = random_floats(dim, 35, -1.0f, 1.0f);
            auto gx = upload(x), gw = upload(w), gb = upload(b);
            auto gy = gpu().create_buffer(x.size() * 4);
            vk::CommandStream cs(gpu());
            ops::layernorm(gpu(), cs, gx, gw, gb, gy, rows, dim, 1e-12f);
            cs.finish();
            CaseResult r{download<float>(gy, x.size()), std::vector<float>(x.size())};
            ref::layernorm(x, w, b, r.ref, rows, dim, 1e-12f);
            r.tolerance = kTolTranscendental;
            // fp32 rounding of the row's mean grows with |offset| (about 1e-5 at 100, measured 8e-6).
            r.elementwise = ElementwiseTolerance{1e-5 + 2e-7 * double(offset), kLayernormRtol};
            return r;
          }};
}

/// Asserts the path an elementwise case takes (ops/elementwise.hpp) where its Access forces one.
void expect_elementwise_path(const BindingLimit& limit, Access access, const vk::Buffer& a,
                             const vk::Buffer& b, std::uint32_t n, std::uint32_t period = 0) {
  if (!limit.active()) return;
  EXPECT_EQ(ops::elementwise_reads_texels(gpu(), a, b, n, period), access == Access::texel)
      << "the case does not take the path it is named after";
}

KernelCase gelu_case(std::uint32_t n, Access access = Access::device) {
  return {fmt::format("gelu_n{}{}", n, access_suffix(access)), [=] {
            const auto x = random_floats(n, 63, -12.0f, 12.0f);
            auto gx = upload(x);
            auto go = gpu().create_buffer(std::uint64_t(n) * 4);
            const BindingLimit limit(access, std::uint64_t(n) * 4);
            expect_elementwise_path(limit, access, gx, gx, n);
            vk::CommandStream cs(gpu());
            ops::gelu(gpu(), cs, gx, go, n);
            cs.finish();
            CaseResult r{download<float>(go, n), std::vector<float>(n)};
            ref::gelu(x, r.ref);
            r.tolerance = kTolTranscendental;
            r.elementwise = ElementwiseTolerance{kGeluAtol, 2e-6};
            return r;
          }};
}

KernelCase geglu_case(std::uint32_t n, Access access = Access::device) {
  return {fmt::format("geglu_n{}{}", n, access_suffix(access)), [=] {
            const auto gate = random_floats(n, 64, -12.0f, 12.0f), up = random_floats(n, 65, -3.0f, 3.0f);
            auto gg = upload(gate), gu = upload(up);
            auto go = gpu().create_buffer(std::uint64_t(n) * 4);
            const BindingLimit limit(access, std::uint64_t(n) * 4);
            expect_elementwise_path(limit, access, gg, gu, n);
            vk::CommandStream cs(gpu());
            ops::geglu(gpu(), cs, gg, gu, go, n);
            cs.finish();
            CaseResult r{download<float>(go, n), std::vector<float>(n)};
            ref::geglu(gate, up, r.ref);
            r.tolerance = kTolTranscendental;
            r.elementwise = ElementwiseTolerance{3 * kGeluAtol, 2e-6};
            return r;
          }};
}

/// Soft-capping over values from well inside the cap (nearly linear) to far beyond it (saturated).
KernelCase softcap_case(std::uint32_t n, float cap, Access access = Access::device) {
  return {fmt::format("softcap_n{}_cap{}{}", n, int(cap), access_suffix(access)), [=] {
            const auto x = random_floats(n, 66, -6.0f * cap, 6.0f * cap);
            auto gx = upload(x);
            auto go = gpu().create_buffer(std::uint64_t(n) * 4);
            const BindingLimit limit(access, std::uint64_t(n) * 4);
            expect_elementwise_path(limit, access, gx, gx, n);
            vk::CommandStream cs(gpu());
            ops::softcap(gpu(), cs, gx, go, n, cap);
            cs.finish();
            CaseResult r{download<float>(go, n), std::vector<float>(n)};
            ref::softcap(x, r.ref, cap);
            r.tolerance = kTolTranscendental;
            r.elementwise = ElementwiseTolerance{1e-6 * double(cap), 2e-6};
            return r;
          }};
}

KernelCase scale_case(std::uint32_t n, float factor, Access access = Access::device) {
  return {fmt::format("scale_n{}{}", n, access_suffix(access)), [=] {
            const auto x = random_floats(n, 67, -3.0f, 3.0f);
            auto gx = upload(x);
            auto go = gpu().create_buffer(std::uint64_t(n) * 4);
            const BindingLimit limit(access, std::uint64_t(n) * 4);
            expect_elementwise_path(limit, access, gx, gx, n);
            vk::CommandStream cs(gpu());
            ops::scale(gpu(), cs, gx, go, n, factor);
            cs.finish();
            CaseResult r{download<float>(go, n), std::vector<float>(n)};
            ref::scale(x, r.ref, factor);
            r.elementwise = ElementwiseTolerance{0.0, 1e-7};
            return r;
          }};
}

struct RopeCase {
  ref::RopeMode mode;
  std::uint32_t tokens, heads, head_dim, rot_dims;
  float base, scale;
  bool factors, inverse;
  std::int32_t max_pos;
};

KernelCase rope_case(RopeCase c) {
  return {fmt::format("rope_{}_t{}_h{}_d{}_r{}_base{}_s{}{}{}_p{}",
                      c.mode == ref::RopeMode::normal ? "normal" : "neox", c.tokens, c.heads, c.head_dim,
                      c.rot_dims, int(c.base), int(c.scale * 100), c.factors ? "_factors" : "",
                      c.inverse ? "_inverse" : "", c.max_pos),
          [=] {
            const std::size_t n = std::size_t(c.tokens) * c.heads * c.head_dim;
            auto x = random_floats(n, 41 + n);
            std::mt19937 rng(42);
            std::vector<std::int32_t> pos(c.tokens);
            for (auto& p : pos) p = std::int32_t(rng() % std::uint32_t(c.max_pos + 1));
            const std::uint32_t rot = c.rot_dims ? c.rot_dims : c.head_dim;
            std::vector<float> factors;
            if (c.factors) factors = random_floats(rot / 2, 43, 1.0f, 8.0f);
            auto gx = upload(x), gp = upload(pos);
            std::optional<vk::Buffer> gf;
            if (c.factors) gf = upload(factors);
            ops::RopeArgs args{c.mode, c.rot_dims, c.base, c.scale, std::nullopt, c.inverse};
            if (gf) args.factors = vk::BufferView(*gf);
            vk::CommandStream cs(gpu());
            ops::rope(gpu(), cs, gx, gp, c.tokens, c.heads, c.head_dim, args);
            cs.finish();
            CaseResult r{download<float>(gx, n), x};
            ref::RopeParams p{c.mode, c.rot_dims, c.base, c.scale, factors};
            ref::rope(r.ref, pos, c.heads, c.head_dim, p, c.inverse);
            // fp32 angles: the error grows with the position (about position * 2^-24 radians).
            r.tolerance = kTolTranscendental + double(c.max_pos) * 1.2e-7;
            return r;
          }};
}

KernelCase softmax_case(std::uint32_t rows, std::uint32_t cols) {
  return {fmt::format("softmax_r{}_c{}", rows, cols), [=] {
            const auto x = random_floats(std::size_t(rows) * cols, 51 + cols, -8.0f, 8.0f);
            auto gx = upload(x);
            auto gy = gpu().create_buffer(x.size() * 4);
            vk::CommandStream cs(gpu());
            ops::softmax(gpu(), cs, gx, gy, rows, cols, 0.7f);
            cs.finish();
            CaseResult r{download<float>(gy, x.size()), std::vector<float>(x.size())};
            ref::softmax(x, r.ref, rows, cols, 0.7f);
            r.tolerance = kTolTranscendental;
            // Every probability to a few fp32 ulps of exp and of the row's sum, however small.
            r.elementwise = ElementwiseTolerance{0.0, kSoftmaxRtol};
            return r;
          }};
}

KernelCase swiglu_case(std::uint32_t n, Access access = Access::device) {
  return {fmt::format("swiglu_n{}{}", n, access_suffix(access)), [=] {
            const auto g = random_floats(n, 61, -6.0f, 6.0f), u = random_floats(n, 62);
            auto gg = upload(g), gu = upload(u);
            auto go = gpu().create_buffer(std::uint64_t(n) * 4);
            const BindingLimit limit(access, std::uint64_t(n) * 4);
            expect_elementwise_path(limit, access, gg, gu, n);
            vk::CommandStream cs(gpu());
            ops::swiglu(gpu(), cs, gg, gu, go, n);
            cs.finish();
            CaseResult r{download<float>(go, n), std::vector<float>(n)};
            ref::swiglu(g, u, r.ref);
            r.tolerance = kTolTranscendental;
            r.elementwise = ElementwiseTolerance{0.0, kSwigluRtol};  // silu(-6) * u is small, not zero
            return r;
          }};
}

KernelCase add_case(std::uint32_t n, std::uint32_t period, Access access = Access::device) {
  return {fmt::format("add_n{}_period{}{}", n, period, access_suffix(access)), [=] {
            const std::uint32_t p = period ? period : n;
            const auto a = random_floats(n, 71), b = random_floats(p, 72);
            auto ga = upload(a), gb = upload(b);
            const BindingLimit limit(access, std::uint64_t(n) * 4);
            expect_elementwise_path(limit, access, ga, gb, n, period);
            vk::CommandStream cs(gpu());
            ops::add(gpu(), cs, ga, gb, ga, n, period);  // in place, as the forward pass uses it
            cs.finish();
            std::vector<float> bb(n);
            for (std::uint32_t i = 0; i < n; ++i) bb[i] = b[i % p];
            CaseResult r{download<float>(ga, n), std::vector<float>(n)};
            ref::add(a, bb, r.ref);
            r.elementwise = ElementwiseTolerance{0.0, 0.0};  // one fp32 addition: exact
            return r;
          }};
}

KernelCase embedding_case(WeightFormat f, std::uint32_t rows, std::uint32_t dim, std::uint32_t tokens,
                          WeightSource source = WeightSource::encoded) {
  return {
      fmt::format("embedding_{}_rows{}_d{}_t{}{}", format_name(f), rows, dim, tokens, source_suffix(source)),
      [=] {
        const auto weights = case_weights(source, f, rows, dim, 81 + rows);
        if (!weights) return reference_missing();
        const Weights& table = *weights;
        std::vector<std::int32_t> ids(tokens);
        std::mt19937 rng(82);
        for (auto& id : ids) id = std::int32_t(rng() % rows);
        ids.back() = std::int32_t(rows - 1);  // the last row sits past any 128 MiB binding
        auto gt = upload_bytes(table.bytes), gi = upload(ids);
        auto go = gpu().create_buffer(std::uint64_t(tokens) * dim * 4);
        vk::CommandStream cs(gpu());
        ops::embedding(gpu(), cs, f, gt, gi, go, tokens, rows, dim);
        cs.finish();
        CaseResult r{download<float>(go, std::size_t(tokens) * dim),
                     std::vector<float>(std::size_t(tokens) * dim)};
        ref::embedding(table.values, ids, r.ref, dim);
        r.tolerance = 0.0;  // a copy: exact
        r.elementwise = ElementwiseTolerance{0.0, 0.0};
        return r;
      },
      f};
}

/// A paged cache with pages scattered through a larger pool in a random order, so that any error in
/// block-table indirection shows.
struct PagedCache {
  std::uint32_t page_tokens, kv_heads, head_dim, pool_pages, table_pages;
  std::vector<std::int32_t> table, fill;
  std::vector<half_bits> k_pool, v_pool;
  std::vector<float> k_logical, v_logical;  // [entry][kv_head][d], rounded to fp16

  /// holes_before: pages that lie entirely before this entry get a random number of valid slots, as
  /// spliced logs leave them (the slots after the fill are holes that attention must skip).
  PagedCache(std::uint32_t entries, std::uint32_t page, std::uint32_t heads, std::uint32_t dim,
             std::uint64_t seed, std::uint32_t holes_before = 0)
      : page_tokens(page), kv_heads(heads), head_dim(dim) {
    table_pages = (entries + page - 1) / page;
    fill.assign(table_pages, std::int32_t(page));
    std::mt19937 fill_rng(std::uint32_t(seed) + 7);
    for (std::uint32_t i = 0; (i + 1) * page <= holes_before; ++i)
      fill[i] = std::int32_t(1 + fill_rng() % page);
    pool_pages = table_pages * 2 + 3;
    std::vector<std::int32_t> all(pool_pages);
    std::iota(all.begin(), all.end(), 0);
    std::shuffle(all.begin(), all.end(), std::mt19937(std::uint32_t(seed)));
    table.assign(all.begin(), all.begin() + table_pages);
    const std::size_t row = std::size_t(heads) * dim;
    k_pool.assign(std::size_t(pool_pages) * page * row, float_to_half(99.0f));  // poison unused slots
    v_pool = k_pool;
    k_logical = random_floats(std::size_t(entries) * row, seed + 1);
    v_logical = random_floats(std::size_t(entries) * row, seed + 2);
    for (std::uint32_t j = 0; j < entries; ++j) {
      const std::size_t dst = (std::size_t(table[j / page]) * page + j % page) * row;
      for (std::size_t e = 0; e < row; ++e) {
        k_pool[dst + e] = float_to_half(k_logical[j * row + e]);
        v_pool[dst + e] = float_to_half(v_logical[j * row + e]);
        k_logical[j * row + e] = half_to_float(k_pool[dst + e]);
        v_logical[j * row + e] = half_to_float(v_pool[dst + e]);
      }
    }
  }

  [[nodiscard]] bool valid(std::uint32_t j) const {
    return std::int32_t(j % page_tokens) < fill[j / page_tokens];
  }

  /// The valid entries only, in order (what attention must see), and how many of them precede `entry`.
  void compact(std::vector<float>& k, std::vector<float>& v, std::uint32_t entry,
               std::uint32_t& before) const {
    const std::size_t row = std::size_t(kv_heads) * head_dim;
    before = 0;
    for (std::uint32_t j = 0; j < k_logical.size() / row; ++j) {
      if (!valid(j)) continue;
      if (j < entry) ++before;
      k.insert(k.end(), k_logical.begin() + std::ptrdiff_t(j * row),
               k_logical.begin() + std::ptrdiff_t((j + 1) * row));
      v.insert(v.end(), v_logical.begin() + std::ptrdiff_t(j * row),
               v_logical.begin() + std::ptrdiff_t((j + 1) * row));
    }
  }
};

KernelCase attention_case(std::uint32_t tokens, std::uint32_t q_heads, std::uint32_t kv_heads,
                          std::uint32_t head_dim, std::uint32_t kv_start, std::uint32_t page_tokens,
                          bool holes = false, ops::AttentionMask mask = ops::AttentionMask::causal,
                          ops::ScoreShaping shaping = {},
                          ops::AttentionKernel kernel = ops::AttentionKernel::automatic,
                          std::uint32_t splits = 0, Access access = Access::device) {
  const bool causal = mask == ops::AttentionMask::causal;
  const char* kernel_name = kernel == ops::AttentionKernel::rowwise            ? "_rowwise"
                            : kernel == ops::AttentionKernel::flash            ? "_flash"
                            : kernel == ops::AttentionKernel::register_blocked ? "_rb"
                                                                               : "";
  // A sliding window counts cache entries, which the compacted reference below matches only without holes:
  // cases with holes have no window.
  return {
      fmt::format("attention_t{}_hq{}_hkv{}_d{}_start{}_page{}{}{}{}{}{}{}", tokens, q_heads, kv_heads,
                  head_dim, kv_start, page_tokens, holes ? "_holes" : "", causal ? "" : "_bidirectional",
                  shaping.window ? fmt::format("_window{}", shaping.window) : "",
                  shaping.softcap > 0 ? fmt::format("_softcap{}", shaping.softcap) : "", kernel_name,
                  splits ? fmt::format("_split{}", splits) : "") +
          access_suffix(access),
      [=] {
        const std::uint32_t entries = kv_start + tokens;
        PagedCache cache(entries, page_tokens, kv_heads, head_dim, 91 + entries, holes ? kv_start : 0);
        const auto q = random_floats(std::size_t(tokens) * q_heads * head_dim, 92, -2.0f, 2.0f);
        auto gq = upload(q), gk = upload(cache.k_pool), gv = upload(cache.v_pool), gt = upload(cache.table);
        auto gf = upload(cache.fill);
        auto go = gpu().create_buffer(q.size() * 4);
        ops::PagedKv kv{gk, gv, gt, gf, page_tokens, kv_heads, head_dim, cache.pool_pages, cache.table_pages};
        const BindingLimit limit(access, std::max({gk.size(), gv.size(), gt.size(), gf.size()}));
        if (limit.active()) {
          EXPECT_EQ(ops::attention_reads_texels(gpu(), kv), access == Access::texel)
              << "the case does not take the path it is named after";
        }
        const float scale = 1.0f / std::sqrt(float(head_dim));
        // Split-K writes partial states to scratch: poisoned, so that a split left unwritten shows.
        const std::size_t rows = std::size_t(tokens) * q_heads;
        auto scratch =
            upload(std::vector<float>(std::max<std::size_t>(1, splits) * rows * (head_dim + 2), 1e30f));
        const ops::AttentionPlan plan{kernel, splits, splits ? vk::BufferView(scratch) : vk::BufferView()};
        vk::CommandStream cs(gpu());
        ops::attention(gpu(), cs, gq, kv, go, tokens, q_heads, kv_start, scale, mask, shaping, plan);
        cs.finish();
        CaseResult r{download<float>(go, q.size()), std::vector<float>(q.size())};
        std::vector<float> k_valid, v_valid;
        std::uint32_t valid_start = 0;
        cache.compact(k_valid, v_valid, kv_start, valid_start);
        ref::attention(q, k_valid, v_valid, r.ref, tokens, q_heads, kv_heads, head_dim, valid_start, scale,
                       causal, shaping.window, shaping.softcap);
        r.tolerance = kTolTranscendental;
        return r;
      }};
}

/// The keys' rotation of a kv_store case: RoPE's mode, rotated dimensions (0: all),
/// base, scale, frequency factors, and the largest position.
struct KeyRotationCase {
  ref::RopeMode mode;
  std::uint32_t rot_dims;
  float base, scale;
  bool factors;
  std::int32_t max_pos;
};

KernelCase kv_store_case(std::uint32_t tokens, std::uint32_t kv_heads, std::uint32_t head_dim,
                         std::uint32_t kv_start, std::uint32_t page_tokens,
                         std::optional<KeyRotationCase> rotation = std::nullopt) {
  const std::string rotated =
      rotation
          ? fmt::format("_rotated_{}_r{}{}_p{}", rotation->mode == ref::RopeMode::normal ? "normal" : "neox",
                        rotation->rot_dims, rotation->factors ? "_factors" : "", rotation->max_pos)
          : "";
  return {
      fmt::format("kv_store_t{}_hkv{}_d{}_start{}_page{}{}", tokens, kv_heads, head_dim, kv_start,
                  page_tokens, rotated),
      [=] {
        PagedCache cache(kv_start + tokens, page_tokens, kv_heads, head_dim, 101);
        const std::size_t row = std::size_t(kv_heads) * head_dim;
        auto k_new = random_floats(tokens * row, 102);
        const auto v_new = random_floats(tokens * row, 103);
        auto gk = upload(cache.k_pool), gv = upload(cache.v_pool), gt = upload(cache.table);
        auto gkn = upload(k_new), gvn = upload(v_new);
        ops::PagedKv kv{gk, gv, gt, {}, page_tokens, kv_heads, head_dim, cache.pool_pages, cache.table_pages};
        std::vector<std::int32_t> pos(tokens);
        std::vector<float> factors;
        std::optional<vk::Buffer> gp, gf;
        std::optional<ops::KeyRotation> key_rotation;
        if (rotation) {
          std::mt19937 rng(104);
          for (auto& p : pos) p = std::int32_t(rng() % std::uint32_t(rotation->max_pos + 1));
          const std::uint32_t rot = rotation->rot_dims ? rotation->rot_dims : head_dim;
          if (rotation->factors) factors = random_floats(rot / 2, 105, 1.0f, 8.0f);
          gp = upload(pos);
          if (rotation->factors) gf = upload(factors);
          ops::RopeArgs args{rotation->mode,  rotation->rot_dims, rotation->base,
                             rotation->scale, std::nullopt,       false};
          if (gf) args.factors = vk::BufferView(*gf);
          key_rotation = ops::KeyRotation{*gp, args};
        }
        vk::CommandStream cs(gpu());
        ops::kv_store(gpu(), cs, gkn, gvn, kv, tokens, kv_start, 0, 0, key_rotation);
        cs.finish();
        // The keys as the plain CPU RoPE rotates them (the store must equal RoPE, then the store).
        if (rotation)
          ref::rope(k_new, pos, kv_heads, head_dim,
                    {rotation->mode, rotation->rot_dims, rotation->base, rotation->scale, factors}, false);
        // Expected pools: the new rows written at entries kv_start.., everything else untouched.
        auto k_exp = cache.k_pool, v_exp = cache.v_pool;
        for (std::uint32_t t = 0; t < tokens; ++t) {
          const std::uint32_t j = kv_start + t;
          const std::size_t dst =
              (std::size_t(cache.table[j / page_tokens]) * page_tokens + j % page_tokens) * row;
          for (std::size_t e = 0; e < row; ++e) {
            k_exp[dst + e] = float_to_half(k_new[t * row + e]);
            v_exp[dst + e] = float_to_half(v_new[t * row + e]);
          }
        }
        const auto k_got = download<half_bits>(gk, k_exp.size()),
                   v_got = download<half_bits>(gv, v_exp.size());
        CaseResult r;
        r.gpu = from_half(k_got);
        r.ref = from_half(k_exp);
        const auto vg = from_half(v_got), ve = from_half(v_exp);
        r.gpu.insert(r.gpu.end(), vg.begin(), vg.end());
        r.ref.insert(r.ref.end(), ve.begin(), ve.end());
        // GLSL leaves the fp32 -> fp16 rounding mode to the implementation, so allow one fp16 ulp
        // (relative to the pool's largest value, the poison 99); a misplaced row shows as an O(1) error.
        r.tolerance = 1e-5;
        // Per element: one fp16 ulp of the value itself (2^-10 relative), not of the poison's 99; rotated
        // keys add RoPE's fp32 angle error (about position * 2^-24 radians, as rope_case allows).
        const double angle_error = rotation ? kTolTranscendental + double(rotation->max_pos) * 1.2e-7 : 0.0;
        r.elementwise = ElementwiseTolerance{angle_error, kOneHalfUlp};
        return r;
      }};
}

/// Export (cache -> packed, keys un-rotated) and import (packed -> cache, keys rotated) of a scattered
/// subset of entries, against ref::rope on the same fp16-rounded values.
KernelCase kv_transfer_case(bool do_export, ref::RopeMode mode, std::uint32_t count, std::uint32_t kv_heads,
                            std::uint32_t head_dim, std::uint32_t rot_dims, std::uint32_t page_tokens,
                            bool factors) {
  return {fmt::format("kv_{}_{}_n{}_hkv{}_d{}_r{}_page{}{}", do_export ? "export" : "import",
                      mode == ref::RopeMode::normal ? "normal" : "neox", count, kv_heads, head_dim, rot_dims,
                      page_tokens, factors ? "_factors" : ""),
          [=] {
            const std::uint32_t entries_total = count * 3 + 5;
            PagedCache cache(entries_total, page_tokens, kv_heads, head_dim, 111 + count);
            const std::size_t row = std::size_t(kv_heads) * head_dim;
            std::mt19937 rng(112);
            std::vector<std::int32_t> all(entries_total);
            std::iota(all.begin(), all.end(), 0);
            std::shuffle(all.begin(), all.end(), rng);
            std::vector<std::int32_t> entries(all.begin(), all.begin() + count), positions(count);
            for (auto& p : positions) p = std::int32_t(rng() % 5000);
            const std::uint32_t rot = rot_dims ? rot_dims : head_dim;
            std::vector<float> ff;
            if (factors) ff = random_floats(rot / 2, 113, 1.0f, 8.0f);
            auto packed_k = to_half(random_floats(count * row, 114)),
                 packed_v = to_half(random_floats(count * row, 115));
            auto gk = upload(cache.k_pool), gv = upload(cache.v_pool), gt = upload(cache.table);
            auto ge = upload(entries), gp = upload(positions), gpk = upload(packed_k), gpv = upload(packed_v);
            std::optional<vk::Buffer> gf;
            if (factors) gf = upload(ff);
            ops::RopeArgs args{mode, rot_dims, 10000.0f, 1.0f, std::nullopt, false};
            if (gf) args.factors = vk::BufferView(*gf);
            ops::PagedKv kv{
                gk, gv, gt, {}, page_tokens, kv_heads, head_dim, cache.pool_pages, cache.table_pages};
            ops::KvTransfer t{ge, gp, gpk, gpv, count};
            vk::CommandStream cs(gpu());
            if (do_export)
              ops::kv_export(gpu(), cs, kv, t, args);
            else
              ops::kv_import(gpu(), cs, kv, t, args);
            cs.finish();
            ref::RopeParams rp{mode, rot_dims, 10000.0f, 1.0f, ff};
            CaseResult r;
            if (do_export) {
              std::vector<float> k_exp(count * row), v_exp(count * row);
              for (std::uint32_t j = 0; j < count; ++j)
                for (std::size_t e = 0; e < row; ++e) {
                  k_exp[j * row + e] = cache.k_logical[std::size_t(entries[j]) * row + e];
                  v_exp[j * row + e] = cache.v_logical[std::size_t(entries[j]) * row + e];
                }
              ref::rope(k_exp, positions, kv_heads, head_dim, rp, /*inverse=*/true);
              r.ref = k_exp;
              r.ref.insert(r.ref.end(), v_exp.begin(), v_exp.end());
              r.gpu = from_half(download<half_bits>(gpk, count * row));
              const auto vg = from_half(download<half_bits>(gpv, count * row));
              r.gpu.insert(r.gpu.end(), vg.begin(), vg.end());
            } else {
              auto k_in = from_half(packed_k);
              ref::rope(k_in, positions, kv_heads, head_dim, rp);
              const auto v_in = from_half(packed_v);
              auto k_exp = from_half(cache.k_pool), v_exp = from_half(cache.v_pool);
              for (std::uint32_t j = 0; j < count; ++j) {
                const std::uint32_t entry = std::uint32_t(entries[j]);
                const std::size_t dst =
                    (std::size_t(cache.table[entry / page_tokens]) * page_tokens + entry % page_tokens) * row;
                for (std::size_t e = 0; e < row; ++e) {
                  k_exp[dst + e] = k_in[j * row + e];
                  v_exp[dst + e] = v_in[j * row + e];
                }
              }
              r.ref = k_exp;
              r.ref.insert(r.ref.end(), v_exp.begin(), v_exp.end());
              r.gpu = from_half(download<half_bits>(gk, k_exp.size()));
              const auto vg = from_half(download<half_bits>(gv, v_exp.size()));
              r.gpu.insert(r.gpu.end(), vg.begin(), vg.end());
            }
            // fp16 results: one fp16 ulp at the largest magnitude (the pools hold a poison value of 99
            // for untouched slots, so an entry written to the wrong slot is an O(1) error).
            r.tolerance = do_export ? 2e-3 : 2e-5;
            // Per element: values are copied to within one fp16 ulp of themselves (not of the poison's
            // 99), rotated keys to within the rotation's absolute error.
            r.elementwise = ElementwiseTolerance{kRotationAtol, kOneHalfUlp};
            return r;
          }};
}

std::vector<KernelCase> kernel_cases() {
  std::vector<KernelCase> cases;
  for (WeightFormat f : {WeightFormat::f32, WeightFormat::f16}) {
    for (auto [m, n, k] : std::vector<std::array<std::uint32_t, 3>>{
             {1, 1, 1}, {1, 7, 13}, {3, 65, 17}, {67, 129, 33}, {64, 64, 64}, {2, 9, 4099}, {130, 70, 96}})
      cases.push_back(matmul_case(f, m, n, k));
    // The register-blocked kernel needs K a multiple of its chunk (4 floats, 8 halves).
    for (auto [m, n, k] : std::vector<std::array<std::uint32_t, 3>>{{1, 1, 8},
                                                                    {3, 65, 24},
                                                                    {67, 129, 40},
                                                                    {17, 33, 64},
                                                                    {2, 9, 4104},
                                                                    {130, 70, 96},
                                                                    {5, 300, 1000}})
      cases.push_back(matmul_case(f, m, n, k, ops::MatmulKernel::register_blocked));
    for (auto [n, k] :
         std::vector<std::array<std::uint32_t, 2>>{{1, 1}, {7, 13}, {129, 4099}, {1001, 64}, {3, 11008}})
      cases.push_back(matvec_case(f, n, k));
    cases.push_back(embedding_case(f, 5, 7, 9));
    cases.push_back(embedding_case(f, 1000, 96, 1));
  }
  // Block formats: row lengths are multiples of the block (32, or 256 for K-quants), including long
  // rows; row counts are not multiples of the matvec workgroup (32 rows) or the matmul tile.
  cases.push_back(matmul_case(WeightFormat::bf16, 3, 65, 17));
  cases.push_back(matmul_case(WeightFormat::bf16, 67, 129, 64));
  cases.push_back(matmul_case(WeightFormat::bf16, 3, 65, 24, ops::MatmulKernel::register_blocked));
  cases.push_back(matmul_case(WeightFormat::bf16, 67, 129, 4104, ops::MatmulKernel::register_blocked));
  cases.push_back(matvec_case(WeightFormat::bf16, 7, 13));  // odd K: the scalar path
  cases.push_back(matvec_case(WeightFormat::bf16, 129, 4104));
  cases.push_back(matvec_case(WeightFormat::bf16, 1, 64));
  cases.push_back(embedding_case(WeightFormat::bf16, 5, 7, 9));
  for (WeightFormat f : {WeightFormat::q8_0, WeightFormat::q4_0, WeightFormat::q4_1, WeightFormat::q5_0,
                         WeightFormat::q5_1, WeightFormat::iq4_nl, WeightFormat::q4_k, WeightFormat::q5_k,
                         WeightFormat::q6_k, WeightFormat::iq4_xs, WeightFormat::q2_k, WeightFormat::q3_k}) {
    const std::uint32_t b = block_elements(f);
    const std::uint32_t long_k = b == 32 ? 4128 : 4352;  // 129 blocks of 32, 17 super-blocks
    for (auto [m, n, k] : std::vector<std::array<std::uint32_t, 3>>{
             {1, 1, b}, {3, 65, 2 * b}, {67, 129, b}, {2, 9, long_k}, {130, 71, 3 * b}}) {
      cases.push_back(matmul_case(f, m, n, k));
      cases.push_back(matmul_case(f, m, n, k, ops::MatmulKernel::register_blocked));
    }
    for (auto [n, k] : std::vector<std::array<std::uint32_t, 2>>{
             {1, b}, {7, 3 * b}, {33, 2 * b}, {129, long_k}, {1001, b}, {3, 11008}})
      cases.push_back(matvec_case(f, n, k));
    cases.push_back(embedding_case(f, 5, b, 9));
    cases.push_back(embedding_case(f, 1000, 2 * b, 3));
  }
  // Awkward blocks (every bit random, minimums of both signs, distinct K-quant sub-block scales) against
  // gguf-py's decoding: the GPU's decoders judged by a decoder that is not lagvk's.
  for (WeightFormat f :
       {WeightFormat::f16, WeightFormat::bf16, WeightFormat::q8_0, WeightFormat::q4_0, WeightFormat::q4_1,
        WeightFormat::q5_0, WeightFormat::q5_1, WeightFormat::iq4_nl, WeightFormat::q4_k, WeightFormat::q5_k,
        WeightFormat::q6_k, WeightFormat::iq4_xs, WeightFormat::q2_k, WeightFormat::q3_k}) {
    const std::uint32_t b = std::max<std::uint32_t>(block_elements(f), 32);
    cases.push_back(matvec_case(f, 37, 3 * b, WeightSource::awkward));
    cases.push_back(matmul_case(f, 5, 37, 2 * b, ops::MatmulKernel::tiled, WeightSource::awkward));
    cases.push_back(matmul_case(f, 5, 37, 2 * b, ops::MatmulKernel::register_blocked, WeightSource::awkward));
    cases.push_back(embedding_case(f, 37, 2 * b, 9, WeightSource::awkward));
  }
  // Every access path of matvec and the register-blocked matmul for every format, whatever the device
  // prefers: texel views, every tensor bound through a storage descriptor (a binding limit equal to the
  // largest tensor) and, with the limit one byte lower, read through buffer addresses. Rows not a multiple of
  // the workgroup's 32, K not a multiple of the subgroup's chunks.
  for (WeightFormat f : {WeightFormat::f32, WeightFormat::f16, WeightFormat::bf16, WeightFormat::q8_0,
                         WeightFormat::q4_0, WeightFormat::q4_1, WeightFormat::q5_0, WeightFormat::q5_1,
                         WeightFormat::iq4_nl, WeightFormat::q4_k, WeightFormat::q5_k, WeightFormat::q6_k,
                         WeightFormat::iq4_xs, WeightFormat::q2_k, WeightFormat::q3_k}) {
    const std::uint32_t b = std::max<std::uint32_t>(block_elements(f), 8);
    for (Access a : {Access::texel, Access::bound, Access::address}) {
      cases.push_back(matvec_case(f, 37, 5 * b, WeightSource::encoded, a));
      cases.push_back(matvec_case(f, 1, b, WeightSource::encoded, a));  // x is the largest tensor
      // The register-blocked matmul's address path is the kernel it always had: three formats cover its
      // three kinds of loads there (16-byte words, 16-bit halves, shifted words); each variant compiles
      // for seconds on lavapipe.
      if (a != Access::address || f == WeightFormat::f16 || f == WeightFormat::q5_0 ||
          f == WeightFormat::q6_k)
        cases.push_back(
            matmul_case(f, 5, 37, 2 * b, ops::MatmulKernel::register_blocked, WeightSource::encoded, a));
    }
  }
  // Texel reads with rows side by side in a subgroup: SmolLM2's K = 576 (18 blocks: 4 lanes per row on
  // lavapipe), f16 rows of 9 chunks (1 lane per row) and of 513 (all lanes on a row).
  cases.push_back(matvec_case(WeightFormat::q4_1, 37, 576, WeightSource::encoded, Access::texel));
  cases.push_back(matvec_case(WeightFormat::q8_0, 37, 576, WeightSource::encoded, Access::texel));
  cases.push_back(matvec_case(WeightFormat::f16, 37, 72, WeightSource::encoded, Access::texel));
  cases.push_back(matvec_case(WeightFormat::f16, 37, 4104, WeightSource::encoded, Access::texel));
  // Texel reads of rows that are whole runs of blocks filling 16-byte texels (weight_groups.glsl): 3 runs
  // (one lane per row, rows side by side), 4 (4 lanes per row on lavapipe), 16 (all lanes on a row);
  // rows not a multiple of the workgroup's.
  for (WeightFormat f : {WeightFormat::q8_0, WeightFormat::q4_0, WeightFormat::q4_1, WeightFormat::q5_0,
                         WeightFormat::q5_1, WeightFormat::iq4_nl}) {
    for (std::uint32_t runs : {3u, 4u, 16u})
      cases.push_back(
          matvec_case(f, 37, runs * texel_group_blocks(f) * 32, WeightSource::encoded, Access::texel));
  }
  // The accumulating epilogue (y += W x: the residual connection) on every path that stores a projection:
  // matvec's scalar, texel (single blocks and runs), storage and address variants, both matmul kernels.
  {
    constexpr auto acc = ops::Epilogue::accumulate;
    const auto encoded = WeightSource::encoded;
    cases.push_back(matvec_case(WeightFormat::f16, 7, 13, encoded, Access::device, acc));  // scalar
    for (Access a : {Access::texel, Access::bound, Access::address}) {
      cases.push_back(matvec_case(WeightFormat::f16, 37, 72, encoded, a, acc));
      cases.push_back(matvec_case(WeightFormat::q4_k, 37, 512, encoded, a, acc));
      cases.push_back(
          matmul_case(WeightFormat::q8_0, 5, 37, 64, ops::MatmulKernel::register_blocked, encoded, a, acc));
    }
    cases.push_back(matvec_case(WeightFormat::q4_1, 37, 576, encoded, Access::texel, acc));  // side by side
    cases.push_back(matvec_case(WeightFormat::q8_0, 37, 3 * 8 * 32, encoded, Access::texel, acc));  // groups
    cases.push_back(
        matmul_case(WeightFormat::f16, 67, 129, 33, ops::MatmulKernel::tiled, encoded, Access::device, acc));
  }
  // The gated epilogues (the feed-forward's gate and up rows stacked, act(gate) up in the epilogue) on
  // every matvec path: scalar, texel single blocks, rows side by side and runs, storage, address.
  for (auto gate : {ops::Epilogue::swiglu, ops::Epilogue::geglu}) {
    const auto encoded = WeightSource::encoded;
    cases.push_back(matvec_case(WeightFormat::f16, 7, 13, encoded, Access::device, gate));  // scalar
    for (Access a : {Access::texel, Access::bound, Access::address}) {
      cases.push_back(matvec_case(WeightFormat::f16, 37, 72, encoded, a, gate));
      cases.push_back(matvec_case(WeightFormat::q4_k, 37, 512, encoded, a, gate));
    }
    cases.push_back(matvec_case(WeightFormat::q4_1, 37, 576, encoded, Access::texel, gate));  // side by side
    cases.push_back(matvec_case(WeightFormat::q8_0, 37, 3 * 8 * 32, encoded, Access::texel, gate));  // runs
  }
  // The input norm (a decode step's RMS norm in the projection's prologue) on every matvec path: scalar,
  // texel single blocks, rows side by side and runs, storage, address; with each epilogue the forward
  // pass gives it (store, the gated SwiGLU and GeGLU) and the accumulating one.
  {
    const auto encoded = WeightSource::encoded;
    const auto store = ops::Epilogue::store;
    cases.push_back(matvec_case(WeightFormat::f16, 7, 13, encoded, Access::device, store, true));  // scalar
    cases.push_back(
        matvec_case(WeightFormat::f32, 5, 13, encoded, Access::device, ops::Epilogue::swiglu, true));
    for (Access a : {Access::texel, Access::bound, Access::address}) {
      cases.push_back(matvec_case(WeightFormat::f16, 37, 72, encoded, a, store, true));
      cases.push_back(matvec_case(WeightFormat::q4_k, 37, 512, encoded, a, store, true));
      cases.push_back(matvec_case(WeightFormat::q8_0, 37, 96, encoded, a, ops::Epilogue::geglu, true));
    }
    cases.push_back(matvec_case(WeightFormat::q4_1, 37, 576, encoded, Access::texel, store, true));
    cases.push_back(
        matvec_case(WeightFormat::q4_1, 37, 576, encoded, Access::texel, ops::Epilogue::swiglu, true));
    cases.push_back(matvec_case(WeightFormat::q8_0, 37, 3 * 8 * 32, encoded, Access::texel, store, true));
    cases.push_back(
        matvec_case(WeightFormat::q4_0, 37, 4 * 8 * 32, encoded, Access::texel, ops::Epilogue::swiglu, true));
    cases.push_back(
        matvec_case(WeightFormat::q6_k, 37, 512, encoded, Access::texel, ops::Epilogue::accumulate, true));
  }
  // Tensors above lavapipe's 128 MiB maxStorageBufferRange: kernels read them through texel views (CPU
  // devices) or address them by pointer.
  cases.push_back(matvec_case(WeightFormat::f32, 8300, 4100));  // 136 MB
  cases.push_back(matmul_case(WeightFormat::f16, 2, 16500, 4100));
  cases.push_back(
      matmul_case(WeightFormat::f16, 3, 16500, 4104, ops::MatmulKernel::register_blocked));  // 135 MB
  cases.push_back(embedding_case(WeightFormat::f32, 33000, 1024, 17));                       // 135 MB
  // The 32-element block family (Q5_1: 24 bytes per 32 elements), decoded through weight_at.
  cases.push_back(embedding_case(WeightFormat::q5_1, 44000, 4096, 17));  // 135 MB

  for (auto [r, d] :
       std::vector<std::array<std::uint32_t, 2>>{{1, 1}, {3, 7}, {5, 4096}, {2, 1000}, {70, 64}})
    for (Access a : {Access::texel, Access::address}) cases.push_back(rmsnorm_case(r, d, a));
  for (auto mode : {ref::RopeMode::normal, ref::RopeMode::neox}) {
    cases.push_back(rope_case({mode, 1, 1, 2, 0, 10000.0f, 1.0f, false, false, 7}));
    cases.push_back(rope_case({mode, 7, 3, 64, 0, 10000.0f, 1.0f, false, false, 100}));
    cases.push_back(rope_case({mode, 5, 4, 128, 0, 500000.0f, 1.0f, true, false, 4000}));
    cases.push_back(rope_case({mode, 3, 2, 80, 32, 1000000.0f, 0.25f, false, false, 3000}));
    cases.push_back(rope_case({mode, 9, 5, 96, 0, 10000.0f, 1.0f, true, true, 2000}));
  }
  for (auto [r, c] : std::vector<std::array<std::uint32_t, 2>>{{1, 1}, {3, 1000}, {2, 32001}, {65, 63}})
    cases.push_back(softmax_case(r, c));
  for (std::uint32_t n : {1u, 1000u, 65537u}) cases.push_back(swiglu_case(n));
  for (auto [r, d] : std::vector<std::array<std::uint32_t, 2>>{{1, 1}, {3, 7}, {7, 384}, {2, 1000}, {65, 63}})
    cases.push_back(layernorm_case(r, d, 0.0f));
  cases.push_back(layernorm_case(5, 384, 100.0f));
  for (std::uint32_t n : {1u, 1000u, 65537u}) cases.push_back(gelu_case(n));
  for (std::uint32_t n : {1u, 1000u, 65537u}) cases.push_back(geglu_case(n));
  cases.push_back(softcap_case(1, 30.0f));
  cases.push_back(softcap_case(70001, 30.0f));
  cases.push_back(softcap_case(999, 2.0f));
  cases.push_back(scale_case(70001, 16.0f));
  cases.push_back(add_case(1, 0));
  cases.push_back(add_case(70001, 0));
  cases.push_back(add_case(7 * 96, 96));  // a bias row repeated over tokens
  // Both ways the elementwise kernels read their operands, whatever the device prefers: texel views and
  // addresses (in place for add, a repeating bias, sizes that are not a multiple of the workgroup).
  for (Access a : {Access::texel, Access::address}) {
    cases.push_back(add_case(70001, 0, a));
    cases.push_back(add_case(7 * 96, 96, a));
    cases.push_back(swiglu_case(1000, a));
    cases.push_back(gelu_case(1000, a));
    cases.push_back(geglu_case(1000, a));
    cases.push_back(scale_case(999, 16.0f, a));
    cases.push_back(softcap_case(999, 2.0f, a));
  }

  // Attention: GQA ratios 1, 2, 4, 8; decode (1 token) and prefill; odd page sizes and head dims.
  for (auto [hq, hkv] : std::vector<std::array<std::uint32_t, 2>>{{4, 4}, {4, 2}, {8, 2}, {16, 2}}) {
    cases.push_back(attention_case(1, hq, hkv, 64, 0, 16));
    cases.push_back(attention_case(1, hq, hkv, 64, 200, 16));
    cases.push_back(attention_case(7, hq, hkv, 32, 5, 7));
  }
  cases.push_back(attention_case(33, 6, 3, 80, 70, 16));
  cases.push_back(attention_case(3, 2, 1, 256, 130, 32));
  cases.push_back(attention_case(2, 8, 8, 128, 1000, 64));
  // Spliced logs leave partly filled pages before the prompt: their holes must be skipped.
  cases.push_back(attention_case(1, 8, 2, 64, 160, 16, true));
  cases.push_back(attention_case(9, 4, 4, 32, 77, 7, true));
  // Encoders (BERT): every token sees every token, including later ones; more tokens than a chunk of the
  // workgroup (64) and odd pages.
  for (auto [t, d, page] : std::vector<std::array<std::uint32_t, 3>>{{2, 32, 16}, {13, 32, 7}, {70, 64, 16}})
    cases.push_back(attention_case(t, 12, 12, d, 0, page, false, ops::AttentionMask::bidirectional));
  cases.push_back(attention_case(9, 4, 2, 80, 5, 7, true, ops::AttentionMask::bidirectional));
  // Gemma: sliding windows shorter than, equal to and longer than what a query could see (decode after a
  // long cache, prefill crossing the window, windows across page and workgroup-chunk boundaries), with
  // and without soft-capping (a cap of 2 bends nearly every score of these random queries).
  const auto causal = ops::AttentionMask::causal;
  cases.push_back(attention_case(1, 8, 2, 64, 200, 16, false, causal, {8, 0.0f}));
  cases.push_back(attention_case(33, 6, 3, 80, 70, 16, false, causal, {13, 0.0f}));
  cases.push_back(attention_case(20, 4, 4, 32, 0, 7, false, causal, {1, 0.0f}));
  cases.push_back(attention_case(9, 4, 2, 32, 3, 7, false, causal, {100, 0.0f}));
  cases.push_back(attention_case(70, 4, 2, 64, 90, 16, false, causal, {65, 0.0f}));
  cases.push_back(attention_case(7, 4, 2, 32, 5, 7, false, causal, {0, 2.0f}));
  cases.push_back(attention_case(1, 8, 8, 128, 1000, 64, false, causal, {0, 50.0f}));
  cases.push_back(attention_case(17, 8, 4, 256, 40, 16, false, causal, {11, 2.0f}));
  cases.push_back(attention_case(9, 4, 4, 32, 77, 7, true, causal, {0, 3.0f}));
  // The flash kernel (the automatic choice above wherever head_dim % 4 == 0) against the rowwise one's
  // reference on its own awkward shapes: GQA ratios 1/2/4/8 with head dims 64/80/128/256, prompts longer
  // than a key tile (64) and a row tile, odd token counts after kv_start > 0, pages crossed by tiles.
  const auto flash = ops::AttentionKernel::flash, rowwise = ops::AttentionKernel::rowwise;
  cases.push_back(attention_case(5, 4, 4, 64, 0, 16, false, causal, {}, flash));
  cases.push_back(attention_case(67, 4, 2, 80, 0, 16, false, causal, {}, flash));
  cases.push_back(attention_case(19, 8, 2, 128, 45, 7, false, causal, {}, flash));
  cases.push_back(attention_case(11, 16, 2, 256, 3, 16, false, causal, {}, flash));
  cases.push_back(attention_case(131, 3, 1, 64, 97, 16, false, causal, {}, flash));
  cases.push_back(attention_case(130, 8, 8, 32, 0, 7, false, ops::AttentionMask::bidirectional, {}, flash));
  cases.push_back(attention_case(37, 6, 2, 64, 150, 16, true, causal, {0, 4.0f}, flash));
  cases.push_back(attention_case(50, 4, 2, 64, 100, 16, false, causal, {70, 2.0f}, flash));
  // Split-K: decode and a few rows over long contexts, split counts that do not divide the keys (or the key
  // tiles), holes, windows, and a split with no key at all (3 keys in 5 splits).
  cases.push_back(attention_case(1, 4, 4, 64, 1000, 16, false, causal, {}, flash, 3));
  cases.push_back(attention_case(1, 8, 1, 128, 777, 16, true, causal, {}, flash, 7));
  cases.push_back(attention_case(3, 8, 2, 80, 500, 7, false, causal, {0, 3.0f}, flash, 4));
  cases.push_back(attention_case(2, 4, 2, 64, 300, 16, false, causal, {100, 0.0f}, flash, 5));
  cases.push_back(attention_case(2, 2, 2, 256, 1, 16, false, causal, {}, flash, 5));
  // The register-blocked kernel (the automatic choice on CPU devices, so the rows above already run it
  // there; here on every device): row counts that do not fill a block, head dim 256 (one row), split-K.
  const auto rb = ops::AttentionKernel::register_blocked;
  cases.push_back(attention_case(67, 4, 2, 80, 0, 16, false, causal, {}, rb));
  cases.push_back(attention_case(11, 16, 2, 256, 3, 16, false, causal, {}, rb));
  cases.push_back(attention_case(130, 8, 8, 32, 0, 7, false, ops::AttentionMask::bidirectional, {}, rb));
  cases.push_back(attention_case(37, 6, 2, 64, 150, 16, true, causal, {0, 4.0f}, rb));
  cases.push_back(attention_case(50, 4, 2, 64, 100, 16, false, causal, {70, 2.0f}, rb));
  cases.push_back(attention_case(1, 8, 1, 128, 777, 16, true, causal, {}, rb, 7));
  cases.push_back(attention_case(3, 8, 2, 80, 500, 7, false, causal, {0, 3.0f}, rb, 4));
  cases.push_back(attention_case(2, 2, 2, 256, 1, 16, false, causal, {}, rb, 5));
  // Small heads take several keys per lane per step (4 at head dim 24 and 32, 2 at 64): key ranges that are
  // not a multiple of a step, holes, a window, softcap, split-K, bidirectional.
  cases.push_back(attention_case(45, 8, 4, 24, 37, 7, true, causal, {0, 3.0f}, rb));
  cases.push_back(attention_case(29, 8, 2, 24, 300, 16, false, causal, {50, 0.0f}, rb, 3));
  cases.push_back(attention_case(1, 8, 4, 24, 1000, 16, false, causal, {}, rb, 6));
  cases.push_back(attention_case(13, 4, 4, 32, 61, 7, false, ops::AttentionMask::bidirectional, {}, rb));
  cases.push_back(attention_case(3, 8, 2, 64, 301, 16, true, causal, {}, rb));
  // Both ways the register-blocked kernel reads the cache, whatever the device prefers: texel views and
  // addresses (holes, a window, GQA, split-K, bidirectional).
  for (Access a : {Access::texel, Access::address}) {
    cases.push_back(attention_case(37, 6, 2, 64, 150, 16, true, causal, {0, 4.0f}, rb, 0, a));
    cases.push_back(attention_case(50, 4, 2, 64, 100, 16, false, causal, {70, 2.0f}, rb, 0, a));
    cases.push_back(attention_case(1, 8, 1, 128, 777, 16, true, causal, {}, rb, 7, a));
    cases.push_back(attention_case(9, 4, 2, 80, 5, 7, true, ops::AttentionMask::bidirectional, {}, rb, 0, a));
    cases.push_back(attention_case(45, 8, 4, 24, 37, 7, true, causal, {0, 3.0f}, rb, 0, a));
    // Head dims whose rows are an odd number of vec4.
    cases.push_back(attention_case(21, 6, 3, 36, 50, 7, true, causal, {0, 0.0f}, rb, 0, a));
    cases.push_back(attention_case(2, 4, 2, 20, 300, 16, false, causal, {}, rb, 3, a));
  }
  // The rowwise kernel stays: head dims that are not multiples of 4 (or shapes the flash kernel cannot
  // take) use it.
  cases.push_back(attention_case(7, 4, 2, 32, 5, 7, false, causal, {}, rowwise));
  cases.push_back(attention_case(9, 4, 4, 32, 77, 7, true, causal, {0, 3.0f}, rowwise));
  cases.push_back(attention_case(6, 4, 2, 30, 40, 16));
  for (bool ex : {true, false}) {
    cases.push_back(kv_transfer_case(ex, ref::RopeMode::normal, 1, 1, 64, 0, 16, false));
    cases.push_back(kv_transfer_case(ex, ref::RopeMode::normal, 37, 4, 64, 0, 16, true));
    cases.push_back(kv_transfer_case(ex, ref::RopeMode::neox, 21, 2, 128, 0, 7, false));
    cases.push_back(kv_transfer_case(ex, ref::RopeMode::neox, 9, 3, 80, 32, 16, true));
  }
  cases.push_back(kv_store_case(1, 2, 64, 0, 16));
  cases.push_back(kv_store_case(13, 3, 40, 21, 7));
  // Keys rotated on their way into the cache, against the CPU RoPE then the store: both modes, a partial
  // rotation (an unrotated tail), llama3 frequency factors, SmolLM2's 3 KV heads of 64.
  cases.push_back(
      kv_store_case(1, 3, 64, 40, 16, KeyRotationCase{ref::RopeMode::normal, 0, 10000.0f, 1.0f, false, 100}));
  cases.push_back(kv_store_case(13, 3, 40, 21, 7,
                                KeyRotationCase{ref::RopeMode::neox, 0, 1000000.0f, 1.0f, false, 3000}));
  cases.push_back(kv_store_case(5, 2, 80, 3, 16,
                                KeyRotationCase{ref::RopeMode::normal, 32, 10000.0f, 0.25f, false, 2000}));
  cases.push_back(
      kv_store_case(9, 4, 128, 0, 16, KeyRotationCase{ref::RopeMode::neox, 64, 500000.0f, 1.0f, true, 4000}));
  cases.push_back(kv_store_case(7, 2, 128, 11, 8,
                                KeyRotationCase{ref::RopeMode::normal, 0, 500000.0f, 1.0f, true, 4000}));
  return cases;
}

void PrintTo(const KernelCase& c, std::ostream* os) {
  *os << c.name;
}

class Kernels : public GpuTest, public ::testing::WithParamInterface<KernelCase> {};

TEST_P(Kernels, MatchCpuReference) {
  const CaseResult r = GetParam().run();
  if (!r.reference_missing.empty()) LAGVK_REFERENCE_MISSING(r.reference_missing);
  ASSERT_EQ(r.gpu.size(), r.ref.size());
  const ErrorStats e = compare(r.gpu, r.ref);
  std::printf("%-60s max_abs %.3e  normalised %.3e  (threshold %.1e)\n", GetParam().name.c_str(), e.max_abs,
              e.max_rel, r.tolerance);
  EXPECT_TRUE(e.finite);
  EXPECT_LE(e.max_rel, r.tolerance) << "worst element " << e.worst_index << ": gpu " << r.gpu[e.worst_index]
                                    << " vs ref " << r.ref[e.worst_index];
  if (r.elementwise) {
    const ElementwiseReport el = check_elementwise(r.gpu, r.ref, *r.elementwise);
    std::printf("%-60s per element: worst %.3g of the bound\n", "", el.worst_excess);
    EXPECT_TRUE(el.ok()) << describe(el, *r.elementwise, r.gpu.size());
  }
}

// The per-element bound sees what the normalised maximum cannot: a softmax over 32,001 columns whose
// small probabilities are all doubled (a 100% error on a fifth of the row) passes the normalised check
// the softmax cases use, and fails the per-element one, naming a small element.
TEST(ErrorMeasures, PerElementBoundCatchesErrorsOnSmallValues) {
  constexpr std::uint32_t kCols = 32001;
  const auto x = random_floats(kCols, 51 + kCols, -8.0f, 8.0f);
  std::vector<float> ref(kCols);
  ref::softmax(x, ref, 1, kCols, 0.7f);
  auto wrong = ref;
  std::size_t doubled = 0;
  // The largest probability is about 3.5e-4; below 5e-8 lie about a fifth of the row (x < -3.2).
  for (float& p : wrong)
    if (p < 5e-8f) p *= 2.0f, ++doubled;
  ASSERT_GT(doubled, kCols / 8u);
  EXPECT_LE(compare(wrong, ref).max_rel, kTolTranscendental) << "the normalised maximum passes the error";
  const ElementwiseTolerance tol{0.0, kSoftmaxRtol};
  const ElementwiseReport report = check_elementwise(wrong, ref, tol);
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.violations, doubled);
  EXPECT_LT(report.worst_ref, 1e-5f);
  EXPECT_NE(describe(report, tol, kCols).find("elements outside"), std::string::npos);

  // Rounding-sized differences (one fp32 ulp everywhere) pass, an exact copy passes, a NaN fails.
  auto ulp = ref;
  for (float& p : ulp) p = std::nextafter(p, 1.0f);
  EXPECT_TRUE(check_elementwise(ulp, ref, tol).ok());
  EXPECT_TRUE(check_elementwise(ref, ref, ElementwiseTolerance{}).ok());
  auto nan = ref;
  nan[7] = std::nanf("");
  const ElementwiseReport with_nan = check_elementwise(nan, ref, tol);
  EXPECT_EQ(with_nan.violations, 1u);
  EXPECT_EQ(with_nan.worst_index, 7u);
}

/// The table this build runs: every case, or under sanitizers the weight kernels' cases of a sample of
/// formats (tests/support/sanitizer.hpp) and every other kernel's.
std::vector<KernelCase> table_cases() {
  auto cases = kernel_cases();
  std::erase_if(cases, [](const KernelCase& c) { return c.format && !runs_format(*c.format); });
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Table, Kernels, ::testing::ValuesIn(table_cases()),
                         [](const ::testing::TestParamInfo<KernelCase>& param) { return param.param.name; });

}  // namespace
}  // namespace lagvk::test
