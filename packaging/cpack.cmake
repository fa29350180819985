# The Debian package: `cpack -G DEB` in a build directory makes
# fcgid_<version>_<arch>.deb from the install rules (cmd/, plugins/,
# packaging/CMakeLists.txt): /usr/bin/fcgid, the plugins in
# /usr/lib/fcgid/plugins, the headers, the CMake package config, the systemd
# units in /usr/lib/systemd/system, fcgid(1), the spawn wrapper in
# /usr/libexec/fcgid and the example configs in /usr/share/doc/fcgid.
#
# Included last from the top-level CMakeLists.txt:
#   include(packaging/cpack.cmake)
# tests/interop/deb_test.sh builds the package, installs it with dpkg and
# removes it again.
include_guard(GLOBAL)

set(CPACK_GENERATOR "DEB" CACHE STRING "Package generators (cpack -G overrides)")
set(CPACK_PACKAGE_NAME "fcgid")
set(CPACK_PACKAGE_VENDOR "fcgid")
set(CPACK_PACKAGE_CONTACT "fcgid maintainers <fcgid@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "FastCGI application daemon that serves plugins (shared libraries)")
set(CPACK_PACKAGE_DESCRIPTION
"fcgid is a FastCGI responder: a web server (nginx, Apache, lighttpd, Caddy,
h2o) speaks FastCGI to it, and it serves requests with a plugin, a shared
library with a C ABI entry point, kept loaded between requests and driven by
one event loop. It listens on a TCP port, a unix socket, a socket inherited
on fd 0 from the web server, or one passed by systemd socket activation.
Ships the hello and echo plugins, examples on the C++ SDK (todo, upload,
slow) and a template to start from, the plugin headers and CMake package for
plugin authors, systemd units (one reads /etc/fcgid/NAME.toml), an example
fcgid config file, and example configs for web servers and supervisord.")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_HOMEPAGE_URL "https://localhost/fcgid")
# What the package installs into: /usr, as Debian packages do (a plain
# `cmake --install` keeps /usr/local).
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT")
set(CPACK_DEBIAN_PACKAGE_SECTION "httpd")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# Depends: computed by dpkg-shlibdeps (dpkg-dev) from the binary and plugins,
# e.g. libc6, libgcc-s1, libstdc++6 (echo.so; fcgid links libstdc++, spdlog, fmt in).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nginx | apache2 | lighttpd | caddy | h2o, supervisor")
# What building a plugin with the installed headers takes: a C++ compiler and
# CMake for the SDK (fcgid::sdk), nlohmann-json for fcgid/sdk/json.hpp and
# Boost for fcgid/sdk/beast.hpp. Recommended, not required: running fcgid
# needs none of them.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "g++, cmake, nlohmann-json3-dev, libboost-dev")
set(CPACK_DEBIAN_COMPRESSION_TYPE "xz")

# /etc/logrotate.d/fcgid is the administrator's to edit: a conffile, which
# an upgrade does not overwrite unasked and a remove (not a purge) keeps.
file(WRITE "${CMAKE_BINARY_DIR}/debian-control/conffiles" "/etc/logrotate.d/fcgid\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${CMAKE_BINARY_DIR}/debian-control/conffiles")
include(CPack)
