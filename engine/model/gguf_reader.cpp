#include "engine/model/gguf_reader.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include "engine/core/error.hpp"

namespace lagvk {
namespace {

// Arrays may nest, but no real file nests more than once; a bound keeps recursion finite on bad input.
constexpr int kMaxArrayDepth = 8;
// Counts in the file only bound what is read, never what is reserved up front beyond this, so that a
// damaged count costs memory only for values that are really there.
constexpr std::uint64_t kMaxReserve = 1 << 16;
// Each parsed value takes ~48 bytes of memory for as little as 1 byte of file; the largest real
// metadata (vocabularies with merges) holds about a million values. A budget keeps a damaged count in
// a multi-gigabyte file from turning tensor data into hundreds of gigabytes of values.
constexpr std::uint64_t kMaxMetadataValues = 8u << 20;

/// Bounds-checked little-endian reads over the file image. Every failure names the file and offset.
class Cursor {
 public:
  Cursor(std::span<const std::uint8_t> bytes, const std::string& label) : bytes_(bytes), label_(label) {}

  [[nodiscard]] std::size_t pos() const { return pos_; }
  [[nodiscard]] std::size_t remaining() const { return bytes_.size() - pos_; }

  template <typename T>
  [[nodiscard]] T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  [[nodiscard]] std::string read_string(const char* what) {
    const auto n = read<std::uint64_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), std::size_t(n));
    pos_ += std::size_t(n);
    return s;
  }

  void need(std::uint64_t n, const char* what) const {
    if (n > remaining())
      fail(Errc::bad_model_file,
           "'{}' is truncated or corrupt: {} at byte {} needs {} bytes but only {} remain", label_, what,
           pos_, n, remaining());
  }

  [[noreturn]] void corrupt(const std::string& msg) const {
    fail(Errc::bad_model_file, "'{}' is not a valid GGUF file: {} (at byte {})", label_, msg, pos_);
  }

 private:
  std::span<const std::uint8_t> bytes_;
  const std::string& label_;
  std::size_t pos_ = 0;
};

/// The fewest bytes one value of the type occupies; used to reject absurd array counts up front.
std::uint64_t min_value_bytes(GgufValueType t) {
  switch (t) {
    case GgufValueType::u8:
    case GgufValueType::i8:
    case GgufValueType::boolean:
      return 1;
    case GgufValueType::u16:
    case GgufValueType::i16:
      return 2;
    case GgufValueType::u32:
    case GgufValueType::i32:
    case GgufValueType::f32:
      return 4;
    case GgufValueType::string:  // u64 length
    case GgufValueType::u64:
    case GgufValueType::i64:
    case GgufValueType::f64:
      return 8;
    case GgufValueType::array:  // u32 type + u64 count
      return 12;
  }
  return 1;
}

GgufValueType read_value_type(Cursor& c, const char* what) {
  const auto t = c.read<std::uint32_t>(what);
  if (t > static_cast<std::uint32_t>(GgufValueType::f64))
    c.corrupt(fmt::format("unknown metadata value type {} for {}", t, what));
  return static_cast<GgufValueType>(t);
}

GgufValue read_value(Cursor& c, GgufValueType type, int depth, std::uint64_t& budget) {
  if (budget == 0) c.corrupt(fmt::format("the metadata holds more than {} values", kMaxMetadataValues));
  --budget;
  switch (type) {
    case GgufValueType::u8:
      return GgufValue::u8(c.read<std::uint8_t>("u8 value"));
    case GgufValueType::i8:
      return GgufValue::i8(c.read<std::int8_t>("i8 value"));
    case GgufValueType::u16:
      return GgufValue::u16(c.read<std::uint16_t>("u16 value"));
    case GgufValueType::i16:
      return GgufValue::i16(c.read<std::int16_t>("i16 value"));
    case GgufValueType::u32:
      return GgufValue::u32(c.read<std::uint32_t>("u32 value"));
    case GgufValueType::i32:
      return GgufValue::i32(c.read<std::int32_t>("i32 value"));
    case GgufValueType::f32:
      return GgufValue::f32(c.read<float>("f32 value"));
    case GgufValueType::u64:
      return GgufValue::u64(c.read<std::uint64_t>("u64 value"));
    case GgufValueType::i64:
      return GgufValue::i64(c.read<std::int64_t>("i64 value"));
    case GgufValueType::f64:
      return GgufValue::f64(c.read<double>("f64 value"));
    case GgufValueType::boolean: {
      const auto b = c.read<std::uint8_t>("bool value");
      if (b > 1) c.corrupt(fmt::format("bool value {} is neither 0 nor 1", b));
      return GgufValue::boolean(b != 0);
    }
    case GgufValueType::string:
      return GgufValue::string(c.read_string("string value"));
    case GgufValueType::array: {
      if (depth >= kMaxArrayDepth) c.corrupt("arrays nested too deeply");
      const auto elem = read_value_type(c, "array element type");
      const auto n = c.read<std::uint64_t>("array length");
      if (n > c.remaining() / min_value_bytes(elem))
        c.corrupt(fmt::format("array of {} {} values cannot fit in the {} bytes left", n,
                              gguf_value_type_name(elem), c.remaining()));
      std::vector<GgufValue> items;
      items.reserve(std::size_t(std::min(n, kMaxReserve)));
      for (std::uint64_t i = 0; i < n; ++i) items.push_back(read_value(c, elem, depth + 1, budget));
      return GgufValue::array(elem, std::move(items));
    }
  }
  c.corrupt("unknown value type");
}

