#pragma once
// The paged KV cache on the GPU: for every layer, a pool of fixed-size pages of keys and values (fp16,
// page_tokens x kv_heads x head_dim each). Pages are handed out to sequences and reference-counted, so a
// page holding a spliced log can be shared read-only by several sequences.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "engine/ops/attention.hpp"
#include "engine/vk/buffer.hpp"
#include "engine/vk/context.hpp"

namespace lagvk {

struct KvShape {
  std::uint32_t layers = 0, kv_heads = 0, head_dim = 0;
  std::uint32_t page_tokens = 16;

  [[nodiscard]] std::uint64_t page_halves() const { return std::uint64_t(page_tokens) * kv_heads * head_dim; }
  [[nodiscard]] std::uint64_t page_bytes() const { return page_halves() * 2; }
  friend bool operator==(const KvShape&, const KvShape&) = default;
};

class KvPool;

/// Pages of a KvPool held by their owner: one reference on each page, dropped when the handle is
/// destroyed (also when an exception unwinds past it), so no caller releases pages by hand.
class KvPages {
 public:
  KvPages() = default;
  ~KvPages() { reset(); }
  KvPages(KvPages&& other) noexcept;
  KvPages& operator=(KvPages&& other) noexcept;
  KvPages(const KvPages&) = delete;
  KvPages& operator=(const KvPages&) = delete;

  /// The page indices, in order (borrowed: valid while this handle holds them).
  [[nodiscard]] std::span<const std::uint32_t> ids() const { return ids_; }
  [[nodiscard]] std::size_t size() const { return ids_.size(); }
  [[nodiscard]] bool empty() const { return ids_.empty(); }
  /// Drops this handle's references now.
  void reset();

 private:
  friend class KvPool;
  explicit KvPages(KvPool& pool) : pool_(&pool) {}

  KvPool* pool_ = nullptr;
  std::vector<std::uint32_t> ids_;
};

class KvPool {
 public:
  /// Allocates `pages` pages per layer (K and V) on the device.
  KvPool(vk::Context& ctx, const KvShape& shape, std::uint32_t pages);

  [[nodiscard]] const KvShape& shape() const { return shape_; }
  [[nodiscard]] std::uint32_t capacity() const { return std::uint32_t(refs_.size()); }
  [[nodiscard]] std::uint32_t free_pages() const { return std::uint32_t(free_.size()); }

  /// `count` free pages, each with one reference held by the returned handle. Throws lagvk::Error when
  /// the pool cannot supply them all (pages taken before that return to the pool).
  [[nodiscard]] KvPages allocate(std::uint32_t count);
  [[nodiscard]] std::uint32_t ref_count(std::uint32_t page) const { return refs_.at(page); }

  [[nodiscard]] const vk::Buffer& keys(std::uint32_t layer) const { return keys_.at(layer); }
  [[nodiscard]] const vk::Buffer& values(std::uint32_t layer) const { return values_.at(layer); }
  /// Byte offset of a page inside a layer's K or V buffer.
  [[nodiscard]] std::uint64_t page_offset(std::uint32_t page) const {
    return std::uint64_t(page) * shape_.page_bytes();
  }

 private:
  // Reference counting is reserved to the owners of references: KvPages and KvSequence's block table.
  friend class KvPages;
  friend class KvSequence;
  /// A free page with reference count 1. Throws lagvk::Error when the pool is exhausted.
  [[nodiscard]] std::uint32_t allocate_one();
  /// Another user of a page (a shared log page).
  void retain(std::uint32_t page);
  /// Drops one reference; the page returns to the pool at zero.
  void release(std::uint32_t page);

  KvShape shape_;
  std::vector<vk::Buffer> keys_, values_;
  std::vector<std::uint32_t> refs_;
  std::vector<std::uint32_t> free_;
};

/// One sequence's view of the pool: its block table (pages in order) and how many cache entries it holds.
/// Entry j lives in page table[j / page_tokens], slot j % page_tokens.
class KvSequence {
 public:
  KvSequence(vk::Context& ctx, KvPool& pool, std::uint32_t max_tokens);
  ~KvSequence();
  KvSequence(const KvSequence&) = delete;
  KvSequence& operator=(const KvSequence&) = delete;

  [[nodiscard]] vk::Context& context() const { return ctx_; }
  [[nodiscard]] std::uint32_t length() const { return length_; }
  [[nodiscard]] std::uint32_t max_tokens() const { return max_tokens_; }
  [[nodiscard]] const std::vector<std::int32_t>& table() const { return table_; }

  /// Makes room for `tokens` more entries (allocating pages) and uploads the block table if it changed.
  /// Throws a clear error past max_tokens (the context limit) or when the pool runs out; a reserve that
  /// throws takes no page (the block table and the pool are as they were).
  void reserve(std::uint32_t tokens);
  /// Appends already-filled pages (shared, e.g. a spliced log) at the end of the sequence, taking its own
  /// reference on each (the caller keeps, and its handle later drops, its own). The sequence's own partly
  /// used last page, if any, is closed first (its unused slots become holes), and `tokens` may leave the
  /// last appended page partly used: attention skips holes, so entries are page-aligned per log.
  void append_shared_pages(std::span<const std::uint32_t> pages, std::uint32_t tokens);
  /// Makes this empty sequence a reader of `other`'s entries, at the same slots: `other`'s full pages
  /// shared (one more reference on each, never copied), and its partly used last page, which `other`
  /// goes on writing, copied to a page of this sequence's own. A cache-augmentation coprocessor attends
  /// to its decoder's cache this way; no hole is left before this sequence's own entries (a sliding
  /// window counts slots). Both must share one pool.
  void share_prefix(const KvSequence& other);
  /// Marks `tokens` reserved entries as written.
  void advance(std::uint32_t tokens);
  /// Drops entries from `new_length` on (pages no longer used are released).
  void truncate(std::uint32_t new_length);

  /// The kernels' view of this sequence in one layer.
  [[nodiscard]] ops::PagedKv layer_view(std::uint32_t layer) const;

 private:
  void upload_table();

  vk::Context& ctx_;
  KvPool& pool_;
  std::uint32_t max_tokens_;
  std::uint32_t length_ = 0;
  std::vector<std::int32_t> table_;
  std::vector<std::int32_t> fill_;  ///< valid slots per table entry (page_tokens except after a spliced log)
  vk::Buffer table_buffer_, fill_buffer_;
};

}  // namespace lagvk
