#pragma once
// --index task|task+response, shared by the commands that create stores (log add, ask --save, eval): what
// retrieval indexes of each log, a store's choice made when it is created (logstore::IndexText).
#include <optional>
#include <string>

#include "logstore/store.hpp"
#include "tools/lagvk/args.hpp"

namespace lagvk::cli {

[[nodiscard]] OptionSpec index_text_option();

/// --index's choice (the default when absent); a bad name fails naming `command`.
[[nodiscard]] logstore::IndexText index_text_from(const Args& args, const char* command);

/// Fails when --index was given and `store` (which existed before) keeps another choice.
void check_index_text(const Args& args, const logstore::Store& store, const char* command);

}  // namespace lagvk::cli
