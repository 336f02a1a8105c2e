#pragma once
// The kernels' push constants on the C++ side: one struct per layout of shaders/common/push_constants.h
// (the single definition, shared with the GLSL kernels), and each struct's members as data, which
// tests/test_push_constants.cpp compares with the blocks compiled into the SPIR-V.
#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "shaders/common/push_constants.h"

namespace lagvk::ops::push {

#define LAGVK_CXX_ADDRESS(type, name) VkDeviceAddress name;
#define LAGVK_CXX_UINT(name) std::uint32_t name;
#define LAGVK_CXX_FLOAT(name) float name;
#define LAGVK_CXX_PUSH_STRUCT(Name, LAYOUT)                    \
  struct Name {                                                \
    LAYOUT(LAGVK_CXX_ADDRESS, LAGVK_CXX_UINT, LAGVK_CXX_FLOAT) \
  };

LAGVK_CXX_PUSH_STRUCT(Attention, LAGVK_PUSH_ATTENTION)
LAGVK_CXX_PUSH_STRUCT(FlashAttention, LAGVK_PUSH_FLASH_ATTENTION)
LAGVK_CXX_PUSH_STRUCT(AttentionCombine, LAGVK_PUSH_ATTENTION_COMBINE)
LAGVK_CXX_PUSH_STRUCT(KvStore, LAGVK_PUSH_KV_STORE)
LAGVK_CXX_PUSH_STRUCT(KvTransfer, LAGVK_PUSH_KV_TRANSFER)
LAGVK_CXX_PUSH_STRUCT(Elementwise, LAGVK_PUSH_ELEMENTWISE)
LAGVK_CXX_PUSH_STRUCT(Embedding, LAGVK_PUSH_EMBEDDING)
LAGVK_CXX_PUSH_STRUCT(Matmul, LAGVK_PUSH_MATMUL)
LAGVK_CXX_PUSH_STRUCT(Matvec, LAGVK_PUSH_MATVEC)
LAGVK_CXX_PUSH_STRUCT(Rmsnorm, LAGVK_PUSH_RMSNORM)
LAGVK_CXX_PUSH_STRUCT(Layernorm, LAGVK_PUSH_LAYERNORM)
LAGVK_CXX_PUSH_STRUCT(Rope, LAGVK_PUSH_ROPE)
LAGVK_CXX_PUSH_STRUCT(Softmax, LAGVK_PUSH_SOFTMAX)
LAGVK_CXX_PUSH_STRUCT(ProbeFlops, LAGVK_PUSH_PROBE_FLOPS)

/// One member of a push-constant struct as the C++ compiler laid it out.
struct Member {
  std::string_view name;
  std::string_view kind;  ///< "address", "uint" or "float"
  std::size_t offset = 0, size = 0;
};

#define LAGVK_CXX_MEMBER(kind, name) Member{#name, kind, offsetof(S, name), sizeof(S::name)},
#define LAGVK_CXX_ADDRESS_MEMBER(type, name) LAGVK_CXX_MEMBER("address", name)
#define LAGVK_CXX_UINT_MEMBER(name) LAGVK_CXX_MEMBER("uint", name)
#define LAGVK_CXX_FLOAT_MEMBER(name) LAGVK_CXX_MEMBER("float", name)
#define LAGVK_CXX_PUSH_MEMBERS(Name, LAYOUT)                                              \
  template <>                                                                             \
  inline std::span<const Member> members<Name>() {                                        \
    using S = Name;                                                                       \
    static const Member list[] = {                                                        \
        LAYOUT(LAGVK_CXX_ADDRESS_MEMBER, LAGVK_CXX_UINT_MEMBER, LAGVK_CXX_FLOAT_MEMBER)}; \
    return list;                                                                          \
  }

/// The members of push-constant struct S, in declaration order.
template <typename S>
std::span<const Member> members();

LAGVK_CXX_PUSH_MEMBERS(Attention, LAGVK_PUSH_ATTENTION)
LAGVK_CXX_PUSH_MEMBERS(FlashAttention, LAGVK_PUSH_FLASH_ATTENTION)
LAGVK_CXX_PUSH_MEMBERS(AttentionCombine, LAGVK_PUSH_ATTENTION_COMBINE)
LAGVK_CXX_PUSH_MEMBERS(KvStore, LAGVK_PUSH_KV_STORE)
LAGVK_CXX_PUSH_MEMBERS(KvTransfer, LAGVK_PUSH_KV_TRANSFER)
LAGVK_CXX_PUSH_MEMBERS(Elementwise, LAGVK_PUSH_ELEMENTWISE)
LAGVK_CXX_PUSH_MEMBERS(Embedding, LAGVK_PUSH_EMBEDDING)
LAGVK_CXX_PUSH_MEMBERS(Matmul, LAGVK_PUSH_MATMUL)
LAGVK_CXX_PUSH_MEMBERS(Matvec, LAGVK_PUSH_MATVEC)
LAGVK_CXX_PUSH_MEMBERS(Rmsnorm, LAGVK_PUSH_RMSNORM)
LAGVK_CXX_PUSH_MEMBERS(Layernorm, LAGVK_PUSH_LAYERNORM)
LAGVK_CXX_PUSH_MEMBERS(Rope, LAGVK_PUSH_ROPE)
LAGVK_CXX_PUSH_MEMBERS(Softmax, LAGVK_PUSH_SOFTMAX)
LAGVK_CXX_PUSH_MEMBERS(ProbeFlops, LAGVK_PUSH_PROBE_FLOPS)

#undef LAGVK_CXX_PUSH_MEMBERS
#undef LAGVK_CXX_FLOAT_MEMBER
#undef LAGVK_CXX_UINT_MEMBER
#undef LAGVK_CXX_ADDRESS_MEMBER
#undef LAGVK_CXX_MEMBER
#undef LAGVK_CXX_PUSH_STRUCT
#undef LAGVK_CXX_FLOAT
#undef LAGVK_CXX_UINT
#undef LAGVK_CXX_ADDRESS

}  // namespace lagvk::ops::push
