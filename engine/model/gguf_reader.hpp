#pragma once
// Reader of GGUF v3 files (the llama.cpp model format): header, metadata, tensor infos, and the
// aligned data section, read in place from a memory mapping. Every length and offset in the file is
// checked against the file size before it is used, so a damaged file gives lagvk::Error, never a crash.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model/gguf_value.hpp"
#include "engine/model/mapped_file.hpp"
#include "engine/model/tensor_type.hpp"

namespace lagvk {

inline constexpr std::uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as little-endian u32
inline constexpr std::uint32_t kGgufVersion = 3;
inline constexpr std::uint32_t kGgufDefaultAlignment = 32;
inline constexpr std::size_t kGgufMaxDims = 4;

struct GgufTensorInfo {
  std::string name;
  std::vector<std::uint64_t> dims;  ///< ne: dims[0] is the row length (innermost), dims[1] the rows
  GgmlType type = GgmlType::f32;
  std::uint64_t offset = 0;      ///< from the start of the data section
  std::uint64_t n_elements = 0;  ///< product of dims
  std::uint64_t n_bytes = 0;     ///< storage size in the file
};

/// A tensor whose ggml type lagvk cannot decode (IQ2_XXS, IQ3_S, ...), kept by a file opened with
/// GgufOpenMode::describe so that `lagvk model-info` can list it; never in tensors().
struct GgufForeignTensor {
  std::string name;
  std::vector<std::uint64_t> dims;
  std::uint32_t type_id = 0;     ///< ggml's id; ggml_type_name(type_id) names it
  std::uint64_t offset = 0;      ///< from the start of the data section
  std::uint64_t n_elements = 0;  ///< product of dims
  std::uint64_t n_bytes = 0;     ///< storage size, 0 when the type's block layout is not known
  std::size_t position = 0;      ///< index among all the file's tensors, in file order
};

enum class GgufOpenMode {
  strict,   ///< any tensor lagvk cannot decode, or lying outside the file, fails the open
  describe  ///< such tensors are kept aside (foreign_tensors(), damage()) for a description of the file
};

class GgufFile {
 public:
  /// Maps and parses a file. Throws lagvk::Error with the path and the problem. In describe mode the
  /// header, metadata and tensor infos must still parse, but tensors of types lagvk cannot decode and
  /// tensor data cut off by a truncated file are reported by foreign_tensors() and damage() instead.
  [[nodiscard]] static GgufFile open(const std::string& path, GgufOpenMode mode = GgufOpenMode::strict);
  /// Parses an in-memory image (tests, files written by GgufWriter). `label` names it in errors.
  [[nodiscard]] static GgufFile from_bytes(std::vector<std::uint8_t> bytes, std::string label = "<memory>");

  GgufFile(GgufFile&&) noexcept = default;
  GgufFile& operator=(GgufFile&&) noexcept = default;
  GgufFile(const GgufFile&) = delete;  // bytes_ views storage owned by this object
  GgufFile& operator=(const GgufFile&) = delete;
  ~GgufFile() = default;

  [[nodiscard]] const std::string& path() const { return label_; }
  [[nodiscard]] std::uint32_t version() const { return version_; }
  [[nodiscard]] std::uint32_t alignment() const { return alignment_; }
  [[nodiscard]] std::size_t file_size() const { return bytes_.size(); }
  [[nodiscard]] std::uint64_t data_offset() const { return data_offset_; }

  // Metadata, in file order.
  [[nodiscard]] const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  [[nodiscard]] bool has(std::string_view key) const { return find(key) != nullptr; }
  [[nodiscard]] const GgufValue* find(std::string_view key) const;
  /// The value of key; fails naming the key and the file when it is absent.
  [[nodiscard]] const GgufValue& get(std::string_view key) const;

  // Typed accessors. Integers of any width are accepted when the value fits the requested type;
  // f32/f64 are interchangeable. A wrong type or missing key fails with the key's name.
  [[nodiscard]] std::uint32_t get_u32(std::string_view key) const;
  [[nodiscard]] std::uint64_t get_u64(std::string_view key) const;
  [[nodiscard]] std::int32_t get_i32(std::string_view key) const;
  [[nodiscard]] float get_f32(std::string_view key) const;
  [[nodiscard]] bool get_bool(std::string_view key) const;
  [[nodiscard]] const std::string& get_string(std::string_view key) const;
  [[nodiscard]] std::optional<std::uint32_t> get_u32_opt(std::string_view key) const;
  [[nodiscard]] std::optional<float> get_f32_opt(std::string_view key) const;
  [[nodiscard]] std::optional<bool> get_bool_opt(std::string_view key) const;
  [[nodiscard]] std::optional<std::string> get_string_opt(std::string_view key) const;
  [[nodiscard]] std::vector<std::string> get_string_array(std::string_view key) const;
  [[nodiscard]] std::vector<float> get_f32_array(std::string_view key) const;
  [[nodiscard]] std::vector<std::int32_t> get_i32_array(std::string_view key) const;
  /// Element count of an array value.
  [[nodiscard]] std::size_t get_array_size(std::string_view key) const;

  // Tensors, in file order.
  [[nodiscard]] const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  [[nodiscard]] const GgufTensorInfo* find_tensor(std::string_view name) const;
  /// Tensors of types lagvk cannot decode (describe mode only; empty otherwise).
  [[nodiscard]] const std::vector<GgufForeignTensor>& foreign_tensors() const { return foreign_tensors_; }
  /// Describe mode: why the tensor data cannot be read (a truncated file), or "" when it can.
  [[nodiscard]] const std::string& damage() const { return damage_; }
  /// The stored bytes of a tensor (inside the mapping; valid while this GgufFile lives).
  [[nodiscard]] std::span<const std::uint8_t> tensor_data(const GgufTensorInfo& info) const;

 private:
  GgufFile() = default;
  void parse();
  void check_tensor_data();
  /// A problem with the tensor data: thrown in strict mode, recorded (the first one) in describe mode.
  void data_problem(std::string message);

  std::string label_;
  // Exactly one of these owns the bytes; bytes_ views them.
  std::unique_ptr<MappedFile> mapping_;
  std::vector<std::uint8_t> owned_;
  std::span<const std::uint8_t> bytes_;

  std::uint32_t version_ = 0;
  std::uint32_t alignment_ = kGgufDefaultAlignment;
  std::uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::map<std::string, std::size_t, std::less<>> metadata_index_;
  GgufOpenMode mode_ = GgufOpenMode::strict;
  std::vector<GgufTensorInfo> tensors_;
  std::vector<GgufForeignTensor> foreign_tensors_;
  std::string damage_;
  std::map<std::string, std::size_t, std::less<>> tensor_index_;
};

}  // namespace lagvk
