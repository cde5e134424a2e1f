"""Framework adapters: unicache.contrib.django (a Django cache backend) and
unicache.contrib.flask (a Flask-Caching backend). Each imports its framework
only when it is imported itself; neither framework is a dependency of
unicache."""
