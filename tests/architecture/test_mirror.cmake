# Fails unless every header INCLUDE_DIR/pvmkit/<path>.hpp has its tests in TESTS_DIR/<path>.cpp: the
# test tree mirrors the header tree, so a header's tests are found where its name says, and a new
# header without tests is caught here rather than in review.
#   cmake -DINCLUDE_DIR=<dir with pvmkit/> -DTESTS_DIR=<tests/> -P test_mirror.cmake
cmake_minimum_required(VERSION 3.20)
foreach(v INCLUDE_DIR TESTS_DIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "test_mirror: -D${v}=... is required")
  endif()
  get_filename_component(${v} "${${v}}" ABSOLUTE)
endforeach()

# Headers whose tests are elsewhere, each with the reason.
set(exempt
  pvmkit.hpp  # the umbrella: tests/package/consumer.cpp compiles a consumer that includes only it
)

file(GLOB_RECURSE headers RELATIVE "${INCLUDE_DIR}/pvmkit" "${INCLUDE_DIR}/pvmkit/*.hpp")
list(SORT headers)
set(missing "")
foreach(h IN LISTS headers)
  if(h IN_LIST exempt)
    continue()
  endif()
  string(REGEX REPLACE "\\.hpp$" ".cpp" test "${h}")
  if(NOT EXISTS "${TESTS_DIR}/${test}")
    string(APPEND missing "  pvmkit/${h}: no tests/${test}\n")
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "test_mirror: headers without a test file of the same path:\n${missing}")
endif()
list(LENGTH headers n)
message(STATUS "test_mirror: ${n} headers, each with its test file")
