#!/bin/sh
# Loads the shared library with dlopen and calls cache_open through dlsym.
set -e
"$1" "$2"
