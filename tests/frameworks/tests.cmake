# The framework adapters (Django, Flask-Caching, ActiveSupport) and
# unicache.aio, tested with the real frameworks (Debian packages), one ctest
# entry per language and backend as bindings/CMakeLists.txt does for the
# binding suites; each suite starts its own servers.
set(_fw_backends memory)
foreach(_backend sqlite redis memcached)
  string(TOUPPER ${_backend} _upper)
  if(UNICACHE_WITH_${_upper})
    list(APPEND _fw_backends ${_backend})
  endif()
endforeach()
set(_fw_pyout ${PROJECT_BINARY_DIR}/bindings/python)
set(_fw_rbout ${PROJECT_BINARY_DIR}/bindings/ruby/lib)
foreach(_backend ${_fw_backends})
  if(UNICACHE_PYTHON)
    add_test(NAME python_frameworks_${_backend}
      COMMAND ${Python3_EXECUTABLE} -m pytest -q -p no:cacheprovider
        ${CMAKE_CURRENT_SOURCE_DIR}/frameworks/python
      WORKING_DIRECTORY ${PROJECT_BINARY_DIR}/bindings)
    set_tests_properties(python_frameworks_${_backend} PROPERTIES
      LABELS "bindings;python;frameworks;${_backend}" TIMEOUT 300
      ENVIRONMENT "PYTHONPATH=${_fw_pyout};PYTHONDONTWRITEBYTECODE=1;UNICACHE_TEST_BACKENDS=${_backend};UNICACHE_URL=")
  endif()
  if(UNICACHE_RUBY AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/frameworks/ruby/run.rb)
    add_test(NAME ruby_frameworks_${_backend}
      COMMAND ${Ruby_EXECUTABLE} -w -I${_fw_rbout} -I${CMAKE_CURRENT_SOURCE_DIR}/ruby
        -I${CMAKE_CURRENT_SOURCE_DIR}/frameworks/ruby
        ${CMAKE_CURRENT_SOURCE_DIR}/frameworks/ruby/run.rb
      WORKING_DIRECTORY ${PROJECT_BINARY_DIR}/bindings)
    set_tests_properties(ruby_frameworks_${_backend} PROPERTIES
      LABELS "bindings;ruby;frameworks;${_backend}" TIMEOUT 300
      ENVIRONMENT "UNICACHE_TEST_BACKENDS=${_backend};UNICACHE_URL=")
  endif()
endforeach()
