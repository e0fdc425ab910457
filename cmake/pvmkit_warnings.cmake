# Warnings and sanitizers apply to pvmkit's own targets only, through this target, which is never
# installed or exported: a consumer's flags are its own business. Warnings become errors only when
# asked (the CI and dev presets ask): a newer compiler's new warning must not break a plain build.
option(PVMKIT_WARNINGS_AS_ERRORS "Treat compiler warnings in pvmkit's own targets as errors" OFF)
add_library(pvmkit_warnings INTERFACE)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(pvmkit_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual $<$<BOOL:${PVMKIT_WARNINGS_AS_ERRORS}>:-Werror>
    # C++20 designated initializers leave members at their defaults on purpose.
    -Wno-missing-field-initializers)
endif()
if(PVMKIT_SANITIZE)
  target_compile_options(pvmkit_warnings INTERFACE -fsanitize=${PVMKIT_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(pvmkit_warnings INTERFACE -fsanitize=${PVMKIT_SANITIZE})
endif()
