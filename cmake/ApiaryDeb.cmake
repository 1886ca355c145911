# The Debian packages: `cpack -G DEB` in a build directory (or scripts/package-deb, which makes
# a Release tree first) writes apiary_<version>_<arch>.deb and apiary-dev_<version>_<arch>.deb
# with everything `cmake --install` installs (apiaryd, apiary, apiary-sim, libapiary.so, the
# headers and the CMake package) plus what only the package carries (deploy/debian): the
# systemd unit, /etc/apiary/apiaryd.toml as a conffile, and maintainer scripts that create the
# `apiary` user, /var/lib/apiary and a cluster key. Depends comes from dpkg-shlibdeps, so the package installs on the Debian release
# it was built on. tests/integration/deb_package_test.cpp builds, installs and runs it.
#
# The package-only files are their own install component, left out of a plain
# `cmake --install` (their destinations are absolute: /etc, /lib/systemd).

set(apiary_deb_dir ${PROJECT_SOURCE_DIR}/deploy/debian)
install(FILES ${apiary_deb_dir}/apiaryd.service DESTINATION /lib/systemd/system
        COMPONENT apiary_deb EXCLUDE_FROM_ALL)
install(FILES ${apiary_deb_dir}/apiaryd.toml DESTINATION /etc/apiary
        COMPONENT apiary_deb EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/docs/operations.md ${PROJECT_SOURCE_DIR}/docs/security.md
              ${PROJECT_SOURCE_DIR}/docs/persistence.md ${PROJECT_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/apiary COMPONENT apiary_deb EXCLUDE_FROM_ALL)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME apiary)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Apiary")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "peer-to-peer distributed in-memory cache speaking the Redis protocol")
set(CPACK_DEBIAN_SERVER_DESCRIPTION
  "Apiary is a peer-to-peer distributed in-memory cache speaking the Redis\n\
protocol. Members find each other by gossip (SWIM), replicate every key to N\n\
of them and keep serving when some fail. This package has the node (apiaryd)\n\
with its systemd unit, the admin client (apiary), the simulator (apiary-sim)\n\
and the embeddable library.")
set(CPACK_PACKAGE_CONTACT "Apiary maintainers <maintainers@apiary.invalid>")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # apiary_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The libraries' packages, from the binaries (libzmq5, libssl3, libjemalloc2, liblua5.1-0, ...)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# ...and what the maintainer scripts run.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
# Two packages, as Debian splits a library: `apiary` (the programs, libapiary.so.X.Y, the unit
# and /etc/apiary) and `apiary-dev` (headers, the libapiary.so link and the CMake package for
# find_package(apiary)).
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ONE_PER_GROUP)
set(CPACK_COMPONENTS_ALL Unspecified apiary_runtime apiary_deb apiary_development)
set(CPACK_DEBIAN_SERVER_PACKAGE_NAME apiary)
set(CPACK_DEBIAN_SERVER_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_SERVER_PACKAGE_SECTION database)
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
  ${apiary_deb_dir}/conffiles ${apiary_deb_dir}/postinst ${apiary_deb_dir}/prerm
  ${apiary_deb_dir}/postrm ${apiary_deb_dir}/triggers)  # triggers: ldconfig for libapiary
set(CPACK_DEBIAN_DEV_DESCRIPTION
  "Apiary is a peer-to-peer distributed in-memory cache speaking the Redis\n\
protocol. This package has the headers, the libapiary.so link and the CMake\n\
package config, to embed an Apiary node in a service: find_package(apiary),\n\
then link apiary::node.")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME apiary-dev)
set(CPACK_DEBIAN_DEV_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "apiary (= ${PROJECT_VERSION})")
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/package)
include(CPack)
cpack_add_component_group(server)
cpack_add_component_group(dev)
cpack_add_component(Unspecified GROUP server)
cpack_add_component(apiary_runtime GROUP server)
cpack_add_component(apiary_deb GROUP server)
cpack_add_component(apiary_development GROUP dev)
