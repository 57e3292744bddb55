# OpenCV core/imgproc/imgcodecs/videoio as targets opencv_core, opencv_imgproc, opencv_imgcodecs,
# opencv_videoio. Uses OpenCVConfig.cmake where present (Debian's full libopencv-dev, JetPack);
# with Debian's per-module -dev packages (no config file) the IMPORTED targets are made by hand.
if(TARGET opencv_core)
  return()
endif()
find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs videoio)
if(OpenCV_FOUND)
  message(STATUS "edgekit: OpenCV ${OpenCV_VERSION} (config package)")
  return()
endif()
find_path(EDGEKIT_OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4)
if(NOT EDGEKIT_OPENCV_INCLUDE_DIR)
  message(FATAL_ERROR "OpenCV headers not found — fix: apt-get install libopencv-core-dev libopencv-imgproc-dev "
                      "libopencv-imgcodecs-dev libopencv-videoio-dev (tools/setup.sh does this)")
endif()
foreach(_m core imgproc imgcodecs videoio)
  find_library(EDGEKIT_OPENCV_${_m}_LIBRARY opencv_${_m})
  if(NOT EDGEKIT_OPENCV_${_m}_LIBRARY)
    message(FATAL_ERROR "libopencv_${_m} not found — fix: apt-get install libopencv-${_m}-dev")
  endif()
  add_library(opencv_${_m} SHARED IMPORTED)
  set_target_properties(opencv_${_m} PROPERTIES IMPORTED_LOCATION "${EDGEKIT_OPENCV_${_m}_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${EDGEKIT_OPENCV_INCLUDE_DIR}")
endforeach()
set_property(TARGET opencv_imgproc APPEND PROPERTY INTERFACE_LINK_LIBRARIES opencv_core)
set_property(TARGET opencv_imgcodecs APPEND PROPERTY INTERFACE_LINK_LIBRARIES opencv_imgproc opencv_core)
set_property(TARGET opencv_videoio APPEND PROPERTY INTERFACE_LINK_LIBRARIES opencv_imgcodecs opencv_imgproc opencv_core)
message(STATUS "edgekit: OpenCV from ${EDGEKIT_OPENCV_INCLUDE_DIR} (IMPORTED targets made by hand)")
