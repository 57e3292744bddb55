// The contract corpus (tests/contract/corpus/cases.json) on the C++ side: every case must reach the verdict and
// rule id it declares, the same as tests/contract/test_corpus.py requires of Python.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "edgekit/bundle.hpp"
#include "edgekit/contract.hpp"
#include "edgekit/fs_util.hpp"
#include "edgekit/npy.hpp"
#include "test_util.hpp"

using namespace edgekit;
using namespace edgekit::test;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
const fs::path kCorpus = EDGEKIT_CONTRACT_CORPUS;

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::pair<std::string, std::string> verdict(const json& c) {
  const fs::path p = kCorpus / c.at("path").get<std::string>();
  const std::string kind = c.at("kind").get<std::string>();
  try {
    if (kind == "manifest") parse_manifest(read_text(p), p.string());
    else if (kind == "spec") parse_spec(read_text(p), p.string());
    else if (kind == "npy") read_npy(p.string());
    else if (kind == "bundle") Bundle::load(p.string(), true);
    else throw std::logic_error("unknown kind " + kind);
  } catch (const ContractError& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
    return {"invalid", e.rule()};
  } catch (const NpyError& e) {
    return {"invalid", e.rule()};
  }
  return {"valid", ""};
}
}  // namespace

TEST(Contract, EveryCorpusCaseReachesItsVerdictAndRule) {
  const json cases = json::parse(read_text(kCorpus / "cases.json")).at("cases");
  ASSERT_GE(cases.size(), 150u) << "the corpus is missing (tests/contract/corpus)";
  std::map<std::string, std::pair<int, int>> counts;  // kind/verdict -> (agree, total)
  for (const auto& c : cases) {
    const auto got = verdict(c);
    const std::pair<std::string, std::string> want{c.at("verdict"), c.at("rule")};
    auto& n = counts[c.at("kind").get<std::string>() + " " + want.first];
    n.second++;
    if (got == want) n.first++;
    EXPECT_EQ(got, want) << c.at("kind").get<std::string>() << "/" << c.at("name").get<std::string>();
  }
  int agree = 0, total = 0;
  for (const auto& kv : counts) {
    std::printf("contract corpus (C++): %-18s %d/%d agree\n", kv.first.c_str(), kv.second.first, kv.second.second);
    agree += kv.second.first;
    total += kv.second.second;
  }
  std::printf("contract corpus (C++): %d/%d cases agree (%.1f %%)\n", agree, total, 100.0 * agree / total);
}

TEST(Contract, EveryRuleTheSchemaNamesHasACxxImplementation) {
  const auto impl = contract::implemented_rules();
  const auto named = contract::schema_rules();
  ASSERT_FALSE(named.empty());
  for (const auto& r : named) EXPECT_NE(std::find(impl.begin(), impl.end(), r), impl.end()) << r;
  for (const auto& r : named) {
    bool declared = false;
    for (const auto& info : contract::kRules) declared = declared || r == info.id;
    EXPECT_TRUE(declared) << r << " is not declared in edgekit/contract/__init__.py";
  }
}

TEST(Contract, GeneratedConstantsAreTheOnesTheRuntimeUses) {
  EXPECT_EQ(kSchemaVersion, contract::kSchemaVersion);
  EXPECT_STREQ(contract::kManifestFile, "manifest.json");
  EXPECT_EQ(contract::kPostprocessInfo_TopKMax, contract::kInt32Max);  // top_k is an int: no truncation
  EXPECT_DOUBLE_EQ(contract::kMinAbsStd, 1e-6);
}

TEST(Contract, PathProblemMatchesPython) {
  EXPECT_EQ(contract::path_problem("models/a.onnx"), "");
  EXPECT_EQ(contract::path_problem("./a"), "");
  EXPECT_EQ(contract::path_problem("a..b/c"), "");
  EXPECT_EQ(contract::path_problem(".."), "climbs out with '..'");
  EXPECT_EQ(contract::path_problem("a/../.."), "climbs out with '..'");
  EXPECT_EQ(contract::path_problem("a/.."), "climbs out with '..'");
  EXPECT_EQ(contract::path_problem("/abs"), "is absolute");
  EXPECT_EQ(contract::path_problem(""), "is empty");
}

TEST(Contract, BundlePathRefusesEscapesEvenWithoutAManifestEntry) {
  const fs::path b = kCorpus / "bundle" / "valid_bundle";
  const Bundle bundle = Bundle::load(b.string(), true);
  EXPECT_NO_THROW(bundle.path("labels.txt"));
  EXPECT_THROW(bundle.path("../outside.txt"), ContractError);
  EXPECT_THROW(bundle.path("/etc/passwd"), ContractError);
  try {
    bundle.path("../outside.txt");
  } catch (const ContractError& e) {
    EXPECT_EQ(e.rule(), "path.relative");
  }
}

// -- issue 13 item 6: the header's size is checked before decoding ------------------------------------------
#include <sys/resource.h>
#include <zlib.h>

#include <opencv2/imgcodecs.hpp>

#include "edgekit/preprocess.hpp"

