#include "engine/sampling/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "engine/core/error.hpp"

namespace lagvk {
namespace {

bool before(const TokenCandidate& a, const TokenCandidate& b) {
  return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
}

}  // namespace

void apply_repetition_penalty(std::span<float> logits, std::span<const std::int32_t> recent, float penalty) {
  if (penalty == 1.0f) return;
  std::unordered_set<std::int32_t> seen;
  for (auto t : recent) {
    if (t < 0 || std::size_t(t) >= logits.size() || !seen.insert(t).second) continue;
    float& l = logits[std::size_t(t)];
    l = l > 0.0f ? l / penalty : l * penalty;
  }
}

std::vector<TokenCandidate> sort_candidates(std::span<const float> logits) {
  std::vector<TokenCandidate> c(logits.size());
  for (std::size_t i = 0; i < logits.size(); ++i) c[i] = {std::int32_t(i), logits[i], 0.0};
  std::sort(c.begin(), c.end(), before);
  return c;
}

void top_k_filter(std::vector<TokenCandidate>& c, std::int32_t k) {
  if (k > 0 && std::size_t(k) < c.size()) c.resize(std::size_t(k));
}

void softmax_candidates(std::vector<TokenCandidate>& c, float temperature) {
  if (c.empty()) return;
  double mx = -INFINITY;
  for (const auto& x : c) mx = std::max(mx, double(x.logit) / temperature);
  double sum = 0.0;
  for (auto& x : c) sum += (x.p = std::exp(double(x.logit) / temperature - mx));
  for (auto& x : c) x.p /= sum;
}

void top_p_filter(std::vector<TokenCandidate>& c, float p) {
  if (p >= 1.0f || c.empty()) return;
  softmax_candidates(c);
  double cum = 0.0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    cum += c[i].p;
    if (cum >= double(p)) {
      c.resize(i + 1);
      return;
    }
  }
}

void min_p_filter(std::vector<TokenCandidate>& c, float min_p) {
  if (min_p <= 0.0f || c.empty()) return;
  softmax_candidates(c);
  const double threshold = c.front().p * double(min_p);  // sorted: front is the most likely
  std::size_t keep = 1;
  while (keep < c.size() && c[keep].p >= threshold) ++keep;
  c.resize(keep);
}

std::int32_t argmax(std::span<const float> logits) {
  if (logits.empty()) fail(Errc::invalid_argument, "cannot pick a token from an empty set of logits");
  std::size_t best = 0;
  for (std::size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best]) best = i;
  return std::int32_t(best);
}

Sampler::Sampler(SamplerParams params) : params_(params), rng_(params.seed) {
  if (params_.repeat_penalty <= 0.0f)
    fail(Errc::invalid_argument, "the repetition penalty must be positive (1 disables it)");
  if (params_.top_p <= 0.0f) fail(Errc::invalid_argument, "top-p must be in (0, 1] (1 disables it)");
}

void Sampler::accept(std::int32_t token) {
  if (params_.repeat_last_n <= 0) return;
  recent_.push_back(token);
  while (recent_.size() > std::size_t(params_.repeat_last_n)) recent_.pop_front();
}

void Sampler::reset() {
  recent_.clear();
  rng_.seed(params_.seed);
}

double Sampler::uniform() {
  return double(rng_() >> 11) * 0x1.0p-53;
}

std::vector<float> Sampler::penalized(std::span<const float> logits) const {
  std::vector<float> l(logits.begin(), logits.end());
  const std::vector<std::int32_t> recent(recent_.begin(), recent_.end());
  apply_repetition_penalty(l, recent, params_.repeat_penalty);
  return l;
}

std::vector<TokenCandidate> Sampler::candidates(std::span<const float> logits) const {
  if (params_.temperature <= 0.0f) return {};
  auto c = sort_candidates(penalized(logits));
  top_k_filter(c, params_.top_k);
  top_p_filter(c, params_.top_p);
  min_p_filter(c, params_.min_p);
  softmax_candidates(c, params_.temperature);
  return c;
}

std::int32_t Sampler::sample(std::span<const float> logits) {
  if (logits.empty()) fail(Errc::invalid_argument, "cannot sample from an empty set of logits");
  if (params_.temperature <= 0.0f) return argmax(penalized(logits));
  const auto c = candidates(logits);
  // Inverse-CDF draw over the candidates in their sorted order.
  const double u = uniform();
  double cum = 0.0;
  for (const auto& x : c) {
    cum += x.p;
    if (u < cum) return x.id;
  }
  return c.back().id;  // u within rounding of 1
}

}  // namespace lagvk
