#include "logstore/lmdb.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>
#include <utility>

#include "engine/core/error.hpp"

namespace lagvk::logstore {

void check_mdb(int rc, const char* what) {
  if (rc == MDB_SUCCESS) return;
  if (rc == MDB_MAP_FULL)
    fail(Errc::store,
         "{}: the log store is full (its map reached the maximum size); remove logs or start "
         "a new store",
         what);
  // What LMDB says when it meets pages that do not hold together (a damaged file).
  if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_BAD_TXN || rc == MDB_INVALID ||
      rc == MDB_BAD_VALSIZE)
    fail(Errc::store, "{}: the log store is damaged ({}); verify it, or restore it from an export or backup",
         what, mdb_strerror(rc));
  fail(Errc::store, "{}: {}", what, mdb_strerror(rc));
}

WriterLock::WriterLock(int fd, const std::string& what) {
  int rc;
  while ((rc = ::flock(fd, LOCK_EX)) != 0 && errno == EINTR) {
  }
  if (rc != 0) fail(Errc::store, "{}: cannot lock it for writing: {}", what, std::strerror(errno));
  fd_ = fd;
}

void WriterLock::unlock() {
  if (fd_ >= 0) ::flock(std::exchange(fd_, -1), LOCK_UN);
}

Txn::Txn(MDB_env* env, bool write) {
  check_mdb(mdb_txn_begin(env, nullptr, write ? 0 : MDB_RDONLY, &txn_), "mdb_txn_begin");
}

Txn::~Txn() {
  if (txn_) mdb_txn_abort(txn_);
}

Txn::Txn(Txn&& other) noexcept : txn_(std::exchange(other.txn_, nullptr)), lock_(std::move(other.lock_)) {}

void Txn::commit() {
  check_mdb(commit_status(), "mdb_txn_commit");
}

int Txn::commit_status() {
  const int rc = mdb_txn_commit(std::exchange(txn_, nullptr));
  lock_.unlock();
  return rc;
}

void Txn::abort() {
  if (txn_) mdb_txn_abort(std::exchange(txn_, nullptr));
  lock_.unlock();
}

