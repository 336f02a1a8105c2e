#include "logstore/store.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "engine/core/error.hpp"
#include "engine/core/half.hpp"
#include "engine/model/quant.hpp"
#include "logstore/bm25.hpp"

namespace lagvk::logstore {

namespace {

// Schema 2: log records carry a checksum header (record.hpp). Schema-1 stores are read as they are and
// become schema 2 with their first new log, so an older lagvk refuses them by version instead of calling
// every new record damaged.
constexpr std::uint32_t kSchemaVersion = 2;
constexpr std::uint32_t kOldestReadableSchema = 1;
constexpr std::uint32_t kPageMagic = 0x4750474c;  // "LGPG"
constexpr std::size_t kPageHeader = 16;

std::array<std::byte, 8> id_key(LogId id) {
  std::array<std::byte, 8> k{};
  for (int i = 0; i < 8; ++i) k[std::size_t(i)] = std::byte((id >> (56 - 8 * i)) & 0xff);
  return k;
}

std::array<std::byte, 16> page_key(LogId id, std::uint32_t layer, std::uint32_t page) {
  std::array<std::byte, 16> k{};
  const auto a = id_key(id);
  std::copy(a.begin(), a.end(), k.begin());
  for (int i = 0; i < 4; ++i) k[std::size_t(8 + i)] = std::byte((layer >> (24 - 8 * i)) & 0xff);
  for (int i = 0; i < 4; ++i) k[std::size_t(12 + i)] = std::byte((page >> (24 - 8 * i)) & 0xff);
  return k;
}

LogId key_id(const MDB_val& v) {
  LogId id = 0;
  const auto* p = static_cast<const unsigned char*>(v.mv_data);
  for (int i = 0; i < 8; ++i) id = (id << 8) | p[i];
  return id;
}

/// A stored record, decoded; damage is an error naming the log.
DecodedRecord decode_stored_record(LogId id, const MDB_val& v, const std::string& dir) {
  try {
    return decode_record_value(std::string_view(static_cast<const char*>(v.mv_data), v.mv_size));
  } catch (const Error& e) {
    fail(Errc::store, "log {} in '{}' has a damaged record: {}; remove the log", id, dir, e.what());
  }
}

std::uint32_t be32(const unsigned char* p) {
  return std::uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

}  // namespace

void decode_page(const PageView& page, std::vector<std::uint16_t>& k, std::vector<std::uint16_t>& v) {
  if (page.codec == PageCodec::f16) {
    k.assign(page.k.begin(), page.k.end());
    v.assign(page.v.begin(), page.v.end());
    return;
  }
  const std::size_t n = page.k_q8.size() / 34 * 32;
  const auto as_u8 = [](std::span<const std::byte> b) {
    return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(b.data()), b.size());
  };
  k = to_half(dequantize(GgmlType::q8_0, as_u8(page.k_q8), n));
  v = to_half(dequantize(GgmlType::q8_0, as_u8(page.v_q8), n));
}

std::unique_ptr<Store> Store::open(const std::string& dir, const StoreOptions& options) {
  return std::unique_ptr<Store>(new Store(dir, options));
}

namespace {

namespace fs = std::filesystem;

/// lstat of a store file: links (even dangling ones) and other non-regular entries are refused, so LMDB
/// never writes through a link to somewhere outside the store.
bool store_file_exists(const fs::path& path, const std::string& dir) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    fail(Errc::io, "cannot inspect '{}': {}", path.string(), std::strerror(errno));
  }
  if (S_ISLNK(st.st_mode))
    fail(Errc::store,
         "the log store '{}' has a symbolic link as {}; lagvk refuses links inside a store (replace it with "
         "the real file, or open the directory the link points into)",
         dir, path.filename().string());
  if (!S_ISREG(st.st_mode))
    fail(Errc::store,
         "the log store '{}' is damaged ({} is not a regular file); restore it from an export or backup", dir,
         path.filename().string());
  // A hard link makes another name for the same bytes: LMDB's writes would change that file too (a
  // backup made with 'cp -al', or any file linked in as lock.mdb).
  if (st.st_nlink > 1)
    fail(
        Errc::store,
        "the log store '{}' has {} with {} hard links; lagvk refuses files shared with other paths (copy the "
        "store with an export or 'cp', not hard links)",
        dir, path.filename().string(), st.st_nlink);
  return true;
}

/// Whether `dir` holds anything but LMDB's lock file (a directory that may not become a new store).
bool holds_other_files(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename() != "lock.mdb") return true;
  if (ec) fail(Errc::io, "cannot list the store directory '{}': {}", dir.string(), ec.message());
  return false;
}

bool is_no_space(int rc) {
  return rc == ENOSPC || rc == EDQUOT || rc == EFBIG;
}

[[noreturn]] void fail_no_space(const std::string& dir, const char* what) {
  fail(Errc::store,
       "no space left on device (store '{}'): {}; every log committed before is kept. Free space on the disk "
       "(or raise the file size limit) and try again",
       dir, what);
}

/// LMDB maps its lock file and writes the reader table through the map; on a full disk the first write to
/// a page the file system has not allocated is a SIGBUS. Allocating the lock file's blocks first (without
/// changing its size, which LMDB sets) turns that into ENOSPC here.
void preallocate_lock_file(const fs::path& path, const std::string& dir) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == ELOOP) (void)store_file_exists(path, dir);  // names the link
    if (is_no_space(errno)) fail_no_space(dir, "cannot create its lock file");
    return;  // read-only file system or no permission: LMDB reports it when opening
  }
  const int rc = ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 16);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && is_no_space(err)) fail_no_space(dir, "cannot allocate its lock file");
}

}  // namespace

