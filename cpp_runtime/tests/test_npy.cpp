#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "edgekit/error.hpp"
#include "edgekit/npy.hpp"
#include "test_util.hpp"

using namespace edgekit;
using namespace edgekit::test;

TEST(Npy, ReadsWhatNumpyWrote) {
  const auto info = load_json("npy/info.json");
  ASSERT_GE(info.size(), 8u);
  for (auto it = info.begin(); it != info.end(); ++it) {
    SCOPED_TRACE(it.key());
    const auto a = read_npy(data("npy/" + it.key() + ".npy"));
    EXPECT_EQ(a.descr, it.value()["descr"].get<std::string>());
    EXPECT_EQ(a.shape, it.value()["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(to_hex(a.data), it.value()["hex"].get<std::string>());
  }
}

TEST(Npy, WritesByteIdenticalToNumpySave) {
  const auto info = load_json("npy/info.json");
  for (auto it = info.begin(); it != info.end(); ++it) {
    SCOPED_TRACE(it.key());
    const std::string path = data("npy/" + it.key() + ".npy");
    const auto a = read_npy(path);
    const auto bytes = encode_npy(a.descr, a.shape, a.data.data(), a.data.size());
    const std::string want = slurp(path);
    EXPECT_EQ(std::string(bytes.begin(), bytes.end()), want);
  }
}

TEST(Npy, RoundTripThroughFile) {
  const std::string p = (std::filesystem::temp_directory_path() / "edgekit_npy_roundtrip.npy").string();
  const float v[] = {1.5f, -2.f, 3.25f, 0.f, 1e-30f, 7.f};
  write_npy(p, "<f4", {1, 2, 3}, v, sizeof v);
  const auto a = read_npy(p);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{1, 2, 3}));
  ASSERT_EQ(a.data.size(), sizeof v);
  EXPECT_EQ(std::memcmp(a.data.data(), v, sizeof v), 0);
  std::remove(p.c_str());
}

TEST(Npy, RefusesBadFiles) {
  EXPECT_THROW_MSG(read_npy(data("npy/fortran.npy")), InputError, "Fortran-order");
  EXPECT_THROW_MSG(read_npy(data("npy/not_npy.npy")), InputError, "not a NumPy .npy file");
  EXPECT_THROW_MSG(read_npy(data("npy/truncated.npy")), InputError, "truncated or corrupt");
  EXPECT_THROW_MSG(read_npy(data("npy/does_not_exist.npy")), InputError, "no such file");
  EXPECT_THROW_MSG(npy_item_size(">f4"), InputError, "unsupported NumPy dtype");
}