namespace {

// LMDB's on-disk meta page (x86-64 and other 64-bit little-endian builds): a 16-byte page header
// {pgno u64, pad u16, flags u16, lower/upper u32}, then the meta {magic u32, version u32, address u64,
// mapsize u64, two database records of 48 bytes (free list, main), last page u64, txn id u64}. A database
// record is {pad u32 (the free list's holds the page size), flags u16, depth u16, branch, leaf and overflow
// page counts u64, entries u64, root page u64}.
constexpr std::uint32_t kMetaMagic = 0xBEEFC0DE;
constexpr std::uint32_t kDataVersion = 1;
constexpr std::uint16_t kMetaPageFlag = 0x08;
constexpr std::uint64_t kNoPage = ~std::uint64_t(0);
constexpr std::size_t kMetaBytes = 16 + 136;
constexpr std::size_t kFreeDb = 16 + 24, kMainDb = kFreeDb + 48;

template <typename T>
T load(const unsigned char* p) {
  T v{};
  std::memcpy(&v, p, sizeof v);
  return v;
}

struct Meta {
  std::uint64_t page_size = 0, last_page = 0, txn_id = 0, main_entries = 0, main_root = 0, free_root = 0;
};

/// The meta page's fields, or a reason why it is not a valid one.
std::optional<Meta> parse_meta(const unsigned char* p, std::uint64_t pgno, std::string& why) {
  if (load<std::uint64_t>(p) != pgno || !(load<std::uint16_t>(p + 10) & kMetaPageFlag)) {
    why = fmt::format("meta page {} is not marked as one", pgno);
    return std::nullopt;
  }
  if (load<std::uint32_t>(p + 16) != kMetaMagic) {
    why = fmt::format("meta page {} has no LMDB magic number", pgno);
    return std::nullopt;
  }
  if (load<std::uint32_t>(p + 20) != kDataVersion) {
    why = fmt::format("meta page {} has LMDB format version {}, not {}", pgno, load<std::uint32_t>(p + 20),
                      kDataVersion);
    return std::nullopt;
  }
  Meta m;
  m.page_size = load<std::uint32_t>(p + kFreeDb);
  m.free_root = load<std::uint64_t>(p + kFreeDb + 40);
  m.main_entries = load<std::uint64_t>(p + kMainDb + 32);
  m.main_root = load<std::uint64_t>(p + kMainDb + 40);
  m.last_page = load<std::uint64_t>(p + 136);
  m.txn_id = load<std::uint64_t>(p + 144);
  if (m.page_size < 512 || m.page_size > 65536 || (m.page_size & (m.page_size - 1)) != 0) {
    why = fmt::format("meta page {} gives an impossible page size {}", pgno, m.page_size);
    return std::nullopt;
  }
  // Pages 0 and 1 are the metas; a database's root lies between them and the last page in use.
  const auto root_ok = [&](std::uint64_t root) {
    return root == kNoPage || (root >= 2 && root <= m.last_page);
  };
  if (m.last_page < 1 || m.last_page > (std::uint64_t(1) << 40) || !root_ok(m.main_root) ||
      !root_ok(m.free_root)) {
    why = fmt::format("meta page {} points outside the file's pages (last page {})", pgno, m.last_page);
    return std::nullopt;
  }
  return m;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

/// One reading of the file; an empty string when it is sound, else the reason it is not.
std::string try_check(int fd, DataFileCheck& out) {
  std::array<unsigned char, kMetaBytes> page0{}, page1{};
  const ssize_t n0 = ::pread(fd, page0.data(), page0.size(), 0);
  struct stat st {};
  if (n0 == 0 && ::fstat(fd, &st) == 0 && st.st_size == 0) {
    out.blank = true;  // LMDB itself treats an empty data file as a new environment
    return {};
  }
  if (n0 != ssize_t(page0.size())) return "the file is shorter than one LMDB page";
  std::string why;
  const auto m0 = parse_meta(page0.data(), 0, why);
  if (!m0) return why;
  const ssize_t n1 = ::pread(fd, page1.data(), page1.size(), off_t(m0->page_size));
  if (n1 != ssize_t(page1.size())) return "the file is shorter than its two meta pages";
  const auto m1 = parse_meta(page1.data(), 1, why);
  if (!m1) return why;
  if (m1->page_size != m0->page_size) return "the two meta pages give different page sizes";
  const Meta& live = m1->txn_id > m0->txn_id ? *m1 : *m0;  // the one LMDB will use
  // Measured after the metas were read: a writer extends the file before it writes a meta page.
  if (::fstat(fd, &st) != 0) return fmt::format("cannot stat the file: {}", std::strerror(errno));
  const std::uint64_t needed = (live.last_page + 1) * live.page_size;
  if (std::uint64_t(st.st_size) < needed)
    return fmt::format("data.mdb holds {} bytes but its last page in use ends at byte {}", st.st_size,
                       needed);
  out.blank = live.main_entries == 0 && live.main_root == kNoPage;
  out.page_size = live.page_size;
  out.last_page = live.last_page;
  out.txn_id = live.txn_id;
  return {};
}

}  // namespace

DataFileCheck check_data_file(const std::string& path, const std::string& store_dir) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP)
      fail(Errc::store,
           "the log store '{}' has a symbolic link as data.mdb; lagvk refuses links inside a store",
           store_dir);
    fail(Errc::store, "cannot read the log store '{}': {} ({})", store_dir, std::strerror(errno), path);
  }
  const Fd file(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    fail(
        Errc::store,
        "the log store '{}' is damaged (data.mdb is not a regular file); restore it from an export or backup",
        store_dir);
  // A writer may be rewriting a meta page while it is read here: a reading that does not hold together
  // is taken again before the file is called damaged.
  std::string why;
  for (int attempt = 0; attempt < 3; ++attempt) {
    DataFileCheck out;
    why = try_check(fd, out);
    if (why.empty()) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  fail(Errc::store, "the log store '{}' is damaged ({}); restore it from an export or backup", store_dir,
       why);
}

}  // namespace lagvk::logstore