std::string describe(const GgufValue& v) {
  if (v.type == GgufValueType::array)
    return fmt::format("an array of {}", gguf_value_type_name(std::get<GgufArray>(v.data).element_type));
  return fmt::format("a {}", gguf_value_type_name(v.type));
}

template <typename T>
T integer_as(const GgufValue& v, std::string_view key, const std::string& file) {
  if (const auto* u = std::get_if<std::uint64_t>(&v.data)) {
    if (*u <= std::uint64_t(std::numeric_limits<T>::max())) return static_cast<T>(*u);
  } else if (const auto* i = std::get_if<std::int64_t>(&v.data)) {
    if (*i >= std::int64_t(std::numeric_limits<T>::min()) &&
        (*i < 0 || std::uint64_t(*i) <= std::uint64_t(std::numeric_limits<T>::max())))
      return static_cast<T>(*i);
  } else {
    fail(Errc::bad_model_file, "'{}': metadata key '{}' should be an integer but is {}", file, key,
         describe(v));
  }
  fail(Errc::bad_model_file, "'{}': metadata key '{}' = {} is out of range", file, key,
       v.to_display_string());
}

float real_as_float(const GgufValue& v, std::string_view key, const std::string& file) {
  if (const auto* d = std::get_if<double>(&v.data)) return float(*d);
  fail(Errc::bad_model_file, "'{}': metadata key '{}' should be a number (f32) but is {}", file, key,
       describe(v));
}

const GgufArray& as_array(const GgufValue& v, std::string_view key, const std::string& file) {
  if (const auto* a = std::get_if<GgufArray>(&v.data)) return *a;
  fail(Errc::bad_model_file, "'{}': metadata key '{}' should be an array but is {}", file, key, describe(v));
}

}  // namespace

GgufFile GgufFile::open(const std::string& path, GgufOpenMode mode) {
  GgufFile f;
  f.label_ = path;
  f.mode_ = mode;
  f.mapping_ = std::make_unique<MappedFile>(path);
  f.bytes_ = f.mapping_->bytes();
  f.parse();
  return f;
}

GgufFile GgufFile::from_bytes(std::vector<std::uint8_t> bytes, std::string label) {
  GgufFile f;
  f.label_ = std::move(label);
  f.owned_ = std::move(bytes);
  f.bytes_ = f.owned_;
  f.parse();
  return f;
}

