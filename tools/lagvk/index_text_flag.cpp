#include "tools/lagvk/index_text_flag.hpp"

#include "engine/core/error.hpp"

namespace lagvk::cli {

OptionSpec index_text_option() {
  return {"--index", "", "WHAT",
          "what retrieval indexes of each log in a new store: task, or task+response (the task and its last "
          "response, as the LAG paper); an existing store keeps its own",
          logstore::index_text_name(logstore::StoreOptions{}.index_text)};
}

logstore::IndexText index_text_from(const Args& args, const char* command) {
  const auto name = args.get("--index");
  if (!name) return logstore::StoreOptions{}.index_text;
  const auto parsed = logstore::parse_index_text(*name);
  if (!parsed)
    fail(Errc::invalid_argument, "{}: --index must be task or task+response, not '{}'", command, *name);
  return *parsed;
}

void check_index_text(const Args& args, const logstore::Store& store, const char* command) {
  if (!args.has("--index") || store.created()) return;
  const logstore::IndexText wanted = index_text_from(args, command);
  if (store.index_text() != wanted)
    fail(Errc::invalid_argument,
         "{}: the store '{}' indexes the {} of its logs; --index {} applies only to a new store (use a new "
         "store directory)",
         command, store.dir(), logstore::index_text_name(store.index_text()),
         logstore::index_text_name(wanted));
}

}  // namespace lagvk::cli
