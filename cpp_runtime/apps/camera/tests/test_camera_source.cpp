// Tests of edgekit-camera's URI parsing and capture thread on real OpenCV video files (FFV1 in .mkv).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "camera_source.hpp"
#include "overlay.hpp"

namespace fs = std::filesystem;
using namespace edgekit::camera;

namespace {

fs::path temp_dir() {
  const fs::path d = fs::temp_directory_path() / ("edgekit_camera_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

/// A real 16-frame FFV1 video whose frame k is filled with the value 10*k.
std::string make_video(int n = 16) {
  const std::string p = (temp_dir() / ("clip" + std::to_string(n) + ".mkv")).string();
  if (fs::exists(p)) return p;
  cv::VideoWriter w(p, cv::CAP_FFMPEG, cv::VideoWriter::fourcc('F', 'F', 'V', '1'), 10, cv::Size(64, 48));
  EXPECT_TRUE(w.isOpened());
  for (int k = 0; k < n; ++k) w.write(cv::Mat(48, 64, CV_8UC3, cv::Scalar::all(10 * k)));
  w.release();
  return p;
}

}  // namespace

TEST(ParseUri, Kinds) {
  const std::string clip = make_video();
  EXPECT_EQ(parse_uri("csi://1", "").kind, SourceKind::csi);
  EXPECT_NE(parse_uri("csi://1", "").target.find("sensor-id=1"), std::string::npos);
  EXPECT_EQ(parse_uri("csi://0", "src sensor-id={sensor_id} ! appsink").target, "src sensor-id=0 ! appsink");
  auto v = parse_uri("v4l2:///dev/video3", "");
  EXPECT_EQ(v.kind, SourceKind::v4l2);
  EXPECT_EQ(v.index, 3);
  EXPECT_EQ(parse_uri("/dev/video0", "").index, 0);
  EXPECT_EQ(parse_uri("v4l2://2", "").target, "/dev/video2");
  EXPECT_EQ(parse_uri("rtsp://cam.local:554/s", "").kind, SourceKind::stream);
  EXPECT_TRUE(parse_uri("rtsp://cam.local:554/s", "").live());
  EXPECT_EQ(parse_uri(clip, "").kind, SourceKind::file);
  EXPECT_EQ(parse_uri("file://" + clip, "").target, clip);
  EXPECT_FALSE(parse_uri(clip, "").live());
  const fs::path imgs = temp_dir() / "imgs";
  fs::create_directories(imgs);
  cv::imwrite((imgs / "b.png").string(), cv::Mat(8, 8, CV_8UC1, cv::Scalar(7)));
  cv::imwrite((imgs / "a.png").string(), cv::Mat(8, 8, CV_8UC1, cv::Scalar(3)));
  EXPECT_EQ(parse_uri(imgs.string(), "").kind, SourceKind::images);
  auto r = open_source(parse_uri(imgs.string(), ""));
  cv::Mat f;
  ASSERT_TRUE(r->read(f));
  EXPECT_EQ(f.channels(), 3);
  EXPECT_EQ(f.at<cv::Vec3b>(0, 0)[0], 3);  // name order: a.png first
}

TEST(ParseUri, Errors) {
  EXPECT_THROW(parse_uri("", ""), SourceUriError);
  EXPECT_THROW(parse_uri("csi://zero", ""), SourceUriError);
  EXPECT_THROW(parse_uri("csi://0", "no placeholder"), SourceUriError);
  EXPECT_THROW(parse_uri("v4l2:///dev/camera", ""), SourceUriError);
  EXPECT_THROW(parse_uri("rtsp://", ""), SourceUriError);
  EXPECT_THROW(parse_uri("ftp://x/y", ""), SourceUriError);
  EXPECT_THROW(parse_uri("/no/such/clip.avi", ""), SourceOpenError);
  try {
    parse_uri("bogus://x", "");
    FAIL();
  } catch (const SourceUriError& e) {
    EXPECT_NE(std::string(e.what()).find("bogus://x"), std::string::npos);
    EXPECT_FALSE(e.fix().empty());
  }
}

TEST(OpenSource, UnopenableDeviceAndFile) {
  EXPECT_THROW(open_source(parse_uri("v4l2:///dev/video97", "")), SourceOpenError);
  const fs::path junk = temp_dir() / "junk.avi";
  std::ofstream(junk) << "not a video";
  EXPECT_THROW(open_source(parse_uri(junk.string(), "")), SourceOpenError);
}

TEST(CaptureThread, FileDeliversEveryFrameInOrder) {
  const Source src = parse_uri(make_video(), "");
  CaptureOptions co;
  co.queue_size = 2;  // smaller than the clip: the reader must wait, never drop
  CaptureThread cap([&] { return open_source(src); }, open_source(src), co, [](const std::string&) {});
  cap.start();
  std::vector<int> values;
  Frame f;
  int got;
  while ((got = cap.get(f, 1.0)) >= 0) {
    if (got == 0) continue;
    EXPECT_EQ(f.index, static_cast<int64_t>(values.size()));
    values.push_back(f.image.at<cv::Vec3b>(10, 10)[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a slow consumer
  }
  ASSERT_EQ(values.size(), 16u);
  for (int k = 0; k < 16; ++k) EXPECT_EQ(values[k], 10 * k);  // FFV1 is lossless
  EXPECT_EQ(cap.dropped(), 0);
}

// The pipelined demo: the Prepare callback (preprocessing) runs on the capture thread, so preprocessing of
// frame n+1 starts before the consumer's (inference thread's) work on frame n ends. Timestamps recorded by
// the pipeline itself, not speed thresholds: a sequential consumer that preprocessed after get() could
// never start frame n+1's preprocessing before finishing frame n.
TEST(CaptureThread, PrepareOfTheNextFrameOverlapsTheConsumer) {
  const Source src = parse_uri(make_video(), "");
  CaptureOptions co;
  co.queue_size = 2;
  CaptureThread cap([&] { return open_source(src); }, open_source(src), co, [](const std::string&) {});
  cap.set_prepare([](Frame& f) {
    f.tensor.shape = {1};
    f.tensor.data = {static_cast<float>(f.image.at<cv::Vec3b>(10, 10)[1])};  // the frame's own value
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  });
  cap.start();
  std::vector<Frame> frames;
  std::vector<double> infer_end;
  Frame f;
  int got;
  while ((got = cap.get(f, 1.0)) >= 0) {
    if (got == 0) continue;
    std::this_thread::sleep_for(std::chrono::milliseconds(40));  // "inference" of frame f
    infer_end.push_back(now_s());
    frames.push_back(std::move(f));
  }
  ASSERT_EQ(frames.size(), 16u);
  for (size_t k = 0; k < frames.size(); ++k) {
    EXPECT_EQ(frames[k].index, static_cast<int64_t>(k));  // order and numbering preserved
    ASSERT_EQ(frames[k].tensor.data.size(), 1u);
    EXPECT_EQ(frames[k].tensor.data[0], 10.0f * static_cast<float>(k));  // each tensor is its own frame's
    EXPECT_GT(frames[k].t_pre1, frames[k].t_pre0);
    EXPECT_GE(frames[k].preprocess_ms, 1.5);
    EXPECT_GE(frames[k].t_pre0, frames[k].t_capture);
  }
  for (size_t k = 0; k + 1 < frames.size(); ++k)
    EXPECT_LT(frames[k + 1].t_pre0, infer_end[k]) << "frame " << k + 1 << " was not preprocessed during frame " << k;
  EXPECT_EQ(cap.dropped(), 0);
}

TEST(CaptureThread, AnErrorInPrepareEndsTheCaptureAndIsRethrown) {
  const Source src = parse_uri(make_video(), "");
  CaptureThread cap([&] { return open_source(src); }, open_source(src), CaptureOptions{}, [](const std::string&) {});
  cap.set_prepare([](Frame& f) {
    if (f.index == 3) throw edgekit::Error("bad frame", "fix it");
  });
  cap.start();
  Frame f;
  int n = 0;
  EXPECT_THROW(
      {
        int got;
        while ((got = cap.get(f, 1.0)) >= 0) n += got;
      },
      edgekit::Error);
  EXPECT_EQ(n, 3);
}

TEST(Overlay, DetectionBoxesChangePixelsInsideTheBoxOnly) {
  cv::Mat img(120, 160, CV_8UC3, cv::Scalar::all(0));
  Detection d;
  d.x1 = 40, d.y1 = 50, d.x2 = 100, d.y2 = 110, d.score = 0.87f, d.class_id = 2, d.label = "two";
  draw_detections(img, {d});
  const cv::Rect box(40, 50, 60, 60);
  cv::Mat inside = img(box).clone(), gray;
  cv::cvtColor(inside, gray, cv::COLOR_BGR2GRAY);
  EXPECT_GT(cv::countNonZero(gray), 100);  // the outline (and the tag) are drawn
  const cv::Vec3b edge = img.at<cv::Vec3b>(80, 40);  // left edge, in the class colour
  const cv::Scalar c = class_color(2);
  EXPECT_EQ(edge, cv::Vec3b(static_cast<uchar>(c[0]), static_cast<uchar>(c[1]), static_cast<uchar>(c[2])));
  cv::Mat outside = img.clone();
  outside(cv::Rect(36, 30, 74, 82)).setTo(cv::Scalar::all(0));  // the box, its outline and the tag above it
  cv::cvtColor(outside, gray, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(cv::countNonZero(gray), 0) << "pixels changed outside the box and its tag";
  cv::Mat none(120, 160, CV_8UC3, cv::Scalar::all(0));
  draw_detections(none, {});
  cv::cvtColor(none, gray, cv::COLOR_BGR2GRAY);
  EXPECT_EQ(cv::countNonZero(gray), 0);
}

TEST(CaptureThread, DropStaleKeepsTheNewest) {
  const Source src = parse_uri(make_video(), "");
  CaptureOptions co;
  co.drop_stale = true;
  co.queue_size = 1;
  CaptureThread cap([&] { return open_source(src); }, open_source(src), co, [](const std::string&) {});
  cap.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the reader run ahead
  Frame f;
  int n = 0;
  int64_t last = -1;
  int got;
  while ((got = cap.get(f, 1.0)) >= 0)
    if (got == 1) {
      ++n;
      last = f.index;
    }
  EXPECT_EQ(last, 15);  // the newest frame survives
  EXPECT_GT(cap.dropped(), 0);
  EXPECT_EQ(n + cap.dropped(), 16);
}

TEST(CaptureThread, LiveSourceReconnectsThenReportsLoss) {
  const Source src = parse_uri(make_video(4), "");
  // Treat the 4-frame file as a live camera: its end is a "disappearance". The opener succeeds twice,
  // then fails: one reconnect, then SourceLostError after the retries.
  int opens = 0;
  auto opener = [&]() -> std::unique_ptr<Reader> {
    if (++opens > 1) throw SourceOpenError("gone", "");
    return open_source(src);
  };
  CaptureOptions co;
  co.live = true;
  co.queue_size = 64;
  co.retries = 3;
  co.backoff_s = 0.01;
  std::vector<std::string> events;
  CaptureThread cap(opener, open_source(src), co, [&](const std::string& m) { events.push_back(m); });
  cap.start();
  Frame f;
  int n = 0;
  EXPECT_THROW(
      {
        int got;
        while ((got = cap.get(f, 1.0)) >= 0) n += got;
      },
      SourceLostError);
  EXPECT_EQ(n, 8);  // 4 frames, reconnect, 4 frames
  EXPECT_EQ(cap.reconnects(), 1);
  EXPECT_EQ(events.size(), 1u + 1u + 3u);  // attempt, back, three failed attempts
}

namespace {
// Removes the test's temporary folder when the test binary exits (a static object, no raw new).
struct CleanTemp {
  ~CleanTemp() {
    std::error_code ec;
    fs::remove_all(temp_dir(), ec);
  }
} g_clean_temp;
}  // namespace

TEST(ParseUri, HugeIndexIsMalformedNotACrash) {
  EXPECT_THROW(parse_uri("csi://99999999999999999999", ""), SourceUriError);
  EXPECT_THROW(parse_uri("/dev/video99999999999999999999", ""), SourceUriError);
}
