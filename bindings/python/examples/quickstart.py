import unicache

# Any backend: "sqlite:///tmp/app-cache.db", "redis://127.0.0.1:6379/0",
# "memcached://127.0.0.1:11211", ... or None to use $UNICACHE_URL.
with unicache.Cache("memory://?max_items=10000") as cache:
    cache.set("user:1", {"name": "Ada", "langs": ["en", "fr"]}, ttl=60)
    print(cache.get("user:1"))             # {'name': 'Ada', 'langs': ['en', 'fr']}
    print(cache.get("user:2", "absent"))   # absent: a miss is not an error
    cache["visits"] = 0
    print(cache.incr("visits"))            # 1

    @unicache.cached(ttl=300, cache=cache)
    def square(n):
        print("computing", n)
        return n * n

    print(square(12), square(12))          # "computing 12" once, then 144 144

    try:
        cache.set("", "empty keys are refused")
    except unicache.InvalidArgument as e:
        print(e)                           # invalid argument: empty key: ...
