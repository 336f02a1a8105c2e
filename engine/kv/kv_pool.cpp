#include "engine/kv/kv_pool.hpp"

#include "engine/core/error.hpp"
#include "engine/vk/command_stream.hpp"

namespace lagvk {

KvPool::KvPool(vk::Context& ctx, const KvShape& shape, std::uint32_t pages) : shape_(shape) {
  if (pages == 0 || shape.page_tokens == 0)
    fail(Errc::invalid_argument, "KV cache: needs at least one page of at least one token");
  const std::uint64_t bytes = std::uint64_t(pages) * shape.page_bytes();
  for (std::uint32_t l = 0; l < shape.layers; ++l) {
    keys_.push_back(ctx.create_buffer(bytes));
    values_.push_back(ctx.create_buffer(bytes));
  }
  refs_.assign(pages, 0);
  for (std::uint32_t p = pages; p-- > 0;) free_.push_back(p);  // hand out low pages first
}

KvPages::KvPages(KvPages&& other) noexcept : pool_(other.pool_), ids_(std::move(other.ids_)) {
  other.ids_.clear();
}

KvPages& KvPages::operator=(KvPages&& other) noexcept {
  if (this != &other) {
    reset();
    pool_ = other.pool_;
    ids_ = std::move(other.ids_);
    other.ids_.clear();
  }
  return *this;
}

void KvPages::reset() {
  // release() throws only for a page that is already free, which a handle's own reference rules out.
  for (auto p : ids_) pool_->release(p);
  ids_.clear();
}

KvPages KvPool::allocate(std::uint32_t count) {
  KvPages pages(*this);
  pages.ids_.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) pages.ids_.push_back(allocate_one());
  return pages;
}

std::uint32_t KvPool::allocate_one() {
  if (free_.empty())
    fail(Errc::context_full,
         "KV cache full: all {} pages of {} tokens are in use; load the model with a larger context or use "
         "fewer sequences at once",
         capacity(), shape_.page_tokens);
  const std::uint32_t p = free_.back();
  free_.pop_back();
  refs_[p] = 1;
  return p;
}

void KvPool::retain(std::uint32_t page) {
  if (refs_.at(page) == 0) fail("internal: retain of free KV page {}", page);
  ++refs_[page];
}

void KvPool::release(std::uint32_t page) {
  if (refs_.at(page) == 0) fail("internal: release of free KV page {}", page);
  if (--refs_[page] == 0) free_.push_back(page);
}

KvSequence::KvSequence(vk::Context& ctx, KvPool& pool, std::uint32_t max_tokens)
    : ctx_(ctx), pool_(pool), max_tokens_(max_tokens) {
  const std::uint32_t max_pages = (max_tokens + pool.shape().page_tokens - 1) / pool.shape().page_tokens;
  table_buffer_ = ctx.create_buffer(std::uint64_t(std::max(max_pages, 1u)) * 4);
  fill_buffer_ = ctx.create_buffer(std::uint64_t(std::max(max_pages, 1u)) * 4);
}

KvSequence::~KvSequence() {
  for (auto p : table_) pool_.release(std::uint32_t(p));
}

void KvSequence::reserve(std::uint32_t tokens) {
  const std::uint64_t needed = std::uint64_t(length_) + tokens;
  if (needed > max_tokens_)
    fail(Errc::context_full,
         "context full: {} tokens needed but the context holds {}; shorten the prompt or load the model with "
         "a larger context",
         needed, max_tokens_);
  const std::uint32_t P = pool_.shape().page_tokens;
  const std::uint64_t pages_needed = (needed + P - 1) / P;
  if (pages_needed <= table_.size()) return;
  const std::size_t added = std::size_t(pages_needed - table_.size());
  // Room in the block table first (the only step that can fail for want of host memory), then every
  // page at once: a reserve that fails takes no page and leaves the table as it was.
  table_.reserve(table_.size() + added);
  fill_.reserve(fill_.size() + added);
  const KvPages pages = pool_.allocate(std::uint32_t(added));
  for (const std::uint32_t p : pages.ids()) {
    pool_.retain(p);  // the table's own reference; the handle drops its one on return
    table_.push_back(std::int32_t(p));
    fill_.push_back(std::int32_t(P));
  }
  upload_table();
}

