// classify BUNDLE IMAGE: the smallest program on the edgekit runtime API.
#include <edgekit/edgekit.hpp>
#include <iostream>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: classify BUNDLE IMAGE\n";
    return 2;
  }
  try {
    const auto bundle = edgekit::Bundle::load(argv[1]);
    const auto& m = bundle.manifest();
    auto backend = edgekit::open_backend(bundle, "", edgekit::BackendOptions{});
    edgekit::Tensor x = edgekit::preprocess_file(m.preprocess, argv[2]);
    const auto outs = backend->infer(x);
    const auto top = edgekit::classify(outs.at(0), m.postprocess, bundle.labels());
    std::cout << top.at(0).at(0).index << " " << top[0][0].label << " " << top[0][0].score << "\n";
  } catch (const edgekit::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
