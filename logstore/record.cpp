#include "logstore/record.hpp"

#include <xxhash.h>

#include <cstring>
#include <limits>

#include "engine/core/error.hpp"

namespace lagvk::logstore {

namespace {

constexpr std::uint32_t kRecordMagic = 0x4352474c;  // "LGRC"
constexpr std::size_t kRecordHeader = 16;

const nlohmann::json* find_field(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::string string_field(const nlohmann::json& j, const char* key, const std::string& fallback) {
  const auto* f = find_field(j, key);
  if (!f) return fallback;
  if (!f->is_string()) fail(Errc::bad_input, "record field '{}' must be a string", key);
  return f->get<std::string>();
}

bool fits_int32(const nlohmann::json& x) {
  if (x.is_number_unsigned())
    return x.get<std::uint64_t>() <= std::uint64_t(std::numeric_limits<std::int32_t>::max());
  if (!x.is_number_integer()) return false;
  const std::int64_t v = x.get<std::int64_t>();
  return v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max();
}

std::vector<std::int32_t> int32_array_field(const nlohmann::json& j, const char* key) {
  const auto* f = find_field(j, key);
  if (!f) return {};
  if (!f->is_array()) fail(Errc::bad_input, "record field '{}' must be an array of 32-bit integers", key);
  std::vector<std::int32_t> out;
  out.reserve(f->size());
  for (std::size_t i = 0; i < f->size(); ++i) {
    const auto& x = (*f)[i];
    if (!fits_int32(x))
      fail(Errc::bad_input, "record field '{}': element {} is not a 32-bit integer", key, i);
    out.push_back(std::int32_t(x.get<std::int64_t>()));
  }
  return out;
}

std::vector<std::string> string_array_field(const nlohmann::json& j, const char* key) {
  const auto* f = find_field(j, key);
  if (!f) return {};
  if (!f->is_array()) fail(Errc::bad_input, "record field '{}' must be an array of strings", key);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < f->size(); ++i) {
    if (!(*f)[i].is_string()) fail(Errc::bad_input, "record field '{}': element {} is not a string", key, i);
    out.push_back((*f)[i].get<std::string>());
  }
  return out;
}

/// The trace is shown by 'log show' and re-rendered by nobody else: messages must be objects whose role
/// and content, when present, are strings.
nlohmann::json trace_field(const nlohmann::json& j) {
  const auto* f = find_field(j, "trace");
  if (!f || f->is_null()) return nlohmann::json::array();  // a record built without a trace stores null
  if (!f->is_array()) fail(Errc::bad_input, "record field 'trace' must be an array of messages");
  for (std::size_t i = 0; i < f->size(); ++i) {
    const auto& m = (*f)[i];
    if (!m.is_object()) fail(Errc::bad_input, "record field 'trace': message {} is not an object", i);
    for (const char* key : {"role", "content"})
      if (m.contains(key) && !m[key].is_string())
        fail(Errc::bad_input, "record field 'trace': the {} of message {} is not a string", key, i);
  }
  return *f;
}

std::int64_t created_field(const nlohmann::json& j) {
  const auto* f = find_field(j, "created");
  if (!f) return 0;
  const bool ok = f->is_number_unsigned()
                      ? f->get<std::uint64_t>() <= std::uint64_t(std::numeric_limits<std::int64_t>::max())
                      : f->is_number_integer();
  if (!ok) fail(Errc::bad_input, "record field 'created' must be an integer (unix seconds)");
  return f->get<std::int64_t>();
}

std::uint32_t latents_field(const nlohmann::json& j) {
  const nlohmann::json* f = find_field(j, "latents");
  if (f == nullptr) return 0;
  if (!f->is_number_unsigned() || f->get<std::uint64_t>() > kMaxRecordLatents)
    fail(Errc::bad_input, "record field 'latents' must be an integer from 0 to {}", kMaxRecordLatents);
  return f->get<std::uint32_t>();
}

}  // namespace

void to_json(nlohmann::json& j, const LogRecord& r) {
  j = {{"task", r.task},           {"retrieval_text", r.retrieval_text},
       {"selection", r.selection}, {"trace", r.trace},
       {"token_ids", r.token_ids}, {"positions", r.positions},
       {"tags", r.tags},           {"created", r.created}};
  if (r.latents > 0) j["latents"] = r.latents;  // records without latents stay as they always were
}

void from_json(const nlohmann::json& j, LogRecord& r) {
  if (!j.is_object()) fail(Errc::bad_input, "a record must be a JSON object");
  r.task = string_field(j, "task", "");
  r.retrieval_text = string_field(j, "retrieval_text", r.task);
  r.selection = string_field(j, "selection", "");
  r.trace = trace_field(j);
  r.token_ids = int32_array_field(j, "token_ids");
  r.positions = int32_array_field(j, "positions");
  r.tags = string_array_field(j, "tags");
  r.created = created_field(j);
  r.latents = latents_field(j);
}

void validate_record(const LogRecord& record) {
  if (record.token_ids.empty()) fail(Errc::bad_input, "the record keeps no tokens");
  if (record.token_ids.size() > std::numeric_limits<std::uint32_t>::max())
    fail(Errc::bad_input, "the record keeps {} tokens (at most 2^32-1)", record.token_ids.size());
  if (record.latents > kMaxRecordLatents)
    fail(Errc::bad_input, "the record claims {} latents (at most {})", record.latents, kMaxRecordLatents);
  if (record.positions.size() != record.kv_tokens())
    fail(Errc::bad_input, "the record has {} token ids and {} latents but {} positions",
         record.token_ids.size(), record.latents, record.positions.size());
  for (std::size_t i = 0; i < record.token_ids.size(); ++i)
    if (record.token_ids[i] < 0)
      fail(Errc::bad_input, "the record's token id {} is negative ({})", i, record.token_ids[i]);
}

std::string encode_record_value(const LogRecord& record) {
  validate_record(record);
  const std::string json =
      nlohmann::json(record).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (json.size() > std::numeric_limits<std::uint32_t>::max())
    fail(Errc::bad_input, "a log record of {} bytes is too large to store", json.size());
  const std::uint32_t length = std::uint32_t(json.size());
  const std::uint64_t sum = XXH64(json.data(), json.size(), 0);
  std::string value(kRecordHeader, '\0');
  std::memcpy(value.data(), &kRecordMagic, 4);
  std::memcpy(value.data() + 4, &length, 4);
  std::memcpy(value.data() + 8, &sum, 8);
  return value + json;
}

DecodedRecord decode_record_value(std::string_view bytes) {
  DecodedRecord out;
  std::string_view json;
  std::uint32_t magic = 0;
  if (bytes.size() >= 4) std::memcpy(&magic, bytes.data(), 4);
  if (magic == kRecordMagic) {
    if (bytes.size() < kRecordHeader)
      fail(Errc::bad_input, "the record's header is cut short ({} bytes)", bytes.size());
    std::uint32_t length = 0;
    std::uint64_t sum = 0;
    std::memcpy(&length, bytes.data() + 4, 4);
    std::memcpy(&sum, bytes.data() + 8, 8);
    json = bytes.substr(kRecordHeader);
    if (json.size() != length)
      fail(Errc::bad_input, "the record holds {} bytes of JSON, its header says {}", json.size(), length);
    if (XXH64(json.data(), json.size(), 0) != sum)
      fail(Errc::bad_input, "the record's checksum does not match (its text was altered)");
  } else if (!bytes.empty() && bytes.front() == '{') {
    json = bytes;
    out.legacy = true;
  } else {
    fail(Errc::bad_input, "the record has no valid header");
  }
  const auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded()) fail(Errc::bad_input, "the record is not valid JSON");
  out.record = j.get<LogRecord>();
  validate_record(out.record);
  return out;
}

}  // namespace lagvk::logstore
