#include <gtest/gtest.h>

#include <cmath>

#include "edgekit/postprocess.hpp"

using namespace edgekit;

TEST(Postprocess, SoftmaxIsStableAndSumsToOne) {
  const float logits[] = {1000.f, 1001.f, 999.f};
  const auto p = softmax(logits, 3);
  EXPECT_NEAR(p[0] + p[1] + p[2], 1.0, 1e-6);
  EXPECT_GT(p[1], p[0]);
  EXPECT_NEAR(p[1], 0.66524096f, 1e-6);
}

TEST(Postprocess, TopKOrdersByScoreThenIndexWithLabels) {
  const auto t = top_k({0.1f, 0.5f, 0.5f, 0.2f}, 3, {"a", "b", "c"});
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].index, 1);
  EXPECT_EQ(t[0].label, "b");
  EXPECT_EQ(t[1].index, 2);
  EXPECT_EQ(t[2].index, 3);
  EXPECT_EQ(t[2].label, "");  // past the labels list
  EXPECT_EQ(top_k({1.f}, 5, {}).size(), 1u);
}

TEST(Postprocess, NonFiniteLogitsGiveNanScores) {
  const float logits[] = {1.f, NAN, 2.f};
  const auto p = softmax(logits, 3);
  EXPECT_TRUE(std::isnan(p[0]));
  Tensor t;
  t.shape = {1, 3};
  t.data = {1.f, INFINITY, 0.f};
  EXPECT_FALSE(t.all_finite());
}

TEST(Postprocess, ClassifyPerBatchItem) {
  Tensor t;
  t.name = "logits";
  t.shape = {2, 3};
  t.data = {0.f, 5.f, 1.f, 9.f, 0.f, 1.f};
  PostprocessInfo post;
  post.top_k = 2;
  const auto r = classify(t, post, {"x", "y", "z"});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0][0].label, "y");
  EXPECT_EQ(r[1][0].label, "x");
  post.apply_softmax = false;
  EXPECT_FLOAT_EQ(classify(t, post, {})[1][0].score, 9.f);
}
