// Compiled as C++17 (tests/CMakeLists.txt) and never run: lagvk/lagvk.hpp promises C++17 compatibility,
// and this instantiates every part of it.
#include "lagvk/lagvk.hpp"

#if __cplusplus != 201703L
#error "this file must be compiled as C++17"
#endif

std::string lagvk_cpp_api_cxx17_check(const std::string& model_path, const std::string& store_dir) {
  lagvk::cpp::Model model(model_path);
  const auto tokens = model.tokenize("hello", true, false);
  std::string out = model.detokenize(tokens) + model.info().architecture;
  out += model.chat_render({{"user", "hi"}});
  lagvk::cpp::GenerateOptions g;
  g.stop = {"."};
  g.on_token = [](std::int32_t, std::string_view) { return true; };
  out += std::string(model.generate("hi", g).text());
  out += std::string(model.generate_tokens(tokens, g).text());
  out += std::string(model.chat({{"user", "hi"}}, g).text());
  out += std::to_string(model.embed("hi").size());
  model.cancel();
  lagvk::cpp::Store store(model, store_dir, lagvk::cpp::Store::create_params());
  const std::uint64_t id = store.add_trace("{}", LAGVK_SELECT_ALL, true);
  lagvk::cpp::AskOptions ask;
  ask.log_ids = std::vector<std::uint64_t>{id};
  ask.tag = "t";
  const lagvk::cpp::Completion c = store.ask("q", ask);
  for (const auto& l : c.logs()) out += l.task;
  for (const auto& s : c.skipped()) out += s.reason;
  for (const auto& l : store.retrieve("q")) out += l.task;
  out += std::to_string(store.count()) + std::to_string(c.saved_log().value_or(0)) + lagvk::cpp::version();
  return out + std::to_string(int(c.stop_reason()));
}
