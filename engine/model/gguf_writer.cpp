#include "engine/model/gguf_writer.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "engine/core/error.hpp"
#include "engine/model/gguf_reader.hpp"

namespace lagvk {
namespace {

class ByteSink {
 public:
  template <typename T>
  void put(T v) {
    const auto at = out_.size();
    out_.resize(at + sizeof(T));
    std::memcpy(out_.data() + at, &v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<std::uint64_t>(s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void put_bytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void pad_to(std::size_t alignment) {
    out_.resize((out_.size() + alignment - 1) / alignment * alignment, 0);
  }
  [[nodiscard]] std::size_t size() const { return out_.size(); }
  [[nodiscard]] std::vector<std::uint8_t> take() { return std::move(out_); }

 private:
  std::vector<std::uint8_t> out_;
};

void put_value(ByteSink& s, const GgufValue& v) {
  switch (v.type) {
    case GgufValueType::u8:
      return s.put(std::uint8_t(std::get<std::uint64_t>(v.data)));
    case GgufValueType::u16:
      return s.put(std::uint16_t(std::get<std::uint64_t>(v.data)));
    case GgufValueType::u32:
      return s.put(std::uint32_t(std::get<std::uint64_t>(v.data)));
    case GgufValueType::u64:
      return s.put(std::get<std::uint64_t>(v.data));
    case GgufValueType::i8:
      return s.put(std::int8_t(std::get<std::int64_t>(v.data)));
    case GgufValueType::i16:
      return s.put(std::int16_t(std::get<std::int64_t>(v.data)));
    case GgufValueType::i32:
      return s.put(std::int32_t(std::get<std::int64_t>(v.data)));
    case GgufValueType::i64:
      return s.put(std::get<std::int64_t>(v.data));
    case GgufValueType::f32:
      return s.put(float(std::get<double>(v.data)));
    case GgufValueType::f64:
      return s.put(std::get<double>(v.data));
    case GgufValueType::boolean:
      return s.put(std::uint8_t(std::get<bool>(v.data) ? 1 : 0));
    case GgufValueType::string:
      return s.put_string(std::get<std::string>(v.data));
    case GgufValueType::array: {
      const auto& a = std::get<GgufArray>(v.data);
      s.put(static_cast<std::uint32_t>(a.element_type));
      s.put<std::uint64_t>(a.items.size());
      for (const auto& item : a.items) {
        if (item.type != a.element_type)
          fail("internal: GGUF array of {} holds a {}", gguf_value_type_name(a.element_type),
               gguf_value_type_name(item.type));
        put_value(s, item);
      }
      return;
    }
  }
}

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue value) {
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::erase(const std::string& key) {
  std::erase_if(metadata_, [&](const auto& kv) { return kv.first == key; });
}

void GgufWriter::set_string_array(const std::string& key, std::span<const std::string> values) {
  std::vector<GgufValue> items;
  items.reserve(values.size());
  for (const auto& v : values) items.push_back(GgufValue::string(v));
  set(key, GgufValue::array(GgufValueType::string, std::move(items)));
}

void GgufWriter::set_f32_array(const std::string& key, std::span<const float> values) {
  std::vector<GgufValue> items;
  items.reserve(values.size());
  for (float v : values) items.push_back(GgufValue::f32(v));
  set(key, GgufValue::array(GgufValueType::f32, std::move(items)));
}

void GgufWriter::set_i32_array(const std::string& key, std::span<const std::int32_t> values) {
  std::vector<GgufValue> items;
  items.reserve(values.size());
  for (auto v : values) items.push_back(GgufValue::i32(v));
  set(key, GgufValue::array(GgufValueType::i32, std::move(items)));
}

std::uint64_t GgufWriter::tensor_bytes(const std::string& name, const std::vector<std::uint64_t>& dims,
                                       GgmlType type) {
  if (dims.empty() || dims.size() > kGgufMaxDims)
    fail("internal: tensor '{}' needs 1 to {} dimensions", name, kGgufMaxDims);
  std::uint64_t n = 1;
  for (auto d : dims) n *= d;
  const auto& info = type_info(type);
  if (dims[0] % info.block_size != 0)
    fail("internal: tensor '{}' has rows of {}, not a multiple of {}'s block", name, dims[0], info.name);
  return n / info.block_size * info.bytes_per_block;
}

void GgufWriter::add_tensor(const std::string& name, std::vector<std::uint64_t> dims, GgmlType type,
                            std::vector<std::uint8_t> data) {
  const std::uint64_t size = tensor_bytes(name, dims, type);
  if (data.size() != size)
    fail("internal: tensor '{}' data ({} bytes) does not match its shape and type {}", name, data.size(),
         type_info(type).name);
  if (!tensor_names_.insert(name).second) fail("internal: tensor '{}' added twice", name);
  tensors_.push_back({name, std::move(dims), type, std::move(data), size, nullptr});
}

void GgufWriter::add_tensor_producer(const std::string& name, std::vector<std::uint64_t> dims, GgmlType type,
                                     std::function<std::vector<std::uint8_t>()> produce) {
  const std::uint64_t size = tensor_bytes(name, dims, type);
  if (!tensor_names_.insert(name).second) fail("internal: tensor '{}' added twice", name);
  tensors_.push_back({name, std::move(dims), type, {}, size, std::move(produce)});
}

std::uint32_t GgufWriter::alignment() const {
  for (const auto& [k, v] : metadata_)
    if (k == "general.alignment") return std::uint32_t(std::get<std::uint64_t>(v.data));
  return kGgufDefaultAlignment;
}

std::vector<std::uint8_t> GgufWriter::header_bytes() const {
  const std::size_t align = alignment();
  ByteSink s;
  s.put(kGgufMagic);
  s.put(kGgufVersion);
  s.put<std::uint64_t>(tensors_.size());
  s.put<std::uint64_t>(metadata_.size());
  for (const auto& [k, v] : metadata_) {
    s.put_string(k);
    s.put(static_cast<std::uint32_t>(v.type));
    put_value(s, v);
  }
  std::uint64_t offset = 0;
  for (const auto& t : tensors_) {
    s.put_string(t.name);
    s.put<std::uint32_t>(std::uint32_t(t.dims.size()));
    for (auto d : t.dims) s.put<std::uint64_t>(d);
    s.put(static_cast<std::uint32_t>(t.type));
    s.put<std::uint64_t>(offset);
    offset += (t.size + align - 1) / align * align;
  }
  s.pad_to(align);
  return s.take();
}

void GgufWriter::emit(const std::function<void(std::span<const std::uint8_t>)>& sink) const {
  const std::size_t align = alignment();
  sink(header_bytes());
  const std::vector<std::uint8_t> zeros(align, 0);
  for (const auto& t : tensors_) {
    if (t.produce) {
      const auto data = t.produce();
      if (data.size() != t.size)
        fail("internal: tensor '{}' was produced with {} bytes, not {}", t.name, data.size(), t.size);
      sink(data);
    } else {
      sink(t.data);
    }
    const std::size_t pad = std::size_t((align - t.size % align) % align);
    sink(std::span(zeros).first(pad));
  }
}

std::vector<std::uint8_t> GgufWriter::to_bytes() const {
  std::vector<std::uint8_t> out;
  emit([&](std::span<const std::uint8_t> b) { out.insert(out.end(), b.begin(), b.end()); });
  return out;
}

void GgufWriter::write(const std::string& path) const {
  // Streamed: the file image is never held in memory next to the tensors.
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail(Errc::io, "cannot create '{}': {}", tmp, std::strerror(errno));
  try {  // a failed write, or a producer failing part way, stops the file and removes it
    emit([&](std::span<const std::uint8_t> b) {
      if (std::fwrite(b.data(), 1, b.size(), f) != b.size())
        fail(Errc::io, "cannot write '{}' (disk full?): {}", path, std::strerror(errno));
    });
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  if (std::fclose(f) != 0) {
    std::remove(tmp.c_str());
    fail(Errc::io, "cannot write '{}' (disk full?)", path);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    fail(Errc::io, "cannot move '{}' to '{}': {}", tmp, path, ec.message());
  }
}

}  // namespace lagvk