Store::Store(std::string dir, const StoreOptions& options) : dir_(std::move(dir)), options_(options) {
  const fs::path data_file = fs::path(dir_) / "data.mdb";
  std::error_code ec;
  const bool dir_exists = fs::is_directory(dir_, ec);
  if (!dir_exists && fs::exists(dir_, ec))
    fail(Errc::invalid_argument, "'{}' is not a directory (a log store is a directory)", dir_);
  bool has_data = dir_exists && store_file_exists(data_file, dir_);
  if (dir_exists) (void)store_file_exists(fs::path(dir_) / "lock.mdb", dir_);
  // An environment created by an open that did not finish (nothing committed) may become the store.
  const bool blank = has_data && check_data_file(data_file.string(), dir_).blank;
  if (!has_data || blank) {
    if (!options.create) {
      if (blank)
        fail(Errc::file_not_found,
             "'{}' holds an empty LMDB environment, not a log store (an interrupted first write?); add "
             "logs "
             "to it, or remove it",
             dir_);
      fail(Errc::file_not_found, "no log store at '{}' (create one by adding a log to it, or check the path)",
           dir_);
    }
    if (options.read_only) fail(Errc::internal, "internal: a store cannot be created read-only");
    if (!options.fingerprint) fail(Errc::internal, "internal: creating a store needs a model fingerprint");
    if (!has_data && dir_exists && holds_other_files(dir_))
      fail(Errc::store,
           "'{}' is not empty and holds no log store; a new store needs an empty or missing directory "
           "(lagvk does not adopt a directory with other files)",
           dir_);
    const Fingerprint& f = *options.fingerprint;
    if (options.codec == PageCodec::q8_0 && (std::uint64_t(f.kv_heads) * f.head_dim) % 32 != 0)
      fail(Errc::invalid_argument,
           "the q8_0 page codec needs kv_heads x head_dim to be a multiple of 32 (this model: {} x {})",
           f.kv_heads, f.head_dim);
    if (!dir_exists) {
      fs::create_directories(dir_, ec);
      if (ec) fail(Errc::io, "cannot create the store directory '{}': {}", dir_, ec.message());
      created_dir_ = true;
    }
  }
  const bool new_files = !has_data;
  try {
    open_environment(data_file.string());
    if (!has_data || blank)
      create_tables();
    else
      open_tables();
  } catch (...) {
    if (env_) mdb_env_close(env_);
    env_ = nullptr;
    // Leave nothing behind of a store this open failed to create (only if nothing was committed since).
    if (new_files) {
      bool committed = false;
      try {
        committed = fs::exists(data_file, ec) && !check_data_file(data_file.string(), dir_).blank;
      } catch (const Error&) {
      }
      if (!committed) {
        fs::remove(data_file, ec);
        fs::remove(fs::path(dir_) / "lock.mdb", ec);
        if (created_dir_) fs::remove(dir_, ec);
      }
    }
    throw;
  }
}

void Store::open_environment(const std::string& data_file) {
  const std::uint64_t initial = std::max<std::uint64_t>(options_.initial_map_size, std::uint64_t(1) << 20);
  // An existing store keeps at least its current size.
  std::error_code ec;
  const auto file_size = std::filesystem::file_size(data_file, ec);
  map_size_ = ec ? initial : std::max<std::uint64_t>(initial, file_size);
  if (!options_.read_only) preallocate_lock_file(std::filesystem::path(dir_) / "lock.mdb", dir_);
  unsigned flags = MDB_NOTLS | (options_.durable ? 0 : MDB_NOSYNC) | (options_.read_only ? MDB_RDONLY : 0);
  for (;;) {
    check_mdb(mdb_env_create(&env_), "mdb_env_create");
    check_mdb(mdb_env_set_maxdbs(env_, 4), "mdb_env_set_maxdbs");
    check_mdb(mdb_env_set_mapsize(env_, map_size_), "mdb_env_set_mapsize");
    const int rc = mdb_env_open(env_, dir_.c_str(), flags, 0644);
    if (rc == MDB_SUCCESS) break;
    mdb_env_close(env_);  // LMDB's rule: a failed open leaves a handle that can only be closed
    env_ = nullptr;
    // Reading without write permission on the lock file: read without LMDB's reader lock.
    if ((rc == EACCES || rc == EROFS || rc == EPERM) && options_.read_only && !(flags & MDB_NOLOCK)) {
      flags |= MDB_NOLOCK;
      locked_ = false;
      continue;
    }
    if (rc == EACCES || rc == EPERM)
      fail(Errc::store,
           "cannot open the log store '{}' for writing: permission denied (reading it works: log ls, show, "
           "verify, export)",
           dir_);
    if (rc == EROFS)
      fail(Errc::store,
           "the log store '{}' is on a read-only file system: it can be read (log ls, show, verify, export) "
           "but not written",
           dir_);
    if (is_no_space(rc)) fail_no_space(dir_, "cannot create its files");
    if (rc == EIO) fail_write(rc, 1 << 20, "cannot create its files");
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
      fail(Errc::store, "the log store '{}' is damaged ({}); restore it from an export or backup", dir_,
           mdb_strerror(rc));
    check_mdb(rc, ("opening the log store " + dir_).c_str());
  }
  if (locked_) {
    int dead = 0;
    (void)mdb_reader_check(env_, &dead);  // slots of killed readers would fill the table
  }
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  map_size_ = info.me_mapsize;
}