void GgufFile::parse() {
  Cursor c(bytes_, label_);
  if (bytes_.size() < 4)
    fail(Errc::bad_model_file, "'{}' is not a GGUF file: it has only {} bytes", label_, bytes_.size());
  const auto magic = c.read<std::uint32_t>("magic");
  if (magic != kGgufMagic)
    fail(Errc::bad_model_file,
         "'{}' is not a GGUF file (it does not start with \"GGUF\"); convert the model with llama.cpp's "
         "convert_hf_to_gguf.py",
         label_);
  version_ = c.read<std::uint32_t>("version");
  if (version_ == 1 || version_ == 2)
    fail(Errc::unsupported_model,
         "'{}' is GGUF version {}, which lagvk does not read; re-convert it with a current llama.cpp "
         "(GGUF version 3)",
         label_, version_);
  if (version_ != kGgufVersion)
    fail(Errc::unsupported_model, "'{}' has unknown GGUF version {} (lagvk reads version 3)", label_,
         version_);

  const auto n_tensors = c.read<std::uint64_t>("tensor count");
  const auto n_kv = c.read<std::uint64_t>("metadata count");
  // Each metadata entry takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least
  // 8 + 4 + 4 + 8 bytes. Counts that cannot fit are rejected before anything is allocated.
  // A file cut short (a partial download or copy) is by far the likeliest cause; say so.
  if (n_kv > c.remaining() / 13 || n_tensors > c.remaining() / 24)
    fail(Errc::bad_model_file,
         "'{}' is truncated (it ends at byte {}) or corrupt: its header's metadata count {} and tensor count "
         "{} "
         "cannot fit in the {} bytes after the header; download or convert it again",
         label_, bytes_.size(), n_kv, n_tensors, c.remaining());

  metadata_.reserve(std::size_t(std::min(n_kv, kMaxReserve)));
  std::uint64_t budget = kMaxMetadataValues;
  for (std::uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.read_string("metadata key");
    const auto type = read_value_type(c, "metadata value type");
    GgufValue value = read_value(c, type, 0, budget);
    if (metadata_index_.count(key)) c.corrupt(fmt::format("metadata key '{}' appears twice", key));
    metadata_index_.emplace(key, metadata_.size());
    metadata_.emplace_back(std::move(key), std::move(value));
  }

  if (const auto* a = find("general.alignment")) {
    if (a->type != GgufValueType::u32)
      fail(Errc::bad_model_file, "'{}': general.alignment must be a u32", label_);
    const auto al = std::get<std::uint64_t>(a->data);
    if (al == 0 || (al & (al - 1)) != 0)
      fail(Errc::bad_model_file, "'{}': general.alignment = {} is not a power of two", label_, al);
    alignment_ = std::uint32_t(al);
  }

  tensors_.reserve(std::size_t(std::min(n_tensors, kMaxReserve)));
  std::set<std::string, std::less<>> names;  // of every tensor, foreign ones included
  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = c.read_string("tensor name");
    const auto n_dims = c.read<std::uint32_t>("tensor dimension count");
    if (n_dims == 0 || n_dims > kGgufMaxDims)
      c.corrupt(fmt::format("tensor '{}' has {} dimensions (1 to {} allowed)", t.name, n_dims, kGgufMaxDims));
    t.n_elements = 1;
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      const auto ne = c.read<std::uint64_t>("tensor dimension");
      if (ne == 0 || ne > (std::uint64_t(1) << 40) || t.n_elements > (std::uint64_t(1) << 62) / ne)
        c.corrupt(fmt::format("tensor '{}' has an impossible dimension {}", t.name, ne));
      t.dims.push_back(ne);
      t.n_elements *= ne;
    }
    const auto type_id = c.read<std::uint32_t>("tensor type");
    const auto info = ggml_type_info(type_id);
    if (!info && mode_ == GgufOpenMode::strict)
      fail(Errc::unsupported_model,
           "'{}': tensor '{}' has type {}, which lagvk does not support (supported: {}); re-quantize the "
           "model to one of these",
           label_, t.name, ggml_type_name(type_id), type_names(TypeList::readable));
    const auto layout = ggml_block_layout(type_id);
    if (layout && t.dims[0] % layout->block_size != 0)
      c.corrupt(fmt::format("tensor '{}' of type {} has rows of {} elements, not a multiple of {}", t.name,
                            ggml_type_name(type_id), t.dims[0], layout->block_size));
    t.n_bytes = layout ? t.n_elements / layout->block_size * layout->bytes_per_block : 0;
    t.offset = c.read<std::uint64_t>("tensor offset");
    if (t.offset % alignment_ != 0)
      c.corrupt(fmt::format("tensor '{}' offset {} is not a multiple of the alignment {}", t.name, t.offset,
                            alignment_));
    if (!names.insert(t.name).second) c.corrupt(fmt::format("tensor '{}' appears twice", t.name));
    if (!info) {
      foreign_tensors_.push_back(
          {std::move(t.name), std::move(t.dims), type_id, t.offset, t.n_elements, t.n_bytes, std::size_t(i)});
      continue;
    }
    t.type = info->type;
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }
  data_offset_ = (std::uint64_t(c.pos()) + alignment_ - 1) / alignment_ * alignment_;
  check_tensor_data();
}

void GgufFile::data_problem(std::string message) {
  if (mode_ == GgufOpenMode::strict) fail(Errc::bad_model_file, "{}", message);
  if (damage_.empty()) damage_ = std::move(message);
}

