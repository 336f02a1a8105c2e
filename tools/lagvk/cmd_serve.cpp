// lagvk serve: an OpenAI-compatible HTTP server over one model (server/, on the public API). It listens
// at once (GET /health answers 503 while the model loads), prints "listening on http://HOST:PORT" when
// the model is ready, and stops on SIGINT or SIGTERM: no new requests, the running generation
// cancelled, exit 0.
#include <pthread.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <thread>

#include "engine/core/error.hpp"
#include "lagvk/lagvk.hpp"
#include "server/server.hpp"
#include "tools/lagvk/args.hpp"
#include "tools/lagvk/commands.hpp"
#include "tools/lagvk/coprocessor_flags.hpp"
#include "tools/lagvk/generation_flags.hpp"
#include "tools/lagvk/index_text_flag.hpp"

namespace lagvk::cli {
namespace {

constexpr std::int64_t kMaxPort = 65535;
constexpr std::int64_t kMaxQueue = 4096;
constexpr std::int64_t kMaxParallel = 64;
constexpr std::int64_t kMaxBodyBytes = std::int64_t(1) << 30;

server::ServerOptions server_options_from(const Args& args) {
  server::ServerOptions o;
  o.model_path = *args.get("--model");
  o.host = args.get_or("--host", server::kDefaultHost);
  o.port = int(args.get_int("--port", server::kDefaultPort, 0, kMaxPort));
  o.model_params.device = std::int32_t(args.get_int("--device", -1, -1, kMaxDeviceIndex));
  o.model_params.context_tokens = std::uint32_t(args.get_int("--ctx", 0, 0, kMaxContext));
  o.model_params.n_parallel = std::uint32_t(args.get_int("--parallel", 1, 1, kMaxParallel));
  o.api_key = args.get_or("--api-key", "");
  if (args.has("--api-key") && o.api_key.empty())
    fail(Errc::invalid_argument,
         "serve: --api-key must not be empty (leave it out for a server without a key)");
  o.max_body_bytes = std::size_t(
      args.get_int("--max-body-bytes", std::int64_t(server::kDefaultMaxBodyBytes), 1, kMaxBodyBytes));
  o.queue = std::size_t(args.get_int("--queue", std::int64_t(server::kDefaultQueue), 0, kMaxQueue));
  o.store_dir = args.get_or("--store", "");
  if (args.has("--store") && o.store_dir.empty())
    fail(Errc::invalid_argument, "serve: --store needs a directory (leave it out for a server without logs)");
  o.embed_model_path = args.get_or("--embed-model", "");
  if (args.has("--embed-model") && (o.embed_model_path.empty() || o.store_dir.empty()))
    fail(Errc::invalid_argument,
         "serve: --embed-model FILE makes the vectors of the --store DIR's logs; give both (or neither)");
  if (args.has("--index") && o.store_dir.empty())
    fail(Errc::invalid_argument, "serve: --index says what a new --store DIR indexes; give --store too");
  o.index_text = index_text_from(args, "serve") == logstore::IndexText::task_and_response
                     ? LAGVK_INDEX_TASK_AND_RESPONSE
                     : LAGVK_INDEX_TASK;
  o.coprocessor_path = args.get_or("--coprocessor", "");
  o.latents = latents_from(args);
  if (args.has("--latents") && o.coprocessor_path.empty())
    fail(Errc::invalid_argument, "serve: --latents needs --coprocessor FILE");
  if (!o.coprocessor_path.empty() && o.store_dir.empty())
    fail(Errc::invalid_argument,
         "serve: --coprocessor augments chats where logs are placed, which needs a log store: give --store "
         "DIR "
         "too");
  return o;
}

/// SIGINT and SIGTERM, blocked in every thread (set before any is started) and taken by one watcher
/// thread with sigtimedwait, which stops the server: no handler runs in a signal context.
class StopOnSignal {
 public:
  explicit StopOnSignal(server::Server& server) {
    sigset_t signals = stop_signals();
    pthread_sigmask(SIG_BLOCK, &signals, &previous_);
    watcher_ = std::thread([this, &server] {
      sigset_t wanted = stop_signals();
      const timespec poll{0, 100'000'000};
      while (!done_.load()) {
        if (sigtimedwait(&wanted, nullptr, &poll) > 0) {
          std::fprintf(stderr, "[stopping]\n");
          server.stop();
          return;
        }
      }
    });
  }
  ~StopOnSignal() {
    done_.store(true);
    watcher_.join();
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  static sigset_t stop_signals() {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    return s;
  }

  sigset_t previous_{};
  std::atomic<bool> done_{false};
  std::thread watcher_;
};

/// lagvk_status as the CLI's error code (Errc lists the same failures, in the same order, from 1).
Errc errc_of(lagvk_status status) {
  return status >= LAGVK_ERROR_INVALID_ARGUMENT && status <= LAGVK_ERROR_INTERNAL ? Errc(int(status) - 1)
                                                                                  : Errc::internal;
}

}  // namespace

int cmd_serve(int argc, char** argv, const vk::InstanceOptions&) {
  std::vector<OptionSpec> options = {
      {"--model", "-m", "FILE", "GGUF model to serve (required); clients name it by its file name", ""},
      {"--host", "", "ADDR", "address to listen on (0.0.0.0: every interface)", server::kDefaultHost},
      {"--port", "", "N", "port to listen on (0: any free port, printed when ready)",
       std::to_string(server::kDefaultPort)},
      {"--store", "-s", "DIR",
       "log store for LAG requests (the 'lag' field) and the logs API; made for this model if missing",
       "none"},
      {"--embed-model", "", "FILE",
       "embedding model GGUF that makes the --store's dense vectors (saved logs get one); the store "
       "records it and refuses another",
       "none"},
      index_text_option(),
      {"--api-key", "", "KEY", "require 'Authorization: Bearer KEY' on every /v1 request", "none"},
      {"--parallel", "-np", "N",
       "requests generated at once (slots): their decode steps share each forward pass, and each slot keeps "
       "its cache for the next request sharing its prefix (KV memory: N+1 contexts)",
       "1"},
      {"--queue", "", "N", "requests that may wait while all slots generate; more get 503 with Retry-After",
       std::to_string(server::kDefaultQueue)},
      {"--max-body-bytes", "", "N", "largest request body accepted (larger: 413)",
       std::to_string(server::kDefaultMaxBodyBytes)}};
  const auto copro = coprocessor_options();
  options.push_back({copro[0].name, "", copro[0].value_name,
                     "cache augmentation (arXiv 2412.17747) for chat requests with \"augment\": true or "
                     "{\"latents\": N}, and for logs added with it: a coprocessor trained for MODEL (needs "
                     "--store)",
                     ""});
  options.push_back({copro[1].name, "", copro[1].value_name,
                     "latents of a request that names none: the coprocessor's first N (0: all)", "0"});
  for (auto& o : load_option_specs()) options.push_back(o);
  Args args(
      "serve", "-m MODEL [--host ADDR] [--port N] [options]",
      "Serves a GGUF model over HTTP with OpenAI's API: health, models, chat completions, completions\n"
      "and embeddings (the routes and fields: docs/SERVER.md). With --store, chat requests may carry\n"
      "\"lag\": {\"k\": 3, \"task_id\": \"...\", \"save\": true} to use and save logs, and its logs "
      "API lists,\n"
      "shows, adds and removes them. With --coprocessor, \"augment\": true appends its latents after the\n"
      "logs and the prompt. Prints 'listening on http://HOST:PORT' once the model is loaded;\n"
      "SIGINT or SIGTERM stops it. examples:\n"
      "  lagvk serve -m MODEL.gguf --port 8080\n"
      "  lagvk serve -m MODEL.gguf --parallel 4         # four requests at once, batched\n"
      "  lagvk serve -m assets/models/multihop-q8_0.gguf --store STORE_DIR",
      options);
  if (!args.parse(argc, argv)) return 0;
  if (!args.get("--model"))
    fail(Errc::invalid_argument, "serve: -m MODEL is required (see 'lagvk serve --help')");
  server::Server server(server_options_from(args));
  const StopOnSignal stop_on_signal(server);
  const int port = server.bind();
  if (port < 0)
    fail(Errc::invalid_argument,
         "serve: cannot listen on {}:{}: the port is in use or the address is not one of this machine's "
         "(choose another with --host / --port)",
         args.get_or("--host", server::kDefaultHost),
         args.get_or("--port", std::to_string(server::kDefaultPort)));
  server.start();
  std::fprintf(stderr, "[loading %s]\n", args.get("--model")->c_str());
  try {
    server.load_model();
  } catch (const cpp::Error& e) {
    server.stop();
    server.wait();
    if (e.status() == LAGVK_ERROR_CANCELLED) return 0;  // stopped by a signal while loading
    fail(errc_of(e.status()), "serve: {}", e.what());
  }
  std::printf("listening on http://%s:%d\n", args.get_or("--host", server::kDefaultHost).c_str(), port);
  std::fflush(stdout);
  server.wait();
  std::fprintf(stderr, "[stopped]\n");
  return 0;
}

}  // namespace lagvk::cli
