# Sourced by scripts/demo and scripts/test: installs the Debian packages the
# build and the test suite need, asking apt only when something is missing.
UNICACHE_PACKAGES="build-essential cmake ninja-build pkg-config libcjson-dev \
libsqlite3-dev libhiredis-dev libmemcached-dev libgtest-dev libbenchmark-dev \
redis-server redis-tools memcached swig python3-dev python3-pytest ruby-dev ruby-minitest \
python3-msgpack ruby-msgpack ruby-rack python3-cachetools python3-diskcache python3-redis \
python3-pylibmc sqlite3 binutils clang libclang-rt-14-dev zlib1g-dev \
clang-format libzstd-dev liblz4-dev libssl-dev python3-django python3-flask-caching python3-flask \
ruby-activesupport python3-prometheus-client ruby-webrick"

ensure_packages() {
    missing=""
    for p in $UNICACHE_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    echo "installing:$missing"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
    # The tests start their own servers on free loopback ports; Debian's
    # packaged services are not needed.
    $SUDO systemctl disable --now redis-server memcached >/dev/null 2>&1 || true
}

# configure_build DIR [extra cmake args]: bindings are built when present.
configure_build() {
    dir="$1"; shift
    gen=""
    command -v ninja >/dev/null && gen="-G Ninja"
    bind=""
    [ -f bindings/CMakeLists.txt ] && bind="-DUNICACHE_PYTHON=ON -DUNICACHE_RUBY=ON"
    cmake -S . -B "$dir" $gen -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DPython3_EXECUTABLE=/usr/bin/python3 $bind "$@" >/dev/null
}