void GgufFile::check_tensor_data() {
  const bool any_tensor = !tensors_.empty() || !foreign_tensors_.empty();
  if (any_tensor && data_offset_ > bytes_.size())
    data_problem(fmt::format(
        "'{}' is truncated: the tensor data section should start at byte {} but the file has {} bytes",
        label_, data_offset_, bytes_.size()));
  const std::uint64_t data_size = data_offset_ <= bytes_.size() ? bytes_.size() - data_offset_ : 0;
  auto check = [&](const std::string& name, std::uint64_t offset, std::uint64_t n_bytes) {
    if (offset > data_size || n_bytes > data_size - offset)
      data_problem(
          fmt::format("'{}' is truncated or corrupt: tensor '{}' ({} bytes at data offset {}) lies "
                      "outside the {} bytes of tensor data",
                      label_, name, n_bytes, offset, data_size));
  };
  for (const auto& t : tensors_) check(t.name, t.offset, t.n_bytes);
  for (const auto& t : foreign_tensors_) check(t.name, t.offset, t.n_bytes);
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufValue& GgufFile::get(std::string_view key) const {
  if (const auto* v = find(key)) return *v;
  fail(Errc::bad_model_file, "'{}' lacks the metadata key '{}'", label_, key);
}

std::uint32_t GgufFile::get_u32(std::string_view key) const {
  return integer_as<std::uint32_t>(get(key), key, label_);
}
std::uint64_t GgufFile::get_u64(std::string_view key) const {
  return integer_as<std::uint64_t>(get(key), key, label_);
}
std::int32_t GgufFile::get_i32(std::string_view key) const {
  return integer_as<std::int32_t>(get(key), key, label_);
}
float GgufFile::get_f32(std::string_view key) const {
  return real_as_float(get(key), key, label_);
}
bool GgufFile::get_bool(std::string_view key) const {
  const auto& v = get(key);
  if (const auto* b = std::get_if<bool>(&v.data)) return *b;
  fail(Errc::bad_model_file, "'{}': metadata key '{}' should be a bool but is {}", label_, key, describe(v));
}
const std::string& GgufFile::get_string(std::string_view key) const {
  const auto& v = get(key);
  if (const auto* s = std::get_if<std::string>(&v.data)) return *s;
  fail(Errc::bad_model_file, "'{}': metadata key '{}' should be a string but is {}", label_, key,
       describe(v));
}

std::optional<std::uint32_t> GgufFile::get_u32_opt(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_u32(key);
}
std::optional<float> GgufFile::get_f32_opt(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_f32(key);
}
std::optional<bool> GgufFile::get_bool_opt(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_bool(key);
}
std::optional<std::string> GgufFile::get_string_opt(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return get_string(key);
}

std::vector<std::string> GgufFile::get_string_array(std::string_view key) const {
  const auto& a = as_array(get(key), key, label_);
  if (a.element_type != GgufValueType::string)
    fail(Errc::bad_model_file, "'{}': metadata key '{}' should be an array of strings", label_, key);
  std::vector<std::string> out;
  out.reserve(a.items.size());
  for (const auto& v : a.items) out.push_back(std::get<std::string>(v.data));
  return out;
}

std::vector<float> GgufFile::get_f32_array(std::string_view key) const {
  const auto& a = as_array(get(key), key, label_);
  std::vector<float> out;
  out.reserve(a.items.size());
  for (const auto& v : a.items) out.push_back(real_as_float(v, key, label_));
  return out;
}

std::vector<std::int32_t> GgufFile::get_i32_array(std::string_view key) const {
  const auto& a = as_array(get(key), key, label_);
  std::vector<std::int32_t> out;
  out.reserve(a.items.size());
  for (const auto& v : a.items) out.push_back(integer_as<std::int32_t>(v, key, label_));
  return out;
}

std::size_t GgufFile::get_array_size(std::string_view key) const {
  return as_array(get(key), key, label_).items.size();
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const std::uint8_t> GgufFile::tensor_data(const GgufTensorInfo& info) const {
  // Bounds were checked in parse(); info must come from this file. A file opened to be described may
  // hold tensors the truncated data no longer covers.
  if (!damage_.empty() && (data_offset_ > bytes_.size() || info.offset > bytes_.size() - data_offset_ ||
                           info.n_bytes > bytes_.size() - data_offset_ - info.offset))
    fail(Errc::bad_model_file, "{}", damage_);
  return bytes_.subspan(std::size_t(data_offset_ + info.offset), std::size_t(info.n_bytes));
}

}  // namespace lagvk
