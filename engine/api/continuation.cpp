#include "engine/api/continuation.hpp"

namespace lagvk {

namespace {

/// The length of text's longest prefix that does not end inside a UTF-8 character (its lead byte seen,
/// some continuation bytes still missing), looking no further back than `from`. Bytes that are not
/// UTF-8 at all are not held back: no later byte would make them whole.
std::size_t whole_utf8_prefix(std::string_view text, std::size_t from) {
  const std::size_t n = text.size();
  for (std::size_t back = 1; back <= std::min<std::size_t>(3, n - from); ++back) {
    const auto byte = static_cast<unsigned char>(text[n - back]);
    if ((byte & 0xC0) == 0x80) continue;  // a continuation byte: its lead is further back
    const std::size_t length = byte >= 0xF0 && byte < 0xF8 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
    return byte < 0xF8 && length > back ? n - back : n;
  }
  return n;
}

}  // namespace

Continuation::Continuation(const Tokenizer& tokenizer, const GenerateOptions& options,
                           std::span<const std::int32_t> history)
    : tok_(tokenizer), options_(options), sampler_(options.sampling) {
  for (auto t : history) sampler_.accept(t);
  result_.stop_reason = "max_tokens";
  finished_ = options.max_tokens == 0;
}

Continuation::Step Continuation::step(std::span<const float> logits, bool room) {
  Step s;
  if (finished_) {
    s.finished = true;
    return s;
  }
  ++steps_;
  const std::int32_t next = sampler_.sample(logits);
  sampler_.accept(next);
  if (options_.stop_at_end_of_generation && tok_.is_end_of_generation(next)) {
    result_.stop_reason = "end_of_generation";
    finished_ = s.finished = true;
    // Bytes of a character the last tokens began but never finished were not streamed: drop them from
    // the text too, so that the streamed text equals the answer's.
    result_.text.resize(streamed_);
    return s;
  }
  result_.tokens.push_back(next);
  const std::size_t before = result_.text.size();
  tok_.decode_append(result_.text, decode_, next);
  s.emitted = true;
  s.token = next;
  if (stop_string_ends(before)) {
    result_.stop_reason = "stop_string";
    finished_ = true;
  }
  if (!finished_ && steps_ == options_.max_tokens) finished_ = true;  // stop_reason stays max_tokens
  if (!finished_ && !room) {
    result_.stop_reason = "context_full";
    finished_ = true;
  }
  s.finished = finished_;
  // The last step hands out everything, even bytes that no token will complete now.
  const std::size_t end = finished_ ? result_.text.size() : whole_utf8_prefix(result_.text, streamed_);
  s.added = std::string_view(result_.text).substr(streamed_, end - streamed_);
  streamed_ = end;
  return s;
}

bool Continuation::stop_string_ends(std::size_t old_size) const {
  // A stop string may begin in earlier text: look from stop.size() bytes before the new text on.
  const std::string& text = result_.text;
  for (const auto& stop : options_.stop_strings)
    if (!stop.empty() && text.size() >= stop.size() &&
        text.find(stop, old_size - std::min(old_size, stop.size())) != std::string::npos)
      return true;
  return false;
}

}  // namespace lagvk
