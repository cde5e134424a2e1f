# The `unicache` command (lib/cli/): a program over the public C API,
# linked with the shared library and installed beside it.
pkg_check_modules(CLI_CJSON REQUIRED libcjson)
add_executable(unicache_cli
  ${CMAKE_CURRENT_LIST_DIR}/args.cpp
  ${CMAKE_CURRENT_LIST_DIR}/bench.cpp
  ${CMAKE_CURRENT_LIST_DIR}/commands.cpp
  ${CMAKE_CURRENT_LIST_DIR}/main.cpp
  ${CMAKE_CURRENT_LIST_DIR}/server_view.cpp
  ${CMAKE_CURRENT_LIST_DIR}/stats_table.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch.cpp)
set_target_properties(unicache_cli PROPERTIES
  OUTPUT_NAME unicache
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin
  # Installed under any prefix, it finds the library installed with it.
  INSTALL_RPATH "$ORIGIN/../${CMAKE_INSTALL_LIBDIR}")
target_compile_options(unicache_cli PRIVATE ${UNICACHE_WARNINGS})
target_include_directories(unicache_cli PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/include
  ${CLI_CJSON_INCLUDE_DIRS})
target_link_libraries(unicache_cli PRIVATE unicache ${CLI_CJSON_LIBRARIES} Threads::Threads)
install(TARGETS unicache_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
