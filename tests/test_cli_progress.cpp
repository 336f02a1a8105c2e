// The CLI's progress bar (tools/lagvk/progress.hpp): its text (units, rate, ETA) and when it draws, with a
// memory stream for stderr and a fake clock. That a bar never reaches a non-terminal's output end to end
// is checked by the CLI tests (test_cli_log.cpp, test_cli_ask_eval.cpp: their stderr is a pipe).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tools/lagvk/progress.hpp"

namespace lagvk::cli {
namespace {

TEST(ProgressFormat, BytesAreShownInMegabytesWithARateAndAnEta) {
  // 30 of 50 MB in 3 s: 10 MB/s, so 20 MB remain for 2 s.
  const std::string text =
      format_progress("loading m.gguf", ProgressUnit::bytes(), 30'000'000, 50'000'000, 3.0);
  EXPECT_NE(text.find("loading m.gguf ["), std::string::npos) << text;
  EXPECT_NE(text.find(" 60% "), std::string::npos) << text;
  EXPECT_NE(text.find("30.0/50.0 MB"), std::string::npos) << text;
  EXPECT_NE(text.find("10.0 MB/s"), std::string::npos) << text;
  EXPECT_NE(text.find("ETA 2s"), std::string::npos) << text;
}

TEST(ProgressFormat, CountsAreShownAsWholeItemsInTheirOwnUnit) {
  // 3 of 12 logs in 6 s: 0.5 logs/s, 9 to go: 18 s.
  const std::string text = format_progress("encoding traces", ProgressUnit::items("logs"), 3, 12, 6.0);
  EXPECT_NE(text.find(" 25% 3/12 logs"), std::string::npos) << text;
  EXPECT_NE(text.find("0.5 logs/s"), std::string::npos) << text;
  EXPECT_NE(text.find("ETA 18s"), std::string::npos) << text;
  EXPECT_EQ(text.find("MB"), std::string::npos) << "a count is not bytes: " << text;
}

TEST(ProgressFormat, NoRateOrEtaBeforeAnythingIsDoneAndNoEtaWhenFinished) {
  const std::string start = format_progress("x", ProgressUnit::items("tasks"), 0, 10, 5.0);
  EXPECT_NE(start.find("0/10 tasks"), std::string::npos) << start;
  EXPECT_EQ(start.find("/s"), std::string::npos) << start;
  EXPECT_EQ(start.find("ETA"), std::string::npos) << start;
  const std::string done = format_progress("x", ProgressUnit::items("tasks"), 10, 10, 5.0);
  EXPECT_NE(done.find("100% 10/10 tasks, 2.0 tasks/s"), std::string::npos) << done;
  EXPECT_EQ(done.find("ETA"), std::string::npos) << done;
}

TEST(ProgressFormat, DurationsReadAsSecondsMinutesOrHours) {
  EXPECT_EQ(format_duration(0.2), "1s");  // rounded up: a bar never promises 0s while work remains
  EXPECT_EQ(format_duration(59.0), "59s");
  EXPECT_EQ(format_duration(125.0), "2m05s");
  EXPECT_EQ(format_duration(3720.0), "1h02m");
}

/// A bar's output captured in memory, with a clock the test moves.
class ProgressBarOutput : public ::testing::Test {
 protected:
  void SetUp() override { stream_ = open_memstream(&buffer_, &size_); }
  void TearDown() override {
    if (stream_) std::fclose(stream_);
    std::free(buffer_);
  }
  ProgressOutput output(bool terminal) {
    return {stream_, terminal, [this] { return now_; }};
  }
  std::string written() {
    std::fflush(stream_);
    return std::string(buffer_, size_);
  }

  std::FILE* stream_ = nullptr;
  char* buffer_ = nullptr;
  std::size_t size_ = 0;
  double now_ = 100.0;
};

TEST_F(ProgressBarOutput, NothingAtAllOnANonTerminal) {
  {
    ProgressBar bar("loading", ProgressUnit::bytes(), output(false));
    for (int i = 0; i <= 10; ++i) {
      now_ += 1.0;
      bar.update(std::uint64_t(i) * 1'000'000, 10'000'000);
    }
    bar.clear();
  }
  EXPECT_EQ(written(), "");
}

TEST_F(ProgressBarOutput, ATerminalBarRedrawsInPlaceAndFinishingErasesIt) {
  {
    ProgressBar bar("encoding traces", ProgressUnit::items("logs"), output(true));
    now_ += 2.0;
    bar.update(1, 4);
    now_ += 2.0;
    bar.update(2, 4);
  }
  const std::string out = written();
  EXPECT_NE(out.find("\r\033[Kencoding traces ["), std::string::npos) << out;
  EXPECT_NE(out.find("1/4 logs, 0.5 logs/s, ETA 6s"), std::string::npos) << out;
  EXPECT_NE(out.find("2/4 logs, 0.5 logs/s, ETA 4s"), std::string::npos) << out;
  EXPECT_EQ(out.find('\n'), std::string::npos) << "a bar never adds lines: " << out;
  // The destructor erased the line: the next output starts on a clean one.
  ASSERT_GE(out.size(), 4u);
  EXPECT_EQ(out.substr(out.size() - 4), "\r\033[K") << out;
}

TEST_F(ProgressBarOutput, ClearErasesTheLineAndTheNextUpdateRedrawsIt) {
  ProgressBar bar("x", ProgressUnit::items("logs"), output(true));
  bar.update(1, 100);
  bar.clear();
  const std::size_t after_clear = written().size();
  bar.update(1, 100);  // same percentage, same instant: still redrawn, since the line was erased
  EXPECT_GT(written().size(), after_clear);
  EXPECT_EQ(written().substr(after_clear, 4), "\r\033[K");
}

TEST_F(ProgressBarOutput, AnUnchangedPercentageIsNotRedrawnWithinHalfASecond) {
  ProgressBar bar("x", ProgressUnit::bytes(), output(true));
  bar.update(1'000, 1'000'000);
  const std::size_t once = written().size();
  bar.update(2'000, 1'000'000);  // still 0%
  EXPECT_EQ(written().size(), once);
  now_ += 1.0;
  bar.update(3'000, 1'000'000);  // the rate has moved on: redrawn
  EXPECT_GT(written().size(), once);
}

}  // namespace
}  // namespace lagvk::cli