void Store::create_tables() {
  const Fingerprint& f = *options_.fingerprint;
  f.validate();
  Txn txn = begin(true);
  {
    // Another process may have created the store since it was inspected: then it is opened as it is.
    MDB_dbi main = 0;
    check_mdb(mdb_dbi_open(txn.get(), nullptr, 0, &main), "mdb_dbi_open");
    MDB_stat st{};
    check_mdb(mdb_stat(txn.get(), main, &st), "mdb_stat");
    if (st.ms_entries != 0) {
      txn.abort();
      open_tables();
      return;
    }
  }
  check_mdb(mdb_dbi_open(txn.get(), "meta", MDB_CREATE, &meta_), "mdb_dbi_open meta");
  check_mdb(mdb_dbi_open(txn.get(), "logs", MDB_CREATE, &logs_), "mdb_dbi_open logs");
  check_mdb(mdb_dbi_open(txn.get(), "pages", MDB_CREATE, &pages_), "mdb_dbi_open pages");
  check_mdb(mdb_dbi_open(txn.get(), "vectors", MDB_CREATE, &vectors_), "mdb_dbi_open vectors");
  fingerprint_ = f;
  codec_ = options_.codec;
  index_text_ = options_.index_text;
  const std::string fp = nlohmann::json(fingerprint_).dump();
  const std::string schema = std::to_string(kSchemaVersion);
  const std::string codec = page_codec_name(codec_);
  const std::string index_text = index_text_name(index_text_);
  const std::uint64_t next_id = 1;
  const std::pair<std::string_view, MDB_val> records[] = {
      {"fingerprint", as_val(std::string_view(fp))},
      {"schema", as_val(std::string_view(schema))},
      {"codec", as_val(std::string_view(codec))},
      {"index_text", as_val(std::string_view(index_text))},
      {"next_id", MDB_val{8, const_cast<std::uint64_t*>(&next_id)}},
  };
  for (const auto& [key, value] : records) {
    MDB_val k = as_val(key), v = value;
    const int rc = mdb_put(txn.get(), meta_, &k, &v, 0);
    if (rc != MDB_SUCCESS) fail_write(rc, 1 << 20, "cannot write its first records");
  }
  const int rc = txn.commit_status();
  if (rc != MDB_SUCCESS) fail_write(rc, 1 << 20, "cannot write its first records");
  created_ = true;
}

void Store::open_tables() {
  const auto not_a_store = [this]() {
    fail(Errc::store,
         "'{}' holds an LMDB database that is not a lagvk log store (it has no lagvk fingerprint record); "
         "use an empty or new directory for a store",
         dir_);
  };
  Txn txn = begin(false);
  int rc = mdb_dbi_open(txn.get(), "meta", 0, &meta_);
  if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) not_a_store();
  check_mdb(rc, "opening the store's meta table");
  MDB_val k = as_val(std::string_view("fingerprint")), v{};
  rc = mdb_get(txn.get(), meta_, &k, &v);
  if (rc == MDB_NOTFOUND) not_a_store();
  check_mdb(rc, "reading the fingerprint");
  try {
    const auto j = nlohmann::json::parse(std::string_view(static_cast<const char*>(v.mv_data), v.mv_size),
                                         nullptr, false);
    if (j.is_discarded()) throw Error("unparsable");
    fingerprint_ = j.get<Fingerprint>();
    fingerprint_.validate();  // a page_tokens of 0 would divide by zero in every page count
  } catch (const std::exception& e) {
    fail(
        Errc::store,
        "the log store '{}' is damaged (its fingerprint record is unreadable: {}); restore it from an export "
        "or backup",
        dir_, e.what());
  }
  MDB_val sk = as_val(std::string_view("schema")), sv{};
  if (mdb_get(txn.get(), meta_, &sk, &sv) == MDB_SUCCESS) {
    const std::string schema(static_cast<const char*>(sv.mv_data), sv.mv_size);
    bool known = false;
    for (std::uint32_t version = kOldestReadableSchema; version <= kSchemaVersion; ++version)
      known = known || schema == std::to_string(version);
    if (!known)
      fail(Errc::store,
           "the log store '{}' has schema version {}; this lagvk reads versions {} to {} (use a newer lagvk)",
           dir_, schema, kOldestReadableSchema, kSchemaVersion);
  }
  MDB_val ck = as_val(std::string_view("codec")), cv{};
  if (mdb_get(txn.get(), meta_, &ck, &cv) == MDB_SUCCESS) {
    const std::string codec(static_cast<const char*>(cv.mv_data), cv.mv_size);
    if (codec == "q8_0")
      codec_ = PageCodec::q8_0;
    else if (codec != "f16")
      fail(Errc::store, "the log store '{}' uses page codec '{}', which this lagvk does not know", dir_,
           codec);
  }
  MDB_val ik = as_val(std::string_view("index_text")), iv{};
  if (mdb_get(txn.get(), meta_, &ik, &iv) == MDB_SUCCESS) {
    const std::string name(static_cast<const char*>(iv.mv_data), iv.mv_size);
    const auto parsed = parse_index_text(name);
    if (!parsed)
      fail(Errc::store,
           "the log store '{}' indexes '{}' of its logs, which this lagvk does not know (use a newer lagvk)",
           dir_, name);
    index_text_ = *parsed;
  }
  if (options_.fingerprint && !(*options_.fingerprint == fingerprint_))
    fail(Errc::store_model_mismatch,
         "the log store '{}' was made with another model and cannot be used with this one:\n  store: {}\n  "
         "model: "
         "{}\nuse a store made with this model (or a new store directory)",
         dir_, fingerprint_.describe(page_codec_name(codec_)), options_.fingerprint->describe());
  for (auto [name, dbi] : {std::pair{"logs", &logs_}, std::pair{"pages", &pages_}}) {
    rc = mdb_dbi_open(txn.get(), name, 0, dbi);
    if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
      fail(Errc::store,
           "the log store '{}' is damaged (its '{}' table is missing); restore it from an export or backup",
           dir_, name);
    check_mdb(rc, "opening a store table");
  }
  rc = mdb_dbi_open(txn.get(), "vectors", 0, &vectors_);
  has_vectors_ = rc == MDB_SUCCESS;
  if (rc != MDB_NOTFOUND) check_mdb(rc, "opening the store's vectors table");
  txn.commit();  // keeps the table handles open for the environment
  if (!has_vectors_ && !options_.read_only) {
    Txn w = begin(true);
    check_mdb(mdb_dbi_open(w.get(), "vectors", MDB_CREATE, &vectors_), "mdb_dbi_open vectors");
    w.commit();
    has_vectors_ = true;
  }
}

Store::~Store() {
  mdb_env_close(env_);
}

