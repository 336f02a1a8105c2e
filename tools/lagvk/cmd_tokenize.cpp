// lagvk tokenize: prints the token ids of a text under a model's tokenizer.
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/model/gguf_reader.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/commands.hpp"

namespace lagvk::cli {

int cmd_tokenize(int argc, char** argv) {
  Args args("tokenize", "-m MODEL [--json] [--special] [--bos] [--pieces] TEXT...",
            "Prints the token ids of TEXT (several arguments are joined with spaces).",
            {
                {"--model", "-m", "FILE", "GGUF model whose tokenizer to use (required)", ""},
                {"--json", "", "", "print a JSON array of ids", ""},
                {"--special", "", "", "parse control-token text such as <s> as those tokens", ""},
                {"--bos", "", "", "prepend the BOS token", ""},
                {"--pieces", "", "", "print one 'id<TAB>piece' line per token", ""},
            });
  if (!args.parse(argc, argv)) return 0;
  const auto path = args.get("--model");
  if (!path) fail("lagvk tokenize: give the model with -m FILE");
  if (args.positional().empty()) fail("lagvk tokenize: give the text to tokenize");
  std::string text;
  for (const auto& p : args.positional()) text += (text.empty() ? "" : " ") + p;

  const auto file = GgufFile::open(*path);
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
