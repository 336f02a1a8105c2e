// lagvk log: manage a store of logs (add traces, list, show, remove, stats, verify).
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/core/regular_file.hpp"
#include "engine/lag/embedding.hpp"
#include "engine/lag/fingerprint.hpp"
#include "engine/lag/log_writer.hpp"
#include "logstore/archive.hpp"
#include "logstore/store.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/commands.hpp"
#include "tools/lagvk/generation_flags.hpp"
#include "tools/lagvk/human_text.hpp"
#include "tools/lagvk/progress.hpp"

namespace lagvk::cli {

namespace {

const OptionSpec kStore{"--store", "-s", "DIR", "the log store directory (required)", ""};
const OptionSpec kJson{"--json", "", "", "print JSON for scripts", ""};

std::string store_dir(const Args& args) {
  const auto dir = args.get("--store");
  if (!dir) fail("log: --store DIR is required");
  return *dir;
}

std::string when(std::int64_t t) {
  char buf[32];
  const std::time_t tt = std::time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

int log_add(int argc, char** argv) {
  Args args(
      "log add", "--store DIR -m MODEL --trace FILE [--select last|all|answer|full] [--json]",
      "Re-encodes finished tasks and stores them as logs: each trace is rendered, run through the model,\n"
      "and the KV of the selected tokens (computed with the whole trace as context) is stored with its keys\n"
      "un-rotated. FILE holds one trace, a JSON array of traces, or JSON Lines:\n"
      "  {\"task\": \"...\", \"messages\": [{\"role\": \"user|assistant|tool|system\", \"content\": "
      "\"...\"}], "
      "\"tags\": [...]}\n"
      "The store is created if missing, bound to this model (another model's store is refused).",
      {kStore,
       {"--model", "-m", "FILE", "GGUF model (required)", ""},
       {"--trace", "-t", "FILE", "traces to add (required)", ""},
       {"--select", "", "S", "tokens to keep: last (last assistant response), all, answer, full", "last"},
       {"--codec", "", "C", "page codec of a new store: f16, or q8_0 (about half the size)", "f16"},
       {"--embed", "", "", "also store the model's embedding of each task (for 'ask --retrieval dense')", ""},
       kJson,
       load_option_specs()[0],
       load_option_specs()[1]});
  if (!args.parse(argc, argv)) return 0;
  const auto model = args.get("--model");
  const auto trace_file = args.get("--trace");
  if (!model || !trace_file) fail("log add: -m MODEL and --trace FILE are required");
  const lag::Selection selection = lag::parse_selection(args.get_or("--select", "last"));
  // A directory or a FIFO is refused up front (it read as an empty file, or blocked forever).
  const auto traces = lag::parse_traces(read_regular_file(*trace_file), *trace_file);
  const LoadOptions load = load_options_from(args);
  auto engine = Engine::load(*model, load);
  logstore::StoreOptions so{true, lag::model_fingerprint(*engine)};
  const std::string codec = args.get_or("--codec", "f16");
  if (codec != "f16" && codec != "q8_0") fail("log add: --codec must be f16 or q8_0");
  so.codec = codec == "q8_0" ? logstore::PageCodec::q8_0 : logstore::PageCodec::f16;
  auto store = logstore::Store::open(store_dir(args), so);
  ProgressBar bar("encoding traces");
  nlohmann::json added = nlohmann::json::array();
  for (std::size_t i = 0; i < traces.size(); ++i) {
    auto log = lag::encode_trace(*engine, traces[i], selection);
    if (args.has("--embed")) log.embedding = lag::embed_text(*engine, traces[i].task);
    const auto id = lag::store_log(*store, log);
    added.push_back({{"id", id}, {"task", traces[i].task}, {"tokens", log.kv.tokens}});
    if (!args.has("--json")) fmt::print("added log {} ({} tokens): {}\n", id, log.kv.tokens, traces[i].task);
    bar.update(i + 1, traces.size());
  }
  bar.finish();
  if (args.has("--json"))
    std::printf("%s\n", nlohmann::json{{"added", added}}
                            .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                            .c_str());
  return 0;
}

int log_ls(int argc, char** argv) {
  Args args("log ls", "--store DIR [--json]", "Lists the logs of a store.", {kStore, kJson});
  if (!args.parse(argc, argv)) return 0;
  auto store = logstore::Store::open(store_dir(args), {});
  auto r = store->read();
  nlohmann::json rows = nlohmann::json::array();
  for (auto id : r.ids()) {
    const auto rec = r.log(id);
    if (args.has("--json")) {
      rows.push_back({{"id", id},
                      {"task", rec->task},
                      {"tokens", rec->token_ids.size()},
                      {"selection", rec->selection},
                      {"tags", rec->tags},
                      {"created", rec->created}});
    } else {
      fmt::print("{:>6}  {:>5} tokens  {:<6}  {}  {}\n", id, rec->token_ids.size(),
                 printable(rec->selection, true), when(rec->created), printable(rec->task, true));
    }
  }
  if (args.has("--json"))
    std::printf("%s\n", rows.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  return 0;
}

int log_show(int argc, char** argv) {
  Args args("log show", "--store DIR [--json] ID", "Shows one log: task, trace, selected tokens, tags.",
            {kStore, kJson});
  if (!args.parse(argc, argv)) return 0;
  if (args.positional().size() != 1) fail("log show: give one log id");
  const std::uint64_t id = parse_log_id(args.positional()[0], "log show");
  auto store = logstore::Store::open(store_dir(args), {});
  const auto rec = store->read().log(id);
  if (!rec) fail("no log {} in '{}'", id, store->dir());
  if (args.has("--json")) {
    nlohmann::json j = *rec;
    j["id"] = id;
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  fmt::print(
      "log {}: {}\nselection: {} ({} tokens)  tags: {}  created: {}\n", id, printable(rec->task, true),
      printable(rec->selection, true), rec->token_ids.size(),
      printable(nlohmann::json(rec->tags).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)),
      when(rec->created));
  for (const auto& m : rec->trace)
    fmt::print("  {}: {}\n", printable(m.value("role", "?"), true), printable(m.value("content", "")));
  return 0;
}

int log_rm(int argc, char** argv) {
  Args args("log rm", "--store DIR [--json] ID [ID...]",
            "Removes logs and their pages (the space is reused). Give several ids as separate arguments\n"
            "(lagvk log rm --store DIR 12 13); every id is checked before any log is removed.",
            {kStore, kJson});
  if (!args.parse(argc, argv)) return 0;
  if (args.positional().empty()) fail("log rm: give at least one log id");
  std::vector<std::uint64_t> ids;
  for (const auto& s : args.positional()) ids.push_back(parse_log_id(s, "log rm"));
  auto store = logstore::Store::open(store_dir(args), {});
  nlohmann::json removed = nlohmann::json::array(), missing = nlohmann::json::array();
  for (const std::uint64_t id : ids) {
    if (store->remove(id)) {
      removed.push_back(id);
      if (!args.has("--json")) fmt::print("removed log {}\n", id);
    } else {
      missing.push_back(id);
      if (!args.has("--json")) fmt::print(stderr, "no log {}\n", id);
    }
  }
  if (args.has("--json"))
    std::printf("%s\n", nlohmann::json{{"removed", removed}, {"missing", missing}}.dump(2).c_str());
  return missing.empty() ? 0 : 1;
}

int log_stats(int argc, char** argv) {
  Args args("log stats", "--store DIR [--json]",
            "Logs, pages, bytes, bytes per stored token, free map space.", {kStore, kJson});
  if (!args.parse(argc, argv)) return 0;
  auto store = logstore::Store::open(store_dir(args), {});
  const auto s = store->stats();
  const double per_token = s.stored_tokens ? double(s.page_bytes) / double(s.stored_tokens) : 0;
  if (args.has("--json")) {
    std::printf("%s\n", nlohmann::json{{"logs", s.logs},
                                       {"pages", s.pages},
                                       {"stored_tokens", s.stored_tokens},
                                       {"page_bytes", s.page_bytes},
                                       {"bytes_per_stored_token", per_token},
                                       {"file_bytes", s.file_bytes},
                                       {"map_size", s.map_size},
                                       {"map_free", s.map_size - std::min(s.map_size, s.map_used)},
                                       {"fingerprint", store->fingerprint()}}
                            .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                            .c_str());
  } else {
    fmt::print(
        "store {}\n  model: {}\n  logs: {}  pages: {}  stored tokens: {}\n  page bytes: {:.1f} MB ({:.0f} "
        "bytes "
        "per stored token)\n  file: {:.1f} MB, map {:.1f} MB of which {:.1f} MB free\n",
        store->dir(), store->fingerprint().describe(), s.logs, s.pages, s.stored_tokens, s.page_bytes / 1e6,
        per_token, s.file_bytes / 1e6, s.map_size / 1e6,
        (s.map_size - std::min(s.map_size, s.map_used)) / 1e6);
  }
  return 0;
}

int log_verify(int argc, char** argv) {
  Args args("log verify", "--store DIR [--json]",
            "Checks every page's checksum and every cross-reference; exits 1 on any problem.",
            {kStore, kJson});
  if (!args.parse(argc, argv)) return 0;
  auto store = logstore::Store::open(store_dir(args), {});
  const auto r = store->verify();
  if (args.has("--json")) {
    std::printf("%s\n",
                nlohmann::json{{"ok", r.ok()}, {"logs", r.logs}, {"pages", r.pages}, {"problems", r.problems}}
                    .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                    .c_str());
  } else {
    for (const auto& p : r.problems) fmt::print("problem: {}\n", p);
    fmt::print("{}: {} logs, {} pages checked, {} problems\n", r.ok() ? "ok" : "DAMAGED", r.logs, r.pages,
               r.problems.size());
  }
  return r.ok() ? 0 : 1;
}

int log_export(int argc, char** argv) {
  Args args(
      "log export", "--store DIR FILE",
      "Writes every log to FILE in the portable JSON Lines format (pages as base64 fp16; see docs/LAG.md).",
      {kStore});
  if (!args.parse(argc, argv)) return 0;
  if (args.positional().size() != 1) fail("log export: give the output file");
  auto store = logstore::Store::open(store_dir(args), {});
  std::ofstream out(args.positional()[0]);
  if (!out) fail("cannot write '{}'", args.positional()[0]);
  const auto n = logstore::export_logs(*store, out);
  out.close();
  if (!out) fail("writing '{}' failed (disk full?)", args.positional()[0]);
  fmt::print("exported {} logs to {}\n", n, args.positional()[0]);
  return 0;
}

int log_import(int argc, char** argv) {
  Args args("log import", "--store DIR FILE",
            "Adds the logs of an export to a store made with the same model (created when missing).",
            {kStore});
  if (!args.parse(argc, argv)) return 0;
  if (args.positional().size() != 1) fail("log import: give the export file");
  std::ifstream in(args.positional()[0]);
  if (!in) fail("cannot read '{}'", args.positional()[0]);
  std::string header;
  std::getline(in, header);
  const auto j = nlohmann::json::parse(header, nullptr, false);
  if (j.is_discarded() || !j.contains("fingerprint"))
    fail("'{}' is not a lagvk log export", args.positional()[0]);
  auto store = logstore::Store::open(store_dir(args), {true, j["fingerprint"].get<logstore::Fingerprint>()});
  in.seekg(0);
  const auto n = logstore::import_logs(*store, in, args.positional()[0]);
  fmt::print("imported {} logs into {}\n", n, store->dir());
  return 0;
}

}  // namespace

int cmd_log(int argc, char** argv) {
  struct Verb {
    const char* name;
    const char* help;
    int (*run)(int, char**);
  };
  static constexpr Verb verbs[] = {
      {"add", "encode traces with a model and store them as logs", log_add},
      {"ls", "list logs", log_ls},
      {"show", "show one log", log_show},
      {"rm", "remove logs", log_rm},
      {"stats", "sizes and free space", log_stats},
      {"verify", "check checksums and cross-references", log_verify},
      {"export", "write all logs to a portable file", log_export},
      {"import", "add the logs of an exported file", log_import},
  };
  if (argc < 1 || std::string(argv[0]) == "--help" || std::string(argv[0]) == "-h") {
    std::printf("usage: lagvk log <verb> --store DIR [options]   (lagvk log <verb> --help)\n\nverbs:\n");
    for (const auto& v : verbs) std::printf("  %-8s %s\n", v.name, v.help);
    return argc < 1 ? 2 : 0;
  }
  for (const auto& v : verbs)
    if (std::string(argv[0]) == v.name) return v.run(argc - 1, argv + 1);
  fail("log: unknown verb '{}' (see 'lagvk log --help')", argv[0]);
}

}  // namespace lagvk::cli
