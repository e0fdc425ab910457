# Asking the installed package for a component it does not have must fail with a clear message.
set(dir "${CMAKE_CURRENT_BINARY_DIR}/unknown_component")
file(MAKE_DIRECTORY "${dir}")
file(WRITE "${dir}/CMakeLists.txt" "cmake_minimum_required(VERSION 3.21)\nproject(c LANGUAGES CXX)\nfind_package(pvmkit CONFIG REQUIRED COMPONENTS warp_drive)\n")
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${dir}" -B "${dir}/build" "-DCMAKE_PREFIX_PATH=${PREFIX}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "find_package(pvmkit COMPONENTS warp_drive) succeeded")
endif()
if(NOT err MATCHES "unknown component 'warp_drive'")
  message(FATAL_ERROR "the failure does not name the component:\n${err}")
endif()