void Store::discard_if_new_and_empty(std::unique_ptr<Store> store) {
  if (!store || !store->created_) return;
  try {
    Reader r(*store);
    if (!r.ids().empty()) return;
  } catch (const std::exception&) {
    return;  // called while another error is on its way: keep the store rather than guess
  }
  const std::string dir = store->dir_;
  const bool remove_dir = store->created_dir_;
  store.reset();
  std::error_code ec;
  std::filesystem::remove(std::filesystem::path(dir) / "data.mdb", ec);
  std::filesystem::remove(std::filesystem::path(dir) / "lock.mdb", ec);
  if (remove_dir) std::filesystem::remove(dir, ec);  // only if empty
}

Txn Store::begin(bool write) {
  if (write && options_.read_only)
    fail(Errc::internal, "internal: writing to the log store '{}' opened read-only", dir_);
  bool reclaimed = false;
  for (;;) {
    WriterLock lock;
    int data_fd = -1;
    if (write && mdb_env_get_fd(env_, &data_fd) == MDB_SUCCESS && data_fd >= 0)
      lock = WriterLock(data_fd, fmt::format("the log store '{}'", dir_));
    MDB_txn* txn = nullptr;
    const int rc = mdb_txn_begin(env_, nullptr, write ? 0 : MDB_RDONLY, &txn);
    if (rc == MDB_SUCCESS) return Txn(txn, std::move(lock));
    if (rc == MDB_MAP_RESIZED) {
      adopt_map_size();
      continue;
    }
    if (rc == MDB_READERS_FULL && !reclaimed && locked_) {
      int dead = 0;
      (void)mdb_reader_check(env_, &dead);
      reclaimed = true;
      continue;
    }
    if (rc == MDB_READERS_FULL)
      fail(Errc::store,
           "the log store '{}' has no free reader slot: too many processes are reading it; try again when "
           "some have finished",
           dir_);
    if (is_no_space(rc) || rc == EIO) fail_write(rc, 1 << 20, "cannot start a transaction");
    check_mdb(rc, write ? "starting a write to the log store" : "starting a read of the log store");
  }
}

void Store::adopt_map_size() {
  // LMDB's rule: no transaction of this process may be open while the map moves.
  if (open_readers_ > 0)
    fail(Errc::store,
         "the log store '{}' was grown by another process while this one was reading it; run the command "
         "again",
         dir_);
  check_mdb(mdb_env_set_mapsize(env_, 0), "adopting the store's new map size");
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  map_size_ = info.me_mapsize;
}

void Store::grow() {
  if (open_readers_ > 0)
    fail(Errc::internal,
         "internal: the log store '{}' must grow while a reader of it is open in this process", dir_);
  if (map_size_ >= options_.max_map_size)
    fail(Errc::store,
         "store full: the log store '{}' reached its maximum size of {} MiB; remove logs "
         "or start a new store",
         dir_, options_.max_map_size >> 20);
  map_size_ = std::min(map_size_ * 2, options_.max_map_size);
  check_mdb(mdb_env_set_mapsize(env_, map_size_), "growing the store map");
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  map_size_ = info.me_mapsize;
}

void Store::reserve(std::uint64_t bytes) {
  int fd = -1;
  if (mdb_env_get_fd(env_, &fd) != MDB_SUCCESS || fd < 0) return;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return;
  if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size, off_t(bytes)) != 0 && is_no_space(errno))
    fail_no_space(dir_, "the log was not written");
}

void Store::fail_write(int rc, std::uint64_t bytes, const char* what) const {
  if (is_no_space(rc)) fail_no_space(dir_, what);
  if (rc == EIO) {
    // LMDB reports a short write (the disk filled up part way) as EIO: tell a full disk from a failing one.
    struct statvfs vfs {};
    const bool disk_full = ::statvfs(dir_.c_str(), &vfs) == 0 &&
                           std::uint64_t(vfs.f_bavail) * vfs.f_frsize < bytes + (std::uint64_t(1) << 20);
    rlimit limit{};
    std::error_code ec;
    const auto size = std::filesystem::file_size(std::filesystem::path(dir_) / "data.mdb", ec);
    const bool over_limit = ::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
                            !ec && size + bytes > limit.rlim_cur;
    if (disk_full || over_limit) fail_no_space(dir_, what);
    fail(Errc::store,
         "writing the log store '{}' failed: input/output error ({}); every log committed before is kept; "
         "check "
         "the disk",
         dir_, what);
  }
  check_mdb(rc, what);
  fail(Errc::internal, "internal: fail_write without an error ({})", what);
}

std::uint64_t Store::counter(MDB_txn* txn, std::string_view key) const {
  MDB_val k = as_val(key), v{};
  if (mdb_get(txn, meta_, &k, &v) != MDB_SUCCESS || v.mv_size != 8) return 0;
  std::uint64_t g = 0;
  std::memcpy(&g, v.mv_data, 8);
  return g;
}

const RetrievalIndex& Store::index() {
  Reader r(*this);
  const std::uint64_t g = generation(r.txn_.get());
  if (index_ && g == index_generation_) return *index_;
  std::vector<IndexedLog> logs;
  std::vector<UnreadableLog> unreadable;
  for (LogId id : r.ids()) {
    try {
      const auto rec = r.log(id);
      logs.push_back({id, rec->retrieval_text, rec->tags, r.embedding(id)});
    } catch (const Error& e) {
      unreadable.push_back({id, e.what()});  // one damaged log must not stop retrieval over the others
    }
  }
  index_ = std::make_unique<RetrievalIndex>(std::move(logs));
  unreadable_ = std::move(unreadable);
  index_generation_ = g;
  return *index_;
}

