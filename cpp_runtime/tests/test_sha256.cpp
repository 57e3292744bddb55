#include <gtest/gtest.h>

#include "edgekit/error.hpp"
#include "edgekit/sha256.hpp"
#include "test_util.hpp"

using namespace edgekit;
using namespace edgekit::test;

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 h;  // a million 'a' fed in odd-sized pieces
  const std::string chunk(997, 'a');
  size_t left = 1000000;
  while (left) {
    const size_t n = std::min(left, chunk.size());
    h.update(chunk.data(), n);
    left -= n;
  }
  EXPECT_EQ(h.hexdigest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, MatchesPythonHashlibOnFiles) {
  const auto info = load_json("sha256/info.json");
  ASSERT_GE(info.size(), 9u);
  for (auto it = info.begin(); it != info.end(); ++it) {
    SCOPED_TRACE(it.key());
    EXPECT_EQ(sha256_file(data("sha256/" + it.key())), it.value().get<std::string>());
  }
}

TEST(Sha256, MissingFileIsABundleError) {
  EXPECT_THROW_MSG(sha256_file(data("sha256/nope.bin")), BundleError, "cannot read");
}
