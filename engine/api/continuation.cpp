#include "engine/api/continuation.hpp"

namespace lagvk {

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
    return s;
  }
  result_.tokens.push_back(next);
  // Decode the whole continuation so that multi-byte characters split over tokens come out whole.
  const std::size_t streamed = result_.text.size();
  result_.text = tok_.decode(result_.tokens);
  s.emitted = true;
  s.token = next;
  s.added = std::string_view(result_.text).substr(std::min(streamed, result_.text.size()));
  const std::string& text = result_.text;
  for (const auto& stop : options_.stop_strings)
    if (!stop.empty() && text.size() >= stop.size() &&
        text.find(stop, text.size() - std::min(text.size(), stop.size() + s.added.size())) !=
            std::string::npos) {
      result_.stop_reason = "stop_string";
      finished_ = true;
    }
  if (!finished_ && steps_ == options_.max_tokens) finished_ = true;  // stop_reason stays max_tokens
  if (!finished_ && !room) {
    result_.stop_reason = "context_full";
    finished_ = true;
  }
  s.finished = finished_;
  return s;
}

}  // namespace lagvk
