// 'lagvk bench': one --tiny run (the smallest sizes, a tiny generated q8_0 model) holds every section it
// was asked for with sane figures (positive; a share of a roof measured in the same run below a bound
// that only a broken timer or unit would cross); the table goes to stdout and --json FILE gets the same
// figures; bad flags are usage errors (exit 2, the usage line); a missing -m file is an error (exit 1)
// before anything is measured; bench/plot.py draws a PNG from two runs.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/cli_cases.hpp"
#include "tests/support/references.hpp"
#include "tests/support/scratch_dir.hpp"

namespace lagvk {
namespace {

using nlohmann::json;
using test::kExitError;
using test::kExitOk;
using test::kExitUsage;

// A measured share of a roof far above 1 means the timing or the units are wrong. Tiny shapes sit in
// caches that can beat the copy roof several times over, hence 10 and not 1.
constexpr double kMaxFractionOfRoof = 10.0;

/// One --tiny run of every part but the peer (node and llama.cpp take tens of seconds), JSON on stdout:
/// run once for all the checks below (each test of a ctest run is a process of its own).
json tiny_run() {
  const auto r = test::run_lagvk(
      "bench --tiny --make q8_0 -p 8 -n 2 -d 0,8 -r 1 --device 0 --parts roofs,kernels,model,lag --json -",
      false);
  EXPECT_EQ(r.status, kExitOk) << r.out;
  const json j = json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << "stdout is not one JSON value:\n" << r.out;
  return j.is_object() ? j : json::object();
}

void expect_positive(const json& object, const std::string& key, const std::string& where) {
  ASSERT_TRUE(object.contains(key) && object[key].is_number()) << where << " has no number " << key;
  EXPECT_GT(object[key].get<double>(), 0.0) << where << " " << key;
}

void expect_fraction(const json& object, const std::string& key, const std::string& where) {
  expect_positive(object, key, where);
  EXPECT_LE(object[key].get<double>(), kMaxFractionOfRoof) << where << " " << key;
}

void check_run_and_device(const json& run) {
  EXPECT_EQ(run["lagvk_bench"], 1);
  EXPECT_EQ(run["command"].get<std::string>().rfind("lagvk bench --tiny --make q8_0 -p 8", 0), 0u)
      << run["command"];
  EXPECT_FALSE(run["commit"].get<std::string>().empty());
  EXPECT_TRUE(
      std::regex_match(run["date"].get<std::string>(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << run["date"];
  EXPECT_EQ(run["mode"], "tiny");
  EXPECT_EQ(run["parts"], json({"kernels", "lag", "model", "roofs"}));
  EXPECT_EQ(run["device"]["index"], 0);
  EXPECT_FALSE(run["device"]["name"].get<std::string>().empty());
  EXPECT_GT(run["device"]["limits"]["subgroup_size"].get<int>(), 0);
  EXPECT_FALSE(run.contains("peer")) << "the peer was not asked for";
}

void check_roofs_and_kernels(const json& run) {
  for (const char* key : {"gpu_copy_gbps", "gpu_fp32_gflops", "host_read_gbps", "host_memcpy_gbps"})
    expect_positive(run["roofs"], key, "roofs");
  std::set<std::string> formats;
  for (const auto& row : run["kernels"]["rows"]) {
    const std::string where = "kernel " + row["format"].get<std::string>();
    formats.insert(row["format"].get<std::string>());
    expect_positive(row, "matvec_gbps", where);
    expect_positive(row, "matmul_gflops", where);
    expect_fraction(row, "matvec_fraction_of_copy_roof", where);
    expect_fraction(row, "matmul_fraction_of_fma_peak", where);
    // The share is the figure over the roof of the same run.
    EXPECT_NEAR(row["matvec_fraction_of_copy_roof"].get<double>(),
                row["matvec_gbps"].get<double>() / run["roofs"]["gpu_copy_gbps"].get<double>(), 1e-9);
  }
  EXPECT_EQ(formats, (std::set<std::string>{"f16", "q4_0"}));
}

void check_model(const json& run) {
  const json& model = run["model"];
  EXPECT_EQ(model["type"], "q8_0");
  EXPECT_TRUE(model["generated"].get<bool>());
  expect_positive(model, "weights_bytes", "model");
  std::set<std::pair<std::string, int>> tests;
  for (const auto& row : model["rows"]) {
    const std::string test = row["test"].get<std::string>();
    const int depth = row["depth"].get<int>();
    tests.insert({test, depth});
    const std::string where = test + " at depth " + std::to_string(depth);
    EXPECT_EQ(row["engine"], "lagvk");
    EXPECT_EQ(row["tokens"].get<int>(), test == "pp" ? 8 : 2) << where;
    expect_positive(row, "tps", where);
    // tok/s is the tokens over the time measured.
    EXPECT_NEAR(row["tps"].get<double>(), row["tokens"].get<double>() / row["ms"].get<double>() * 1e3,
                1e-6 * row["tps"].get<double>());
    if (test == "tg") {
      expect_positive(row, "gbps", where);
      expect_fraction(row, "fraction_of_copy_roof", where);
    }
  }
  EXPECT_EQ(tests, (std::set<std::pair<std::string, int>>{{"pp", 0}, {"tg", 0}, {"pp", 8}, {"tg", 8}}));
}

void check_lag(const json& run) {
  std::set<std::string> modes;
  for (const auto& row : run["lag"]["rows"]) {
    modes.insert(row["mode"].get<std::string>());
    EXPECT_EQ(row["k"], 1);
    expect_positive(row, "ttft_ms", "lag " + row["mode"].get<std::string>());
  }
  EXPECT_EQ(modes, (std::set<std::string>{"kv", "text", "none"}));
}

bool lagvk_built() {
  return std::filesystem::exists(test::lagvk_binary());
}

TEST(CliBench, TinyRunHasEverySectionWithSaneFigures) {
  if (!lagvk_built()) LAGVK_REFERENCE_MISSING("build the lagvk_cli target first");
  const json run = tiny_run();
  ASSERT_FALSE(run.empty());
  check_run_and_device(run);
  check_roofs_and_kernels(run);
  check_model(run);
  check_lag(run);
}

// Without --json - the table is on stdout and --json FILE holds the figures, which bench/plot.py draws
// beside another run's (python3-matplotlib from scripts/setup.sh).
TEST(CliBench, TableOnStdoutJsonFileAndPlot) {
  if (!lagvk_built()) LAGVK_REFERENCE_MISSING("build the lagvk_cli target first");
  test::ScratchDir dir("cli_bench_table");
  const auto a = dir.path() / "a.json", b = dir.path() / "b.json", png = dir.path() / "out.png";
  const auto r = test::run_lagvk("bench --tiny --parts roofs,kernels --json '" + a.string() + "'", false);
  ASSERT_EQ(r.status, kExitOk) << r.out;
  for (const char* fragment :
       {"roofs (measured in this run)", "Vulkan buffer copy", "kernels (matvec 256x256"})
    EXPECT_NE(r.out.find(fragment), std::string::npos) << fragment << " missing:\n" << r.out;
  EXPECT_EQ(r.out.find("model "), std::string::npos) << "the model was not asked for:\n" << r.out;
  std::ifstream in(a);
  json run = json::parse(in, nullptr, false);
  ASSERT_TRUE(run.is_object()) << a;
  expect_positive(run["roofs"], "gpu_copy_gbps", "roofs");
  EXPECT_EQ(run["kernels"]["rows"].size(), 2u);
  EXPECT_FALSE(run.contains("model"));

  if (std::system("/usr/bin/python3 -c 'import matplotlib' 2>/dev/null") != 0)
    LAGVK_REFERENCE_MISSING("matplotlib missing: scripts/setup.sh installs python3-matplotlib");
  run["device"]["driver_info"] = "another driver";
  std::ofstream(b) << run.dump();
  const std::string plot = "/usr/bin/python3 " + std::string(LAGVK_SOURCE_DIR) + "/bench/plot.py ";
  const auto drawn =
      test::run_shell(plot + "'" + a.string() + "' '" + b.string() + "' -o '" + png.string() + "' 2>&1");
  ASSERT_EQ(drawn.status, 0) << drawn.out;
  std::ifstream image(png, std::ios::binary);
  std::string magic(8, '\0');
  image.read(magic.data(), 8);
  EXPECT_EQ(magic, "\x89PNG\r\n\x1a\n");
  EXPECT_GT(std::filesystem::file_size(png), 10000u) << "an empty figure";
  // Something that is not a bench run is refused by name.
  const auto bad = test::run_shell(plot + "'" + png.string() + "' -o /dev/null 2>&1");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("cannot read"), std::string::npos) << bad.out;
}

TEST(CliBench, BadFlagsAreUsageErrorsAndAMissingModelAnError) {
  if (!lagvk_built()) LAGVK_REFERENCE_MISSING("build the lagvk_cli target first");
  const std::string usage = "usage: lagvk bench [-m FILE | --make TYPE]";
  test::run_cases({
      {"unknown flag", "bench --frobnicate", kExitUsage, {"unknown option '--frobnicate'", usage}},
      {"bad depth list",
       "bench --n-depth 0,x",
       kExitUsage,
       {"--n-depth (-d) expects comma-separated", usage}},
      {"empty depth item", "bench -d 0,,512", kExitUsage, {"expects comma-separated", usage}},
      {"negative prompt", "bench --n-prompt -1", kExitUsage, {"--n-prompt", usage}},
      {"junk gen", "bench --n-gen many", kExitUsage, {"--n-gen", usage}},
      {"zero repetitions", "bench --repetitions 0", kExitUsage, {"--repetitions", usage}},
      {"unknown part", "bench --parts roofs,gpu", kExitUsage, {"unknown part 'gpu'", usage}},
      {"type without kernels", "bench --make q9_9", kExitUsage, {"--make expects a weight type", usage}},
      {"model and make", "bench -m x.gguf --make f16", kExitUsage, {"not both", usage}},
      {"quick and tiny", "bench --quick --tiny", kExitUsage, {"--quick or --tiny", usage}},
      {"missing model",
       "bench --model /nonexistent/lagvk-bench.gguf",
       kExitError,
       {"error: cannot open '/nonexistent/lagvk-bench.gguf'"},
       {},
       {"roofs:", "kernels:"}},
  });
}

}  // namespace
}  // namespace lagvk
