// The push constants of every kernel, written once for both sides: the GLSL kernels include this file
// and declare their block with LAGVK_PUSH_CONSTANTS(LAGVK_PUSH_<KERNEL>); their C++ wrappers get structs
// of the same members from engine/ops/push_constants.hpp. Each layout lists its members in order, each
// one of three kinds:
//   ADDRESS(type, name)  a buffer device address: in GLSL a buffer_reference of `type` (lagvk.glsl,
//                        weights.glsl), in C++ a VkDeviceAddress; 8 bytes
//   UINT(name)           a 32-bit unsigned integer
//   FLOAT(name)          a 32-bit float
// Addresses come first, then the 4-byte scalars, so std430 and the C++ ABI place each member at the same
// offset. tests/test_push_constants.cpp checks every compiled kernel's block against the C++ struct,
// member by member (name, offset, size), from the SPIR-V.

// window: a query at cache entry e sees only entries > e - window (sliding-window layers), 0 for all;
// softcap: scores become softcap * tanh(score / softcap) before the softmax (gemma2), 0 for none.
#define LAGVK_PUSH_ATTENTION(ADDRESS, UINT, FLOAT) \
  ADDRESS(F32Ptr, q)                               \
  ADDRESS(F16Ptr, k)                               \
  ADDRESS(F16Ptr, v)                               \
  ADDRESS(I32Ptr, table)                           \
  ADDRESS(I32Ptr, fill)                            \
  ADDRESS(F32Ptr, out_)                            \
  UINT(tokens)                                     \
  UINT(q_heads)                                    \
  UINT(kv_heads)                                   \
  UINT(head_dim)                                   \
  UINT(page_tokens)                                \
  UINT(kv_start)                                   \
  UINT(window)                                     \
  FLOAT(scale)                                     \
  FLOAT(softcap)

// attention_flash.comp: the members of LAGVK_PUSH_ATTENTION (head_dim is a specialization constant there)
// and, for split-K, the number of key ranges per tile of rows (splits) and where each range's partial
// state goes (partials: splits x tokens x q_heads x (head_dim + 2) floats; unused when splits is 1).
#define LAGVK_PUSH_FLASH_ATTENTION(ADDRESS, UINT, FLOAT) \
  ADDRESS(F32Ptr, q)                                     \
  ADDRESS(F16Ptr, k)                                     \
  ADDRESS(F16Ptr, v)                                     \
  ADDRESS(I32Ptr, table)                                 \
  ADDRESS(I32Ptr, fill)                                  \
  ADDRESS(F32Ptr, out_)                                  \
  ADDRESS(F32Ptr, partials)                              \
  UINT(tokens)                                           \
  UINT(q_heads)                                          \
  UINT(kv_heads)                                         \
  UINT(page_tokens)                                      \
  UINT(kv_start)                                         \
  UINT(window)                                           \
  UINT(splits)                                           \
  FLOAT(scale)                                           \
  FLOAT(softcap)

// attention_combine.comp: rows = tokens x q_heads output rows, each merged from `splits` partial states.
#define LAGVK_PUSH_ATTENTION_COMBINE(ADDRESS, UINT, FLOAT) \
  ADDRESS(F32Ptr, partials)                              \
  ADDRESS(F32Ptr, out_)                                  \
  UINT(rows)                                             \
  UINT(splits)                                           \
  UINT(head_dim)

// k_stride, v_stride: floats between consecutive tokens of k_new / v_new.
// kv_store.comp: rot_dims > 0 gives the keys RoPE's rotation (LAGVK_PUSH_ROPE's members) on their way into
// the cache, token t at positions[t]; 0 stores them as given (positions and factors unread).
#define LAGVK_PUSH_KV_STORE(ADDRESS, UINT, FLOAT) \
  ADDRESS(F32Ptr, k_new)                          \
  ADDRESS(F32Ptr, v_new)                          \
  ADDRESS(F16Ptr, k_cache)                        \
  ADDRESS(F16Ptr, v_cache)                        \
  ADDRESS(I32Ptr, table)                          \
  ADDRESS(I32Ptr, positions)                      \
  ADDRESS(F32Ptr, factors)                        \
  UINT(tokens)                                    \
  UINT(kv_heads)                                  \
  UINT(head_dim)                                  \
  UINT(page_tokens)                               \
  UINT(kv_start)                                  \
  UINT(k_stride)                                  \
  UINT(v_stride)                                  \
  UINT(rot_dims)                                  \
  UINT(mode)                                      \
  UINT(has_factors)                               \
  FLOAT(freq_base)                                \
  FLOAT(freq_scale)