namespace {
void put32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
}
void chunk(std::vector<uint8_t>& out, const char* kind, const std::vector<uint8_t>& data) {
  put32(out, static_cast<uint32_t>(data.size()));
  std::vector<uint8_t> kd(kind, kind + 4);
  kd.insert(kd.end(), data.begin(), data.end());
  out.insert(out.end(), kd.begin(), kd.end());
  put32(out, static_cast<uint32_t>(crc32(0, kd.data(), static_cast<uInt>(kd.size()))));
}
// A valid 8-bit gray PNG of zeros (as tests/contract/bigimage.py): one full-flushed deflate block of 100 rows,
// repeated; about 390 KB for 20000x20000.
std::vector<uint8_t> zero_png(uint32_t w, uint32_t h) {
  const size_t row = w + 1, rows = 100;
  std::vector<uint8_t> in(row * rows, 0), blk(compressBound(static_cast<uLong>(in.size())) + 64);
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  z.next_in = in.data();
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = blk.data();
  z.avail_out = static_cast<uInt>(blk.size());
  deflate(&z, Z_FULL_FLUSH);
  blk.resize(blk.size() - z.avail_out);
  deflateEnd(&z);
  std::vector<uint8_t> idat = {0x78, 0xda};
  for (uint32_t i = 0; i < h / rows; ++i) idat.insert(idat.end(), blk.begin(), blk.end());
  idat.push_back(0x03);
  idat.push_back(0x00);
  const uint64_t n = static_cast<uint64_t>(row) * h;
  put32(idat, static_cast<uint32_t>(((n % 65521) << 16) | 1));
  std::vector<uint8_t> ihdr;
  put32(ihdr, w);
  put32(ihdr, h);
  for (uint8_t b : {8, 0, 0, 0, 0}) ihdr.push_back(b);
  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  chunk(out, "IHDR", ihdr);
  chunk(out, "IDAT", idat);
  chunk(out, "IEND", {});
  return out;
}
long maxrss_kb() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return r.ru_maxrss;
}
Step decode_step() {
  Step s;
  s.op = "decode";
  return s;
}
}  // namespace

TEST(DecodeLimit, A390KbPngOf20000x20000IsRefusedBeforeDecoding) {
  const auto png = zero_png(20000, 20000);
  ASSERT_LT(png.size(), 400000u);
  const auto wh = image_header_size(png);
  ASSERT_TRUE(wh.has_value());
  EXPECT_EQ(*wh, std::make_pair(int64_t{20000}, int64_t{20000}));
  const long before = maxrss_kb();
  try {
    decode_image(decode_step(), png, "huge.png");
    ADD_FAILURE() << "decoded a 400-megapixel image";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("huge.png is 20000x20000 = 400.0 megapixels, more than the limit of 64 megapixels"), std::string::npos) << m;
    EXPECT_NE(m.find("EDGEKIT_MAX_IMAGE_PIXELS=400000000"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos);
  }
  EXPECT_LT(maxrss_kb() - before, 100 * 1024) << "the process grew: it decoded";
  // The PNG is real: the same construction at a small size decodes.
  const auto small = zero_png(300, 200);
  const cv::Mat img = decode_image(decode_step(), small, "small.png");
  EXPECT_EQ(img.cols, 300);
  EXPECT_EQ(img.rows, 200);
}

TEST(DecodeLimit, ARealJpegJustOverTheLimitIsRefused) {
  std::vector<uint8_t> jpg;
  ASSERT_TRUE(cv::imencode(".jpg", cv::Mat::zeros(8000, 8001, CV_8UC1), jpg));
  EXPECT_EQ(image_header_size(jpg), std::make_optional(std::make_pair(int64_t{8001}, int64_t{8000})));
  EXPECT_THROW_MSG(decode_image(decode_step(), jpg, "big.jpg"), InputError, "more than the limit of 64 megapixels");
}

TEST(DecodeLimit, TheEnvironmentSettingRaisesAndLowersTheLimit) {
  const auto png = zero_png(100, 100);
  ::unsetenv(contract::kMaxImagePixelsEnv);
  EXPECT_EQ(max_image_pixels(), contract::kMaxImagePixelsDefault);
  EXPECT_NO_THROW(decode_image(decode_step(), png, "p.png"));
  ::setenv(contract::kMaxImagePixelsEnv, "9999", 1);
  EXPECT_THROW_MSG(decode_image(decode_step(), png, "p.png"), InputError, "more than the limit");
  ::setenv(contract::kMaxImagePixelsEnv, "10000", 1);
  EXPECT_NO_THROW(decode_image(decode_step(), png, "p.png"));
  ::setenv(contract::kMaxImagePixelsEnv, "lots", 1);
  EXPECT_THROW_MSG(max_image_pixels(), InputError, "EDGEKIT_MAX_IMAGE_PIXELS='lots' is not a positive integer");
  ::unsetenv(contract::kMaxImagePixelsEnv);
}

TEST(DecodeLimit, HeaderSizeReadsWhatOpenCvWrites) {
  for (const char* ext : {".bmp", ".ppm", ".png", ".jpg"}) {
    std::vector<uint8_t> buf;
    ASSERT_TRUE(cv::imencode(ext, cv::Mat::zeros(37, 53, CV_8UC3), buf));
    EXPECT_EQ(image_header_size(buf), std::make_optional(std::make_pair(int64_t{53}, int64_t{37}))) << ext;
  }
}
