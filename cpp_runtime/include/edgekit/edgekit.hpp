// The edgekit C++ runtime: include this one header.
#pragma once
#include "edgekit/backend.hpp"
#include "edgekit/bundle.hpp"
#include "edgekit/detect.hpp"
#include "edgekit/error.hpp"
#include "edgekit/manifest.hpp"
#include "edgekit/npy.hpp"
#include "edgekit/ort_loader.hpp"
#include "edgekit/postprocess.hpp"
#include "edgekit/preprocess.hpp"
#include "edgekit/sha256.hpp"
#include "edgekit/tensor.hpp"