std::optional<EmbedderFingerprint> Store::embedder_in(MDB_txn* txn, bool& recorded) const {
  MDB_val k = as_val(std::string_view("embedder")), v{};
  const int rc = mdb_get(txn, meta_, &k, &v);
  recorded = rc == MDB_SUCCESS;
  if (recorded) {
    EmbedderFingerprint e;
    try {
      const auto j = nlohmann::json::parse(std::string_view(static_cast<const char*>(v.mv_data), v.mv_size),
                                           nullptr, false);
      if (j.is_discarded()) throw Error("unparsable");
      e = j.get<EmbedderFingerprint>();
      e.validate();
    } catch (const std::exception& ex) {
      fail(Errc::store,
           "the log store '{}' is damaged (its embedder record is unreadable: {}); restore it from an export "
           "or backup",
           dir_, ex.what());
    }
    return e;
  }
  if (rc != MDB_NOTFOUND) check_mdb(rc, "reading the store's embedder");
  // A store made before the record: its vectors, if any, are the generator's.
  if (!has_vectors_) return std::nullopt;
  MDB_stat st{};
  check_mdb(mdb_stat(txn, vectors_, &st), "counting the store's vectors");
  if (st.ms_entries == 0) return std::nullopt;
  return EmbedderFingerprint{};
}

void Store::fail_embedder_mismatch(const EmbedderFingerprint& stored, const EmbedderFingerprint& used) const {
  fail(Errc::store_model_mismatch,
       "the log store '{}' holds dense vectors made by another embedder; vectors of two embedders cannot be "
       "compared:\n  store's vectors: {}\n  this embedder:   {}\nembed with the store's embedder (or use a "
       "new store directory)",
       dir_, stored.describe(), used.describe());
}

std::optional<EmbedderFingerprint> Store::embedder() {
  Reader r(*this);
  bool recorded = false;
  return embedder_in(r.txn_.get(), recorded);
}

void Store::check_embedder(const EmbedderFingerprint& embedder) {
  const auto stored = this->embedder();
  if (stored && !(*stored == embedder)) fail_embedder_mismatch(*stored, embedder);
}

std::uint64_t Store::check_log(const LogRecord& record, const LogKvInput& kv) const {
  const auto& f = fingerprint_;
  if (kv.k.size() != f.layers || kv.v.size() != f.layers)
    fail(Errc::internal, "internal: log KV has {} layers, the store {}", kv.k.size(), f.layers);
  const std::uint64_t row = std::uint64_t(f.kv_heads) * f.head_dim;
  for (std::uint32_t l = 0; l < f.layers; ++l)
    if (kv.k[l].size() != kv.tokens * row || kv.v[l].size() != kv.tokens * row)
      fail(Errc::internal, "internal: layer {} holds {} / {} values, expected {}", l, kv.k[l].size(),
           kv.v[l].size(), kv.tokens * row);
  if (kv.tokens == 0) fail(Errc::invalid_argument, "a log must keep at least one token");
  if (kv.tokens != record.kv_tokens())
    fail(Errc::invalid_argument, "a log's KV holds {} entries but its record {} ({} tokens, {} latents)",
         kv.tokens, record.kv_tokens(), record.token_ids.size(), record.latents);
  const std::uint32_t n_pages = (kv.tokens + f.page_tokens - 1) / f.page_tokens;
  const std::uint64_t page_bytes = codec_ == PageCodec::q8_0 ? row / 32 * 34 : row * 2;
  return 2 * std::uint64_t(f.layers) * (n_pages * (kPageHeader + 64) + kv.tokens * page_bytes);
}

int Store::put_record_and_pages(MDB_txn* txn, LogId id, const std::string& record_value, const LogKvInput& kv,
                                unsigned record_flags) {
  const auto& f = fingerprint_;
  const std::uint64_t row = std::uint64_t(f.kv_heads) * f.head_dim;
  const std::uint32_t P = f.page_tokens;
  const std::uint32_t n_pages = (kv.tokens + P - 1) / P;
  const auto ik = id_key(id);
  MDB_val k = as_val(std::span<const std::byte>(ik)), v = as_val(std::string_view(record_value));
  int rc = mdb_put(txn, logs_, &k, &v, record_flags);
  std::vector<std::byte> value;
  for (std::uint32_t l = 0; l < f.layers && rc == MDB_SUCCESS; ++l) {
    for (std::uint32_t p = 0; p < n_pages && rc == MDB_SUCCESS; ++p) {
      const std::uint32_t tokens = std::min(P, kv.tokens - p * P);
      const auto ks = kv.k[l].subspan(std::size_t(p) * P * row, tokens * row);
      const auto vs = kv.v[l].subspan(std::size_t(p) * P * row, tokens * row);
      if (codec_ == PageCodec::f16) {
        value.assign(kPageHeader + ks.size_bytes() + vs.size_bytes(), std::byte{0});
        std::memcpy(value.data() + kPageHeader, ks.data(), ks.size_bytes());
        std::memcpy(value.data() + kPageHeader + ks.size_bytes(), vs.data(), vs.size_bytes());
      } else {
        const auto kq = quantize(GgmlType::q8_0, from_half(ks)), vq = quantize(GgmlType::q8_0, from_half(vs));
        value.assign(kPageHeader + kq.size() + vq.size(), std::byte{0});
        std::memcpy(value.data() + kPageHeader, kq.data(), kq.size());
        std::memcpy(value.data() + kPageHeader + kq.size(), vq.data(), vq.size());
      }
      const std::uint64_t sum = XXH64(value.data() + kPageHeader, value.size() - kPageHeader, 0);
      std::memcpy(value.data(), &kPageMagic, 4);
      std::memcpy(value.data() + 4, &tokens, 4);
      std::memcpy(value.data() + 8, &sum, 8);
      const auto pk = page_key(id, l, p);
      MDB_val pkv = as_val(std::span<const std::byte>(pk)), pvv = as_val(std::span<const std::byte>(value));
      rc = mdb_put(txn, pages_, &pkv, &pvv, 0);
    }
  }
  return rc;
}

