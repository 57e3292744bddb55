// Private: the ONNX Runtime C++ API without static initialisation (the library is dlopen()ed,
// see ort_loader.cpp). Include this instead of onnxruntime_cxx_api.h.
#pragma once
#ifndef ORT_API_MANUAL_INIT
#define ORT_API_MANUAL_INIT
#endif
#include <onnxruntime_cxx_api.h>
