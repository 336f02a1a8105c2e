#include "llama_peer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>

#ifndef LAGVK_SOURCE_DIR
#error "LAGVK_SOURCE_DIR must be defined (tests/CMakeLists.txt does)"
#endif

extern char** environ;

namespace lagvk::test {
namespace {

namespace fs = std::filesystem;

fs::path peer_dir() {
  return fs::path(LAGVK_SOURCE_DIR) / "tools" / "peer";
}
fs::path script_path() {
  return peer_dir() / "llama_ref.mjs";
}

std::string node_program() {
  const char* env = std::getenv("LAGVK_NODE");
  return (env != nullptr && *env != '\0') ? std::string(env) : std::string("node");
}

struct ChildResult {
  int status = -1;  // exit status, or 128 + signal
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv (argv[0] looked up in PATH) with stdout/stderr captured. The child does not inherit
// Vulkan layer selections of the test process (validation of llama.cpp is not ours to check).
ChildResult run_child(const std::vector<std::string>& argv, double timeout_s) {
  std::array<int, 2> out_pipe{};
  std::array<int, 2> err_pipe{};
  if (pipe2(out_pipe.data(), O_CLOEXEC) != 0)
    throw PeerError(-1, "spawn", std::string("pipe: ") + std::strerror(errno));
  if (pipe2(err_pipe.data(), O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    throw PeerError(-1, "spawn", std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    throw PeerError(-1, "spawn", std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    unsetenv("VK_INSTANCE_LAYERS");
    unsetenv("VK_LOADER_LAYERS_ENABLE");
    execvp(cargv[0], cargv.data());
    const std::string msg = std::string("exec ") + cargv[0] + ": " + std::strerror(errno) + "\n";
    (void)!write(STDERR_FILENO, msg.data(), msg.size());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);

  ChildResult r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  std::array<pollfd, 2> fds{pollfd{out_pipe[0], POLLIN, 0}, pollfd{err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  std::array<char, 65536> buf{};
  while (open_fds > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    const int n = poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (n < 0) {
      if (errno == EINTR) continue;
      kill(pid, SIGKILL);
      break;
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t got = read(fds[i].fd, buf.data(), buf.size());
      if (got > 0) {
        (i == 0 ? r.out : r.err).append(buf.data(), static_cast<size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(wstatus))
    r.status = WEXITSTATUS(wstatus);
  else if (WIFSIGNALED(wstatus))
    r.status = 128 + WTERMSIG(wstatus);
  return r;
}

std::string tail(const std::string& s, size_t n = 2000) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

std::string join_ids(std::span<const int32_t> ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  return s;
}

std::vector<std::string> common_args(const std::string& cmd, const fs::path& model, const PeerOptions& o) {
  std::vector<std::string> a{cmd,
                             "--model",
                             model.string(),
                             "--gpu",
                             o.backend == PeerBackend::vulkan ? "vulkan" : "cpu",
                             "--top",
                             std::to_string(o.top)};
  if (o.ctx > 0) {
    a.emplace_back("--ctx");
    a.push_back(std::to_string(o.ctx));
  }
  if (o.threads > 0) {
    a.emplace_back("--threads");
    a.push_back(std::to_string(o.threads));
  }
  return a;
}

std::vector<std::pair<int32_t, double>> pairs(const nlohmann::json& j) {
  std::vector<std::pair<int32_t, double>> v;
  if (!j.is_array()) return v;
  v.reserve(j.size());
  for (const auto& p : j) v.emplace_back(p.at(0).get<int32_t>(), p.at(1).get<double>());
  return v;
}

PeerStep step_from(const nlohmann::json& j) {
  PeerStep s;
  s.token = j.at("token").is_null() ? -1 : j.at("token").get<int32_t>();
  s.token_prob = j.at("token_prob").is_null() ? 0.0 : j.at("token_prob").get<double>();
  s.top_token = j.at("top_token").is_null() ? -1 : j.at("top_token").get<int32_t>();
  s.top_prob = j.at("top_prob").is_null() ? 0.0 : j.at("top_prob").get<double>();
  s.top = pairs(j.at("top"));
  if (j.contains("candidates")) s.candidates = pairs(j.at("candidates"));
  return s;
}

template <typename F>
auto parse_as(const nlohmann::json& j, F&& f) -> decltype(f(j)) {
  try {
    return f(j);
  } catch (const nlohmann::json::exception& e) {
    throw PeerError(0, "bad_output",
                    std::string("llama peer: unexpected JSON (") + e.what() + "): " + tail(j.dump(), 500));
  }
}

/// A JSON document in a file of its own for the peer to read, removed when this goes out of scope.
class JsonArgumentFile {
 public:
  explicit JsonArgumentFile(const nlohmann::json& doc) {
    static std::atomic<unsigned> counter{0};
    path_ = fs::temp_directory_path() /
            ("lagvk_peer_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".json");
    std::ofstream out(path_, std::ios::binary);
    out << doc.dump();
    if (!out) throw PeerError(-1, "spawn", "cannot write the peer's argument file " + path_.string());
  }
  JsonArgumentFile(const JsonArgumentFile&) = delete;
  JsonArgumentFile& operator=(const JsonArgumentFile&) = delete;
  ~JsonArgumentFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

std::string llama_peer_unavailable_reason(PeerBackend backend) {
  static std::mutex mu;
  static std::map<PeerBackend, std::string> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(backend); it != cache.end()) return it->second;
  std::string reason;
  const fs::path nm = peer_dir() / "node_modules";
  const fs::path bins =
      nm / "@node-llama-cpp" / (backend == PeerBackend::vulkan ? "linux-x64-vulkan" : "linux-x64") / "bins";
  std::error_code ec;
  if (!fs::exists(script_path(), ec)) {
    reason = "llama peer script missing: " + script_path().string();
  } else if (!fs::exists(nm / "node-llama-cpp" / "package.json", ec) || !fs::is_directory(bins, ec)) {
    reason = "llama.cpp peer not installed (" + bins.string() + " missing); run scripts/setup_peer.sh";
  } else {
    try {
      const ChildResult r = run_child({node_program(), "--version"}, 30);
      if (r.status != 0)
        reason = "'" + node_program() + " --version' failed (exit " + std::to_string(r.status) +
                 "): " + tail(r.err, 300);
    } catch (const PeerError& e) {
      reason = std::string("cannot run node: ") + e.what();
    }
  }
  cache[backend] = reason;
  return reason;
}

bool llama_peer_available(PeerBackend backend) {
  return llama_peer_unavailable_reason(backend).empty();
}

nlohmann::json llama_peer_run(const std::vector<std::string>& args, double timeout_s) {
  std::vector<std::string> argv{node_program(), script_path().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string cmdline;
  for (const auto& a : args) cmdline += (cmdline.empty() ? "" : " ") + a;
  if (cmdline.size() > 300) cmdline = cmdline.substr(0, 300) + "...";

  const ChildResult r = run_child(argv, timeout_s);
  if (r.timed_out) {
    throw PeerError(
        r.status, "timeout",
        "llama peer timed out after " + std::to_string(timeout_s) + " s: " + cmdline + "\n" + tail(r.err));
  }
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  if (r.status != 0) {
    std::string code = r.status > 128 ? "signal" : "internal";
    std::string msg = "llama peer failed (exit " + std::to_string(r.status) + "): " + cmdline;
    if (j.is_object() && j.contains("error")) {
      code = j.value("code", code);
      msg += ": " + j["error"].get<std::string>();
    } else {
      msg += "\n" + tail(r.err);
    }
    throw PeerError(r.status, code, msg);
  }
  if (j.is_discarded()) {
    throw PeerError(0, "bad_output",
                    "llama peer printed no JSON: " + cmdline + "\nstdout: " + tail(r.out, 500) +
                        "\nstderr: " + tail(r.err));
  }
  return j;
}

PeerGreedy llama_peer_greedy(const fs::path& model, std::span<const int32_t> prompt, int n,
                             const PeerOptions& o) {
  auto args = common_args("greedy", model, o);
  args.insert(args.end(), {"--tokens", join_ids(prompt), "--n", std::to_string(n)});
  nlohmann::json j = llama_peer_run(args, o.timeout_s);
  return parse_as(j, [](const nlohmann::json& v) {
    PeerGreedy g;
    g.tokens = v.at("tokens").get<std::vector<int32_t>>();
    for (const auto& s : v.at("steps")) g.steps.push_back(step_from(s));
    g.raw = v;
    return g;
  });
}

PeerScore llama_peer_score(const fs::path& model, std::span<const int32_t> prompt,
                           std::span<const int32_t> continuation, std::span<const int32_t> candidates,
                           const PeerOptions& o) {
  auto args = common_args("score", model, o);
  args.insert(args.end(), {"--tokens", join_ids(prompt)});
  if (!continuation.empty()) args.insert(args.end(), {"--continuation", join_ids(continuation)});
  if (!candidates.empty()) args.insert(args.end(), {"--candidates", join_ids(candidates)});
  nlohmann::json j = llama_peer_run(args, o.timeout_s);
  return parse_as(j, [](const nlohmann::json& v) {
    PeerScore s;
    for (const auto& st : v.at("steps")) s.steps.push_back(step_from(st));
    s.raw = v;
    return s;
  });
}

std::vector<PeerScore> llama_peer_score_all(const fs::path& model, const std::vector<PeerSequence>& sequences,
                                            const PeerOptions& o) {
  nlohmann::json doc = nlohmann::json::array();
  for (const auto& q : sequences) doc.push_back({{"tokens", q.prompt}, {"continuation", q.continuation}});
  const JsonArgumentFile file(doc);
  auto args = common_args("score", model, o);
  args.insert(args.end(), {"--sequences", file.path().string()});
  nlohmann::json j = llama_peer_run(args, o.timeout_s);
  return parse_as(j, [](const nlohmann::json& v) {
    std::vector<PeerScore> out;
    for (const auto& one : v.at("scores")) {
      PeerScore s;
      for (const auto& st : one.at("steps")) s.steps.push_back(step_from(st));
      s.raw = one;
      out.push_back(std::move(s));
    }
    return out;
  });
}

std::vector<int32_t> llama_peer_tokenize(const fs::path& model, const std::string& text, bool special,
                                         bool bos, const PeerOptions& o) {
  std::vector<std::string> args{"tokenize", "--model", model.string(), "--text=" + text};
  if (special) args.emplace_back("--special");
  if (bos) args.emplace_back("--bos");
  nlohmann::json j = llama_peer_run(args, o.timeout_s);
  return parse_as(j, [](const nlohmann::json& v) { return v.get<std::vector<int32_t>>(); });
}

std::vector<std::vector<int32_t>> llama_peer_tokenize_all(const fs::path& model,
                                                          const std::vector<std::string>& texts, bool special,
                                                          const PeerOptions& o) {
  const JsonArgumentFile file(texts);
  std::vector<std::string> args{"tokenize", "--model", model.string(), "--texts", file.path().string()};
  if (special) args.emplace_back("--special");
  nlohmann::json j = llama_peer_run(args, o.timeout_s);
  return parse_as(j, [](const nlohmann::json& v) { return v.get<std::vector<std::vector<int32_t>>>(); });
}

std::vector<std::vector<float>> llama_peer_embed_all(const fs::path& model,
                                                     const std::vector<std::string>& texts,
                                                     const PeerOptions& o) {
  const JsonArgumentFile file(texts);
  std::vector<std::string> args{"embed", "--model", model.string(), "--texts", file.path().string()};
  nlohmann::json j = llama_peer_run(args, o.timeout_s);
  return parse_as(
      j, [](const nlohmann::json& v) { return v.at("embeddings").get<std::vector<std::vector<float>>>(); });
}

std::vector<PeerChat> llama_peer_chat(const fs::path& model,
                                      const std::vector<std::vector<PeerMessage>>& conversations,
                                      bool add_generation_prompt, const PeerOptions& o) {
  nlohmann::json doc = nlohmann::json::array();
  for (const auto& messages : conversations) {
    nlohmann::json c = nlohmann::json::array();
    for (const auto& m : messages) c.push_back({{"role", m.role}, {"content", m.content}});
    doc.push_back(std::move(c));
  }
  const JsonArgumentFile file(doc);
  std::vector<std::string> args{"chat", "--model", model.string(), "--messages", file.path().string()};
  if (!add_generation_prompt) args.emplace_back("--no-generation-prompt");
  nlohmann::json j = llama_peer_run(args, o.timeout_s);
  return parse_as(j, [](const nlohmann::json& v) {
    std::vector<PeerChat> out;
    for (const auto& c : v)
      out.push_back({c.at("text").get<std::string>(), c.at("tokens").get<std::vector<int32_t>>()});
    return out;
  });
}

PeerBench llama_peer_bench(const fs::path& model, int prompt_tokens, int gen_tokens, int reps,
                           const PeerOptions& o) {
  auto args = common_args("bench", model, o);
  args.insert(args.end(), {"--prompt-tokens", std::to_string(prompt_tokens), "--gen-tokens",
                           std::to_string(gen_tokens), "--reps", std::to_string(reps)});
  nlohmann::json j = llama_peer_run(args, o.timeout_s);
  return parse_as(j, [](const nlohmann::json& v) {
    PeerBench b;
    b.prefill_tps = v.at("prefill_tps").get<double>();
    b.decode_tps = v.at("decode_tps").get<double>();
    b.load_ms = v.at("load_ms").get<double>();
    b.backend = v.at("backend").get<std::string>();
    b.device = v.at("device").get<std::string>();
    b.raw = v;
    return b;
  });
}

}  // namespace lagvk::test
