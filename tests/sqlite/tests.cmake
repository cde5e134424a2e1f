# SQLite backend tests (included by tests/CMakeLists.txt when
# UNICACHE_WITH_SQLITE is ON). Real files, real processes: sqlite_worker is
# the other process of the multi-process and crash tests; the tests also
# open the files with plain sqlite3 to check what is really on disk.
add_executable(sqlite_worker sqlite/sqlite_worker.cpp)
target_compile_options(sqlite_worker PRIVATE ${UNICACHE_WARNINGS})
target_link_libraries(sqlite_worker PRIVATE unicache Threads::Threads)

unicache_add_test(sqlite_contract_test
  SOURCES sqlite/sqlite_contract_test.cpp CONTRACT LABELS sqlite)
unicache_add_test(sqlite_test SOURCES sqlite/sqlite_test.cpp LABELS sqlite)
unicache_add_test(sqlite_process_test SOURCES sqlite/sqlite_process_test.cpp LABELS sqlite)
add_dependencies(sqlite_process_test sqlite_worker)
target_compile_definitions(sqlite_process_test PRIVATE
  UNICACHE_SQLITE_WORKER="$<TARGET_FILE:sqlite_worker>")
foreach(_t sqlite_test sqlite_process_test)
  target_include_directories(${_t} PRIVATE ${SQLITE3_INCLUDE_DIRS})
  target_link_libraries(${_t} PRIVATE ${SQLITE3_LIBRARIES})
endforeach()
# A read-only mount and a failing disk, each in a child process (a mount
# namespace, RLIMIT_FSIZE): the messages say what is wrong.
unicache_add_test(sqlite_readonly_test SOURCES sqlite/sqlite_readonly_test.cpp LABELS sqlite)
