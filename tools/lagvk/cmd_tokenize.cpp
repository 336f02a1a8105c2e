// lagvk tokenize: prints the token ids of a text under a model's tokenizer.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/core/regular_file.hpp"
#include "engine/lag/trace.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/model/model.hpp"
#include "engine/tokenizer/chat_template.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/commands.hpp"

namespace lagvk::cli {

namespace {

// A model file passes the checks every command runs (a file that run refuses is refused here too); a
// vocabulary-only file (no tensors, as llama.cpp ships for tokenizer tests) needs only its tokenizer.
GgufFile open_tokenizer_file(const std::string& path) {
  GgufFile file = GgufFile::open(path);
  if (!file.tensors().empty()) (void)Model::open(path);
  return file;
}

}  // namespace

int cmd_tokenize(int argc, char** argv) {
  Args args(
      "tokenize", "-m MODEL [--json] [--special] [--bos] [--pieces] TEXT... | --traces FILE",
      "Prints the token ids of TEXT (several arguments are joined with spaces).\n"
      "With --traces, prints one JSON line per trace of FILE (as 'lagvk log add' reads it): the trace's\n"
      "tokens as the agent renders them, and which of them the selections 'last' and 'all' keep\n"
      "({\"tokens\": [...], \"last\": [indices], \"all\": [indices]}); tools/train uses it so that the\n"
      "trained model sees exactly the tokens lagvk will give it.",
      {
          {"--model", "-m", "FILE", "GGUF model whose tokenizer to use (required)", ""},
          {"--json", "", "", "print a JSON array of ids", ""},
          {"--special", "", "", "parse control-token text such as <s> as those tokens", ""},
          {"--bos", "", "", "prepend the BOS token", ""},
          {"--pieces", "", "", "print one 'id<TAB>piece' line per token", ""},
          {"--traces", "", "FILE", "render the traces of FILE instead of a text", ""},
      });
  if (!args.parse(argc, argv)) return 0;
  const auto path = args.get("--model");
  if (!path) fail("lagvk tokenize: give the model with -m FILE");
  const auto file = open_tokenizer_file(*path);
  if (const auto traces_path = args.get("--traces")) {
    const std::string traces_text = read_regular_file(*traces_path);
    const auto tok = make_tokenizer(file);
    const auto chat = detect_chat_template(file);
    for (const auto& trace : lag::parse_traces(traces_text, *traces_path)) {
      const auto last = lag::render_trace(trace, *tok, lag::Selection::last, &chat);
      const auto all = lag::render_trace(trace, *tok, lag::Selection::all, &chat);
      nlohmann::json j{{"tokens", last.tokens}, {"last", last.selected}, {"all", all.selected}};
      std::printf("%s\n", j.dump().c_str());
    }
    return 0;
  }
  if (args.positional().empty()) fail("lagvk tokenize: give the text to tokenize");
  std::string text;
  for (const auto& p : args.positional()) text += (text.empty() ? "" : " ") + p;

  const auto tok = make_tokenizer(file);
  const auto ids = tok->encode(text, args.has("--bos"), args.has("--special"));
  if (args.has("--json")) {
    std::printf("%s\n", nlohmann::json(ids).dump().c_str());
  } else if (args.has("--pieces")) {
    for (auto id : ids)
      std::printf("%d\t%s\n", id,
                  nlohmann::json(tok->token_text(id))
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                      .c_str());
  } else {
    std::string line;
    for (auto id : ids) line += (line.empty() ? "" : " ") + std::to_string(id);
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

}  // namespace lagvk::cli
