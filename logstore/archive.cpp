#include "logstore/archive.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <limits>
#include <ostream>
#include <sstream>

#include "engine/core/error.hpp"
#include "logstore/base64.hpp"

namespace lagvk::logstore {

namespace {

namespace fs = std::filesystem;

// ---- writing ----------------------------------------------------------------------------------------

nlohmann::json entry_json(Store::Reader& r, const Fingerprint& f, LogId id) {
  const auto rec = r.log(id);
  nlohmann::json layers = nlohmann::json::array();
  const std::uint32_t pages = r.pages_of(std::uint32_t(rec->kv_tokens()));
  for (std::uint32_t l = 0; l < f.layers; ++l) {
    std::vector<std::uint16_t> k, v;
    for (std::uint32_t p = 0; p < pages; ++p) {
      std::vector<std::uint16_t> pk, pv;
      decode_page(r.page(id, l, p), pk, pv);  // exports are fp16 whatever the store's codec
      k.insert(k.end(), pk.begin(), pk.end());
      v.insert(v.end(), pv.begin(), pv.end());
    }
    layers.push_back({{"k", base64_encode(std::as_bytes(std::span<const std::uint16_t>(k)))},
                      {"v", base64_encode(std::as_bytes(std::span<const std::uint16_t>(v)))}});
  }
  return {{"id", id}, {"record", *rec}, {"embedding", r.embedding(id)}, {"layers", layers}};
}

bool is_within(const fs::path& dir, const fs::path& path) {
  const auto [d, p] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
  return d == dir.end();
}

/// Refuses an output that is, or would land in, the store's directory: its data.mdb is memory-mapped by
/// every reader, and truncating it (or its lock file) destroys the store.
void refuse_store_output(const Store& store, const std::string& path, const fs::path& resolved,
                         const struct stat* existing) {
  std::error_code ec;
  const fs::path store_dir = fs::canonical(store.dir(), ec);
  if (ec) return;  // the store is open, so this is unexpected; nothing to compare against
  if (is_within(store_dir, resolved))
    fail(Errc::invalid_argument,
         "refusing to write the export '{}' inside the log store '{}' (it would destroy the store); write it "
         "elsewhere",
         path, store.dir());
  // Another store's files (or any LMDB environment's): an export over them would destroy that store.
  if (resolved.filename() == "data.mdb" || resolved.filename() == "lock.mdb")
    fail(Errc::invalid_argument,
         "refusing to write the export '{}': {} is the name of an LMDB database file (another log store's?); "
         "give the export another name",
         path, resolved.filename().string());
  if (!existing) return;
  for (const auto& entry : fs::directory_iterator(store_dir, ec)) {
    struct stat st {};
    if (::stat(entry.path().c_str(), &st) == 0 && st.st_dev == existing->st_dev &&
        st.st_ino == existing->st_ino)
      fail(Errc::invalid_argument,
           "refusing to write the export '{}': it is the store's file {} (a link to it); write it elsewhere",
           path, entry.path().string());
  }
}

/// A temporary file beside the target, removed unless committed (renamed into place).
class TempFile {
 public:
  TempFile(const fs::path& target, mode_t mode) {
    path_ = (target.parent_path() / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
    fd_ = ::mkstemp(path_.data());
    if (fd_ < 0) fail(Errc::io, "cannot write beside '{}': {}", target.string(), std::strerror(errno));
    (void)::fchmod(fd_, mode);
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

  /// Syncs the data, renames over `target` and syncs the directory, so the new file survives a crash.
  void commit(const fs::path& target) {
    if (::fsync(fd_) != 0) fail(Errc::io, "syncing '{}' failed: {}", path_, std::strerror(errno));
    ::close(fd_);
    fd_ = -1;
    if (::rename(path_.c_str(), target.c_str()) != 0)
      fail(Errc::io, "cannot move the export into place at '{}': {}", target.string(), std::strerror(errno));
    committed_ = true;
    const int dir = ::open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
    if (dir >= 0) {
      (void)::fsync(dir);
      ::close(dir);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

mode_t new_file_mode() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

/// Names of an already open stream (/dev/stdout, /dev/fd/N, /proc/self/fd/N): written through, never
/// replaced, even when the stream is a regular file the shell opened.
bool names_a_stream(const std::string& path) {
  return path == "/dev/stdout" || path == "/dev/stderr" || path.starts_with("/dev/fd/") ||
         (path.starts_with("/proc/") && path.find("/fd/") != std::string::npos);
}

std::uint64_t export_directly(Store& store, const std::string& path) {
  // A FIFO that no process reads would block the open forever: a non-blocking open finds out (ENXIO) and,
  // held until the stream is open, keeps the reader from seeing an end of file in between.
  const int probe = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (probe < 0 && errno == ENXIO)
    fail(Errc::io,
         "cannot write '{}': it is a FIFO (named pipe) that no process is reading; start the reader first",
         path);
  // Appending: through /dev/stdout this continues the shell's redirection ('>' truncated the file
  // already, '>>' keeps it) instead of truncating the file behind it.
  std::ofstream out(path, std::ios::binary | std::ios::app);
  if (probe >= 0) ::close(probe);
  if (!out) fail(Errc::io, "cannot write '{}': {}", path, std::strerror(errno));
  const auto n = export_logs(store, out);
  out.close();
  if (!out) fail(Errc::io, "writing '{}' failed (disk full?)", path);
  return n;
}

// ---- reading ----------------------------------------------------------------------------------------

/// Reads the next line; false at the end. A last line without its newline means the archive was cut.
bool read_line(std::istream& in, std::string& line, const std::string& source, std::uint64_t number) {
  if (!std::getline(in, line)) {
    if (in.bad()) fail(Errc::bad_input, "{}: reading failed at line {}", source, number);
    return false;
  }
  if (in.eof())
    fail(Errc::bad_input,
         "{} line {}: the archive is truncated (the line does not end in a newline); export it again", source,
         number);
  return true;
}

nlohmann::json parse_line(std::string_view line, const std::string& source, std::uint64_t number) {
  try {
    return nlohmann::json::parse(line);
  } catch (const nlohmann::json::parse_error& e) {
    fail(Errc::bad_input, "{} line {}: not valid JSON (at byte {})", source, number, e.byte);
  } catch (const nlohmann::json::exception&) {  // out_of_range: a number beyond a double
    fail(Errc::bad_input, "{} line {}: not valid JSON (a number out of range)", source, number);
  }
}

std::uint64_t id_field(const nlohmann::json& j, const std::string& source, std::uint64_t number) {
  const auto it = j.find("id");
  if (it == j.end() || !it->is_number_unsigned())
    fail(Errc::bad_input, "{} line {}: 'id' must be a log id (an unsigned integer)", source, number);
  return it->get<std::uint64_t>();
}

std::vector<float> embedding_field(const nlohmann::json& j, const std::string& source, std::uint64_t number) {
  const auto it = j.find("embedding");
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_array())
    fail(Errc::bad_input, "{} line {}: 'embedding' must be an array of numbers", source, number);
  std::vector<float> out;
  out.reserve(it->size());
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& x = (*it)[i];
    const float f = x.is_number() ? float(x.get<double>()) : std::numeric_limits<float>::quiet_NaN();
    if (!std::isfinite(f))
      fail(Errc::bad_input, "{} line {}: embedding element {} is not a finite number", source, number, i);
    out.push_back(f);
  }
  return out;
}

/// One layer's K or V: base64 of exactly `bytes` bytes (the length is checked before decoding).
std::vector<std::uint16_t> layer_values(const nlohmann::json& layer, const char* key, std::uint64_t bytes,
                                        std::uint32_t l, const std::string& source, std::uint64_t number) {
  const auto it = layer.find(key);
  if (it == layer.end() || !it->is_string())
    fail(Errc::bad_input, "{} line {}: layer {} has no '{}' string", source, number, l, key);
  const auto& text = it->get_ref<const std::string&>();
  const std::uint64_t expected_chars = (bytes + 2) / 3 * 4;
  if (text.size() != expected_chars)
    fail(Errc::bad_input,
         "{} line {}: layer {} '{}' holds {} base64 characters; {} expected ({} fp16 values)", source, number,
         l, key, text.size(), expected_chars, bytes / 2);
  std::vector<std::byte> raw;
  try {
    raw = base64_decode(text);
  } catch (const Error& e) {
    fail(Errc::bad_input, "{} line {}: layer {} '{}': {}", source, number, l, key, e.what());
  }
  if (raw.size() != bytes)
    fail(Errc::bad_input, "{} line {}: layer {} '{}' decodes to {} bytes; {} expected", source, number, l,
         key, raw.size(), bytes);
  std::vector<std::uint16_t> out(bytes / 2);
  std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

}  // namespace

std::uint64_t export_logs(Store& store, std::ostream& out) {
  nlohmann::json header{{"lagvk_log_export", 1}, {"fingerprint", store.fingerprint()}};
  if (const auto embedder = store.embedder()) header["embedder"] = *embedder;
  out << header.dump() << "\n";
  auto r = store.read();
  std::uint64_t n = 0;
  for (LogId id : r.ids()) {
    out << entry_json(r, store.fingerprint(), id)
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
    ++n;
  }
  if (!out) fail(Errc::io, "writing the export failed (disk full?)");
  return n;
}

std::uint64_t export_logs_to_path(Store& store, const std::string& path) {
  if (path.empty()) fail(Errc::invalid_argument, "log export: the output file name is empty");
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode))
    fail(Errc::invalid_argument, "'{}' is a directory; give the export a file name", path);
  std::error_code ec;
  fs::path resolved;
  if (exists) {
    resolved = fs::canonical(path, ec);  // fails for pipes (/proc/self/fd/N -> "pipe:[...]")
    if (ec) resolved = fs::absolute(path);
  } else {
    const fs::path given(path);
    const fs::path parent = given.has_parent_path() ? given.parent_path() : fs::path(".");
    const fs::path dir = fs::canonical(parent, ec);
    if (ec) fail(Errc::io, "cannot write '{}': the directory '{}' does not exist", path, parent.string());
    resolved = dir / given.filename();
  }
  refuse_store_output(store, path, resolved, exists ? &st : nullptr);
  if ((exists && !S_ISREG(st.st_mode)) || names_a_stream(path)) return export_directly(store, path);

  TempFile temp(resolved, exists ? (st.st_mode & 07777) : new_file_mode());
  std::ofstream out(temp.path(), std::ios::binary | std::ios::trunc);
  if (!out) fail(Errc::io, "cannot write '{}': {}", temp.path(), std::strerror(errno));
  const auto n = export_logs(store, out);
  out.close();
  if (!out) fail(Errc::io, "writing '{}' failed (disk full?); '{}' was left as it was", temp.path(), path);
  temp.commit(resolved);
  return n;
}

Fingerprint parse_export_header(std::string_view line, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception&) {
    fail(Errc::bad_input, "{}: not a lagvk log export (line 1 is not a JSON header)", source);
  }
  if (!j.is_object() || !j.contains("lagvk_log_export"))
    fail(Errc::bad_input, "{}: not a lagvk log export (no header line)", source);
  const auto& version = j["lagvk_log_export"];
  if (!version.is_number_unsigned() || version.get<std::uint64_t>() != 1)
    fail(Errc::bad_input, "{} line 1: export format version {} is not known (this lagvk reads version 1)",
         source, version.dump());
  if (!j.contains("fingerprint")) fail(Errc::bad_input, "{} line 1: the header has no fingerprint", source);
  try {
    const Fingerprint f = j["fingerprint"].get<Fingerprint>();
    f.validate();
    return f;
  } catch (const Error& e) {
    fail(Errc::bad_input, "{} line 1: bad header: {}", source, e.what());
  }
}

EmbedderFingerprint parse_export_embedder(std::string_view line, const std::string& source) {
  (void)parse_export_header(line, source);  // the header's own checks first
  const nlohmann::json j = nlohmann::json::parse(line);
  if (!j.contains("embedder")) return {};  // older archives: their vectors are the model's own
  try {
    const EmbedderFingerprint e = j["embedder"].get<EmbedderFingerprint>();
    e.validate();
    return e;
  } catch (const Error& e) {
    fail(Errc::bad_input, "{} line 1: bad embedder in the header: {}", source, e.what());
  }
}

ExportEntry parse_export_entry(std::string_view line, const Fingerprint& fingerprint,
                               const std::string& source, std::uint64_t line_number) {
  const nlohmann::json j = parse_line(line, source, line_number);
  if (!j.is_object() || !j.contains("record") || !j.contains("layers"))
    fail(Errc::bad_input, "{} line {}: not a log entry (an object with 'record' and 'layers')", source,
         line_number);
  ExportEntry e;
  e.id = id_field(j, source, line_number);
  try {
    e.record = j["record"].get<LogRecord>();
    validate_record(e.record);
  } catch (const Error& err) {
    fail(Errc::bad_input, "{} line {} (log {}): {}", source, line_number, e.id, err.what());
  }
  const auto& layers = j["layers"];
  if (!layers.is_array() || layers.size() != fingerprint.layers)
    fail(Errc::bad_input, "{} line {} (log {}): 'layers' must be an array of {} layers (the fingerprint's)",
         source, line_number, e.id, fingerprint.layers);
  const std::uint64_t bytes =
      std::uint64_t(e.record.kv_tokens()) * fingerprint.kv_heads * fingerprint.head_dim * 2;
  for (std::uint32_t l = 0; l < fingerprint.layers; ++l) {
    if (!layers[l].is_object())
      fail(Errc::bad_input, "{} line {}: layer {} is not an object", source, line_number, l);
    e.k.push_back(layer_values(layers[l], "k", bytes, l, source, line_number));
    e.v.push_back(layer_values(layers[l], "v", bytes, l, source, line_number));
  }
  e.embedding = embedding_field(j, source, line_number);
  return e;
}

ExportSummary check_export(std::istream& in, const std::string& source) {
  const auto start = in.tellg();
  if (start == std::istream::pos_type(-1))
    fail(Errc::internal, "internal: check_export needs a seekable stream ({})", source);
  ExportSummary summary;
  std::string line;
  if (!std::getline(in, line)) fail(Errc::bad_input, "{}: empty file, not a lagvk log export", source);
  summary.fingerprint = parse_export_header(line, source);
  summary.embedder = parse_export_embedder(line, source);
  if (in.eof())
    fail(Errc::bad_input,
         "{} line 1: the archive is truncated (no newline after the header); export it again", source);
  for (std::uint64_t number = 2; read_line(in, line, source, number); ++number) {
    if (line.empty()) continue;
    summary.vectors += !parse_export_entry(line, summary.fingerprint, source, number).embedding.empty();
    ++summary.logs;
  }
  in.clear();
  in.seekg(start);
  if (!in) fail(Errc::io, "{}: cannot rewind to read it a second time", source);
  return summary;
}

std::vector<ImportedLog> import_checked_export(Store& store, std::istream& in, const std::string& source,
                                               const ExportSummary& summary) {
  if (summary.vectors > 0) store.check_embedder(summary.embedder);  // before any log lands
  std::vector<ImportedLog> landed;
  std::string line;
  std::uint64_t number = 1;
  try {
    if (!std::getline(in, line) || !(parse_export_header(line, source) == summary.fingerprint))
      fail(Errc::io, "{} changed while it was being imported", source);
    for (number = 2; read_line(in, line, source, number); ++number) {
      if (line.empty()) continue;
      const ExportEntry e = parse_export_entry(line, summary.fingerprint, source, number);
      LogKvInput kv{std::uint32_t(e.record.kv_tokens()), {}, {}};
      for (std::size_t l = 0; l < e.k.size(); ++l) {
        kv.k.emplace_back(e.k[l]);
        kv.v.emplace_back(e.v[l]);
      }
      landed.push_back({e.id, store.put_log(e.record, kv, e.embedding, summary.embedder)});
    }
  } catch (const std::exception& e) {
    const auto* error = dynamic_cast<const Error*>(&e);
    const Errc code = error ? error->code() : Errc::internal;
    std::string list;
    for (const auto& l : landed)
      list += fmt::format("{}{}->{}", list.empty() ? "" : ", ", l.old_id, l.new_id);
    if (landed.empty())
      fail(code, "importing {} failed at line {}: {}\nno log was imported", source, number, e.what());
    fail(code,
         "importing {} failed at line {}: {}\n{} of {} logs were imported before it and stay in '{}' "
         "(old id -> new id: {}); the others were not",
         source, number, e.what(), landed.size(), summary.logs, store.dir(), list);
  }
  return landed;
}

std::uint64_t import_logs(Store& store, std::istream& in, const std::string& source) {
  std::stringstream buffered;
  std::istream* src = &in;
  if (in.tellg() == std::istream::pos_type(-1)) {  // a pipe: the two passes need to read it twice
    buffered << in.rdbuf();
    buffered.clear();  // an empty input sets failbit; check_export then says "empty file"
    src = &buffered;
  }
  const ExportSummary summary = check_export(*src, source);
  if (!(summary.fingerprint == store.fingerprint()))
    fail(Errc::store_model_mismatch,
         "{} was exported from a store of another model:\n  export: {}\n  store:  {}", source,
         summary.fingerprint.describe(), store.fingerprint().describe());
  return import_checked_export(store, *src, source, summary).size();
}

}  // namespace lagvk::logstore
