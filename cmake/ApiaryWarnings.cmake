# One interface target carries the project's warning flags; every target links it.
add_library(apiary_warnings INTERFACE)
target_compile_options(apiary_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow)
if(APIARY_WERROR)
  target_compile_options(apiary_warnings INTERFACE -Werror)
endif()