int Store::delete_pages(MDB_txn* txn, LogId id) {
  MDB_cursor* cur = nullptr;
  int rc = mdb_cursor_open(txn, pages_, &cur);
  if (rc != MDB_SUCCESS) return rc;
  const auto start = page_key(id, 0, 0);
  MDB_val pk = as_val(std::span<const std::byte>(start)), pv{};
  rc = mdb_cursor_get(cur, &pk, &pv, MDB_SET_RANGE);
  while (rc == MDB_SUCCESS && pk.mv_size == 16 && key_id(pk) == id) {
    rc = mdb_cursor_del(cur, 0);
    if (rc != MDB_SUCCESS) break;
    rc = mdb_cursor_get(cur, &pk, &pv, MDB_GET_CURRENT);
    if (rc != MDB_SUCCESS) rc = mdb_cursor_get(cur, &pk, &pv, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
}

int Store::mark_changed(MDB_txn* txn, bool wrote_record) {
  // The generation tells every process's retrieval index to rebuild.
  const std::uint64_t g = generation(txn) + 1;
  MDB_val gk = as_val(std::string_view("generation")), gv{8, const_cast<std::uint64_t*>(&g)};
  int rc = mdb_put(txn, meta_, &gk, &gv, 0);
  if (rc == MDB_SUCCESS && wrote_record) {  // a schema-1 store holds a checksummed record from now on
    const std::string schema = std::to_string(kSchemaVersion);
    MDB_val sk = as_val(std::string_view("schema")), sv = as_val(std::string_view(schema));
    rc = mdb_put(txn, meta_, &sk, &sv, 0);
  }
  return rc;
}

LogId Store::put_log(const LogRecord& record, const LogKvInput& kv, std::span<const float> embedding,
                     const EmbedderFingerprint& embedder) {
  const std::uint64_t page_bytes = check_log(record, kv);
  const std::string json = encode_record_value(record);
  const std::uint64_t bytes = json.size() + embedding.size_bytes() + page_bytes;
  reserve(bytes + bytes / 4 + (64 << 10));  // the values, LMDB's branch pages and free list
  for (;;) {
    Txn txn = begin(true);
    // Ids are never reused: the next one follows both the largest in use and the "next_id" counter
    // (stores made before the counter start from the largest id).
    LogId id = 1;
    {
      MDB_cursor* cur = nullptr;
      check_mdb(mdb_cursor_open(txn.get(), logs_, &cur), "mdb_cursor_open");
      MDB_val k{}, v{};
      if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == MDB_SUCCESS) id = key_id(k) + 1;
      mdb_cursor_close(cur);
      MDB_val nk = as_val(std::string_view("next_id")), nv{};
      if (mdb_get(txn.get(), meta_, &nk, &nv) == MDB_SUCCESS && nv.mv_size == 8) {
        std::uint64_t next = 0;
        std::memcpy(&next, nv.mv_data, 8);
        id = std::max(id, next);
      }
    }
    const auto ik = id_key(id);
    int rc = put_record_and_pages(txn.get(), id, json, kv, MDB_NOOVERWRITE);
    if (rc == MDB_SUCCESS && !embedding.empty()) {
      // Checked inside the write: another process may have recorded an embedder since this one looked.
      bool recorded = false;
      const auto stored = embedder_in(txn.get(), recorded);
      if (stored && !(*stored == embedder)) {
        txn.abort();
        fail_embedder_mismatch(*stored, embedder);
      }
      MDB_val ek = as_val(std::span<const std::byte>(ik)), ev = as_val(std::as_bytes(embedding));
      rc = mdb_put(txn.get(), vectors_, &ek, &ev, 0);
      if (rc == MDB_SUCCESS && !recorded) {
        const std::string e = nlohmann::json(embedder).dump();
        MDB_val rk = as_val(std::string_view("embedder")), rv = as_val(std::string_view(e));
        rc = mdb_put(txn.get(), meta_, &rk, &rv, 0);
      }
    }
    if (rc == MDB_SUCCESS) {
      const std::uint64_t next = id + 1;
      MDB_val nk = as_val(std::string_view("next_id")), nv{8, const_cast<std::uint64_t*>(&next)};
      rc = mdb_put(txn.get(), meta_, &nk, &nv, 0);
    }
    if (rc == MDB_SUCCESS) rc = mark_changed(txn.get(), true);
    if (rc == MDB_MAP_FULL) {
      txn.abort();
      grow();
      continue;
    }
    if (rc != MDB_SUCCESS) fail_write(rc, bytes, "the log was not written");
    // mdb_txn_commit frees the transaction whatever it returns.
    rc = txn.commit_status();
    if (rc == MDB_MAP_FULL) {
      grow();
      continue;
    }
    if (rc != MDB_SUCCESS) fail_write(rc, bytes, "the log was not written");
    return id;
  }
}

Store::Replacement Store::replace_log(LogId id, const LogRecord& record, const LogKvInput& kv,
                                      const LogRecord* expected) {
  const std::uint64_t page_bytes = check_log(record, kv);
  const std::string json = encode_record_value(record);
  const std::uint64_t bytes = json.size() + page_bytes;
  reserve(bytes + bytes / 4 + (64 << 10));
  for (;;) {
    Txn txn = begin(true);
    const auto ik = id_key(id);
    MDB_val k = as_val(std::span<const std::byte>(ik)), old{};
    int rc = mdb_get(txn.get(), logs_, &k, &old);
    if (rc == MDB_NOTFOUND) return Replacement::not_found;
    check_mdb(rc, "reading the log to replace");
    const LogRecord current = decode_stored_record(id, old, dir_).record;
    // The caller decided from the record it read: another writer may have replaced it since.
    if (expected != nullptr && nlohmann::json(current) != nlohmann::json(*expected)) {
      txn.abort();
      return Replacement::changed;
    }
    // The log keeps its dense vector, which is of its retrieval text: a new text would leave it stale.
    if (current.retrieval_text != record.retrieval_text) {
      txn.abort();
      fail(Errc::invalid_argument,
           "log {} keeps its dense vector, which is of its retrieval text: its replacement must keep that "
           "text",
           id);
    }
    rc = delete_pages(txn.get(), id);
    if (rc == MDB_SUCCESS) rc = put_record_and_pages(txn.get(), id, json, kv, 0);
    if (rc == MDB_SUCCESS) rc = mark_changed(txn.get(), true);
    if (rc == MDB_SUCCESS) {
      const std::uint64_t n = counter(txn.get(), "replacements") + 1;
      MDB_val nk = as_val(std::string_view("replacements")), nv{8, const_cast<std::uint64_t*>(&n)};
      rc = mdb_put(txn.get(), meta_, &nk, &nv, 0);
    }
    if (rc == MDB_SUCCESS) rc = txn.commit_status();
    if (rc == MDB_MAP_FULL) {
      txn.abort();
      grow();
      continue;
    }
    if (rc != MDB_SUCCESS) fail_write(rc, bytes, "the log was not replaced (it is kept as it was)");
    return Replacement::replaced;
  }
}

bool Store::remove(LogId id) {
  for (;;) {
    Txn txn = begin(true);
    const auto ik = id_key(id);
    MDB_val k = as_val(std::span<const std::byte>(ik));
    int rc = mdb_del(txn.get(), logs_, &k, nullptr);
    if (rc == MDB_NOTFOUND) return false;
    if (rc == MDB_SUCCESS) rc = delete_pages(txn.get(), id);
    if (rc == MDB_SUCCESS && has_vectors_) {
      rc = mdb_del(txn.get(), vectors_, &k, nullptr);
      if (rc == MDB_NOTFOUND) rc = MDB_SUCCESS;
    }
    // Deleting copies pages too (LMDB never overwrites in place), so a full map is grown here as well.
    if (rc == MDB_SUCCESS) rc = mark_changed(txn.get(), false);
    if (rc == MDB_SUCCESS) rc = txn.commit_status();
    if (rc == MDB_MAP_FULL) {
      txn.abort();
      grow();
      continue;
    }
    if (rc != MDB_SUCCESS) fail_write(rc, 1 << 20, "the log was not removed");
    index_.reset();
    return true;
  }
}

std::uint64_t Store::replacements() {
  const Reader r(*this);
  return counter(r.txn_.get(), "replacements");
}

Store::Reader::Reader(Store& store) : store_(store), txn_(store.begin(false)) {
  ++store_.open_readers_;
}

Store::Reader::~Reader() {
  --store_.open_readers_;
}

std::vector<LogId> Store::Reader::ids() const {
  std::vector<LogId> out;
  MDB_cursor* cur = nullptr;
  check_mdb(mdb_cursor_open(txn_.get(), store_.logs_, &cur), "mdb_cursor_open");
  MDB_val k{}, v{};
  int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  for (; rc == MDB_SUCCESS && k.mv_size == 8; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
    out.push_back(key_id(k));
  mdb_cursor_close(cur);
  // A walk that ends early (a damaged tree) must not pass for a shorter list of logs.
  if (rc == MDB_SUCCESS)
    fail(Errc::store,
         "the log store '{}' is damaged (a log key of {} bytes); verify it, or restore it from "
         "an export or backup",
         store_.dir_, k.mv_size);
  if (rc != MDB_NOTFOUND) check_mdb(rc, "listing the logs");
  return out;
}

std::optional<LogRecord> Store::Reader::log(LogId id) const {
  Lookup found = lookup(id);
  if (!found.damage.empty()) fail(Errc::store, "{}", found.damage);
  return std::move(found.record);
}

Store::Reader::Lookup Store::Reader::lookup(LogId id) const {
  const auto ik = id_key(id);
  MDB_val k = as_val(std::span<const std::byte>(ik)), v{};
  const int rc = mdb_get(txn_.get(), store_.logs_, &k, &v);
  if (rc == MDB_NOTFOUND) return {};
  check_mdb(rc, "reading a log");
  try {
    return {decode_stored_record(id, v, store_.dir_).record, ""};
  } catch (const Error& e) {
    return {std::nullopt, e.what()};
  }
}

std::vector<float> Store::Reader::embedding(LogId id) const {
  if (!store_.has_vectors_) return {};
  const auto ik = id_key(id);
  MDB_val k = as_val(std::span<const std::byte>(ik)), v{};
  const int rc = mdb_get(txn_.get(), store_.vectors_, &k, &v);
  if (rc == MDB_NOTFOUND) return {};
  check_mdb(rc, "reading a vector");
  if (v.mv_size % 4 != 0) fail(Errc::store, "log {} has a damaged retrieval vector", id);
  // LMDB aligns small values to 2 bytes only: copy rather than view.
  std::vector<float> out(v.mv_size / 4);
  std::memcpy(out.data(), v.mv_data, v.mv_size);
  return out;
}

std::uint32_t Store::Reader::pages_of(std::uint32_t tokens) const {
  return (tokens + store_.fingerprint_.page_tokens - 1) / store_.fingerprint_.page_tokens;
}

PageView Store::Reader::page(LogId id, std::uint32_t layer, std::uint32_t page) const {
  const auto pk = page_key(id, layer, page);
  MDB_val k = as_val(std::span<const std::byte>(pk)), v{};
  const int rc = mdb_get(txn_.get(), store_.pages_, &k, &v);
  if (rc == MDB_NOTFOUND)
    fail(Errc::store, "log {} has no page {} of layer {}: the store is damaged (verify it)", id, page, layer);
  check_mdb(rc, "reading a page");
  const auto* bytes = static_cast<const std::byte*>(v.mv_data);
  std::uint32_t magic = 0, tokens = 0;
  std::uint64_t sum = 0;
  if (v.mv_size >= kPageHeader) {
    std::memcpy(&magic, bytes, 4);
    std::memcpy(&tokens, bytes + 4, 4);
    std::memcpy(&sum, bytes + 8, 8);
  }
  const std::uint64_t row = std::uint64_t(store_.fingerprint_.kv_heads) * store_.fingerprint_.head_dim;
  const bool q8 = store_.codec_ == PageCodec::q8_0;
  const std::uint64_t half_bytes =
      q8 ? std::uint64_t(tokens) * row / 32 * 34 : 2 * std::uint64_t(tokens) * row;
  if (magic != kPageMagic || v.mv_size != kPageHeader + 2 * half_bytes ||
      tokens > store_.fingerprint_.page_tokens)
    fail(Errc::store, "page {} of layer {} of log {} is corrupted (bad header); remove the log", page, layer,
         id);
  if (XXH64(bytes + kPageHeader, v.mv_size - kPageHeader, 0) != sum)
    fail(Errc::store, "page {} of layer {} of log {} is corrupted (checksum mismatch); remove the log", page,
         layer, id);
  if (q8)
    return PageView{tokens,
                    PageCodec::q8_0,
                    {},
                    {},
                    {bytes + kPageHeader, half_bytes},
                    {bytes + kPageHeader + half_bytes, half_bytes}};
  const auto* halves = reinterpret_cast<const std::uint16_t*>(bytes + kPageHeader);
  return PageView{tokens, PageCodec::f16, {halves, tokens * row}, {halves + tokens * row, tokens * row}, {},
                  {}};
}

std::vector<Store::UnreadableLog> Store::unreadable_logs() {
  (void)index();
  return unreadable_;
}

StoreStats Store::stats() {
  StoreStats s;
  Reader r(*this);
  for (LogId id : r.ids()) {
    ++s.logs;
    try {
      if (auto log = r.log(id)) s.stored_tokens += log->kv_tokens();
    } catch (const Error&) {
      // A damaged record: counted as a log; verify reports it.
    }
  }
  MDB_stat st{};
  mdb_stat(r.txn_.get(), pages_, &st);
  s.pages = st.ms_entries;
  s.page_bytes = std::uint64_t(st.ms_psize) * (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages);
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  s.map_size = info.me_mapsize;
  s.map_used = std::uint64_t(info.me_last_pgno + 1) * st.ms_psize;
  std::error_code ec;
  s.file_bytes = std::filesystem::file_size(std::filesystem::path(dir_) / "data.mdb", ec);
  return s;
}

VerifyReport Store::verify() {
  VerifyReport report;
  Reader r(*this);
  // Pages per layer of each log; a log whose record is damaged owns all its pages (they are not orphans).
  constexpr std::uint32_t kAnyPages = ~std::uint32_t(0);
  std::map<LogId, std::uint32_t> expected;
  std::uint64_t legacy = 0;
  for (LogId id : r.ids()) {
    ++report.logs;
    expected[id] = kAnyPages;
    try {
      const auto ik = id_key(id);
      MDB_val k = as_val(std::span<const std::byte>(ik)), v{};
      check_mdb(mdb_get(r.txn_.get(), logs_, &k, &v), "reading a log");
      const DecodedRecord decoded = decode_stored_record(id, v, dir_);
      const LogRecord& log = decoded.record;
      if (decoded.legacy) ++legacy;
      const std::uint32_t n = r.pages_of(std::uint32_t(log.kv_tokens()));
      expected[id] = n;
      std::uint32_t tokens = 0;
      for (std::uint32_t l = 0; l < fingerprint_.layers; ++l) {
        tokens = 0;
        for (std::uint32_t p = 0; p < n; ++p) tokens += r.page(id, l, p).tokens;
        if (tokens != log.kv_tokens())
          report.problems.push_back(fmt::format("log {}: layer {} pages hold {} tokens, the record {}", id, l,
                                                tokens, log.kv_tokens()));
      }
    } catch (const Error& e) {
      report.problems.push_back(e.what());
    }
  }
  if (legacy)
    report.notes.push_back(fmt::format(
        "{} of {} log records were written by an older lagvk without a record checksum: their pages are "
        "verified, their text cannot be",
        legacy, report.logs));
  MDB_cursor* cur = nullptr;
  check_mdb(mdb_cursor_open(r.txn_.get(), pages_, &cur), "mdb_cursor_open");
  MDB_val k{}, v{};
  int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    ++report.pages;
    if (k.mv_size != 16) {
      report.problems.push_back("a page has a malformed key");
      continue;
    }
    const LogId id = key_id(k);
    const auto* p = static_cast<const unsigned char*>(k.mv_data);
    const auto it = expected.find(id);
    if (it == expected.end())
      report.problems.push_back(fmt::format("page of log {} without a log record (orphan)", id));
    else if (be32(p + 8) >= fingerprint_.layers || be32(p + 12) >= it->second)
      report.problems.push_back(
          fmt::format("log {}: unexpected page {} of layer {}", id, be32(p + 12), be32(p + 8)));
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND)
    report.problems.push_back(fmt::format("the pages table cannot be read to its end: {}", mdb_strerror(rc)));
  return report;
}

std::vector<ScoredLog> Store::search(const std::string& query, std::uint32_t k,
                                     const std::set<LogId>& exclude, const std::vector<std::string>& tags) {
  return index().lexical(query, k, exclude, tags);
}

std::vector<ScoredLog> Store::search_dense(std::span<const float> query, std::uint32_t k,
                                           const std::set<LogId>& exclude,
                                           const std::vector<std::string>& tags,
                                           const EmbedderFingerprint& embedder) {
  check_embedder(embedder);
  const RetrievalIndex& logs = index();
  if (logs.vector_count() == 0)
    fail(Errc::invalid_argument,
         "dense retrieval: no log in the store '{}' has a dense vector (only logs added with an embedding "
         "can be found this way); add logs with their embeddings, or use lexical (BM25) retrieval",
         dir_);
  return logs.dense(query, k, exclude, tags);
}

std::size_t Store::dense_vector_count() {
  return index().vector_count();
}

}  // namespace lagvk::logstore