// entries: the cache entry (index in the sequence) of each packed row; positions: its rotary position.
#define LAGVK_PUSH_KV_TRANSFER(ADDRESS, UINT, FLOAT) \
  ADDRESS(F16Ptr, k_cache)                           \
  ADDRESS(F16Ptr, v_cache)                           \
  ADDRESS(I32Ptr, table)                             \
  ADDRESS(I32Ptr, entries)                           \
  ADDRESS(I32Ptr, positions)                         \
  ADDRESS(F32Ptr, factors)                           \
  ADDRESS(F16Ptr, k_packed)                          \
  ADDRESS(F16Ptr, v_packed)                          \
  UINT(count)                                        \
  UINT(kv_heads)                                     \
  UINT(head_dim)                                     \
  UINT(page_tokens)                                  \
  UINT(rot_dims)                                     \
  UINT(mode)                                         \
  UINT(has_factors)                                  \
  FLOAT(freq_base)                                   \
  FLOAT(freq_scale)

// b_period: b is repeated every b_period elements (a bias row added to every token); c: the constant of
// OP_SCALE and OP_SOFTCAP.
#define LAGVK_PUSH_ELEMENTWISE(ADDRESS, UINT, FLOAT) \
  ADDRESS(F32Ptr, a)                                 \
  ADDRESS(F32Ptr, b)                                 \
  ADDRESS(F32Ptr, out_)                              \
  UINT(n)                                            \
  UINT(b_period)                                     \
  FLOAT(c)

#define LAGVK_PUSH_EMBEDDING(ADDRESS, UINT, FLOAT) \
  ADDRESS(WeightPtr, table)                        \
  ADDRESS(I32Ptr, ids)                             \
  ADDRESS(F32Ptr, out_)                            \
  UINT(tokens)                                     \
  UINT(rows)                                       \
  UINT(dim)

// Shared by matmul.comp and matmul_rb.comp, which read the weights b through different pointer types
// (each defines MatmulWeightPtr before including this file).
#define LAGVK_PUSH_MATMUL(ADDRESS, UINT, FLOAT) \
  ADDRESS(F32Ptr, a)                            \
  ADDRESS(MatmulWeightPtr, b)                   \
  ADDRESS(F32Ptr, c)                            \
  UINT(M)                                       \
  UINT(N)                                       \
  UINT(K)                                       \
  UINT(a_stride)                                \
  UINT(c_stride)

// norm, eps: the RMS norm's weight (K floats) and epsilon when the NORM constant applies one to x first.
#define LAGVK_PUSH_MATVEC(ADDRESS, UINT, FLOAT) \
  ADDRESS(ChunkPtr, w)                          \
  ADDRESS(F32Ptr, x)                            \
  ADDRESS(F32Ptr, y)                            \
  ADDRESS(F32Ptr, norm)                         \
  UINT(N)                                       \
  UINT(K)                                       \
  FLOAT(eps)

#define LAGVK_PUSH_RMSNORM(ADDRESS, UINT, FLOAT) \
  ADDRESS(F32Ptr, x)                             \
  ADDRESS(F32Ptr, weight)                        \
  ADDRESS(F32Ptr, y)                             \
  UINT(rows)                                     \
  UINT(dim)                                      \
  FLOAT(eps)

// LayerNorm with a bias (BERT): y = (x - mean) / sqrt(var + eps) * weight + bias per row of dim floats.
#define LAGVK_PUSH_LAYERNORM(ADDRESS, UINT, FLOAT) \
  ADDRESS(F32Ptr, x)                               \
  ADDRESS(F32Ptr, weight)                          \
  ADDRESS(F32Ptr, bias)                            \
  ADDRESS(F32Ptr, y)                               \
  UINT(rows)                                       \
  UINT(dim)                                        \
  FLOAT(eps)

// factors: ignored unless has_factors; token_stride: floats between consecutive tokens.
#define LAGVK_PUSH_ROPE(ADDRESS, UINT, FLOAT) \
  ADDRESS(F32Ptr, x)                          \
  ADDRESS(I32Ptr, positions)                  \
  ADDRESS(F32Ptr, factors)                    \
  UINT(tokens)                                \
  UINT(heads)                                 \
  UINT(head_dim)                              \
  UINT(rot_dims)                              \
  UINT(token_stride)                          \
  UINT(mode)                                  \
  UINT(has_factors)                           \
  UINT(inverse)                               \
  FLOAT(freq_base)                            \
  FLOAT(freq_scale)

#define LAGVK_PUSH_SOFTMAX(ADDRESS, UINT, FLOAT) \
  ADDRESS(F32Ptr, x)                             \
  ADDRESS(F32Ptr, y)                             \
  UINT(rows)                                     \
  UINT(cols)                                     \
  FLOAT(scale)

#define LAGVK_PUSH_PROBE_FLOPS(ADDRESS, UINT, FLOAT) \
  ADDRESS(F32Ptr, out_)                              \
  UINT(iterations)

#ifndef __cplusplus
#define LAGVK_GLSL_ADDRESS(type, name) type name;
#define LAGVK_GLSL_UINT(name) uint name;
#define LAGVK_GLSL_FLOAT(name) float name;
/// The kernel's push-constant block, `p`, with the members of LAYOUT.
#define LAGVK_PUSH_CONSTANTS(LAYOUT) \
  layout(push_constant) uniform Push{LAYOUT(LAGVK_GLSL_ADDRESS, LAGVK_GLSL_UINT, LAGVK_GLSL_FLOAT)} p;
#endif
