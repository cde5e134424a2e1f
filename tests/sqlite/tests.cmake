# SQLite backend tests (included by tests/CMakeLists.txt when
# UNICACHE_WITH_SQLITE is ON). Real files, real processes: sqlite_worker is
# the helper the multi-process and crash tests start.
unicache_add_test(sqlite_contract_test
  SOURCES sqlite/sqlite_contract_test.cpp CONTRACT LABELS sqlite)
