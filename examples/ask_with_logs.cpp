// ask_with_logs MODEL STORE_DIR QUESTION: answers QUESTION with Log-Augmented Generation through the C++
// header alone (lagvk/lagvk.hpp). Opens the log store in STORE_DIR (creating it when the directory is
// missing or empty), splices the KV of the logs retrieved for the question in front of it, streams the
// greedy answer, lists the logs it used, and saves the finished task as a new log for later questions.
//
//   ask_with_logs model.gguf logs/ "who directed the glass harbor?"
#include <cstdio>
#include <exception>
#include <string>

#include "lagvk/lagvk.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s MODEL STORE_DIR QUESTION\n", argv[0]);
    return 2;
  }
  try {
    lagvk::cpp::Model model(argv[1]);
    lagvk::cpp::Store store(model, argv[2], lagvk::cpp::Store::create_params());

    lagvk::cpp::AskOptions options;  // greedy, the 3 best logs by BM25, spliced as KV
    options.params.mode = LAGVK_LOGS_KV;
    options.params.save = 1;  // store the question and its answer as a new log
    options.on_token = [](std::int32_t, std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
      return true;  // false would stop the answer here
    };
    std::printf("answer: ");
    const lagvk::cpp::Completion answer = store.ask(argv[3], options);
    std::printf("\n");

    for (const lagvk::cpp::LogRef& log : answer.logs())
      std::printf("log used: #%llu \"%s\" (score %.2f, %u tokens)\n", static_cast<unsigned long long>(log.id),
                  log.task.c_str(), log.score, log.tokens);
    for (const lagvk::cpp::SkippedLog& log : answer.skipped())
      std::printf("log skipped: #%llu: %s\n", static_cast<unsigned long long>(log.id), log.reason.c_str());
    if (const auto id = answer.saved_log())
      std::printf("saved as log %llu (the store holds %llu logs)\n", static_cast<unsigned long long>(*id),
                  static_cast<unsigned long long>(store.count()));
    return 0;
  } catch (const lagvk::cpp::Error& e) {
    std::fprintf(stderr, "error: %s (%s)\n", e.what(), e.status_name());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
