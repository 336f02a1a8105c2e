#pragma once
// Plain CPU reference implementations of every GPU kernel. They favour obviousness over speed and
// accumulate in double, so that a GPU result can be judged against them. Tensors are row-major.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace lagvk::ref {

/// C[m][n] = sum_k A[m][k] * B[n][k]   (A: M x K, B: N x K, C: M x N)
void matmul_abt(std::span<const float> a, std::span<const float> b, std::span<float> c, std::size_t m,
                std::size_t n, std::size_t k);

/// y[n] = sum_k W[n][k] * x[k]   (W: N x K)
void matvec(std::span<const float> w, std::span<const float> x, std::span<float> y, std::size_t n,
            std::size_t k);

/// Each row of x (rows x dim): y = x / sqrt(mean(x^2) + eps) * weight
void rmsnorm(std::span<const float> x, std::span<const float> weight, std::span<float> y, std::size_t rows,
             std::size_t dim, float eps);

enum class RopeMode : std::uint32_t {
  normal = 0,  ///< adjacent pairs (x[2i], x[2i+1]): llama GGUF files
  neox = 1,    ///< half-split pairs (x[i], x[i + n/2]): qwen2, qwen3, neox-style models
};

struct RopeParams {
  RopeMode mode = RopeMode::normal;
  std::size_t rot_dims = 0;  ///< leading dimensions of each head that rotate; 0 means head_dim
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;              ///< linear position scaling (1 / factor)
  std::span<const float> freq_factors;  ///< per pair divisors of the frequency (llama3 rope_freqs), or empty
};

/// Rotates x (tokens x heads x head_dim) in place; token t is at positions[t]. inverse = true removes the
/// rotation (rotates by -theta), which is how keys are stored without RoPE.
void rope(std::span<float> x, std::span<const std::int32_t> positions, std::size_t heads,
          std::size_t head_dim, const RopeParams& params, bool inverse = false);

/// The rotation angle of pair i at position pos, exactly as every lagvk kernel computes it.
[[nodiscard]] double rope_theta(const RopeParams& params, std::size_t head_dim, std::size_t pair, double pos);

/// Row-wise softmax of (x * scale) over rows x cols.
void softmax(std::span<const float> x, std::span<float> y, std::size_t rows, std::size_t cols, float scale);

/// Each row of x (rows x dim): y = (x - mean) / sqrt(variance + eps) * weight + bias (BERT's LayerNorm).
void layernorm(std::span<const float> x, std::span<const float> weight, std::span<const float> bias,
               std::span<float> y, std::size_t rows, std::size_t dim, float eps);

/// out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), elementwise: the GELU approximation llama.cpp's
/// ggml_gelu computes (BERT's FFN activation). out may alias x.
void gelu(std::span<const float> x, std::span<float> out);

/// out = gelu(gate) * up, elementwise (gelu as above): gemma's gated feed-forward.
void geglu(std::span<const float> gate, std::span<const float> up, std::span<float> out);

/// out = cap * tanh(x / cap), elementwise: gemma2's logit soft-capping. out may alias x.
void softcap(std::span<const float> x, std::span<float> out, float cap);

/// out = x * factor, elementwise. out may alias x.
void scale(std::span<const float> x, std::span<float> out, float factor);

/// out = silu(gate) * up, elementwise.
void swiglu(std::span<const float> gate, std::span<const float> up, std::span<float> out);

/// c = a + b, elementwise.
void add(std::span<const float> a, std::span<const float> b, std::span<float> c);

/// out[t] = table[ids[t]] for a table of rows x dim.
void embedding(std::span<const float> table, std::span<const std::int32_t> ids, std::span<float> out,
               std::size_t dim);

/// Grouped-query attention. q: tokens x q_heads x head_dim; k, v: kv_len x kv_heads x head_dim (the
/// logical, unpaged cache). Query t sees cache entries [0, kv_start + t] when causal, else all entries
/// [0, kv_start + tokens) (encoders). out like q. A window > 0 hides from query t the entries before
/// kv_start + t + 1 - window (sliding-window layers); a softcap > 0 maps each scaled score s to
/// softcap * tanh(s / softcap) before the softmax (gemma2).
void attention(std::span<const float> q, std::span<const float> k, std::span<const float> v,
               std::span<float> out, std::size_t tokens, std::size_t q_heads, std::size_t kv_heads,
               std::size_t head_dim, std::size_t kv_start, float scale, bool causal = true,
               std::size_t window = 0, float softcap = 0.0f);

}  // namespace lagvk::ref
