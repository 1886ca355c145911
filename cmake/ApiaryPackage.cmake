# The installed package: `cmake --install` puts one shared library (libapiary.so), the public
# headers of apiary/node.hpp and a CMake package config under the prefix, so a service does
#   find_package(apiary CONFIG REQUIRED)
#   target_link_libraries(my_service PRIVATE apiary::node)
# and needs none of ZeroMQ, msgpack, spdlog, xxhash or cpp-httplib at compile time (their
# runtime .so files only, which the Debian packages provide). Included from the top-level
# CMakeLists after every component library exists.
#
# In the build tree, apps and tests keep linking the static components through the
# `apiary::node` INTERFACE alias (libnode/CMakeLists.txt); the shared library is the target
# `apiary_shared`, exported under the name `apiary::node`.

include(CMakePackageConfigHelpers)

# Every component the Node runtime is made of, in no particular order (their objects all go
# into one .so).
set(APIARY_PACKAGE_COMPONENTS
  apiary_base apiary_gossip apiary_gossip_zmq
  apiary_data apiary_store apiary_persist apiary_cluster apiary_replication apiary_resp apiary_routing
  apiary_script apiary_core
  apiary_http apiary_loop apiary_runtime)

foreach(component ${APIARY_PACKAGE_COMPONENTS})
  if(NOT TARGET ${component})
    message(FATAL_ERROR "apiary package: component library ${component} does not exist")
  endif()
  # Their objects go into a shared library.
  set_target_properties(${component} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endforeach()

# The components' objects, not the archives: CMake 3.25 repeats an archive inside a
# $<LINK_LIBRARY:WHOLE_ARCHIVE,...> group when another archive of the group depends on it
# (multiple definitions); objects are linked exactly once.
set(apiary_objects "")
foreach(component ${APIARY_PACKAGE_COMPONENTS})
  list(APPEND apiary_objects $<TARGET_OBJECTS:${component}>)
endforeach()
add_library(apiary_shared SHARED ${apiary_objects})
set_target_properties(apiary_shared PROPERTIES
  OUTPUT_NAME apiary
  EXPORT_NAME node
  LINKER_LANGUAGE CXX
  VERSION ${PROJECT_VERSION}
  # Before 1.0 every minor release may change the ABI.
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
target_include_directories(apiary_shared INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/libnode/include>
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/gossip/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(apiary_shared INTERFACE cxx_std_20)
# What the components link, privately: none of it reaches the consumer's compile line.
target_link_libraries(apiary_shared
  PUBLIC Threads::Threads
  PRIVATE cppzmq spdlog::spdlog msgpackc-cxx PkgConfig::XXHASH PkgConfig::HTTPLIB
          PkgConfig::LUA51  # Debian's Lua 5.1, cjson and bitop (apiary_script)
          PkgConfig::CRYPTO  # OpenSSL's libcrypto (ACL password hashes)
          PkgConfig::SSL  # OpenSSL's libssl (TLS on the Redis port)
          resolv)  # glibc's libresolv (dns+srv: seeds, SRV lookups)
# A component that starts using a new library fails here rather than in a consumer's link.
target_link_options(apiary_shared PRIVATE LINKER:--no-undefined)

# ---- Public headers: the include closure of apiary/node.hpp -----------------------------
# Computed at configure time (and recomputed when one of them changes), so the installed set
# is exactly what node.hpp needs. tests/integration/package_test.cpp checks that each of them
# compiles on its own against the installed tree and names no third-party header.
set(apiary_header_roots ${PROJECT_SOURCE_DIR}/libnode/include ${PROJECT_SOURCE_DIR}/gossip/include)
function(apiary_header_closure out)
  set(pending ${ARGN})
  set(done "")
  while(pending)
    list(POP_FRONT pending header)
    if(header IN_LIST done)
      continue()
    endif()
    list(APPEND done ${header})
    set(found "")
    foreach(root ${apiary_header_roots})
      if(EXISTS ${root}/${header})
        set(found ${root}/${header})
        break()
      endif()
    endforeach()
    if(NOT found)
      message(FATAL_ERROR "apiary package: public header ${header} not found")
    endif()
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${found})
    file(STRINGS ${found} includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"apiary/")
    foreach(line ${includes})
      string(REGEX REPLACE "^[^\"]*\"([^\"]+)\".*$" "\\1" included "${line}")
      list(APPEND pending ${included})
    endforeach()
  endwhile()
  set(${out} ${done} PARENT_SCOPE)
endfunction()
apiary_header_closure(APIARY_PUBLIC_HEADERS apiary/node.hpp)
list(SORT APIARY_PUBLIC_HEADERS)

foreach(header ${APIARY_PUBLIC_HEADERS})
  foreach(root ${apiary_header_roots})
    if(EXISTS ${root}/${header})
      get_filename_component(subdir ${header} DIRECTORY)
      install(FILES ${root}/${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${subdir}
              COMPONENT apiary_development)
      break()
    endif()
  endforeach()
endforeach()

# ---- Library, export set and package config -----------------------------------------------
set(APIARY_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/apiary)
install(TARGETS apiary_shared EXPORT apiaryTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT apiary_runtime
          NAMELINK_COMPONENT apiary_development)
install(EXPORT apiaryTargets NAMESPACE apiary:: DESTINATION ${APIARY_CMAKE_DIR}
        COMPONENT apiary_development)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/apiaryConfig.cmake.in
  ${PROJECT_BINARY_DIR}/apiaryConfig.cmake INSTALL_DESTINATION ${APIARY_CMAKE_DIR})
# 0.x: only the same minor version is compatible (the API may change between 0.1 and 0.2);
# from 1.0 on, any version with the same major number.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(apiary_compatibility SameMinorVersion)
else()
  set(apiary_compatibility SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/apiaryConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${apiary_compatibility})
install(FILES ${PROJECT_BINARY_DIR}/apiaryConfig.cmake
              ${PROJECT_BINARY_DIR}/apiaryConfigVersion.cmake
        DESTINATION ${APIARY_CMAKE_DIR} COMPONENT apiary_development)

# ---- Sample configuration and docs --------------------------------------------------------
install(FILES ${PROJECT_SOURCE_DIR}/examples/apiaryd.toml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/apiary COMPONENT apiary_runtime)