void KvSequence::append_shared_pages(std::span<const std::uint32_t> pages, std::uint32_t tokens) {
  const std::uint32_t P = pool_.shape().page_tokens;
  if (pages.empty() || tokens > pages.size() * P || tokens + P <= pages.size() * P)
    fail("internal: {} tokens do not fill {} pages", tokens, pages.size());
  // Close our partly used last page: its unused slots become holes. Pages reserved beyond it go back.
  const std::size_t used_pages = (length_ + P - 1) / P;
  while (table_.size() > used_pages) {
    pool_.release(std::uint32_t(table_.back()));
    table_.pop_back();
    fill_.pop_back();
  }
  if (length_ % P != 0) fill_.back() = std::int32_t(length_ % P);
  const std::uint64_t start = std::uint64_t(table_.size()) * P;
  if (start + pages.size() * P > max_tokens_)
    fail(Errc::context_full,
         "context full: splicing {} tokens needs more than the context's {} tokens; use fewer logs or load "
         "the model with a larger context",
         tokens, max_tokens_);
  table_.reserve(table_.size() + pages.size());  // push_back below cannot throw after a reference is taken
  fill_.reserve(fill_.size() + pages.size());
  for (std::size_t i = 0; i < pages.size(); ++i) {
    pool_.retain(pages[i]);
    table_.push_back(std::int32_t(pages[i]));
    fill_.push_back(std::int32_t(i + 1 < pages.size() ? P : tokens - (pages.size() - 1) * P));
  }
  // The next entry starts on a fresh page.
  length_ = std::uint32_t(table_.size() * P);
  upload_table();
}

void KvSequence::share_prefix(const KvSequence& other) {
  if (&other.pool_ != &pool_) fail("internal: a sequence can share only pages of its own pool");
  if (!table_.empty() || length_ != 0) fail("internal: share_prefix needs an empty sequence");
  if (other.length_ > max_tokens_)
    fail(Errc::context_full, "context full: the {} shared entries exceed this sequence's {} tokens",
         other.length_, max_tokens_);
  const std::uint32_t P = pool_.shape().page_tokens;
  const std::size_t whole = other.length_ / P;
  const std::uint32_t tail = other.length_ % P;
  table_.reserve(whole + (tail ? 1 : 0));  // push_back below cannot throw after a reference is taken
  fill_.reserve(whole + (tail ? 1 : 0));
  for (std::size_t i = 0; i < whole; ++i) {
    pool_.retain(std::uint32_t(other.table_[i]));
    table_.push_back(other.table_[i]);
    fill_.push_back(other.fill_[i]);
  }
  length_ = std::uint32_t(whole * P);
  if (tail == 0) {
    upload_table();
    return;
  }
  reserve(tail);
  const std::uint32_t from = std::uint32_t(other.table_[whole]), to = std::uint32_t(table_.back());
  vk::CommandStream cs(ctx_);
  const std::uint64_t bytes = pool_.shape().page_bytes();
  for (std::uint32_t l = 0; l < pool_.shape().layers; ++l) {
    cs.copy(vk::BufferView(pool_.keys(l), pool_.page_offset(from), bytes),
            vk::BufferView(pool_.keys(l), pool_.page_offset(to), bytes));
    cs.copy(vk::BufferView(pool_.values(l), pool_.page_offset(from), bytes),
            vk::BufferView(pool_.values(l), pool_.page_offset(to), bytes));
  }
  cs.finish();
  advance(tail);
}

void KvSequence::advance(std::uint32_t tokens) {
  if (std::uint64_t(length_) + tokens > std::uint64_t(table_.size()) * pool_.shape().page_tokens)
    fail("internal: advance past reserved KV entries");
  length_ += tokens;
}

void KvSequence::truncate(std::uint32_t new_length) {
  if (new_length > length_) fail("internal: truncate beyond length");
  const std::uint32_t P = pool_.shape().page_tokens;
  const std::size_t keep = (new_length + P - 1) / P;
  while (table_.size() > keep) {
    pool_.release(std::uint32_t(table_.back()));
    table_.pop_back();
    fill_.pop_back();
  }
  length_ = new_length;
  upload_table();
}

ops::PagedKv KvSequence::layer_view(std::uint32_t layer) const {
  const auto& s = pool_.shape();
  return ops::PagedKv{pool_.keys(layer), pool_.values(layer), table_buffer_,
                      fill_buffer_,      s.page_tokens,       s.kv_heads,
                      s.head_dim,        pool_.capacity(),    std::uint32_t(table_.size())};
}

void KvSequence::upload_table() {
  if (table_.empty()) return;
  ctx_.upload(table_buffer_, std::span<const std::int32_t>(table_));
  ctx_.upload(fill_buffer_, std::span<const std::int32_t>(fill_));
}

}  // namespace lagvk
