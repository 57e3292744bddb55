#include <gtest/gtest.h>

#include "edgekit/preprocess.hpp"
#include "test_util.hpp"

using namespace edgekit;
using namespace edgekit::test;

TEST(Geometry, MatchesPythonFormulas) {
  const auto cases = load_json("geometry.json");
  ASSERT_GT(cases.size(), 900u);
  for (const auto& c : cases) {
    const auto a = c["args"].get<std::vector<int>>();
    const auto want = c["out"].get<std::vector<int>>();
    std::vector<int> got;
    const auto fn = c["fn"].get<std::string>();
    if (fn == "shorter_side") {
      const auto [h, w] = geometry::shorter_side(a[0], a[1], a[2]);
      got = {h, w};
    } else if (fn == "letterbox") {
      const auto [nh, nw, top, left] = geometry::letterbox(a[0], a[1], a[2], a[3]);
      got = {nh, nw, top, left};
    } else {
      const auto [top, left] = geometry::center_crop(a[0], a[1], a[2], a[3]);
      got = {top, left};
    }
    ASSERT_EQ(got, want) << fn << " " << c["args"].dump();
  }
}
