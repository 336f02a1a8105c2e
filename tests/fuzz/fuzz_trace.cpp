// libFuzzer target: task traces (engine/lag/trace.cpp) as `lagvk log add` reads them: one object, an
// array or JSON Lines; each parsed trace is then rendered to tokens with every selection, in the plain
// format and in a chat format, as a log is made. Bad input must end in lagvk::Error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/lag/trace.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace lagvk;

void render(const lag::Trace& trace) {
  const auto& tokenizer = fuzz::spm_tokenizer();
  ChatTemplate chatml;
  chatml.format = ChatFormat::chatml;
  const ChatTemplate* none = nullptr;
  for (const ChatTemplate* chat : {none, static_cast<const ChatTemplate*>(&chatml)}) {
    for (auto selection :
         {lag::Selection::last, lag::Selection::all, lag::Selection::answer, lag::Selection::full}) {
      const auto rendered = lag::render_trace(trace, tokenizer, selection, chat);
      for (auto index : rendered.selected)
        if (index < 0 || std::size_t(index) >= rendered.tokens.size())
          fuzz::broken_promise("render_trace selected a token past the end", trace.task);
    }
    (void)lag::render_prompt(trace.messages, tokenizer, chat);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_only_lagvk_errors([&] {
    for (const auto& trace : lag::parse_traces(text, "fuzz.jsonl"))
      fuzz::expect_only_lagvk_errors([&] { render(trace); });
  });
  return 0;
}
