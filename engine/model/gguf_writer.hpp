#pragma once
// Builds GGUF v3 files: metadata in insertion order, tensor infos, then the tensor data, each tensor
// padded to the alignment (general.alignment when set, else 32).
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/model/gguf_value.hpp"
#include "engine/model/tensor_type.hpp"

namespace lagvk {

class GgufWriter {
 public:
  /// Sets a metadata value (replacing an earlier one with the same key, keeping its position).
  void set(const std::string& key, GgufValue value);
  void set_u32(const std::string& key, std::uint32_t v) { set(key, GgufValue::u32(v)); }
  void set_i32(const std::string& key, std::int32_t v) { set(key, GgufValue::i32(v)); }
  void set_f32(const std::string& key, float v) { set(key, GgufValue::f32(v)); }
  void set_bool(const std::string& key, bool v) { set(key, GgufValue::boolean(v)); }
  void set_string(const std::string& key, std::string v) { set(key, GgufValue::string(std::move(v))); }
  void set_string_array(const std::string& key, std::span<const std::string> values);
  void set_f32_array(const std::string& key, std::span<const float> values);
  void set_i32_array(const std::string& key, std::span<const std::int32_t> values);
  /// Removes a metadata key (nothing when absent).
  void erase(const std::string& key);

  /// Adds a tensor; dims are ne (dims[0] = row length). data must hold exactly the tensor's bytes.
  void add_tensor(const std::string& name, std::vector<std::uint64_t> dims, GgmlType type,
                  std::vector<std::uint8_t> data);

  /// Adds a tensor whose bytes `produce` makes while the file is written (once, in file order), so that
  /// a whole model never has to be held in memory; it must return exactly the tensor's bytes.
  void add_tensor_producer(const std::string& name, std::vector<std::uint64_t> dims, GgmlType type,
                           std::function<std::vector<std::uint8_t>()> produce);

  /// The complete file image.
  [[nodiscard]] std::vector<std::uint8_t> to_bytes() const;
  /// Writes the file (through a temporary file renamed into place, so a failure leaves no half file).
  void write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    std::vector<std::uint64_t> dims;
    GgmlType type;
    std::vector<std::uint8_t> data;  ///< empty for a produced tensor
    std::uint64_t size = 0;          ///< bytes
    std::function<std::vector<std::uint8_t>()> produce;
  };
  /// The bytes a tensor of this shape and type takes; fails naming the tensor when the row length does
  /// not fit the type's blocks or the shape is not 1 to 4 dimensions.
  [[nodiscard]] static std::uint64_t tensor_bytes(const std::string& name,
                                                  const std::vector<std::uint64_t>& dims, GgmlType type);
  [[nodiscard]] std::uint32_t alignment() const;
  /// Header, metadata and tensor infos, padded to where the tensor data starts.
  [[nodiscard]] std::vector<std::uint8_t> header_bytes() const;
  /// The whole file, piece by piece.
  void emit(const std::function<void(std::span<const std::uint8_t>)>& sink) const;

  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<Tensor> tensors_;
  /// The tensors' names, so that adding one is constant time (a linear search made writing a model of
  /// n tensors O(n^2), which dominated make-model with many layers).
  std::unordered_set<std::string> tensor_names_;
};

}  // namespace lagvk
