#pragma once
// The merge loop SentencePiece and byte-level BPE share: a word is split into symbols (byte ranges of its
// text), and adjacent pairs are merged best first, each merge queueing the new symbol's pairs with its
// neighbours, until no pair qualifies. The tokenizers differ only in what a pair is worth.
#include <cstddef>
#include <optional>
#include <queue>
#include <vector>

namespace lagvk {

/// One symbol of a word being merged: bytes [start, start + len) of its text, in a doubly linked list
/// (prev/next: indices, -1 at the ends). A symbol merged into its left neighbour has len 0.
struct MergeSymbol {
  int prev = -1, next = -1;
  std::size_t start = 0, len = 0;
};

/// Links `symbols` (their start and len set, in order) and merges them: `priority_of(left, right)` is a
/// pair's priority (higher merges first; ties go to the leftmost pair), or nullopt when the pair does not
/// merge. Afterwards the list from symbols[0] along `next` holds the word's final symbols.
template <typename Priority, typename PriorityOf>
void merge_best_pairs(std::vector<MergeSymbol>& symbols, PriorityOf&& priority_of) {
  if (symbols.empty()) return;
  for (std::size_t i = 0; i < symbols.size(); ++i) {
    symbols[i].prev = int(i) - 1;
    symbols[i].next = i + 1 < symbols.size() ? int(i) + 1 : -1;
  }
  struct Pair {
    int left, right;
    Priority priority;
    std::size_t size;  ///< the pair's bytes when queued: a side that grew since makes the entry stale
  };
  const auto merges_later = [](const Pair& a, const Pair& b) {
    return a.priority < b.priority || (a.priority == b.priority && a.left > b.left);
  };
  std::priority_queue<Pair, std::vector<Pair>, decltype(merges_later)> queue(merges_later);
  const auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const MergeSymbol& l = symbols[std::size_t(left)];
    const MergeSymbol& r = symbols[std::size_t(right)];
    if (const std::optional<Priority> priority = priority_of(l, r))
      queue.push({left, right, *priority, l.len + r.len});
  };
  for (std::size_t i = 1; i < symbols.size(); ++i) try_add(int(i) - 1, int(i));
  while (!queue.empty()) {
    const Pair pair = queue.top();
    queue.pop();
    MergeSymbol& l = symbols[std::size_t(pair.left)];
    MergeSymbol& r = symbols[std::size_t(pair.right)];
    // Stale entries: one side was merged away, or grew since the pair was queued.
    if (l.len == 0 || r.len == 0 || l.len + r.len != pair.size) continue;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[std::size_t(r.next)].prev = pair.left;
    try_add(l.prev, pair.left);
    try_add(pair.left, l.next);
  }
}

}  // namespace lagvk
