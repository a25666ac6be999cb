# Compiles SOURCE, which must fail; its first error must contain the text given on the
# source's `// expect: …` line. Run by CTest (tests/CMakeLists.txt) as `cmake -P`.
file(STRINGS ${SOURCE} expect_lines REGEX "^// expect: ")
if(NOT expect_lines)
  message(FATAL_ERROR "${SOURCE}: no `// expect: ...` line")
endif()
list(GET expect_lines 0 expect)
string(REGEX REPLACE "^// expect: " "" expect "${expect}")

set(system_flags)
foreach(dir IN LISTS SYSTEM_INCLUDES)
  # The compiler's own directories stay where they are (-isystem would break #include_next).
  if(NOT dir MATCHES "^/usr(/local)?/include/?$")
    list(APPEND system_flags -isystem ${dir})
  endif()
endforeach()
execute_process(
  COMMAND ${CXX} -std=c++20 -fsyntax-only -fdiagnostics-color=never -I${INCLUDE}
          ${system_flags} ${SOURCE}
  RESULT_VARIABLE result
  OUTPUT_VARIABLE output
  ERROR_VARIABLE output)

if(result EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must not")
endif()
string(REGEX MATCH "error: [^\n]*" first_error "${output}")
string(FIND "${first_error}" "${expect}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${SOURCE}: the first error is not sg's sentence.\n"
                      "expected it to contain: ${expect}\n"
                      "first error: ${first_error}\n--- full output ---\n${output}")
endif()
message(STATUS "failed as expected: ${first_error}")
