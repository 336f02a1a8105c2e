// Every kernel's push-constant block, as compiled into the embedded SPIR-V, against the C++ struct its
// wrapper fills (engine/ops/push_constants.hpp): the same members in the same order, each with the same
// name, offset and size. Both sides come from shaders/common/push_constants.h; this catches a side that
// stops using it (a block written out again in a .comp, a member added under #ifdef __cplusplus) and any
// layout rule on which GLSL's std430 and the C++ ABI disagree.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <span>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/model/tensor_type.hpp"
#include "engine/ops/push_constants.hpp"
#include "lagvk/shader_registry.hpp"

namespace lagvk::test {
namespace {

// SPIR-V opcodes, decorations and storage classes read here (SPIR-V specification, section 3).
constexpr std::uint32_t kOpMemberName = 6, kOpTypeInt = 21, kOpTypeFloat = 22, kOpTypeStruct = 30,
                        kOpTypePointer = 32, kOpVariable = 59, kOpMemberDecorate = 72;
constexpr std::uint32_t kDecorationOffset = 35;
constexpr std::uint32_t kStoragePushConstant = 9, kStoragePhysicalStorageBuffer = 5349;

struct BlockMember {
  std::string name, kind;  ///< kind: "address", "uint", "float", or "other"
  std::size_t offset = 0, size = 0;
};

/// A literal string: UTF-8 bytes packed little-endian into words, nul-terminated.
std::string literal_string(std::span<const std::uint32_t> words) {
  std::string out;
  for (std::uint32_t w : words)
    for (int byte = 0; byte < 4; ++byte) {
      const char c = char((w >> (8 * byte)) & 0xff);
      if (c == '\0') return out;
      out += c;
    }
  return out;
}

/// The members of the shader's push-constant block (empty when it has none). Kinds and sizes are those
/// of the 32-bit scalars and buffer-reference pointers push constants hold here; any other type reads
/// as kind "other", size 0.
std::vector<BlockMember> push_constant_block(std::span<const std::uint32_t> spirv) {
  std::map<std::uint32_t, std::pair<std::string, std::size_t>> scalars;       // type id -> kind, bytes
  std::map<std::uint32_t, std::pair<std::uint32_t, std::uint32_t>> pointers;  // id -> (storage, pointee)
  std::map<std::uint32_t, std::vector<std::uint32_t>> structs;                // id -> member type ids
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::string> names;
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::size_t> offsets;
  std::uint32_t block_pointer_type = 0;
  for (std::size_t i = 5; i < spirv.size();) {
    const std::uint32_t opcode = spirv[i] & 0xffff, count = spirv[i] >> 16;
    if (count == 0 || i + count > spirv.size()) {
      ADD_FAILURE() << "malformed SPIR-V at word " << i;
      return {};
    }
    const auto op = spirv.subspan(i + 1, count - 1);
    if (opcode == kOpMemberName) names[{op[0], op[1]}] = literal_string(op.subspan(2));
    if (opcode == kOpMemberDecorate && op[2] == kDecorationOffset) offsets[{op[0], op[1]}] = op[3];
    if (opcode == kOpTypeInt) scalars[op[0]] = {op[2] ? "int" : "uint", op[1] / 8};
    if (opcode == kOpTypeFloat) scalars[op[0]] = {"float", op[1] / 8};
    if (opcode == kOpTypePointer) pointers[op[0]] = {op[1], op[2]};
    if (opcode == kOpTypeStruct) structs[op[0]] = {op.begin() + 1, op.end()};
    if (opcode == kOpVariable && op[2] == kStoragePushConstant) block_pointer_type = op[0];
    i += count;
  }
  if (block_pointer_type == 0) return {};
  const std::uint32_t block = pointers.at(block_pointer_type).second;
  std::vector<BlockMember> out;
  const auto& types = structs.at(block);
  for (std::uint32_t m = 0; m < types.size(); ++m) {
    BlockMember member{names[{block, m}], "other", offsets[{block, m}], 0};
    if (scalars.contains(types[m])) std::tie(member.kind, member.size) = scalars.at(types[m]);
    if (pointers.contains(types[m]) && pointers.at(types[m]).first == kStoragePhysicalStorageBuffer)
      std::tie(member.kind, member.size) = std::pair<std::string, std::size_t>("address", 8);
    out.push_back(member);
  }
  return out;
}

struct Kernel {
  std::string variant;
  std::span<const ops::push::Member> members;
  std::size_t struct_bytes = 0, struct_align = 0;  ///< sizeof and alignof of the C++ struct
};

template <typename S>
Kernel kernel(std::string variant) {
  return {std::move(variant), ops::push::members<S>(), sizeof(S), alignof(S)};
}

std::vector<Kernel> every_kernel() {
  using namespace ops::push;
  std::vector<Kernel> out = {kernel<Rmsnorm>("rmsnorm"),
                             kernel<Rope>("rope"),
                             kernel<Softmax>("softmax"),
                             kernel<Elementwise>("add"),
                             kernel<Elementwise>("swiglu"),
                             kernel<Attention>("attention"),
                             kernel<KvStore>("kv_store"),
                             kernel<ProbeFlops>("probe_flops"),
                             kernel<KvTransfer>("kv_export"),
                             kernel<KvTransfer>("kv_import"),
                             kernel<Layernorm>("layernorm"),
                             kernel<Elementwise>("gelu"),
                             kernel<Attention>("attention_bidirectional"),
                             kernel<FlashAttention>("attention_flash"),
                             kernel<FlashAttention>("attention_flash_bidirectional"),
                             kernel<FlashAttention>("attention_rb"),
                             kernel<FlashAttention>("attention_rb_bidirectional"),
                             kernel<AttentionCombine>("attention_combine")};
  // Every format whose traits (engine/model/weight_types.def) promise GPU kernels: shaders.cmake must
  // have compiled each weight kernel for it.
  for (const GgmlTypeInfo& t : kGgmlTypes) {
    if (t.chunk_elements == 0) continue;
    const std::string f(t.lower_name);
    out.push_back(kernel<Matmul>("matmul_" + f));
    out.push_back(kernel<Matmul>("matmul_rb_" + f));
    out.push_back(kernel<Matmul>("matmul_rb_" + f + "_bound"));
    out.push_back(kernel<Matvec>("matvec_" + f));
    out.push_back(kernel<Matvec>("matvec_" + f + "_vec"));
    out.push_back(kernel<Matvec>("matvec_" + f + "_bound"));
    out.push_back(kernel<Embedding>("embedding_" + f));
  }
  return out;
}

TEST(PushConstants, EveryKernelsBlockMatchesItsCppStructMemberByMember) {
  for (const Kernel& kernel : every_kernel()) {
    SCOPED_TRACE(kernel.variant);
    const auto spirv = find_spirv(kernel.variant);
    ASSERT_FALSE(spirv.empty()) << "no embedded shader named " << kernel.variant;
    const std::vector<BlockMember> block = push_constant_block(spirv);
    ASSERT_EQ(block.size(), kernel.members.size()) << "members in the shader's block vs the C++ struct";
    for (std::size_t m = 0; m < block.size(); ++m) {
      const auto& cpp = kernel.members[m];
      EXPECT_EQ(block[m].name, cpp.name) << "member " << m;
      EXPECT_EQ(block[m].kind, cpp.kind) << "kind of " << cpp.name;
      EXPECT_EQ(block[m].offset, cpp.offset) << "offset of " << cpp.name;
      EXPECT_EQ(block[m].size, cpp.size) << "size of " << cpp.name;
    }
    // A member written into the C++ struct by hand (outside the shared layout) is in neither list above,
    // but it grows the struct past its listed members.
    const auto& last = kernel.members.back();
    const std::size_t end = last.offset + last.size;
    EXPECT_EQ(kernel.struct_bytes,
              (end + kernel.struct_align - 1) / kernel.struct_align * kernel.struct_align)
        << "the C++ struct holds more than the shared layout's members";
  }
}

TEST(PushConstants, EveryPipelineInTheSourcesUsesASharedStruct) {
  // The check above covers the structs of engine/ops/push_constants.hpp; a host file that fills a struct
  // of its own for a kernel (the benchmark's probe once did) escapes it. Any source that creates a
  // pipeline takes its push constants from ops::push and defines no push-constant struct of its own.
  namespace fs = std::filesystem;
  const fs::path root = LAGVK_SOURCE_DIR;
  const std::regex own_struct(R"(struct\s+\w*Push\w*\s*\{)");
  std::size_t files_with_pipelines = 0;
  for (const char* dir : {"engine", "bench", "tools", "api"})
    for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".cpp") continue;
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      const std::string source = text.str();
      if (source.find("pipeline({") == std::string::npos) continue;
      ++files_with_pipelines;
      const std::string name = fs::relative(entry.path(), root).string();
      EXPECT_FALSE(std::regex_search(source, own_struct))
          << name << " defines a push-constant struct of its own";
      EXPECT_NE(source.find("push::"), std::string::npos) << name << " creates a pipeline without ops::push";
    }
  EXPECT_GT(files_with_pipelines, 5u) << "the scan found too few kernel wrappers: has the layout changed?";
}

}  // namespace
}  // namespace lagvk::test
